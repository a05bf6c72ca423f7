"""Store URLs: `open_store` turns ``memory:``, ``sqlite:///…`` or ``postgresql://…`` into a store.

Owns the URL forms and their errors, and `schema_status`, which reads a
store's schema version without opening (so without upgrading) it. The
PostgreSQL store is imported only for a ``postgresql://`` URL, so that the
core needs no driver.

Must not import anything from procflow but `errors` and the `store` modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from procflow.errors import StoreURLError
from procflow.store import migrations
from procflow.store.base import Store
from procflow.store.memory import MemoryStore
from procflow.store.sqlite import SQLiteStore
from procflow.store.sqlite import schema_version as sqlite_schema_version

FORMS = (
    "memory: (in this process only), sqlite:///relative/path.db,"
    " sqlite:////absolute/path.db, or postgresql://user:password@host:5432/dbname"
)
"""The URL forms, for messages."""

_POSTGRES = ("postgresql://", "postgres://")


def open_store(url: str, **options: Any) -> Store:
    """Open the store a URL names.

    Args:
        url: ``memory:`` for a `MemoryStore`; ``sqlite:///flows.db`` (a path
            relative to the working directory) or ``sqlite:////var/lib/flows.db``
            (an absolute one: a fourth slash) for a `SQLiteStore`, created when
            missing; ``postgresql://user:password@host:5432/dbname`` (or
            ``postgres://``, any libpq URL) for a `PostgresStore`, which needs
            ``pip install 'procflow[postgres]'``.
        **options: Passed to the store's constructor (``durable=False``, ``max_size=16``...).

    Raises:
        StoreURLError: The URL has none of these forms, or PostgreSQL support is not installed.
        StoreError: The store cannot be opened (a missing folder, a server that
            does not answer, a newer schema...).

    Example::

        store = procflow.open_store("sqlite:///flows.db")
        engine = procflow.Engine(catalog, store=store)
    """
    if not isinstance(url, str):
        raise StoreURLError(f"a store URL is text, not {type(url).__name__}: use {FORMS}")
    if url == "memory:":
        return MemoryStore(**options)
    if url.startswith("sqlite:"):
        return SQLiteStore(sqlite_path(url), **options)
    if url.startswith(_POSTGRES):
        try:
            from procflow.store.postgres import PostgresStore  # noqa: PLC0415 (optional)
        except ImportError as exc:
            raise StoreURLError(
                f"cannot open a PostgreSQL store: its support is not installed ({exc}):"
                " pip install 'procflow[postgres]'"
            ) from None
        return PostgresStore(url, **options)
    scheme = url.partition(":")[0] if ":" in url else ""
    what = f"unknown kind of store {scheme!r}" if scheme else "no kind of store"
    raise StoreURLError(f"{url!r}: {what}; use {FORMS}")


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///path`` URL (three slashes, then the path).

    Raises:
        StoreURLError: Not that form.
    """
    if not url.startswith("sqlite:///"):
        raise StoreURLError(
            f"{url!r}: an SQLite URL is sqlite:/// then the file's path:"
            " sqlite:///flows.db (relative) or sqlite:////var/lib/flows.db (absolute)"
        )
    path = url[len("sqlite:///") :]
    if not path or path.endswith("/"):
        raise StoreURLError(f"{url!r}: no file name after sqlite:///")
    if path == ":memory:":
        raise StoreURLError(f"{url!r}: SQLite in memory is not a store; use memory:")
    if "?" in path:
        raise StoreURLError(f"{url!r}: SQLite URLs take no query; pass options to open_store")
    return Path(path)


class SchemaStatus(NamedTuple):
    """Where a store is, its schema version, and the version this procflow writes."""

    where: str
    version: int
    latest: int


def schema_status(url: str) -> SchemaStatus:
    """Read a store's schema version without opening it as a store (nothing is migrated).

    Raises:
        StoreURLError: A bad URL, or ``memory:`` (which holds nothing outside a process).
        StoreError: The store cannot be read, or is not a procflow store.
    """
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        return SchemaStatus(str(path), sqlite_schema_version(path), len(migrations.MIGRATIONS))
    if url.startswith(_POSTGRES):
        from procflow.store import pg_schema, postgres  # noqa: PLC0415 (optional)

        return SchemaStatus(
            postgres.describe(url), postgres.schema_version(url), len(pg_schema.MIGRATIONS)
        )
    if url == "memory:":
        raise StoreURLError("memory: a store in one process's memory; there is nothing to read")
    open_store(url)  # raises the URL's error
    raise AssertionError("unreachable")  # pragma: no cover
