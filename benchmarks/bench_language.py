"""Validate-and-compile figures for the process language.

Prints, for linear processes of 100, 1,000 and 10,000 steps and for one process
with 1,000 parallel branches: the time to load, validate and compile (median
of several runs) and the peak memory of doing it once; how the compiling alone
(building the flow and checking it) grows from 1,000 to 10,000 steps; the time
to refuse a billion-laughs alias bomb; then the wall time of ``procflow
validate`` of one file and of processes/ with Python start-up included, of the
imports alone, and of the floor under them: Python, pydantic, and building the
models (`startup`). bench_runtime.py prints these in its table too.

Run: python benchmarks/bench_language.py (``--startup``: the start-up figures only;
``--quick``: smaller sizes and fewer runs, to check that the script runs)
"""

from __future__ import annotations

import argparse
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


PROCFLOW = Path(sys.executable).with_name("procflow")
"""The ``procflow`` command beside this Python: what an editor or pre-commit runs.
(``python -m procflow.cli.main`` would run that module twice: once as ``__main__``.)"""


def validate_wall(*paths: str) -> float:
    """Seconds of wall time of ``procflow validate PATHS``, Python start-up included."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 (our own CLI with fixed arguments)
        [str(PROCFLOW), "validate", *paths],
        check=False,
        capture_output=True,
    )
    return time.perf_counter() - started


def import_wall() -> float:
    """Seconds of wall time of a Python that imports what ``procflow validate`` needs (and
    exits as it does)."""
    code = "import procflow.cli.main, procflow.flow.load\nimport gc\ngc.freeze()"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 (fixed code)
    return time.perf_counter() - started


FLOOR = {
    "python": "pass",
    "pydantic": "from pydantic import BaseModel",
    "models": "from procflow.language import model, tablefile\n"
    "model.Process.model_rebuild(force=True)",
}
"""What ``procflow validate FILE`` cannot go under while pydantic checks the file, in
steps: Python starting, then importing pydantic, then building the models validate uses
(the process model once, as `procflow.Process` is; the organisation and decision-file
models). Each exits as ``validate`` does (`gc.freeze`: the objects left to the OS)."""


def floor_wall(step: str) -> float:
    """Seconds of wall time of a Python that runs one `FLOOR` step and exits."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 (fixed code)
        [sys.executable, "-c", FLOOR[step] + "\nimport gc\ngc.freeze()"], check=True
    )
    return time.perf_counter() - started


def startup_round(add: Callable[[str, float], None]) -> None:
    """One run of each start-up figure, in seconds, each a fresh process: ``add(key, value)``
    for ``validate file`` (HR-01), ``validate folder``, ``imports`` and ``floor STEP``."""
    for step in FLOOR:
        add(f"floor {step}", floor_wall(step))
    add("imports", import_wall())
    add("validate file", validate_wall(str(ROOT / "processes" / "HR-01.yaml")))
    add("validate folder", validate_wall(str(ROOT / "processes")))


def startup(rounds: int = 15) -> None:
    """Print ``procflow validate`` of one file and of the folder against the floor:
    medians of ``rounds`` interleaved runs, each a fresh process."""
    runs: dict[str, list[float]] = {}
    for _ in range(rounds):
        startup_round(lambda key, value: runs.setdefault(key, []).append(value))
    med = {key: statistics.median(values) * 1000 for key, values in runs.items()}
    count = sum(1 for _ in (ROOT / "processes").glob("*.yaml"))
    print(f"medians of {rounds} interleaved runs, each a fresh process ({PROCFLOW}):")
    print(f"  Python start-up alone                 {med['floor python']:6.0f} ms")
    print(f"  + import pydantic (BaseModel)         {med['floor pydantic']:6.0f} ms")
    print(f"  + build the models validate uses      {med['floor models']:6.0f} ms  (the floor)")
    print(f"  import what validate needs            {med['imports']:6.0f} ms")
    print(
        f"  procflow validate processes/HR-01.yaml {med['validate file']:5.0f} ms  "
        f"({med['validate file'] / med['floor models']:.2f}× the floor; "
        f"{med['validate file'] - med['floor models']:.0f} ms above it)"
    )
    print(
        f"  procflow validate processes/ ({count} process files) {med['validate folder']:5.0f} ms"
    )


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


def main(quick: bool = False) -> None:
    """Every figure; ``quick``: chains of 100 and 1,000 steps, 100 branches, 3 start-up rounds
    (a check that the script still runs, not figures to quote)."""
    print(f"Python {sys.version.split()[0]}")
    small, large = (100, 1_000) if quick else (1_000, 10_000)
    sizes = ((100, 3), (1_000, 3)) if quick else ((100, 20), (1_000, 7), (10_000, 3))
    figures = {}
    for n, runs in sizes:
        figures[n] = measure(f"linear {n:,} steps", linear(n), runs)
    print(f"growth {small:,} -> {large:,} steps: x{figures[large] / figures[small]:.1f} "
          "(linear is x10)")  # fmt: skip
    compiling = {
        n: statistics.median(compile_seconds(linear(n))[1] for _ in range(runs))
        for n, runs in ((small, 7), (large, 3))
    }
    print(
        f"of which compiling (build + checks): {compiling[small] * 1000:.1f} ms -> "
        f"{compiling[large] * 1000:.1f} ms, x{compiling[large] / compiling[small]:.1f}"
    )
    branches = 100 if quick else 1_000
    measure(f"{branches:,} parallel branches", wide(branches), 5)

    bomb = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    started = time.perf_counter()
    _, problems = source.parse("\n".join(bomb) + "\n", "bomb.yaml")
    print(
        f"alias bomb refused in {(time.perf_counter() - started) * 1000:.1f} ms "
        f"({problems[0].code})"
    )

    startup(rounds=3 if quick else 15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--startup", action="store_true", help="the start-up figures only")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    args = parser.parse_args()
    if args.startup:
        startup(rounds=3 if args.quick else 15)
    else:
        main(args.quick)
