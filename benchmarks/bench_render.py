"""Rendering figures: every process to SVG, the HTML catalog, and a 1,000-step process.

Prints, for the processes in ``processes/`` and ``tests/fixtures/valid``: the time to
draw all of them as SVG (two Graphviz passes each, a few at a time), the time to build
the whole HTML catalog (SVGs, pages, process map); then, for a generated process of
1,000 steps over 8 lanes with decisions that send work back, the time to build the
diagram model, its DOT and Mermaid text, and its SVG.

Run: python benchmarks/bench_render.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from procflow import loads, render
from procflow.flow.load import check_paths

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


def timed(label: str, func: object) -> object:
    start = time.perf_counter()
    result = func()  # type: ignore[operator]
    print(f"{label:<46} {time.perf_counter() - start:8.2f} s")
    return result


def main() -> None:
    catalog, _ = check_paths([ROOT / "processes", ROOT / "tests" / "fixtures" / "valid"])
    steps = sum(len(p.flow.layout.placed) for p in catalog.values())
    print(f"{len(catalog)} processes, {steps} steps; Graphviz: {render.graphviz_available()}")
    with tempfile.TemporaryDirectory() as tmp:
        timed("all processes to SVG", lambda: render.write_diagrams(catalog, tmp, formats="svg"))
        timed(
            "HTML catalog (SVGs, pages, map, matrix)",
            lambda: render.write_diagrams(catalog, Path(tmp) / "site", formats="html"),
        )
    process = timed("1,000 steps: load, validate, compile", lambda: loads(big(1000)))
    diagram = timed("1,000 steps: diagram model", lambda: render.build_diagram(process))  # type: ignore[arg-type]
    timed("1,000 steps: DOT text", lambda: render.dot_source(diagram))  # type: ignore[arg-type]
    timed("1,000 steps: Mermaid text", lambda: render.mermaid_source(diagram))  # type: ignore[arg-type]
    svg = timed("1,000 steps: SVG (dot + neato -n2)", lambda: render.render_image(diagram, "svg"))  # type: ignore[arg-type]
    print(f"{'1,000 steps: SVG size':<46} {len(svg) / 1e6:8.2f} MB")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
