"""Writers of one SQLite file queue across processes (`store.writers`), on ``<file>-lock``.

Two stores on one file in one process stand for two processes: each opens the lock
file itself, and ``flock`` locks belong to an opened file, not to a process. Threads are
lined up with events, never with sleeps that a slow machine could outlast.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import os
import threading
from pathlib import Path

import pytest

from procflow.errors import StoreError
from procflow.store import SQLiteStore
from procflow.store import sqlite as sqlite_module
from procflow.store.writers import Writers
from tests.test_store_sqlite import commit, raw


def _lock_file_descriptors(path: Path) -> list[str]:
    """This process's descriptors open on ``path``."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                found.append(fd)
        except OSError:
            continue  # the descriptor listdir used, closed since
    return found


def test_a_writer_of_another_process_waits_for_the_lock_then_fails_and_stores_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as first, SQLiteStore(path, timeout=0.05) as second:
        first.commit([commit("i1")])
        assert (tmp_path / "s.db-lock").is_file()
        locked = pytest.raises(StoreError, match=r"database is locked: another process")
        with first._writers, locked as exc:  # type: ignore[union-attr]  # another process writes
            second.commit([commit("i2")])
        assert exc.value.retry_safe
        assert "s.db-lock" in str(exc.value)
        assert raw(path, "SELECT instance_id FROM instances") == [("i1",)]
        second.commit([commit("i2")])  # the lock is free again
        assert raw(path, "SELECT instance_id FROM instances ORDER BY 1") == [("i1",), ("i2",)]


def test_a_waiting_writer_goes_once_the_other_process_is_done(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as first, SQLiteStore(path, timeout=60) as second:
        holding, waiting = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def other_process() -> None:
            try:
                with first._writers:  # type: ignore[union-attr]
                    holding.set()
                    waiting.wait(60)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=other_process)
        thread.start()
        done = threading.Event()

        def write() -> None:
            second.commit([commit("i2")])
            done.set()

        writer = threading.Thread(target=write)
        try:
            assert holding.wait(60)
            writer.start()
            assert not done.wait(0.05)  # queued behind the other process
        finally:
            waiting.set()
            thread.join(60)
        writer.join(60)
        assert done.is_set() and not errors
        assert raw(path, "SELECT instance_id FROM instances") == [("i2",)]


def test_without_a_lock_file_writers_are_left_to_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    (tmp_path / "s.db-lock").mkdir()  # nothing can open it as a file
    with SQLiteStore(path) as first, SQLiteStore(path) as second:
        first.commit([commit("i1")])
        second.commit([commit("i2")])
        assert first._writers._fd is None  # type: ignore[union-attr]
    assert raw(path, "SELECT count(*) FROM instances") == [(2,)]


def test_closing_a_store_closes_the_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.commit([commit("i1")])
    lock = (tmp_path / "s.db-lock").resolve()
    assert len(_lock_file_descriptors(lock)) == 1
    store.close()
    assert _lock_file_descriptors(lock) == []


def test_not_durable_has_no_lock_file(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db", durable=False) as store:
        store.commit([commit("i1")])
    assert not (tmp_path / "s.db-lock").exists()


def test_a_forked_child_does_not_share_its_parents_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child forked after the store was used holds a copy of the parent's descriptor,
    which shares its lock (as ``os.dup`` makes one here: forking under pytest is unsafe)."""
    parent = Writers(tmp_path / "s.db", timeout=0.05)
    with parent:
        pass  # the store was used before the fork: its lock file is open
    child = copy.copy(parent)
    assert parent._fd is not None
    child._fd, child._threads = os.dup(parent._fd), threading.Lock()
    with parent:  # the parent writes; the child tries to
        monkeypatch.setattr(os, "getpid", lambda: -1)  # in the child
        with pytest.raises(StoreError, match="another process"), child:
            pass
    monkeypatch.undo()
    with child:  # the parent is done
        pass
    child.close()
    parent.close()


def test_a_checkpoint_that_waits_too_long_for_another_process_leaves_the_commit_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit that makes a checkpoint due is on disk before the checkpoint runs: another
    process keeping the lock file then only puts the checkpoint off."""
    monkeypatch.setattr(sqlite_module, "_CHECKPOINT_EVERY", 1)
    path = tmp_path / "s.db"
    with SQLiteStore(path) as first, SQLiteStore(path, timeout=0.05) as second:
        holding, done = threading.Event(), threading.Event()

        def other_process() -> None:
            with first._writers:  # type: ignore[union-attr]
                holding.set()
                done.wait(60)

        thread = threading.Thread(target=other_process)
        durable = second._wait_durable

        def then_the_other_process_writes() -> None:  # between COMMIT and the checkpoint
            durable()
            thread.start()
            assert holding.wait(60)

        monkeypatch.setattr(second, "_wait_durable", then_the_other_process_writes)
        try:
            assert second.commit([commit("i1")]) is None  # no StoreError: it is stored
        finally:
            done.set()
            if thread.is_alive():
                thread.join(60)
    assert raw(path, "SELECT instance_id FROM instances") == [("i1",)]


def test_a_writer_after_close_opens_no_lock_file_again(tmp_path: Path) -> None:
    writers = Writers(tmp_path / "s.db", timeout=1)
    with writers:
        pass
    writers.close()
    with writers:  # one that took a connection before the store closed
        pass
    assert writers._fd is None
    assert _lock_file_descriptors((tmp_path / "s.db-lock").resolve()) == []


def test_a_filesystem_that_refuses_locks_leaves_the_writers_to_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.commit([commit("i1")])
        store.commit([commit("i1", 1)])
        assert store._writers._fd is None  # type: ignore[union-attr]  # given up in this process
    assert raw(path, "SELECT version FROM instances") == [(2,)]
