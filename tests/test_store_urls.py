"""`procflow.open_store`: every URL form opens its store, bad ones say what to write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import procflow
from procflow.errors import StoreError, StoreURLError
from procflow.store import MemoryStore, SQLiteStore
from procflow.store.postgres import PostgresStore
from tests.pg_cluster import Server
from tests.test_store_contract import commit


def test_memory_url() -> None:
    with procflow.open_store("memory:", strict=True) as store:
        assert type(store) is MemoryStore
        assert store.strict


def test_sqlite_url_with_an_absolute_path(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/flows.db"  # four slashes: sqlite:/// then /tmp/...
    assert url.startswith("sqlite:////")
    with procflow.open_store(url) as store:
        assert type(store) is SQLiteStore
        store.commit([commit()])
    assert (tmp_path / "flows.db").exists()


def test_sqlite_url_with_a_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    with procflow.open_store("sqlite:///data/flows.db", durable=False) as store:
        assert isinstance(store, SQLiteStore)
        assert store.path == Path("data/flows.db")
    assert (tmp_path / "data" / "flows.db").exists()


def test_postgresql_url(pg_server: Server) -> None:
    made = pg_server.new_url()
    for url in (made, made.replace("postgresql://", "postgres://")):
        with procflow.open_store(url) as store:
            assert type(store) is PostgresStore
            assert "password" not in repr(store)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("flows.db", "no kind of store.*sqlite:///"),
        ("mysql://host/db", "unknown kind of store 'mysql'"),
        ("sqlite://flows.db", "sqlite:/// then the file's path"),
        ("sqlite:flows.db", "sqlite:/// then the file's path"),
        ("sqlite:///", "no file name"),
        ("sqlite:///data/", "no file name"),
        ("sqlite:///:memory:", "use memory:"),
        ("sqlite:///flows.db?mode=ro", "take no query"),
        ("memory", "no kind of store"),
        ("", "no kind of store"),
    ],
)
def test_bad_urls_say_what_to_write(url: str, message: str) -> None:
    with pytest.raises(StoreURLError, match=message) as caught:
        procflow.open_store(url)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, procflow.ProcflowError)


def test_a_url_is_text() -> None:
    with pytest.raises(StoreURLError, match="is text, not PosixPath"):
        procflow.open_store(Path("flows.db"))  # type: ignore[arg-type]


def test_a_store_that_cannot_open_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no-such-dir"):
        procflow.open_store(f"sqlite:///{tmp_path}/no-such-dir/flows.db")


def test_an_unreachable_server_is_a_clear_store_error() -> None:
    # a port nothing listens on: the first connection fails at once, with libpq's reason
    with pytest.raises(StoreError, match=r"postgresql://nobody@127\.0\.0\.1:9/x: cannot open: "):
        procflow.open_store("postgresql://nobody:secret@127.0.0.1:9/x", timeout=2)


def test_the_core_imports_no_driver() -> None:
    """`procflow.PostgresStore` is lazy: the engine and the other stores need no psycopg."""
    code = (
        "import sys, procflow\n"
        "procflow.Engine; procflow.open_store('memory:'); procflow.SQLiteStore\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported'\n"
        "assert procflow.PostgresStore.__name__ == 'PostgresStore'\n"
        "assert 'psycopg' in sys.modules\n"
    )
    src = Path(procflow.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
