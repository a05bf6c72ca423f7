"""The writers of one SQLite file, queued: in a process on a lock, across processes on a lock
file beside the database, so that a writer goes as soon as the one before it is done.

Owns `Writers`, which a durable `SQLiteStore` holds around every write transaction.

Why: SQLite makes a writer that finds the database locked sleep, 1 ms, then 2, 5, 10 ms and
more (its busy handler), while a procflow commit holds the lock for a few hundred
microseconds. With several processes writing to one file, most of their time went in those
sleeps, and eight processes committed no faster than one. Here the writers of a process
queue on a `threading.Lock`, which hands over at once, and the one at the head takes an
``flock`` on ``<database>-lock`` before ``BEGIN IMMEDIATE``. When another process holds
it, the writer tries again after 20 us, then after twice as long each time, up to 1 ms,
until the store's timeout has passed; then it fails with `StoreError`, as SQLite's busy
handler would have. Past the lock file, ``BEGIN IMMEDIATE`` finds SQLite's write lock
free, unless a program other than procflow holds it: then SQLite's busy handler waits for
it, as before.

The lock file orders writers; it guards nothing. SQLite's own locks keep the data whole.
So when the lock file cannot be made or opened (a read-only folder, another user's file,
a folder in its place), where there is no ``flock`` (Windows), or when a filesystem
refuses it, the writers of different processes are left to SQLite's busy handler:
slower, never wrong. The file stays when the store closes, as ``-shm`` does. A process
forked from one that opened the store opens its own descriptor: one inherited across a
fork would share the parent's lock.

Must not import anything from procflow but `errors`.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from procflow.errors import StoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy handler alone
    _FLOCK = False
else:
    _FLOCK = True

FIRST_WAIT = 20e-6
"""Seconds before a writer looks at the lock file again, the first time."""
LONGEST_WAIT = 1e-3
"""Seconds between two looks at most: the wait doubles up to this."""


class Writers:
    """The write lock of one database for the threads and processes that use it.

    ``with writers:`` waits for the threads of this process that came first (as
    long as they take), then for other processes' writers, up to ``timeout``.

    Args:
        database: The database file; the lock file is beside it, named ``<file>-lock``.
        timeout: Seconds to wait for the writers of other processes.

    Raises:
        StoreError: (on entering) Another process kept writing for ``timeout`` seconds.
    """

    def __init__(self, database: Path, timeout: float) -> None:
        self.path = Path(f"{database}-lock")
        self._database = database
        self._timeout = timeout
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        """The process ``_fd`` was opened in (0: not yet)."""
        self._held: int | None = None
        """The descriptor whose lock this thread holds, while it is held."""
        self._closed = False
        """Closed: a late writer (one that took a connection before) opens nothing again."""

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            self._lock_file()
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        held, self._held = self._held, None
        try:
            if held is not None:
                fcntl.flock(held, fcntl.LOCK_UN)
        except OSError:  # pragma: no cover - unlocking an open descriptor does not fail
            self._forget()  # closing it releases the lock
        finally:
            self._threads.release()

    def close(self) -> None:
        """Close the lock file's descriptor, for good: a writer after this opens none (it is
        left to SQLite's busy handler)."""
        with self._threads:
            self._closed = True
            self._forget()

    def _lock_file(self) -> None:
        fd = self._descriptor()
        if fd is None:
            return
        wait, deadline = FIRST_WAIT, 0.0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            except OSError:  # a filesystem without locks: leave the order to SQLite
                self._forget()
                self._pid = os.getpid()  # and not opened again in this process
                return
            else:
                self._held = fd
                return
            now = time.monotonic()
            if not deadline:
                deadline = now + self._timeout
            elif now >= deadline:
                raise StoreError(
                    f"{self._database}: database is locked: another process (or another"
                    f" store on this file) has been writing for {self._timeout:g} s (it holds"
                    f" {self.path.name}); try again",
                    retry_safe=True,
                )
            time.sleep(min(wait, deadline - now))
            wait = min(2 * wait, LONGEST_WAIT)

    def _descriptor(self) -> int | None:
        """The lock file's descriptor in this process; None where there can be none."""
        pid = os.getpid()
        if self._pid != pid and not self._closed:  # the first writer, or a forked child's
            self._forget()
            self._pid = pid
            if _FLOCK:
                try:
                    self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o666)
                except OSError:
                    self._fd = None
        return self._fd

    def _forget(self) -> None:
        fd, self._fd, self._pid = self._fd, None, 0
        if fd is not None:
            os.close(fd)
