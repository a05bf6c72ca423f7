"""Group commit (`store.durability`): durable commits of many threads share syncs of the WAL.

Syncs are watched, and failed, through ``os.fdatasync`` and ``os.fsync``: SQLite's
own syncs do not go through them, the store's do. Threads are lined up with
events and counters, never with sleeps that a slow machine could outlast.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from procflow.errors import StoreError
from procflow.store import SQLiteStore
from procflow.store.durability import WalSync
from tests.test_store_sqlite import commit, raw

THREADS = 8


class Syncs:
    """Stands in for the sync calls: records what each sync of a file covers, then syncs.

    Attributes:
        started: For each sync of a file, the command ids committed when it began.
        covered: The command ids of the syncs that have finished.
        before: Runs when a sync of a file begins, after its snapshot.
        fail: Raised instead of syncing, when set.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, database: Path | None) -> None:
        self.database = database
        self.real = os.fsync
        self.started: list[set[str]] = []
        self.covered: set[str] = set()
        self.files: list[int] = []
        """The inode of each file synced."""
        self.directories = 0
        self.before: Callable[[], None] = lambda: None
        self.fail: OSError | None = None
        monkeypatch.setattr(os, "fsync", self.sync)
        if hasattr(os, "fdatasync"):
            monkeypatch.setattr(os, "fdatasync", self.sync)

    def sync(self, fd: int) -> None:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            self.directories += 1
            self.real(fd)
            return
        self.files.append(info.st_ino)
        snapshot: set[str] = set()
        if self.database is not None:
            snapshot = {r[0] for r in raw(self.database, "SELECT command_id FROM commands")}
        self.started.append(snapshot)
        self.before()
        if self.fail is not None:
            raise self.fail
        self.real(fd)
        self.covered |= snapshot


def _until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition``; after a minute go on, and let the test's assertions fail."""
    deadline = time.monotonic() + 60
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def _commit_in_threads(store: SQLiteStore, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(k)`` for k < THREADS in threads started together; the exceptions raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def run(k: int) -> None:
        start.wait(timeout=60)
        try:
            work(k)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def _held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, SQLiteStore, Syncs]:
    """A durable store whose first sync waits until every thread has committed and waits."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    syncs = Syncs(monkeypatch, path)
    wal_sync = store._sync
    assert wal_sync is not None
    opened = wal_sync._ticket  # opening the store waited for a sync of its own
    first = [True]

    def before() -> None:
        if first[0]:
            first[0] = False
            _until(lambda: wal_sync._ticket >= opened + THREADS)

    syncs.before = before
    return path, store, syncs


def test_threads_share_syncs_begun_after_their_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, store, syncs = _held(tmp_path, monkeypatch)
    early: list[str] = []

    def work(k: int) -> None:
        store.commit([commit(f"i{k}")], command_id=f"c{k}")
        if f"c{k}" not in syncs.covered:  # returned before a sync that began after it
            early.append(f"c{k}")

    assert _commit_in_threads(store, work) == []
    assert early == []
    # the first sync covers who committed before it began, the second all the others
    assert len(syncs.started) == 2 < THREADS
    assert syncs.started[1] == {f"c{k}" for k in range(THREADS)}
    store.close()
    with SQLiteStore(path) as again:
        for k in range(THREADS):
            assert again.load(f"i{k}")[0] == 1
            assert again.command_result(f"c{k}") is None


def test_many_commits_from_many_threads_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    rounds = 40

    def work(k: int) -> None:
        for n in range(rounds):
            store.commit([commit(f"i{k}", n)], command_id=f"c{k}-{n}")

    assert _commit_in_threads(store, work) == []
    store.close()
    with SQLiteStore(path) as again:
        assert [r.version for r in again.instances()] == [rounds] * THREADS
        assert raw(path, "SELECT count(*) FROM commands") == [(THREADS * rounds,)]


def test_a_failed_sync_fails_every_commit_waiting_and_every_later_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, store, syncs = _held(tmp_path, monkeypatch)
    syncs.fail = OSError(errno.EIO, "Input/output error")

    def work(k: int) -> None:
        store.commit([commit(f"i{k}")], command_id=f"c{k}")

    errors = _commit_in_threads(store, work)
    assert len(errors) == THREADS
    for exc in errors:
        assert isinstance(exc, StoreError)
        assert "committed but not known to be durable" in str(exc)
        assert "Input/output error" in str(exc)
    syncs.fail = None  # a sync that works now proves nothing about the pages lost
    with pytest.raises(StoreError, match="not known to be durable"):
        store.commit([commit("later")])
    assert store.load("i0")[0] == 1  # reading goes on
    store.close()
    with SQLiteStore(path) as again:  # reopened: committed, and acknowledged again
        assert {r.instance_id for r in again.instances()} == {
            *(f"i{k}" for k in range(THREADS)),
            "later",
        }
        again.commit([commit("after")])


def test_reads_never_sync_and_a_repeated_command_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        syncs = Syncs(monkeypatch, None)
        store.commit([commit("i1")], command_id="c1", result={"r": 1})
        assert len(syncs.files) == 1
        store.load("i1")
        store.events("i1")
        store.instances()
        store.open_tasks(user="bob", roles=["pmm"])
        store.command_result("c1")
        store.due_timers("9999")
        assert len(syncs.files) == 1
        # the first commit may not be durable yet when its retry finds it
        assert store.commit([commit("i1")], command_id="c1") == {"r": 1}
        assert len(syncs.files) == 2
        store.put_definition("h1", "SC-001", "text")
        assert len(syncs.files) == 3


def test_not_durable_never_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SQLiteStore(tmp_path / "s.db", durable=False) as store:
        syncs = Syncs(monkeypatch, None)
        for n in range(5):
            store.commit([commit("i1", n)])
        assert syncs.files == []
        assert syncs.directories == 0


def test_wal_sync_follows_a_new_wal_and_syncs_its_directory_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database, wal = tmp_path / "x.db", tmp_path / "x.db-wal"
    wal.write_bytes(b"first")
    syncs = Syncs(monkeypatch, None)
    sync = WalSync(database)
    sync.wait()
    sync.wait()
    assert syncs.files == [wal.stat().st_ino] * 2
    assert syncs.directories == 1
    replacement = tmp_path / "replacement"
    replacement.write_bytes(b"second")
    os.replace(replacement, wal)
    sync.wait()
    assert syncs.files[-1] == wal.stat().st_ino != syncs.files[0]
    assert syncs.directories == 2
    assert (sync.syncs, sync.commits) == (3, 3)
    wal.unlink()  # SQLite deletes it only when no connection is left: this is not ours
    with pytest.raises(StoreError, match="not known to be durable"):
        sync.wait()
    sync.close()


def test_a_store_opened_through_a_symbolic_link_syncs_the_real_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "real" / "s.db")
    with SQLiteStore(link) as store:
        syncs = Syncs(monkeypatch, None)
        store.commit([commit("i1")])
        assert syncs.files == [(tmp_path / "real" / "s.db-wal").stat().st_ino]
