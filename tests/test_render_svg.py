"""Diagrams through the Graphviz binary: every step title is text in its SVG, escaping
survives into SVG, lanes keep their order, PNGs are drawn, and ``procflow check`` renders.

These need ``dot``; without it they fail (scripts/setup installs it), never skip.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET  # parses SVG that Graphviz wrote in this test
from pathlib import Path

import pytest
from click.testing import CliRunner

from procflow import render
from procflow.cli.main import main
from procflow.flow.load import check_paths
from tests.needs import missing
from tests.test_render import LONG, NASTY, SCRIPT, VALID, nasty_process

pytestmark = [pytest.mark.graphviz, pytest.mark.slow]

ROOT = Path(__file__).parent.parent
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _needs_dot() -> None:
    if shutil.which("dot") is None:
        missing("the Graphviz binary 'dot'")


def node_texts(svg: bytes) -> dict[str, str]:
    """SVG node id -> all its text, lines joined with nothing between them."""
    root = ET.fromstring(svg)  # noqa: S314 (our own Graphviz output)
    out = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node" and g.get("id", "").startswith("node-"):
            out[g.get("id", "")[5:]] = "".join("".join(t.itertext()) for t in g.iter(f"{SVG}text"))
    return out


def every_process() -> dict[str, object]:
    catalog, _ = check_paths([ROOT / "processes"])
    fixtures, _ = check_paths([VALID])
    return {**catalog.processes, **fixtures.processes}


def test_every_step_title_is_text_in_its_svg() -> None:
    checked = 0
    for pid, process in every_process().items():
        svg = render.render_image(render.build_diagram(process), "svg")  # type: ignore[arg-type]
        texts = {k: re.sub(r"\s", "", v) for k, v in node_texts(svg).items()}
        for node in process.flow.steps():
            if node.label:
                want = re.sub(r"\s", "", node.label)
                assert want in texts.get(node.id, ""), (pid, node.id, node.label)
                checked += 1
    assert checked >= 40


def test_svg_keeps_text_as_text_with_a_font_fallback() -> None:
    svg = render.render_image(render.build_diagram(nasty_process()), "svg")
    assert b"<text" in svg and b"<path" in svg
    fonts = set(re.findall(rb'font-family="([^"]+)"', svg))
    assert fonts == {b"Noto Sans CJK SC, Noto Sans CJK TC, Noto Sans, sans-serif"}
    texts = node_texts(svg)
    assert texts["done"].startswith(SCRIPT)  # shown as text, never as markup
    assert re.sub(r"\s", "", NASTY) in re.sub(r"\s", "", texts["draft"])
    assert LONG in texts["check"]
    assert b"<script" not in svg


def lane_order(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 (our own Graphviz output)
    lanes = []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "cluster":
            poly = next(g.iter(f"{SVG}polygon"), None)
            assert poly is not None
            xs = [float(p.split(",")[0]) for p in (poly.get("points") or "").split()]
            lanes.append((min(xs), g.get("id", "")))
    return [name for _, name in sorted(lanes)]


def test_lanes_are_in_order_and_full_height() -> None:
    for pid, process in every_process().items():
        diagram = render.build_diagram(process)  # type: ignore[arg-type]
        svg = render.render_image(diagram, "svg")
        assert lane_order(svg) == [f"lane-{i}" for i in range(len(diagram.lanes))], pid
        tops = set()
        for g in ET.fromstring(svg).iter(f"{SVG}g"):  # noqa: S314
            if g.get("class") == "cluster":
                poly = next(g.iter(f"{SVG}polygon"))
                ys = [float(p.split(",")[1]) for p in (poly.get("points") or "").split()]
                tops.add((min(ys), max(ys)))
        assert len(tops) == 1, (pid, tops)  # every lane runs the full height


def test_handoffs_link_to_the_other_diagram() -> None:
    catalog, _ = check_paths([VALID])
    d = render.build_diagram(catalog["EVERYTHING"])
    svg = render.render_image(d, "svg", link=lambda pid: f"{pid}.svg")
    assert svg.count(b'xlink:href="NEXT.svg"') == 2


def test_render_command_writes_every_format(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["render", str(VALID), "-o", str(out), "--format", "svg,png,dot,mermaid,html"]
    )
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    for ext in ("svg", "png", "dot", "mmd", "md"):
        assert f"EVERYTHING.{ext}" in names
    assert {"index.html", "map.html", "actors.html", "process"} <= names
    assert (out / "EVERYTHING.png").read_bytes().startswith(b"\x89PNG")
    assert not [n for n in names if n.endswith(".tmp")]


def test_check_renders_into_build_diagrams(tmp_path: Path) -> None:
    out = tmp_path / "diagrams"
    result = CliRunner().invoke(main, ["check", str(VALID), "--render-to", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").exists() and (out / "EVERYTHING.svg").exists()
    assert "written to" in result.output


def test_html_escapes_a_script_in_the_title(tmp_path: Path) -> None:
    process = nasty_process()
    render.write_diagrams({"NASTY": process}, tmp_path, formats="html")
    for page in tmp_path.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text.lower(), page
    text = (tmp_path / "process" / "NASTY.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "no scenarios run" in text
