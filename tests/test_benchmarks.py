"""Every script in benchmarks/ still runs, in its quick form, and says what it measured.

No figure is checked (tests never time anything): each script runs to its end with exit
0, and prints the lines that show it measured each part. The runtime benchmark and the
decision-table benchmark had broken unnoticed when the API under them moved; these
runs catch that. SpiffWorkflow, the peer, is not installed by the dev extras: the
parts that compare with it (bench_runtime.py's table, bench_scale.py's peer) stay
out, and run by hand (benchmarks/requirements.txt).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

CASES = {
    "bench_runtime.py": (
        ["--quick", "--no-table"],
        [
            "2. Chains",
            "correct",
            "file bytes per instance",
            "peak RSS after starting them",
            "sqlite, N=1,000 / N=100",
        ],
    ),
    "bench_decisions.py": ([], ["MBO-GRADE", "KPI-SALES", "1,000 nested rules under first"]),
    "bench_language.py": (
        ["--quick"],
        [
            "linear 1,000 steps",
            "of which compiling",
            "alias bomb refused",
            "(the floor)",
            "procflow validate processes/HR-01.yaml",
        ],
    ),
    "bench_render.py": (["--quick"], ["all processes to SVG", "HTML catalog", "30 steps: PNG"]),
    "bench_paths.py": ([], ["FIFO named", "compact file of 100,000 steps", "PF102"]),
    "bench_scale.py": (
        ["--sizes", "1000", "--samples", "5", "--seconds", "1", "--no-peer"],
        ["sqlite, 1,000 instances", "postgres, 1,000 instances", "complete (durable)"],
    ),
    "bench_web.py": (["--instances", "300", "--seconds", "1"], ["Requests/sec", "complete  n="]),
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CASES))
def test_a_benchmark_runs_to_its_end(script: str) -> None:
    args, expected = CASES[script]
    if script == "bench_web.py":
        assert shutil.which("wrk"), "bench_web.py loads the server with wrk: scripts/setup --dev"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "Traceback" not in out and "WRONG" not in out, out[-3000:]
    missing = [line for line in expected if line not in done.stdout]
    assert not missing, f"{script} printed no {missing}:\n{done.stdout[-3000:]}"
