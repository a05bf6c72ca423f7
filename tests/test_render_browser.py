"""The HTML catalog in real headless Chromium (Debian's, driven by playwright).

Every page of the catalog of ``processes/`` and the valid fixtures loads from
``file://`` with no console error, its diagram is visible, and every internal
link (HTML and SVG) resolves; no line of text in a diagram meets another or
leaves its shape, measured in the page as Chromium lays it out at the default
zoom. Screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
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


def _playwright() -> Any:
    """playwright's sync API, once it is sure Debian's chromium is there to drive."""
    try:
        import playwright.sync_api as sync
    except ImportError:
        missing("playwright (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        missing("Debian's chromium")
    return sync


def test_catalog_in_chromium(site: Path) -> None:
    sync = _playwright()
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
        assert page.inner_text("#scenarios") == "尚未執行情境測試"
        browser.close()
    assert errors == []
    assert broken == []


MEASURE = """
() => {
  // Each line of text in the page's diagrams, in screen pixels: across, the advance box
  // Chromium laid the text out in (getBBox); up and down, the ink of those glyphs in that
  // font (measureText). And the box of the node or lane shape it belongs to.
  const ink = new OffscreenCanvas(8, 8).getContext("2d");
  const screen = (el, x0, y0, x1, y1) => {
    const m = el.getScreenCTM();
    const a = new DOMPoint(x0, y0).matrixTransform(m), b = new DOMPoint(x1, y1).matrixTransform(m);
    return [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
  };
  const outline = (group) => {
    for (const s of group.querySelectorAll("polygon, ellipse, path")) {
      const stroke = s.getAttribute("stroke");
      if (stroke && stroke !== "transparent" && stroke !== "none") {
        const b = s.getBBox();
        return screen(s, b.x, b.y, b.x + b.width, b.y + b.height);
      }
    }
    return null;
  };
  const out = [];
  for (const t of document.querySelectorAll("#diagram svg text")) {
    if (!t.textContent.trim()) continue;
    const style = getComputedStyle(t);
    ink.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const m = ink.measureText(t.textContent);
    const b = t.getBBox();
    const y = parseFloat(t.getAttribute("y"));
    const owner = t.closest("g.node, g.cluster");
    out.push({
      text: t.textContent,
      box: screen(
        t, b.x, y - m.actualBoundingBoxAscent, b.x + b.width, y + m.actualBoundingBoxDescent
      ),
      owner: owner ? owner.id : "",
      shape: owner ? outline(owner) : null,
    });
  }
  return out;
}
"""


def clashes(items: list[dict[str, object]]) -> list[str]:
    """Lines of text that meet each other (by more than half a pixel) or leave their shape."""
    found = []
    boxes = sorted(items, key=lambda i: i["box"][1])  # type: ignore[index]
    for i, a in enumerate(boxes):
        ax0, ay0, ax1, ay1 = a["box"]  # type: ignore[misc]
        for b in boxes[i + 1 :]:
            bx0, by0, bx1, by1 = b["box"]  # type: ignore[misc]
            if by0 >= ay1 - 0.5:
                break
            if min(ax1, bx1) - max(ax0, bx0) > 0.5 and min(ay1, by1) - max(ay0, by0) > 0.5:
                found.append(f"{a['text']!r} meets {b['text']!r}")
        if a["shape"] is not None:
            sx0, sy0, sx1, sy1 = a["shape"]  # type: ignore[misc]
            if ax0 < sx0 - 1 or ax1 > sx1 + 1 or ay0 < sy0 - 1 or ay1 > sy1 + 1:
                found.append(f"{a['text']!r} leaves {a['owner']}")
    return found


def test_no_text_overlaps_in_chromium(site: Path) -> None:
    sync = _playwright()
    pages = [*sorted((site / "process").glob("*.html")), site / "map.html"]
    processes = {p.stem for p in (ROOT / "processes").glob("*.yaml")}
    assert processes <= {p.stem for p in pages}  # every customer process is measured
    found: dict[str, list[str]] = {}
    measured = 0
    with sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path in pages:
            page.goto(path.as_uri())
            page.evaluate("document.fonts.ready")
            items = page.evaluate(MEASURE)
            measured += len(items)
            bad = clashes(items)
            if bad:
                found[path.stem] = bad
        browser.close()
    assert found == {}
    assert measured > 1000
