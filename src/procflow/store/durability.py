"""Group commit: the commits of many threads made durable by one fsync of the WAL.

Owns `WalSync`, which a durable `SQLiteStore` calls right after each
``COMMIT``. Its connections run in WAL mode with ``synchronous=NORMAL``: a
``COMMIT`` appends the transaction's pages to the ``-wal`` file and returns
without an fsync (SQLite syncs the WAL only before a checkpoint copies it
into the database, and the database after). `WalSync.wait` then returns only
once an fsync of the ``-wal`` file that *started after that COMMIT returned*
has finished; committers that wait at the same time share it.

Why that is as durable as ``synchronous=FULL`` for every acknowledged command:

- What FULL adds to NORMAL in WAL mode is syncs of the WAL: at the end of
  each commit, after appending its frames (and, when the WAL starts over
  from the beginning, after writing its new header). Here the fsync comes a
  little later, but still before the command is acknowledged, and it covers
  every byte written to the file before it began (fsync flushes the file's
  dirty pages whoever wrote them): the commit's frames, the frames of
  earlier transactions they follow, and the header. Recovery after a power
  loss reads that prefix, checks the checksum chain, and keeps every
  transaction up to the last commit frame it finds: ours is among them.
- A frame leaves the WAL only through a checkpoint, which copies it into the
  database file and syncs that file before the WAL may be overwritten from
  the start (``synchronous=NORMAL`` keeps those syncs). So a commit whose
  frames were checkpointed before our fsync is durable in the database
  instead.
- A new ``-wal`` file also needs its directory entry on disk: SQLite syncs
  the directory at the first sync of a new WAL, which under NORMAL may be the
  first checkpoint. `WalSync` syncs the directory itself each time it opens a
  ``-wal`` file it has not synced before.
- What FULL does not promise, this does not either: a disk that acknowledges
  writes it has not made, or a torn sector rewritten by a later commit
  (SQLite assumes powersafe overwrite in both modes).

The difference readers can see: under FULL a commit becomes visible once it
is synced; here it becomes visible when its COMMIT returns, a moment before
it is durable. A command that reads it and commits is acknowledged only
after a sync that covers both (its frames come later in the same file), so
nothing acknowledged rests on a commit a power loss could take back; a read
alone may show such a commit.

"fsync" here is ``fdatasync`` where the platform has it, as SQLite syncs its
WAL: it flushes the data and what is needed to read them back (the size),
not the modification time.

Across processes each process syncs for its own committers: an fsync by one
also flushes the others' frames, which only helps, and a process acknowledges
a commit only after a sync of its own that began after that COMMIT.

When an fsync fails, the transactions it covered are committed but not known
to be on disk, and on Linux the kernel may already have dropped the pages it
could not write, so a later fsync that succeeds proves nothing about them.
Every commit waiting then raises `StoreError` saying so, and so does every
commit after it: the store stops acknowledging until it is reopened (after
the cause is fixed; treat it like a crash).

Only the ``-wal`` file is opened here: SQLite takes its POSIX locks on the
database and ``-shm`` files, and closing any descriptor of a file releases
all the process's locks on it.

Must not import anything from procflow but `errors`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from procflow.errors import StoreError

_WINDOWS = os.name == "nt"


def _datasync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)  # looked up at each call: tests replace them


class WalSync:
    """Makes the commits of one database durable, one fsync for every commit waiting on it.

    Args:
        database: The database file; its WAL is beside it, named ``<file>-wal``.
    """

    def __init__(self, database: Path) -> None:
        # SQLite resolves symbolic links before naming the WAL
        self._wal = os.path.realpath(database) + "-wal"
        self._mutex = threading.Lock()
        """Guards everything below but the descriptor, which only the leader touches."""
        self._ticket = 0
        """Commits that have called `wait`, numbered in the order they called it."""
        self._synced = 0
        """Every ticket up to this one is covered by a finished sync that began after it."""
        self._syncing = False
        self._failed: OSError | None = None
        self._waiting: list[tuple[int, threading.Lock]] = []
        """Sleeping callers: their ticket, and the lock they sleep on until it is released."""
        self._fd: int | None = None
        self._file: tuple[int, int] | None = None
        """(device, inode) of the file behind ``_fd``."""
        self._link: str | None = None
        """``/proc/self/fd/<fd>``, where there is one."""
        self._link_text = ""
        """What ``_link`` read when the file was opened."""
        self.syncs = 0
        """How many syncs have finished: with `commits`, the fsyncs per commit."""
        self.commits = 0
        """How many commits `wait` has acknowledged."""

    def wait(self) -> None:
        """Return once the transaction committed just before this call is on stable storage.

        Call it after ``COMMIT`` returned, while still holding a connection to the
        database (so that SQLite cannot delete the WAL). A caller that finds no
        sync in flight leads one, covering every caller so far; the others
        sleep until a sync that covers them has finished, or until they are
        woken to lead the next one. Each sleeper is woken once for either,
        not at every sync: under the GIL every wake-up costs a thread switch.

        Raises:
            StoreError: This sync or an earlier one failed: the transaction is
                committed but not known to be durable.
        """
        mutex = self._mutex
        with mutex:
            self._ticket += 1
            ticket = self._ticket
            while self._synced < ticket:
                if self._failed is not None:
                    raise StoreError(
                        f"{self._wal}: the transaction is committed but not known to be durable:"
                        f" syncing the write-ahead log failed ({self._failed}); the store"
                        " acknowledges no more commits until it is reopened"
                    )
                if not self._syncing:
                    self._lead()
                    continue
                gate = threading.Lock()
                gate.acquire()
                self._waiting.append((ticket, gate))
                mutex.release()
                try:
                    gate.acquire()  # until `_wake` releases it
                finally:
                    mutex.acquire()
            self.commits += 1

    def _lead(self) -> None:
        """Sync for every ticket so far, then wake whom it concerns; called holding the mutex."""
        self._syncing = True
        covered = self._ticket  # all of them committed before the sync begins
        failed: OSError | None = None
        done = False
        self._mutex.release()
        try:
            failed = self._sync()
            done = True
        finally:
            self._mutex.acquire()
            self._syncing = False
            if done and failed is None:
                self._synced = covered
                self.syncs += 1
            elif done:
                self._failed = failed
            self._wake()

    def _wake(self) -> None:
        """Wake the sleepers the last sync covered (all, if it failed) and the next one, to lead."""
        failed = self._failed is not None
        elected = failed  # after a failure nobody leads: every sleeper raises
        sleeping = []
        for ticket, gate in self._waiting:  # in the order they went to sleep
            if failed or ticket <= self._synced:
                gate.release()
            elif not elected:
                gate.release()
                elected = True
            else:
                sleeping.append((ticket, gate))
        self._waiting = sleeping

    def _sync(self) -> OSError | None:
        """Fsync the WAL, first opening it if it is new to us; the error, if any.

        The file is synced first and checked after, so that the sync starts as
        soon as may be: when the name now leads to another file than the one
        synced (the WAL was replaced), that one is opened and synced too. A WAL
        that has vanished is an error: while a store waits it holds a
        connection, and SQLite deletes the WAL only when the last one closes.
        """
        try:
            fd = self._fd
            if fd is not None:
                _datasync(fd)
            if fd is None or not self._still_named():
                _datasync(self._reopen())
        except OSError as exc:
            return exc
        return None

    def _still_named(self) -> bool:
        """Whether the WAL's name still leads to the file that is open.

        Where ``/proc/self/fd`` shows it, the descriptor's link says so (it
        ends in " (deleted)" once the file is unlinked): on Linux a stat of
        the WAL between two syncs made the next one about 60 us slower (ext4,
        measured), reading the link does not. Elsewhere, stat the name.
        """
        if self._link is not None:
            return os.readlink(self._link) == self._link_text
        now = os.stat(self._wal)
        return (now.st_dev, now.st_ino) == self._file

    def _reopen(self) -> int:
        """Open the current WAL, and sync its directory so that its name is on disk too."""
        self._close_fd()
        # Windows flushes only what may be written to, and keeps names safe itself
        fd = os.open(self._wal, os.O_RDWR if _WINDOWS else os.O_RDONLY)
        try:
            info = os.fstat(fd)
            if not _WINDOWS:
                directory = os.open(os.path.dirname(self._wal), os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
            link: str | None = f"/proc/self/fd/{fd}"
            try:
                text = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                link, text = None, ""
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._file = fd, (info.st_dev, info.st_ino)
        self._link, self._link_text = link, text
        return fd

    def _close_fd(self) -> None:
        fd, self._fd, self._file, self._link = self._fd, None, None, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Close the descriptor of the WAL (the next sync, if any, opens it again)."""
        with self._mutex:
            if not self._syncing:
                self._close_fd()

    def __del__(self) -> None:
        # a store dropped without close(): its WAL descriptor must not outlive it
        if getattr(self, "_fd", None) is not None:
            self._close_fd()
