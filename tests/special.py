"""Special files for the hostile-path tests, and a way to run the CLI where they are real.

Git cannot hold a FIFO, a socket or an unreadable file, so each case is built
here, in a fresh folder, by the test that needs it (`BUILDERS`; their
expectations are ``tests/fixtures/invalid/NAME.expected`` files without a
``NAME.yaml``).

Root reads any file whatever its mode, so ``chmod 000`` proves nothing when
the tests run as root, as they do in CI's container. `run_cli` therefore runs
the command in a child process that, when it starts as root, first imports
everything a run needs and then drops to ``nobody`` for good, so that the
files are as unreadable to it as they are to an analyst. The child has a
time limit, so a command that would hang fails the test instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

NOBODY = 65534
TIMEOUT = 60
"""Seconds a child may take; the cases here take well under one."""

PROCESS = "procflow: 1\nid: {id}\ntitle: t\nactors: {{a: x}}\nsteps:\n  - actor: a\n"
WARM_UP = Path(__file__).parent / "fixtures" / "valid"

_CHILD = """
import os, sys
from procflow.cli.main import main
from procflow.flow.load import check_paths

check_paths([sys.argv[1]])  # import, still privileged, everything a run needs
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(int(sys.argv[2]))
    os.setuid(int(sys.argv[2]))  # for good: root cannot come back
    assert os.geteuid() != 0
main(sys.argv[3:], prog_name="procflow")
"""


def run_cli(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``procflow ARGS`` run unprivileged in a child."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(WARM_UP), str(NOBODY), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd="/",
    )
    return proc.returncode, proc.stdout, proc.stderr


@contextmanager
def open_folder() -> Iterator[Path]:
    """A fresh folder that an unprivileged child may enter (pytest's tmp_path is private)."""
    folder = Path(tempfile.mkdtemp(prefix="procflow-special-"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        for p in [folder, *folder.rglob("*")]:
            if not p.is_symlink():
                p.chmod(0o700)
        shutil.rmtree(folder)


def _good(folder: Path, name: str = "good.yaml", pid: str = "GOOD") -> Path:
    path = folder / name
    path.write_text(PROCESS.format(id=pid), encoding="utf-8")
    return path


def fifo(d: Path) -> list[str]:
    os.mkfifo(d / "p.yaml")
    return [str(d / "p.yaml")]


def fifo_in_folder(d: Path) -> list[str]:
    _good(d)
    os.mkfifo(d / "p.yaml")
    return [str(d)]


def socket_file(d: Path) -> list[str]:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(d / "s.yaml"))  # the socket file stays behind, as a server's does
    return [str(d / "s.yaml")]


def device(d: Path) -> list[str]:
    return ["/dev/null"]


def unreadable_file(d: Path) -> list[str]:
    _good(d, "u.yaml").chmod(0)
    return [str(d / "u.yaml")]


def unreadable_folder(d: Path) -> list[str]:
    (d / "sub").mkdir()
    _good(d / "sub")
    (d / "sub").chmod(0)
    return [str(d / "sub")]


def unreadable_in_folder(d: Path) -> list[str]:
    _good(d)
    _good(d, "u.yaml", "U").chmod(0)
    return [str(d)]


def unreadable_subfolder(d: Path) -> list[str]:
    _good(d)
    (d / "sub").mkdir()
    _good(d / "sub", pid="SUB")
    (d / "sub").chmod(0)
    return [str(d)]


def symlink_loop(d: Path) -> list[str]:
    _good(d)
    (d / "loop.yaml").symlink_to("loop.yaml")
    return [str(d)]


def dangling_link(d: Path) -> list[str]:
    _good(d)
    (d / "gone.yaml").symlink_to("nowhere.yaml")
    return [str(d)]


def folder_link(d: Path) -> list[str]:
    (d / "real").mkdir()
    _good(d / "real")
    (d / "top").mkdir()
    _good(d / "top", pid="TOP")
    (d / "top" / "shared").symlink_to("../real")
    return [str(d / "top")]


def only_loop(d: Path) -> list[str]:
    (d / "loop.yaml").symlink_to("loop.yaml")
    return [str(d)]


def empty_folder(d: Path) -> list[str]:
    (d / "README.md").write_text("no processes here\n", encoding="utf-8")
    return [str(d)]


def loop_named(d: Path) -> list[str]:
    (d / "loop.yaml").symlink_to("loop.yaml")
    return [str(d / "loop.yaml")]


def compact_steps(d: Path) -> list[str]:
    steps = ",".join(["{actor: a}"] * 100_000)
    path = d / "compact.yaml"
    path.write_text(
        f"procflow: 1\nid: C\ntitle: t\nactors: {{a: x}}\nsteps: [{steps}]\n", encoding="utf-8"
    )
    return [str(path)]


BUILDERS: dict[str, Callable[[Path], list[str]]] = {
    "special_fifo": fifo,
    "special_fifo_in_folder": fifo_in_folder,
    "special_socket": socket_file,
    "special_device": device,
    "special_unreadable_file": unreadable_file,
    "special_unreadable_folder": unreadable_folder,
    "special_unreadable_in_folder": unreadable_in_folder,
    "special_unreadable_subfolder": unreadable_subfolder,
    "special_symlink_loop": symlink_loop,
    "special_dangling_link": dangling_link,
    "special_folder_link": folder_link,
    "special_only_loop": only_loop,
    "special_empty_folder": empty_folder,
    "special_loop_named": loop_named,
    "special_compact_steps": compact_steps,
}
"""Case name -> builder of its files, returning the paths to name on the command line."""
