"""Fixtures shared by the tests: every kind of store, from one list, and a PostgreSQL server.

`BACKENDS` is the one place that knows the kinds of store. A contract test
takes the ``store`` fixture (a fresh, empty store of each kind) or ``backend``
(to open more handles on the same store, to reach under it with SQL, or to
hand its URL to another process); ``shared_backend`` is the same over the
kinds that several handles and processes share. Adding a store means adding
its `Backend` here: every contract test then runs on it.

The PostgreSQL server is started once per session (`tests.pg_cluster`), and
each store gets a schema of its own in one database.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import settings

from procflow.store import MemoryStore, Store, migrations
from procflow.store.sqlite import SQLiteStore
from tests.pg_cluster import Server, start_server

settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")
"""CI runs the same examples every time (a red CI names a bug reproducibly); a developer's
run draws new ones, which is where the property tests find what CI would not."""


class Backend:
    """One kind of store under test."""

    name: ClassVar[str]
    shared: ClassVar[bool] = True
    """Several handles (and processes) open the same store through `url`."""

    url: str

    def open(self, **options: Any) -> Store:
        """A new handle on this backend's store."""
        raise NotImplementedError

    def sql(self, statement: str, params: Any = ()) -> list[Any]:
        """Run SQL on the database under the store (shared backends); the rows."""
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    migrations: Any = None
    """The module whose ``MIGRATIONS`` this backend's schema follows."""

    def fresh(self) -> None:
        """Point this backend at a new, empty store."""
        raise NotImplementedError


class MemoryBackend(Backend):
    name = "memory"
    shared = False

    def __init__(self, tmp_path: Path, server: Any) -> None:
        self.url = "memory:"

    def open(self, **options: Any) -> Store:
        return MemoryStore(strict=True, **options)

    def fresh(self) -> None:
        pass


class SQLiteBackend(Backend):
    name = "sqlite"
    migrations = migrations

    def __init__(self, tmp_path: Path, server: Any) -> None:
        self.folder = tmp_path
        self.count = 0
        self.fresh()

    def fresh(self) -> None:
        self.count += 1
        self.path = self.folder / f"store-{self.count}.db"
        self.url = f"sqlite:///{self.path}"

    def open(self, **options: Any) -> Store:
        return SQLiteStore(self.path, **options)

    def sql(self, statement: str, params: Any = ()) -> list[Any]:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            return conn.execute(statement, params).fetchall()
        finally:
            conn.close()

    def schema_version(self) -> int:
        version: int = self.sql("PRAGMA user_version")[0][0]
        return version


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, tmp_path: Path, server: Server) -> None:
        from procflow.store import pg_schema

        self.server = server
        self.migrations = pg_schema
        self.fresh()

    def fresh(self) -> None:
        self.url = self.server.new_url()

    def open(self, **options: Any) -> Store:
        from procflow.store.postgres import PostgresStore

        return PostgresStore(self.url, **options)

    def sql(self, statement: str, params: Any = ()) -> list[Any]:
        return self.server.execute(statement.replace("?", "%s"), params, url=self.url)

    def schema_version(self) -> int:
        version: int = self.sql("SELECT max(version) FROM procflow_schema")[0][0]
        return version


BACKENDS: dict[str, type[Backend]] = {
    "memory": MemoryBackend,
    "sqlite": SQLiteBackend,
    "postgres": PostgresBackend,
}
SHARED = [name for name, kind in BACKENDS.items() if kind.shared]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """The PostgreSQL server of this session (never skipped: it fails without one)."""
    server = start_server()
    try:
        yield server
    finally:
        server.close()


def _make(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    server = request.getfixturevalue("pg_server") if name == "postgres" else None
    return BACKENDS[name](tmp_path, server)


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each kind of store, empty."""
    return _make(request.param, request, tmp_path)


@pytest.fixture(params=SHARED)
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each kind of store that several handles and processes share, empty."""
    return _make(request.param, request, tmp_path)


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    """A fresh store of each kind, closed after the test."""
    with backend.open() as opened:
        yield opened
