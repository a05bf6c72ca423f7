"""Hostile paths given to ``procflow validate``: exit code, wall time, peak memory, message.

Builds each case in a fresh folder (FIFOs, sockets, devices, symlink loops,
dangling links, unreadable files and folders, a file beside large neighbours,
a compact file of 100,000 steps, a large scalar aliased 50 times), runs the real
command in a child process with a time limit and a memory cap, and prints one
row per case. Unreadable cases run the child as ``nobody`` when this script
runs as root (root reads any file, so ``chmod 000`` alone proves nothing).

Run: python benchmarks/bench_paths.py
To measure another checkout: PYTHONPATH=/path/to/other/src python benchmarks/bench_paths.py
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

TIMEOUT = 20.0
"""Seconds before a case counts as hung and is killed."""
MEMORY_CAP = 2 * 1024**3
"""Address-space cap of each child, so that reading /dev/zero cannot take the machine."""
NOBODY = 65534

SMALL = "procflow: 1\nid: ONE\ntitle: t\nactors: {a: x}\nsteps:\n  - actor: a\n"


def linear(pid: str, n: int) -> str:
    """A valid process of ``n`` steps with long titles (large, slow to check)."""
    lines = [f"procflow: 1\nid: {pid}\ntitle: big\nactors: {{clerk: 文員}}\nsteps:"]
    lines += [f"  - {{id: s{i}, title: 第{i}步 {'說明' * 20}, actor: clerk}}" for i in range(n)]
    return "\n".join(lines) + "\n"


def _fifo(d: Path) -> list[str]:
    os.mkfifo(d / "p.yaml")
    return [str(d / "p.yaml")]


def _fifo_in_folder(d: Path) -> list[str]:
    (d / "good.yaml").write_text(SMALL)
    os.mkfifo(d / "p.yaml")
    return [str(d)]


def _socket(d: Path) -> list[str]:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(d / "s.yaml"))  # the socket file stays, as a server's does
    return [str(d / "s.yaml")]


def _unreadable_file(d: Path) -> list[str]:
    (d / "u.yaml").write_text(SMALL)
    (d / "u.yaml").chmod(0)
    return [str(d / "u.yaml")]


def _unreadable_folder(d: Path) -> list[str]:
    (d / "sub").mkdir()
    (d / "sub" / "a.yaml").write_text(SMALL)
    (d / "sub").chmod(0)
    return [str(d / "sub")]


def _unreadable_file_inside(d: Path) -> list[str]:
    (d / "good.yaml").write_text(SMALL.replace("ONE", "TWO"))
    (d / "u.yaml").write_text(SMALL)
    (d / "u.yaml").chmod(0)
    return [str(d)]


def _unreadable_subfolder(d: Path) -> list[str]:
    (d / "good.yaml").write_text(SMALL)
    (d / "sub").mkdir()
    (d / "sub" / "a.yaml").write_text(SMALL.replace("ONE", "TWO"))
    (d / "sub").chmod(0)
    return [str(d)]


def _loop_inside(d: Path) -> list[str]:
    (d / "good.yaml").write_text(SMALL)
    (d / "loop.yaml").symlink_to("loop.yaml")
    return [str(d)]


def _dangling_inside(d: Path) -> list[str]:
    (d / "good.yaml").write_text(SMALL)
    (d / "gone.yaml").symlink_to("nowhere.yaml")
    return [str(d)]


def _only_loop(d: Path) -> list[str]:
    (d / "loop.yaml").symlink_to("loop.yaml")
    return [str(d)]


def _empty(d: Path) -> list[str]:
    return [str(d)]


def _no_yaml(d: Path) -> list[str]:
    (d / "README.md").write_text("# nothing here\n")
    return [str(d)]


def _loop_named(d: Path) -> list[str]:
    (d / "loop.yaml").symlink_to("loop.yaml")
    return [str(d / "loop.yaml")]


def _alone(d: Path) -> list[str]:
    (d / "one.yaml").write_text(SMALL)
    return [str(d / "one.yaml")]


def _neighbours(d: Path) -> list[str]:
    (d / "one.yaml").write_text(SMALL)
    for i in range(4):
        (d / f"big{i}.yaml").write_text(linear(f"BIG-{i}", 9_000))
    return [str(d / "one.yaml")]


def _compact(d: Path) -> list[str]:
    steps = ",".join(["{actor: a}"] * 100_000)
    (d / "compact.yaml").write_text(
        f"procflow: 1\nid: C\ntitle: t\nactors: {{a: x}}\nsteps: [{steps}]\n"
    )
    return [str(d / "compact.yaml")]


def _alias50(d: Path) -> list[str]:
    lines = ["procflow: 1", "id: A", f'title: &t "{"x" * 1_500_000}"', "actors: {a: x}", "steps:"]
    lines += ["  - {actor: a, title: *t}"] * 50
    (d / "alias50.yaml").write_text("\n".join(lines) + "\n")
    return [str(d / "alias50.yaml")]


CASES: list[tuple[str, Callable[[Path], list[str]], bool]] = [
    ("FIFO named", _fifo, False),
    ("FIFO in a folder", _fifo_in_folder, False),
    ("socket named", _socket, False),
    ("/dev/zero named", lambda d: ["/dev/zero"], False),
    ("/dev/null named", lambda d: ["/dev/null"], False),
    ("unreadable file named", _unreadable_file, True),
    ("unreadable folder named", _unreadable_folder, True),
    ("unreadable file in a folder", _unreadable_file_inside, True),
    ("unreadable sub-folder", _unreadable_subfolder, True),
    ("symlink loop in a folder", _loop_inside, False),
    ("dangling link in a folder", _dangling_inside, False),
    ("folder of only a symlink loop", _only_loop, False),
    ("empty folder", _empty, False),
    ("folder without YAML", _no_yaml, False),
    ("symlink loop named", _loop_named, False),
    ("83-byte file alone", _alone, False),
    ("83-byte file, 4 large neighbours", _neighbours, False),
    ("compact file of 100,000 steps", _compact, False),
    ("1.5 MB scalar aliased 50 times", _alias50, False),
]


_CHILD = """
import os, resource, sys
cap, uid, warm_up, *args = sys.argv[1:]
resource.setrlimit(resource.RLIMIT_AS, (int(cap), int(cap)))
from procflow.cli.main import main
if int(uid):
    from procflow.flow.load import check_paths
    check_paths([warm_up])  # import, still root, whatever a run needs
    os.setgroups([])
    os.setgid(int(uid))
    os.setuid(int(uid))
main(args, prog_name="procflow")
"""


def run_case(
    argv: list[str], *, unprivileged: bool, warm_up: Path
) -> tuple[str, float, float, list[str]]:
    """Exit code (or 'hang'), seconds, peak MiB and output lines of one ``validate`` run."""
    uid = NOBODY if unprivileged and os.geteuid() == 0 else 0
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 (our own CLI with fixed arguments)
        [sys.executable, "-c", _CHILD, str(MEMORY_CAP), str(uid), str(warm_up), "validate", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd="/",
    )
    out: list[bytes] = []
    reader = threading.Thread(
        target=lambda: out.append(child.stdout.read() if child.stdout else b"")
    )
    reader.start()
    timer = threading.Timer(TIMEOUT, child.kill)
    timer.start()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    killed = not timer.is_alive()
    timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    code = "hang" if killed else str(child.returncode)
    lines = b"".join(out).decode(errors="replace").splitlines()
    return code, seconds, usage.ru_maxrss / 1024, lines


def main() -> None:
    print(f"Python {sys.version.split()[0]}, procflow from {_source()}, uid {os.geteuid()}")
    warm_up = Path(tempfile.mkdtemp(prefix="pf-warm-up-")) / "w.yaml"
    warm_up.parent.chmod(0o755)
    warm_up.write_text(SMALL)
    print(f"{'case':<34} {'exit':>4} {'time':>7} {'peak':>8}  output (first line, number of lines)")
    for name, build, unprivileged in CASES:
        folder = Path(tempfile.mkdtemp(prefix="pf-paths-"))
        folder.chmod(0o755)  # so that 'nobody' may enter it
        try:
            argv = build(folder)
            code, seconds, peak, lines = run_case(argv, unprivileged=unprivileged, warm_up=warm_up)
        finally:
            for p in folder.rglob("*"):
                if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) == 0:
                    p.chmod(0o700)
            shutil.rmtree(folder)
        first = lines[0].replace(str(folder), "…") if lines else "(no output)"
        if len(first) > 150:
            first = first[:147] + "..."
        print(f"{name:<34} {code:>4} {seconds:6.2f}s {peak:6.0f}MB  {first} [{len(lines)}]")
    shutil.rmtree(warm_up.parent)


def _source() -> str:
    import procflow

    return str(Path(procflow.__file__).parent.parent)


if __name__ == "__main__":
    main()
