"""Validate-and-compile figures for the process language.

Prints, for linear processes of 100, 1,000 and 10,000 steps and for one process
with 1,000 parallel branches: the time to load, validate and compile (median
of several runs) and the peak memory of doing it once; how the compiling alone
(building the flow and checking it) grows from 1,000 to 10,000 steps; the time
to refuse a billion-laughs alias bomb; then the wall time of ``procflow
validate processes/`` and of one file with Python start-up included, and of
the imports alone. bench_runtime.py prints these in its table too.

Run: python benchmarks/bench_language.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procflow.flow import load
from procflow.flow.load import Loader
from procflow.language import source

ROOT = Path(__file__).parent.parent


def linear(n: int) -> str:
    lines = [
        "procflow: 1",
        f"id: LIN-{n}",
        f"title: linear {n}",
        "actors: {clerk: 文員}",
        "documents:",
        "  form: {title: 表, fields: {amount: money}}",
        "steps:",
    ]
    for i in range(n):
        lines.append(f"  - id: s{i}")
        lines.append(f"    title: 步驟 {i}")
        lines.append("    actor: clerk")
        if i == 0:
            lines.append("    fills: form")
        elif i % 10 == 0:
            lines.append("    when: form.amount > 100")
    return "\n".join(lines) + "\n"


def wide(n: int) -> str:
    lines = [
        "procflow: 1",
        f"id: PAR-{n}",
        f"title: parallel {n}",
        "actors: {clerk: 文員}",
        "steps:",
        "  - id: fork",
        "    parallel:",
    ]
    for i in range(n):
        lines.append(f"      - steps: [{{id: b{i}, actor: clerk}}]")
    lines.append("  - end: done")
    return "\n".join(lines) + "\n"


def measure(name: str, text: str, runs: int) -> None:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process, problems = Loader().process(Path(f"{name}.yaml"), text=text)
        times.append(time.perf_counter() - started)
        assert process is not None, problems[:3]
    tracemalloc.start()
    Loader().process(Path(f"{name}.yaml"), text=text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    med = statistics.median(times)
    print(
        f"{name:<22} {len(text):>10,} B  median {med * 1000:9.1f} ms  "
        f"min {min(times) * 1000:9.1f} ms  peak +{peak / 2**20:6.1f} MiB  (n={runs})"
    )
    return med


def validate_wall(*paths: str) -> float:
    """Seconds of wall time of ``procflow validate PATHS``, Python start-up included."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 (our own CLI with fixed arguments)
        [sys.executable, "-m", "procflow.cli.main", "validate", *paths],
        check=False,
        capture_output=True,
    )
    return time.perf_counter() - started


def import_wall() -> float:
    """Seconds of wall time of a Python that imports what ``procflow validate`` needs."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import procflow.cli.main, procflow.flow.load"], check=True
    )
    return time.perf_counter() - started


def compile_seconds(text: str) -> tuple[float, float]:
    """Seconds to load (read, validate, compile) one process, and of them the compiling:
    building the flow and checking it (`build_flow`, `check_flow`)."""
    spent = [0.0]

    def timed(func: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started

        return run

    saved = load.build_flow, load.check_flow
    load.build_flow, load.check_flow = timed(saved[0]), timed(saved[1])
    try:
        started = time.perf_counter()
        process, problems = Loader().process(Path("bench.yaml"), text=text)
        total = time.perf_counter() - started
    finally:
        load.build_flow, load.check_flow = saved
    assert process is not None, problems[:3]
    return total, spent[0]


def main() -> None:
    print(f"Python {sys.version.split()[0]}")
    figures = {}
    for n, runs in ((100, 20), (1_000, 7), (10_000, 3)):
        figures[n] = measure(f"linear {n:,} steps", linear(n), runs)
    print(f"growth 1,000 -> 10,000 steps: x{figures[10_000] / figures[1_000]:.1f} (linear is x10)")
    compiling = {
        n: statistics.median(compile_seconds(linear(n))[1] for _ in range(runs))
        for n, runs in ((1_000, 7), (10_000, 3))
    }
    print(
        f"of which compiling (build + checks): {compiling[1_000] * 1000:.1f} ms -> "
        f"{compiling[10_000] * 1000:.1f} ms, x{compiling[10_000] / compiling[1_000]:.1f}"
    )
    measure("1,000 parallel branches", wide(1_000), 5)

    bomb = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    started = time.perf_counter()
    _, problems = source.parse("\n".join(bomb) + "\n", "bomb.yaml")
    print(
        f"alias bomb refused in {(time.perf_counter() - started) * 1000:.1f} ms "
        f"({problems[0].code})"
    )

    walls = [validate_wall(str(ROOT / "processes")) for _ in range(5)]
    count = sum(1 for _ in (ROOT / "processes").rglob("*.yaml"))
    print(
        f"procflow validate processes/ ({count} files), wall incl. start-up: "
        f"median {statistics.median(walls) * 1000:.0f} ms, min {min(walls) * 1000:.0f} ms"
    )
    one = [validate_wall(str(ROOT / "processes" / "HR-01.yaml")) for _ in range(5)]
    imports = [import_wall() for _ in range(5)]
    print(
        f"procflow validate processes/HR-01.yaml, wall incl. start-up: median "
        f"{statistics.median(one) * 1000:.0f} ms, min {min(one) * 1000:.0f} ms; of which "
        f"importing: median {statistics.median(imports) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
