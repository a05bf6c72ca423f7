"""The layout of diagrams, without Graphviz: lanes in order and full height, every shape
in its lane, no shape or label over another, square lines that start and end on their
shapes, for every process of the customer, the fixtures and random processes."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings

import procflow
from procflow import render
from procflow.render.arrange import Box, Layout, lay_out
from procflow.render.arrange import Path as Path_
from procflow.render.diagram import Diagram
from tests.strategies import processes
from tests.test_language_properties import load_text, to_yaml
from tests.test_render import VALID, leave, nasty_process

ROOT = Path(__file__).parent.parent
EPS = 0.5


def every_diagram() -> dict[str, Diagram]:
    catalog = procflow.load_dir(ROOT / "processes")
    fixtures = procflow.load_dir(VALID)
    loaded = {**catalog, **fixtures, "LV-01": leave(), "NASTY": nasty_process()}
    return {pid: render.build_diagram(p) for pid, p in loaded.items()}


def meet(a: Box, b: Box, gap: float = 0) -> bool:
    return (
        a.left < b.right + gap - EPS
        and b.left < a.right + gap - EPS
        and a.top < b.bottom + gap - EPS
        and b.top < a.bottom + gap - EPS
    )


def labels(layout: Layout) -> list[Box]:
    return [
        Box(p.label_at[0], p.label_at[1], p.label.width, p.label.height)
        for p in layout.paths
        if p.label_at is not None
    ]


def problems(diagram: Diagram) -> list[str]:
    """Everything wrong with a diagram's layout, in words (none when it is right)."""
    layout = lay_out(diagram)
    out = _lane_problems(diagram, layout)
    out += _overlaps(layout)
    out += _line_problems(layout)
    out += _seem_to_join(diagram, layout)
    out += _side_by_side(layout)
    return out


def _band(layout: Layout) -> float:
    """Where the lanes' title blocks end."""
    return min((lane.top for lane in layout.lanes), default=0) + max(
        (b.height for b in layout.lane_blocks), default=0
    )


def _lane_problems(diagram: Diagram, layout: Layout) -> list[str]:
    """Lanes out of order or of different heights; shapes outside their lanes."""
    out: list[str] = []
    lanes = layout.lanes
    for a, b in itertools.pairwise(lanes):
        if not a.right <= b.left:
            out.append(f"lanes out of order or overlapping: {a} {b}")
    if len({(lane.top, lane.bottom) for lane in lanes}) > 1:
        out.append("lanes of different heights")
    band = _band(layout)
    index = {lane.key: i for i, lane in enumerate(diagram.lanes)}
    for node in diagram.nodes:
        box, lane = layout.nodes[node.id], lanes[index[node.lane]]
        if (
            box.left < lane.left
            or box.right > lane.right
            or box.top < band
            or box.bottom > lane.bottom
        ):
            out.append(f"{node.id} outside its lane {node.lane}")
    return out


def _overlaps(layout: Layout) -> list[str]:
    """Shapes that meet; labels that meet a shape or each other."""
    out: list[str] = []
    shapes = list(layout.nodes.items())
    for (m, a), (n, b) in itertools.combinations(shapes, 2):
        if meet(a, b, gap=2):
            out.append(f"{m} and {n} meet")
    texts = labels(layout)
    for label in texts:
        for n, box in shapes:
            if meet(label, box):
                out.append(f"a label meets {n}")
    for a, b in itertools.combinations(texts, 2):
        if meet(a, b):
            out.append("two labels meet")
    return out


def _line_problems(layout: Layout) -> list[str]:
    """A line across a label, the title on the lane titles, a slanted line."""
    out: list[str] = []
    texts = labels(layout)
    lanes, band = layout.lanes, _band(layout)
    for path in layout.paths:  # no line crosses a label (its own runs below or beside it)
        for (x0, y0), (x1, y1) in itertools.pairwise(path.points):
            line = Box((x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) + 1, abs(y1 - y0) + 1)
            if any(meet(line, label) for label in texts):
                out.append(f"a line of {path.edge.src}->{path.edge.dst} crosses a label")
    if meet(
        layout.title, Box(layout.width / 2, (lanes[0].top + band) / 2, 1e9, band - lanes[0].top)
    ):
        out.append("the title meets the lane titles")
    for path in layout.paths:
        for (x0, y0), (x1, y1) in itertools.pairwise(path.points):
            if abs(x0 - x1) > EPS and abs(y0 - y1) > EPS:
                out.append(f"a slanted line {path.edge}")
    return out


def _seem_to_join(diagram: Diagram, layout: Layout) -> list[str]:
    """A line that leaves a flat-bottomed shape where another line, turning in the gap
    below, comes down into the next shape under it: the two read as one line from the
    first shape into the second (存入員工檔案 seemed to lead to the end below it)."""
    out = []
    flat = {"task", "notify", "call", "handoff", "fork", "join"}
    drawn = [p for p in layout.paths if p.edge.style != "note" and len(p.points) > 2]
    for path in drawn:
        src = layout.nodes[path.edge.src]
        if diagram.node(path.edge.src).shape not in flat:
            continue
        x, _ = path.points[0]
        under = [
            (box.top, n)
            for n, box in layout.nodes.items()
            if box.top > src.bottom and box.left <= x <= box.right
        ]
        if not under:
            continue
        top, node = min(under)
        if any(src.bottom < box.y < top for box in layout.nodes.values()):
            continue  # not on the next row: the lines turn in different gaps
        for other in drawn:
            (x1, y1), (x2, _) = other.points[-2], other.points[-1]
            if (
                other.edge.dst == node != path.edge.dst
                and other.edge.src != path.edge.src
                and abs(x1 - x) <= EPS
                and abs(x2 - x) <= EPS
                and src.bottom < y1 < top
            ):
                out.append(f"{path.edge.src}->{path.edge.dst} seems to lead into {node}")
    return out


def _stretches(path: Path_) -> list[tuple[str, str, float, bool, float]]:
    """The first stretch across a gap out of a shape and the last one into a shape from
    above, each unlabelled: (from|into, shape, x where it meets the shape, going right,
    y of the stretch)."""
    pts = path.points
    if path.edge.style != "flow" or len(pts) < 4:
        return []
    labelled_first = path.label_at is not None
    out = []
    (x0, _), (x1, y1), (x2, _) = pts[:3]
    if not labelled_first and abs(x0 - x1) <= EPS and abs(x1 - x2) > EPS:
        out.append(("from", path.edge.src, x0, x2 > x1, y1))
    (xa, _), (xb, yb), (xc, yc) = pts[-3:]
    last_is_first = len(pts) == 4
    if (
        abs(xb - xc) <= EPS
        and yc > yb
        and abs(xa - xb) > EPS
        and not (labelled_first and last_is_first)
    ):
        out.append(("into", path.edge.dst, xc, xb > xa, yb))
    return out


def _side_by_side(layout: Layout) -> list[str]:
    """Solid lines that leave one shape the same way, or come into one shape from the same side,
    side by side on stretches of their own instead of on one shared stretch: they read
    as a double line into one arrowhead (two 駁回 into MD-02's end, two signers into
    SC-006's join bar)."""
    seen: dict[tuple[str, str, float, bool], float] = {}
    rows = list(layout.nodes.values())
    out = []
    for path in layout.paths:
        for end, shape, x, right, y in _stretches(path):
            key = (end, shape, round(x, 1), right)
            other = seen.setdefault(key, y)
            low, high = sorted((other, y))
            # in one gap (no row of shapes between them: else one joins the other's line
            # where it comes down)
            if high - low > EPS and not any(low < box.y < high for box in rows):
                out.append(f"two lines side by side {end} {shape}")
    return out


def test_lines_into_one_shape_share_their_last_stretch() -> None:
    catalog = procflow.load_dir(ROOT / "processes")
    md02 = lay_out(render.build_diagram(catalog["MD-02"]))
    into = [p.points[-3:] for p in md02.paths if p.edge.dst == "not_initiated"]
    assert len(into) == 2 and into[0] == into[1]  # 婉拒 and 拒絕 join before the end
    sc006 = lay_out(render.build_diagram(catalog["SC-006"]))
    left = [p for p in sc006.paths if p.edge.src in ("review@sign.3", "review@sign.4")]
    assert len({p.points[-2][1] for p in left}) == 1  # the two signers on the left join
    out = [p for p in sc006.paths if p.edge.dst in ("review@sign.3", "review@sign.4")]
    assert len({p.points[1][1] for p in out}) == 1  # and part from the bar as one line


def test_every_diagram_is_laid_out_cleanly() -> None:
    found = {pid: problems(d) for pid, d in every_diagram().items()}
    assert {pid: p for pid, p in found.items() if p} == {}
    assert len(found) >= 34


def on_edge(box: Box, x: float, y: float) -> bool:
    inside = box.left - EPS <= x <= box.right + EPS and box.top - EPS <= y <= box.bottom + EPS
    return (
        inside
        and min(abs(x - box.left), abs(x - box.right), abs(y - box.top), abs(y - box.bottom)) < 1
    )


def test_lines_start_and_end_on_their_shapes() -> None:
    for pid, d in every_diagram().items():
        layout = lay_out(d)
        for path in layout.paths:
            if path.edge.style == "note":
                continue
            (x0, y0), (x1, y1) = path.points[0], path.points[-1]
            assert on_edge(layout.nodes[path.edge.src], x0, y0), (pid, path.edge)
            assert on_edge(layout.nodes[path.edge.dst], x1, y1), (pid, path.edge)


def test_rows_follow_the_written_order() -> None:
    layout = lay_out(render.build_diagram(leave()))
    y = {n: box.y for n, box in layout.nodes.items()}
    assert y["@start"] < y["apply"] < y["approve"] < y["route"] < y["gm_approve"] < y["record"]
    assert y["approve@docs"] == y["approve@due"] == y["approve@or.2"] == y["approve"]
    lanes = [lane.x for lane in layout.lanes]
    assert lanes == sorted(lanes)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(processes())
def test_random_processes_are_laid_out_cleanly(data: dict[str, object]) -> None:
    process, _ = load_text(to_yaml(data))
    assume(process is not None)
    assert process is not None
    assert problems(render.build_diagram(process)) == []


@pytest.mark.parametrize("steps", [1, 40])
def test_a_long_process_keeps_its_lanes_and_order(steps: int) -> None:
    lines = ["procflow: 1", "id: LONG", "title: 長流程", "actors: {a: 甲, b: 乙, c: 丙}", "steps:"]
    for i in range(steps):
        lines += [f"  - id: s{i}", f"    actor: {'abc'[i % 3]}"]
        if i % 7 == 6:
            lines.append(f"    decide: {{ok: next, back: s{i - 4}}}")
    d = render.build_diagram(procflow.loads("\n".join(lines) + "\n", name="long.yaml"))
    assert problems(d) == []
    layout = lay_out(d)
    ys = [layout.nodes[f"s{i}"].y for i in range(steps)]
    assert ys == sorted(ys) and len(set(ys)) == steps
