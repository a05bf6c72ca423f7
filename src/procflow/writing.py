"""Writing files so that a failure never leaves half of one where a good one was.

Owns `atomic_write`, used for diagrams, the HTML catalog, scenario results,
the generated processes/README.md and the clock of ``procflow run``.
Imports nothing from procflow.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

MODE = 0o666
"""The mode a new file asks for; the process's umask takes its bits away (0644 under 022)."""


def _temporary(folder: Path, name: str) -> tuple[int, Path]:
    # tempfile.mkstemp would create the file 0600 whatever the umask: open it ourselves,
    # asking for MODE, so the kernel applies the umask as it does to any new file
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, flags, MODE), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits taken already
            continue


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets the permissions of any new file (``0666`` less the umask), also when
    it replaces an older one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = _temporary(path.parent, path.name)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
