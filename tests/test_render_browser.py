"""The HTML catalog in real headless Chromium (Debian's, driven by playwright).

Every page of the catalog of ``processes/`` and the valid fixtures loads from
``file://`` with no console error, its diagram is visible, and every internal
link (HTML and SVG) resolves. Screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from procflow import render
from procflow.flow.load import check_paths
from tests.needs import missing
from tests.test_render import VALID

pytestmark = [pytest.mark.graphviz, pytest.mark.slow]

ROOT = Path(__file__).parent.parent
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("dot") is None:
        missing("the Graphviz binary 'dot'")
    catalog, _ = check_paths([ROOT / "processes", VALID])
    out = tmp_path_factory.mktemp("catalog")
    first = next(iter(catalog))
    (out / render.RESULTS_FILE).write_text(
        json.dumps({first: [{"name": "通過的情境", "passed": True, "message": ""},
                            {"name": "失敗的情境", "passed": False, "message": "expected <b>"}]}),
        encoding="utf-8",
    )  # fmt: skip
    render.write_diagrams(catalog, out, formats="svg,png,dot,mermaid,html")
    return out


def test_catalog_in_chromium(site: Path) -> None:
    try:
        import playwright.sync_api as sync
    except ImportError:
        missing("playwright (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        missing("Debian's chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 7
    errors: list[str] = []
    broken: list[str] = []
    with sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
        for path in pages:
            page.goto(path.as_uri())
            assert page.title(), path
            if path.parent.name == "process" or path.name == "map.html":
                diagram = page.locator("#diagram svg")
                assert diagram.is_visible(), path
                box = diagram.bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 100, path
            hrefs = page.eval_on_selector_all(
                "a", "els => els.map(a => a.getAttribute('href') || a.getAttribute('xlink:href'))"
            )
            for href in hrefs:
                if not href or href.startswith(("http:", "https:", "mailto:")):
                    continue
                target = urlparse(page.url)._replace(fragment="").geturl()
                resolved = Path(unquote(urlparse(target).path)).parent / unquote(href.split("#")[0])
                if not resolved.exists():
                    broken.append(f"{path.relative_to(site)} -> {href}")
            if path.name in ("index.html", "map.html", "actors.html") or path.stem in (
                "SC-001",
                "EVERYTHING",
            ):
                name = f"{path.parent.name}-{path.stem}" if path.parent != site else path.stem
                page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        # the last scenario results show, and a <b> in a message stays text
        (pid,) = json.loads((site / render.RESULTS_FILE).read_text(encoding="utf-8"))
        page.goto((site / "process" / f"{pid}.html").as_uri())
        shown = page.inner_text("#scenarios")
        assert "通過的情境" in shown and "失敗的情境" in shown and "expected <b>" in shown
        page.goto((site / "process" / "NEXT.html").as_uri())
        assert "no scenarios run" in page.inner_text("#scenarios")
        browser.close()
    assert errors == []
    assert broken == []
