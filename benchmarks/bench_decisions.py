"""Decision-table figures.

Prints evaluations per second of MBO-GRADE and of the KPI-SALES scorecard
(which calls three sub-tables), through `procflow.decide`; then the time to
load and check tables of 1,000 rules for gaps and overlaps: one input in
1,000 bands, a grid of 10 regions × 100 amount bands, a cube of 10 × 10 × 10,
and 1,000 rules under ``first`` (unreachable rules), each as the median of
several runs, and the part of it spent in the sweep itself.

Run: python benchmarks/bench_decisions.py
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from procflow import decide
from procflow.decisions.analysis import analyse
from procflow.decisions.files import check_file, load_tables
from procflow.language import source

ROOT = Path(__file__).parent.parent
DECISIONS = ROOT / "processes" / "decisions"


def median_time(fn: Callable[[], Any], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rate(fn: Callable[[int], Any], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def evaluations() -> None:
    grade = load_tables(DECISIONS / "mbo.yaml")["MBO-GRADE"]
    sales = load_tables(DECISIONS / "kpi.yaml")["KPI-SALES"]
    scores = [Decimal(s) / 2 for s in range(0, 201)]
    per_s = rate(lambda i: decide(grade, {"score": scores[i % len(scores)]}), 50_000)
    print(f"MBO-GRADE          {per_s:>10,.0f} evaluations/s")
    inputs = [
        {
            "plan_completion": Decimal(40 + i % 130),
            "team_attainment": Decimal(i % 101),
            "expense_use": Decimal(80 + i % 50),
            "information": Decimal(i % 16),
            "attitude": Decimal(i % 6),
        }
        for i in range(1000)
    ]
    per_s = rate(lambda i: decide(sales, inputs[i % 1000]), 20_000)
    print(f"KPI-SALES scorecard{per_s:>10,.0f} evaluations/s")


def table_text(table_id: str, inputs: dict[str, str], rows: list[list[Any]], hit: str) -> str:
    lines = ["procflow: 1", "title: bench", "tables:", f"  {table_id}:", "    title: bench"]
    lines.append(f"    hit: {hit}")
    lines.append("    inputs:")
    lines += [f"      {k}: {v}" for k, v in inputs.items()]
    lines += ["    outputs:", "      out: number", "    rules:"]
    lines += ["      - [" + ", ".join(f'"{c}"' for c in row) + "]" for row in rows]
    return "\n".join(lines) + "\n"


def bands(n: int, width: int) -> list[str]:
    """``n`` cells that cut the numbers into bands: <= 0, (0..w], (w..2w], ..., > (n-2)w."""
    # '(a..b]' rather than '[a..b)': source.py's quick nesting check counts every
    # unclosed '[' in the file, even inside quotes (see the closing note of issue 4)
    middle = [f"({i * width}..{(i + 1) * width}]" for i in range(n - 2)]
    return ["<= 0", *middle, f"> {(n - 2) * width}"]


def cases() -> dict[str, str]:
    one = [[cell, i] for i, cell in enumerate(bands(1000, 10))]
    regions = [f"r{i}" for i in range(10)]
    grid = [[r, cell, i] for r in regions for i, cell in enumerate(bands(100, 10))]
    cube = [
        [a, b, c, 1] for a, b, c in itertools.product(bands(10, 10), bands(10, 10), bands(10, 10))
    ]
    first = [[f">= {i}", i] for i in range(998, -1, -1)] + [["< 0", -1]]
    of = "[" + ", ".join(regions) + "]"
    return {
        "1 input, 1,000 bands (unique)": table_text("ONE", {"x": "number"}, one, "unique"),
        "10 regions × 100 bands (unique)": table_text(
            "GRID", {"region": f"{{type: choice, of: {of}}}", "x": "money"}, grid, "unique"
        ),
        "10 × 10 × 10 (unique)": table_text(
            "CUBE", {"a": "number", "b": "number", "c": "number"}, cube, "unique"
        ),
        "1,000 nested rules under first": table_text("FIRST_HIT", {"x": "number"}, first, "first"),
    }


def checks() -> None:
    for name, text in cases().items():
        doc, problems = source.parse(text, "bench.yaml")
        assert doc is not None, problems
        tables, problems = check_file(doc, problems)
        assert tables is not None, [str(p) for p in problems[:3]]
        table = next(iter(tables.values()))
        whole = median_time(lambda doc=doc: check_file(doc, []))
        sweep = median_time(
            lambda table=table: analyse(
                table.inputs, [r.tests for r in table.rules], policy=table.hit
            )
        )
        print(
            f"{name:<34} {len(table.rules):>5} rules: load+check {whole * 1000:7.1f} ms, "
            f"of which the gap/overlap sweep {sweep * 1000:6.1f} ms"
        )


if __name__ == "__main__":
    evaluations()
    checks()
