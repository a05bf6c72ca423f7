"""Validate-and-compile figures for the process language.

Prints, for linear processes of 100, 1,000 and 10,000 steps and for one process
with 1,000 parallel branches: the time to load, validate and compile (median
of several runs) and the peak memory of doing it once; then the wall time of
``procflow validate processes/`` with Python start-up included, and the time to
refuse a billion-laughs alias bomb.

Run: python benchmarks/bench_language.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

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


def main() -> None:
    print(f"Python {sys.version.split()[0]}")
    figures = {}
    for n, runs in ((100, 20), (1_000, 7), (10_000, 3)):
        figures[n] = measure(f"linear {n:,} steps", linear(n), runs)
    print(f"growth 1,000 -> 10,000 steps: x{figures[10_000] / figures[1_000]:.1f} (linear is x10)")
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

    walls = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 (our own CLI with fixed arguments)
            [sys.executable, "-m", "procflow.cli.main", "validate", str(ROOT / "processes")],
            check=False,
            capture_output=True,
        )
        walls.append(time.perf_counter() - started)
    count = sum(1 for _ in (ROOT / "processes").rglob("*.yaml"))
    print(
        f"procflow validate processes/ ({count} files), wall incl. start-up: "
        f"median {statistics.median(walls) * 1000:.0f} ms, min {min(walls) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
