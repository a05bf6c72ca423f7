"""Rendering figures: every process to SVG, the HTML catalog, and processes of 100 to
1,000 steps.

Prints, for the processes in ``processes/`` and ``tests/fixtures/valid``: the time to
draw all of them as SVG (our layout, then one Graphviz run each that only draws, a few
at a time), the time to build the whole HTML catalog (SVGs, pages, process map); then,
for generated processes over 8 lanes with decisions that send work back, the time to
build the diagram model, lay it out, write its DOT and Mermaid text, and draw its SVG
and PNG, both from one layout (`render_images`, what ``procflow render`` does), and
Graphviz's PNG run alone (the target: a 1,000-step process in under 2 s; a PNG that
large is one bitmap Graphviz scales down to 32,767 pixels). Each figure is the best
of 3 runs.

Run: python benchmarks/bench_render.py (``--quick``: less of it, to check that it runs)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from procflow import loads, render
from procflow.flow.load import check_paths
from procflow.render.arrange import lay_out
from procflow.render.dot import run_graphviz

ROOT = Path(__file__).parent.parent


def big(n: int) -> str:
    lines = [
        "procflow: 1",
        f"id: BIG-{n}",
        f"title: 大流程 {n}",
        "actors: {" + ", ".join(f"r{i}: 角色{i}" for i in range(8)) + "}",
        "documents:",
        "  form: {title: 表單, fields: {amount: money}}",
        "steps:",
    ]
    for i in range(n):
        lines += [f"  - id: s{i}", f"    title: 步驟 {i}", f"    actor: r{i % 8}"]
        lines.append("    fills: form" if i == 0 else "    reads: form")
        if i % 10 == 9:
            lines.append(f"    decide: {{ok: next, back: s{i - 5}}}")
    return "\n".join(lines) + "\n"


T = TypeVar("T")


def timed(label: str, func: Callable[[], T], *, rounds: int = 3) -> T:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<46} {best:8.2f} s")
    return result


def generated(n: int, rounds: int = 3) -> None:
    name = f"{n:,} steps:"
    process = timed(f"{name} load, validate, compile", lambda: loads(big(n)), rounds=1)
    diagram = timed(f"{name} diagram model", lambda: render.build_diagram(process), rounds=rounds)
    timed(f"{name} layout", lambda: lay_out(diagram), rounds=rounds)
    timed(f"{name} DOT text (layout included)", lambda: render.dot_source(diagram), rounds=rounds)
    timed(f"{name} Mermaid text", lambda: render.mermaid_source(diagram), rounds=rounds)
    svg = timed(
        f"{name} SVG (all of it)", lambda: render.render_image(diagram, "svg"), rounds=rounds
    )
    print(f"{name + ' SVG size':<46} {len(svg) / 1e6:8.2f} MB")
    # a PNG is one cairo bitmap of at most 32,767 pixels a side: encoding it (libpng's
    # filters and zlib, two thirds of dot's time under perf) is most of this
    timed(f"{name} PNG (all of it)", lambda: render.render_image(diagram, "png"), rounds=rounds)
    timed(
        f"{name} SVG and PNG (one layout, both runs)",
        lambda: render.render_images(diagram, ["svg", "png"]),
        rounds=rounds,
    )
    source = render.dot_source(diagram)
    timed(f"{name} PNG: Graphviz's run alone", lambda: run_graphviz(source, "png"), rounds=rounds)


def main(quick: bool = False) -> None:
    """Every figure; ``quick``: each once, without the PNG of every process, on a generated
    process of 30 steps (a check that the script still runs, not figures to quote)."""
    rounds = 1 if quick else 3
    catalog, _ = check_paths([ROOT / "processes", ROOT / "tests" / "fixtures" / "valid"])
    steps = sum(sum(1 for _ in p.flow.steps()) for p in catalog.values())
    print(f"{len(catalog)} processes, {steps} steps; Graphviz: {render.graphviz_available()}")
    with tempfile.TemporaryDirectory() as tmp:
        timed(
            "all processes to SVG",
            lambda: render.write_diagrams(catalog, tmp, formats="svg"),
            rounds=rounds,
        )
        timed(
            "HTML catalog (SVGs, pages, map, matrix)",
            lambda: render.write_diagrams(catalog, Path(tmp) / "site", formats="html"),
            rounds=rounds,
        )
        if quick:
            generated(30, rounds)
            return
        timed(
            "all processes to PNG",
            lambda: render.write_diagrams(catalog, Path(tmp) / "png", formats="png"),
            rounds=1,
        )
    for n in (100, 300, 1000):
        generated(n)


if __name__ == "__main__":
    main(quick=sys.argv[1:] == ["--quick"])
