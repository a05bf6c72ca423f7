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
from procflow.render.dot import run_graphviz
from procflow.render.metrics import ASCENT, DESCENT, text_width
from procflow.render.site import map_source
from procflow.render.wrapping import NO_START
from tests.needs import missing
from tests.test_render import LONG, NASTY, SCRIPT, VALID, leave, nasty_process

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
    return {**catalog.processes, **fixtures.processes, "LV-01": leave()}


Rect = tuple[float, float, float, float]


def text_boxes(svg: bytes) -> list[tuple[Rect, str, ET.Element | None]]:
    """Where Graphviz put each line of text: its ink (the font's ideographic top, Latin
    descenders), the text, and the node or lane it belongs to (None for the rest)."""
    out: list[tuple[Rect, str, ET.Element | None]] = []

    def walk(element: ET.Element, owner: ET.Element | None) -> None:
        for child in element:
            mine = child if child.get("class") in ("node", "cluster") else owner
            if child.tag == f"{SVG}text":
                size = float(child.get("font-size") or 0)
                text = "".join(child.itertext())
                width = text_width(text, size, bold=child.get("font-weight") == "bold")
                x, y = float(child.get("x") or 0), float(child.get("y") or 0)
                x -= {"middle": width / 2, "end": width}.get(child.get("text-anchor") or "", 0)
                out.append(((x, y - ASCENT * size, x + width, y + DESCENT * size), text, mine))
            walk(child, mine)

    walk(ET.fromstring(svg), None)  # noqa: S314 (our own Graphviz output)
    return out


def outline(group: ET.Element) -> Rect | None:
    """The box around a node's or lane's shape (its first outlined polygon, ellipse or
    path); None for a shape that has no outline (a bar, the title)."""
    for shape in group.iter():
        if shape.get("stroke") in (None, "transparent", "none"):
            continue
        if shape.tag == f"{SVG}polygon":
            points = [p.split(",") for p in (shape.get("points") or "").split()]
            xs, ys = [float(x) for x, _ in points], [float(y) for _, y in points]
            return min(xs), min(ys), max(xs), max(ys)
        if shape.tag == f"{SVG}ellipse":
            cx, cy = float(shape.get("cx") or 0), float(shape.get("cy") or 0)
            rx, ry = float(shape.get("rx") or 0), float(shape.get("ry") or 0)
            return cx - rx, cy - ry, cx + rx, cy + ry
        if shape.tag == f"{SVG}path":
            numbers = [float(n) for n in re.findall(r"-?[\d.]+", shape.get("d") or "")]
            xs, ys = numbers[0::2], numbers[1::2]
            return min(xs), min(ys), max(xs), max(ys)
    return None


def overlapping(boxes: list[tuple[Rect, str, ET.Element | None]]) -> list[tuple[str, str]]:
    ordered = sorted(boxes, key=lambda b: b[0][1])
    found = []
    for i, ((ax0, ay0, ax1, ay1), a, _) in enumerate(ordered):
        for (bx0, by0, bx1, by1), b, _ in ordered[i + 1 :]:
            if by0 >= ay1:
                break
            if min(ax1, bx1) > max(ax0, bx0) and min(ay1, by1) > max(ay0, by0):
                found.append((a, b))
    return found


def test_no_text_meets_other_text_or_leaves_its_shape() -> None:
    """What the PNG shows too: Graphviz draws both from the same positions and fonts.
    And no line begins with a closing bracket or mark."""
    clashes: dict[str, list[object]] = {}
    for pid, process in every_process().items():
        svg = render.render_image(render.build_diagram(process), "svg")  # type: ignore[arg-type]
        boxes = text_boxes(svg)
        bad: list[object] = list(overlapping(boxes))
        for (x0, y0, x1, y1), text, owner in boxes:
            first = text.strip()[:1]  # （第1次退回 / ） in the picture itself
            if first in NO_START and not first.isascii():  # `!= x` may follow a space
                bad.append(f"{text!r} starts with a closing mark")
            shape = outline(owner) if owner is not None else None
            if shape is None or owner is None or not text.strip():
                continue
            sx0, sy0, sx1, sy1 = shape
            if x0 < sx0 - 1 or x1 > sx1 + 1 or y0 < sy0 - 1 or y1 > sy1 + 1:
                bad.append(f"{text!r} leaves {owner.get('id')}")
        if bad:
            clashes[pid] = bad
    assert clashes == {}


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
    assert "尚未執行情境測試" in text and "no scenarios run" not in text


def test_the_map_names_each_group_at_its_left() -> None:
    """A wide group on the process map is scrolled to from the left: its title is there."""
    catalog, _ = check_paths([ROOT / "processes"])
    svg = run_graphviz(map_source(catalog.processes), "svg")
    groups = [g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class") == "cluster"]  # noqa: S314
    assert len(groups) >= 5
    for group in groups:
        box = outline(group)
        title = next(group.iter(f"{SVG}text"))
        assert box is not None and title.get("text-anchor") == "start", title.text
        assert float(title.get("x") or 0) - box[0] < 16, title.text


def test_svg_and_png_from_one_layout_are_the_drawings_of_each_alone() -> None:
    diagram = render.build_diagram(leave())
    both = render.render_images(diagram, ["svg", "png"])
    assert list(both) == ["svg", "png"]
    assert both["svg"] == render.render_image(diagram, "svg")
    assert both["png"] == render.render_image(diagram, "png")
    assert both["png"].startswith(b"\x89PNG") and b"<svg" in both["svg"]
    assert render.render_images(diagram, ["png"]) == {"png": both["png"]}
