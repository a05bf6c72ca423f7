"""PostgresStore against a real server: faults and what each one gives back.

Each test drives the failure on the server itself: a backend terminated
(``pg_terminate_backend``) while a command waits on a row lock or runs its
``COMMIT``, the server restarted (``pg_ctl restart -m fast``) while a client
streams commands, serialization failures and a deadlock. Each checks the
`StoreError` and its ``retry_safe``, that the next command reconnects, and
that nothing acknowledged is lost and no half command is stored. The
figures they measure are printed (``pytest -s``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from procflow.errors import Conflict, StoreError
from procflow.store import postgres
from procflow.store.postgres import PostgresStore
from tests.pg_cluster import Cluster, Server
from tests.test_store_sqlite import commit

pytestmark = pytest.mark.slow  # restarts and kills a real server


@pytest.fixture
def url(pg_server: Server) -> str:
    return pg_server.new_url()


@pytest.fixture
def cluster(pg_server: Server) -> Iterator[tuple[Cluster, Server]]:
    """A server these tests may restart: the session's, or, when that one is external
    (``PROCFLOW_TEST_POSTGRES``), a throwaway cluster of this test's own."""
    if pg_server.cluster is not None:
        yield pg_server.cluster, pg_server
        return
    own = Cluster()
    own.start()
    server = Server(own.dsn(), own)
    try:
        yield own, server
    finally:
        server.close()


def _until(condition: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _waiting_backend(admin: psycopg.Connection[Any], query_start: str) -> int | None:
    """The pid of a backend waiting on a lock in a statement that starts so."""
    row = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
        (query_start + "%",),
    ).fetchone()
    return None if row is None else int(row[0])


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``work`` in a thread; the list gets its result or its exception."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_killed_backend_fails_the_command_in_flight(url: str) -> None:
    with (
        PostgresStore(url, max_size=2) as store,
        psycopg.connect(url) as holder,
        psycopg.connect(url, autocommit=True) as admin,
    ):
        store.commit([commit("i1")])
        holder.execute("SELECT * FROM instances WHERE instance_id = 'i1' FOR UPDATE")
        thread, out = _in_thread(lambda: store.commit([commit("i1", 1)], command_id="c2"))
        pid = _until(lambda: _waiting_backend(admin, "UPDATE instances"), "the command to wait")
        killed = time.monotonic()
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join(timeout=30)
        failed_after = time.monotonic() - killed
        holder.rollback()
        [error] = out
        assert isinstance(error, StoreError), error
        assert not isinstance(error, Conflict)
        assert error.retry_safe
        assert "connection was lost before COMMIT" in str(error)
        assert "nothing was stored, running it again is safe" in str(error)
        assert "Traceback" not in str(error)
        # nothing of it was stored; the next command reconnects and goes through
        assert store.load("i1") == (1, {"v": 1})
        assert store.command_result("c2") is None
        started = time.monotonic()
        assert store.commit([commit("i1", 1)], command_id="c2") is None
        retried_in = time.monotonic() - started
        assert store.load("i1") == (2, {"v": 2})
        assert [e.seq for e in store.events("i1")] == [1, 2]
    print(f"\nkilled backend: StoreError {failed_after * 1000:.1f} ms after the kill;"
          f" the retry reconnected and committed in {retried_in * 1000:.1f} ms")  # fmt: skip


_SLOW_COMMIT = """
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON events
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""


@pytest.mark.parametrize("command_id", ["c2", None])
def test_a_connection_lost_during_commit_is_in_doubt(url: str, command_id: str | None) -> None:
    """A deferred trigger holds COMMIT on the server, and the backend is killed then."""
    with PostgresStore(url, max_size=2) as store, psycopg.connect(url, autocommit=True) as admin:
        store.commit([commit("i1")])
        admin.execute(_SLOW_COMMIT)
        thread, out = _in_thread(lambda: store.commit([commit("i1", 1)], command_id=command_id))
        pid = _until(
            lambda: admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE query = 'COMMIT' AND wait_event = 'PgSleep'"
            ).fetchone(),
            "COMMIT to run",
        )[0]
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join(timeout=30)
        [error] = out
        assert isinstance(error, StoreError), error
        assert "lost during COMMIT" in str(error)
        assert "may or may not be stored" in str(error)
        assert error.retry_safe is (command_id is not None)
        if command_id is None:
            assert "look before running it again" in str(error)
        else:
            assert f"same command_id {command_id!r} is safe" in str(error)
        admin.execute("DROP TRIGGER slow_commit ON events")
        # here the server rolled it back: no half command, and a retry goes through
        assert store.load("i1") == (1, {"v": 1})
        assert len(store.events("i1")) == 1
        assert store.commit([commit("i1", 1)], command_id=command_id) is None
        assert store.load("i1") == (2, {"v": 2})


def _stream(store: PostgresStore, stop: threading.Event, log: dict[str, Any]) -> None:
    """Commit one command after another; on a StoreError note it, and run the same
    command again (same command_id) until it goes through, as an application would."""
    n = 0
    while not stop.is_set():
        iid = f"i{n % 3}"
        while True:
            try:
                version = store.version(iid) if n >= 3 else 0
                store.commit(
                    [commit(iid, version, v=version + 1, n=n)], command_id=f"c{n}", result={"n": n}
                )
                break
            except StoreError as exc:
                log["errors"].append((time.monotonic(), exc))
                time.sleep(0.05)
        log["acked"].append((time.monotonic(), f"c{n}"))
        n += 1


def test_a_restarted_server_fails_commands_in_flight_and_loses_nothing(
    cluster: tuple[Cluster, Server],
) -> None:
    own, server = cluster
    url = server.new_url()
    stop = threading.Event()
    log: dict[str, Any] = {"errors": [], "acked": []}
    with PostgresStore(url, timeout=30) as store:
        thread = threading.Thread(target=_stream, args=(store, stop, log))
        thread.start()
        _until(lambda: len(log["acked"]) >= 50, "50 acknowledged commands")
        for _ in range(3):  # a fast shutdown may free the lock before the waiter's end
            # hold every row, so that a command is surely in flight when the server goes
            holder = psycopg.connect(url)
            holder.execute("SELECT * FROM instances FOR UPDATE")
            with psycopg.connect(url, autocommit=True) as admin:
                _until(lambda: _waiting_backend(admin, "UPDATE instances"), "a command in flight")
            restart = time.monotonic()
            own.restart()
            back = time.monotonic()
            holder.close()
            _until(
                lambda back=back: any(at > back for at, _ in log["acked"][-5:]),
                "commands after the restart",
            )
            if log["errors"]:
                break
        acked_before = len(log["acked"])
        _until(lambda: len(log["acked"]) >= acked_before + 50, "50 more commands")
        stop.set()
        thread.join(timeout=60)
        errors: list[tuple[float, StoreError]] = log["errors"]
        assert errors, "the restart failed no command: it was not mid-stream"
        for _, exc in errors:
            assert exc.retry_safe, exc  # each carried a command_id, or had not reached COMMIT
            assert "connection" in str(exc) or "no connection to PostgreSQL" in str(exc), exc
        # no acknowledged command lost, no half command stored
        acked = [cid for _, cid in log["acked"]]
        for cid in acked:
            assert store.command_result(cid) == {"n": int(cid[1:])}
        total = 0
        for row in store.instances():
            events = store.events(row.instance_id)
            version, state = store.load(row.instance_id)
            assert version == row.version == len(events) == state["v"]
            assert [e.seq for e in events] == list(range(1, version + 1))
            total += version
        assert total == store.counts()["commands"] == len(acked)
    first_after = min(at for at, _ in log["acked"] if at > restart)
    print(f"\nrestart: pg_ctl restart -m fast took {(back - restart) * 1000:.0f} ms;"
          f" {len(errors)} command(s) failed with a StoreError (retry_safe), first:"
          f" {errors[0][1]}; first acknowledgement {(first_after - back) * 1000:.0f} ms after"
          f" the server was back; {len(acked)} acknowledged, none lost")  # fmt: skip


def test_serialization_failures_are_retried_inside_the_store(
    pg_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under serializable isolation (the database's default here), a row changed by a
    transaction that commits while the store waits on it is a serialization failure."""
    url = pg_server.new_url()
    url += "%20-cdefault_transaction_isolation%3Dserializable"
    with PostgresStore(url) as store, psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SHOW default_transaction_isolation").fetchone() == ("serializable",)
        store.commit([commit("i1")])
        for tries, expect in ((postgres._RETRIES, "ok"), (1, "conflict")):
            monkeypatch.setattr(postgres, "_RETRIES", tries)
            version = store.version("i1")
            before = store.retried
            with psycopg.connect(url) as holder:
                holder.execute("UPDATE instances SET status = status WHERE instance_id = 'i1'")
                thread, out = _in_thread(lambda v=version: store.commit([commit("i1", v)]))
                _until(lambda: _waiting_backend(admin, "UPDATE instances"), "the command to wait")
                holder.commit()  # the row changed under the waiting transaction
            thread.join(timeout=30)
            [outcome] = out
            assert store.retried == before + 1
            if expect == "ok":
                assert outcome is None  # the second try read the row anew and committed
                assert store.version("i1") == version + 1
            else:
                assert isinstance(outcome, Conflict), outcome
                assert "gave up after 1 tries" in str(outcome)
                assert "could not serialize access" in str(outcome)
                assert store.version("i1") == version


def test_a_deadlock_is_retried_inside_the_store(pg_server: Server) -> None:
    url = pg_server.new_url()
    fast = url + "%20-cdeadlock_timeout%3D50ms"  # the store's backend finds the deadlock
    with PostgresStore(fast) as store, psycopg.connect(url, autocommit=True) as admin:
        store.commit([commit("a")])
        store.commit([commit("b")])
        deadlocks = admin.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]
        with psycopg.connect(url) as holder:
            holder.execute("SET deadlock_timeout = '10s'")
            holder.execute("SELECT * FROM instances WHERE instance_id = 'b' FOR UPDATE")
            # a hand-off writes two instances: the store locks a, then waits for b
            thread, out = _in_thread(lambda: store.commit([commit("a", 1), commit("b", 1)]))
            _until(lambda: _waiting_backend(admin, "SELECT instance_id, version"), "the lock")
            # now b's holder asks for a: a deadlock, which the store's backend detects
            holder.execute("SELECT * FROM instances WHERE instance_id = 'a' FOR UPDATE")
            holder.commit()
        thread.join(timeout=30)
        assert out == [None]  # retried once the other transaction was gone, and committed
        assert store.retried >= 1
        assert store.load("a")[0] == store.load("b")[0] == 2
        _until(
            lambda: (
                admin.execute(
                    "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
                ).fetchone()[0]
                > deadlocks
            ),
            "the server to count the deadlock",
        )


def test_a_server_that_is_gone_fails_within_the_timeout(pg_server: Server) -> None:
    """The database refuses connections and its backends are killed: a command fails
    after ``timeout`` with a StoreError, and the store recovers once it is back."""
    url = pg_server.new_url()
    name = pg_server.database
    with (
        PostgresStore(url, timeout=1) as store,
        psycopg.connect(pg_server.admin_dsn, autocommit=True) as admin,
    ):
        store.commit([commit("i1")])
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            started = time.monotonic()
            gone = "no connection to PostgreSQL within 1 s"
            with pytest.raises(StoreError, match=gone) as caught:
                store.load("i1")
            waited = time.monotonic() - started
            assert caught.value.retry_safe
            assert waited < 10
        finally:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        # and it comes back by itself, once the pool's reconnection backoff has run
        deadline = time.monotonic() + 60
        while True:
            try:
                assert store.load("i1") == (1, {"v": 1})
                break
            except StoreError as exc:
                assert exc.retry_safe
                if time.monotonic() > deadline:
                    raise
    print(f"\nserver gone: StoreError after {waited * 1000:.0f} ms (timeout=1)")


def test_the_schema_table_records_each_version(url: str) -> None:
    PostgresStore(url).close()
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version FROM procflow_schema ORDER BY version").fetchall()
    assert rows == [(n,) for n in range(1, len(postgres.pg_schema.MIGRATIONS) + 1)]


def test_tables_of_another_application_are_refused(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE instances (id integer)")
    with pytest.raises(StoreError, match="'instances' that procflow did not make"):
        PostgresStore(url)


def test_nul_characters_are_kept(url: str) -> None:
    with PostgresStore(url) as store:
        store.commit([commit("i1", text="a\x00b")])
        assert store.load("i1") == (1, {"text": "a\x00b"})
