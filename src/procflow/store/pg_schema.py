"""The PostgreSQL schema of a procflow store and its migrations.

Owns the table layout, ``procflow_schema`` (the table of applied schema
versions: one row per migration, with when it ran) and `upgrade`, which
brings a database to the latest version in one transaction. Concurrent
openers (many workers starting at once) queue on a transaction-level advisory
lock, so a migration runs once. DDL in PostgreSQL is transactional: a
migration that fails leaves nothing behind.

Layout (schema 3), every id and time column ``COLLATE "C"`` so that ordering
is code-point order, as in SQLite and in Python:

- ``instances``: one row per instance: summary columns (``started_by`` since
  schema 2), ``version``, and ``search``, its searchable values as last
  written (JSON text). Indexed by ``started_at``, by status, by process (and
  process and status) and by who started it, each then by ``started_at`` and id.
- ``snapshots`` (schema 3; before, ``instances.state``): one row per instance,
  a ``state`` snapshot of version ``state_version``; the events after it make
  the latest state (`base.Tail`, `Checkpoint`).
- ``events``: ``(instance_id, seq)`` primary key.
- ``tasks``: the open tasks by ``task_id``, indexed by ``(instance_id, pos)``;
  ``roles``, ``candidates`` and ``barred`` are ``text[]``, ``opened`` the
  opening moment.
- ``task_keys``: every open task under its keys (`store.query`), primary key
  ``(key, due, task_id)`` and indexed by ``(key, opened, task_id)``: the
  inbox queries walk these (schema 2).
- ``instance_search``: the searchable values, primary key ``(field, value,
  started_at, instance_id)`` (schema 2).
- ``procflow_meta``: named values of the store: ``cursor_key``, the secret that signs
  page cursors (schema 2).
- ``timers``: pending timers, primary key ``(instance_id, timer_id)``, indexed
  by ``fire_at``; ``claimant`` and ``claimed_until`` hold a worker's claim.
- ``commands``: ``command_id`` → result, for idempotent retries.
- ``definitions``: every definition text ever run, by content hash, in the
  order stored (``seq``).

JSON (states, payloads, results) is kept as ``text``, not ``jsonb``: the
store gives back exactly what it was given, as SQLite does (``jsonb``
reorders keys and refuses ``\\u0000``).

The tables live in the first schema of the connection's ``search_path``
(``public`` by default; ``options=-csearch_path=name`` in the URL picks another).

Must not import anything from procflow but `errors`, `store.base` and `store.query`;
psycopg is imported by `store.postgres`, which hands its connection in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from procflow.errors import StoreError
from procflow.store.base import TaskRow, check_schema
from procflow.store.query import KeyRow, key_rows

TABLES = (
    "instances", "snapshots", "events", "tasks", "timers", "commands", "definitions", "task_keys",
    "instance_search", "procflow_meta",
)  # fmt: skip
"""The tables of a store, besides ``procflow_schema``."""

_LOCK = 0x50464C57  # pg_advisory_xact_lock key: "PFLW", as SQLite's application_id

_SCHEMA_1 = (
    """CREATE TABLE instances (
        instance_id     text COLLATE "C" PRIMARY KEY,
        process_id      text COLLATE "C" NOT NULL,
        definition_hash text COLLATE "C" NOT NULL,
        status          text COLLATE "C" NOT NULL,
        version         integer NOT NULL,
        started_at      text COLLATE "C" NOT NULL,
        parent_id       text COLLATE "C",
        state           text NOT NULL
    )""",
    "CREATE INDEX instances_by_start ON instances (started_at, instance_id)",
    "CREATE INDEX instances_by_status ON instances (status, started_at, instance_id)",
    "CREATE INDEX instances_by_process ON instances (process_id, started_at, instance_id)",
    """CREATE TABLE events (
        instance_id text COLLATE "C" NOT NULL REFERENCES instances,
        seq         integer NOT NULL,
        type        text NOT NULL,
        at          text COLLATE "C" NOT NULL,
        by          text,
        data        text NOT NULL,
        PRIMARY KEY (instance_id, seq)
    )""",
    """CREATE TABLE tasks (
        task_id     text COLLATE "C" PRIMARY KEY,
        instance_id text COLLATE "C" NOT NULL REFERENCES instances,
        pos         integer NOT NULL,
        step_id     text NOT NULL,
        roles       text[] NOT NULL,
        assignee    text COLLATE "C",
        candidates  text[] NOT NULL,
        due         text COLLATE "C"
    )""",
    "CREATE INDEX tasks_by_instance ON tasks (instance_id, pos)",
    """CREATE TABLE timers (
        instance_id   text COLLATE "C" NOT NULL REFERENCES instances,
        timer_id      text COLLATE "C" NOT NULL,
        fire_at       text COLLATE "C" NOT NULL,
        claimant      text,
        claimed_until text COLLATE "C",
        PRIMARY KEY (instance_id, timer_id)
    )""",
    "CREATE INDEX timers_by_fire_at ON timers (fire_at)",
    """CREATE TABLE commands (
        command_id text COLLATE "C" PRIMARY KEY,
        result     text NOT NULL
    )""",
    """CREATE TABLE definitions (
        seq             bigint GENERATED ALWAYS AS IDENTITY,
        definition_hash text COLLATE "C" PRIMARY KEY,
        process_id      text COLLATE "C" NOT NULL,
        text            text NOT NULL
    )""",
    "CREATE INDEX definitions_by_process ON definitions (process_id, seq)",
)


def _migrate_1(conn: Any) -> None:
    for statement in _SCHEMA_1:
        conn.execute(statement)


_SCHEMA_2 = (
    'ALTER TABLE instances ADD COLUMN started_by text COLLATE "C"',
    "ALTER TABLE instances ADD COLUMN search text NOT NULL DEFAULT '[]'",
    # the first event is the start: its user started the instance
    "UPDATE instances AS i SET started_by = e.by FROM events AS e"
    " WHERE e.instance_id = i.instance_id AND e.seq = 1",
    "CREATE INDEX instances_by_starter ON instances (started_by, started_at, instance_id)",
    "CREATE INDEX instances_by_process_status"
    " ON instances (process_id, status, started_at, instance_id)",
    "ALTER TABLE tasks ADD COLUMN opened text COLLATE \"C\" NOT NULL DEFAULT ''",
    "ALTER TABLE tasks ADD COLUMN barred text[] NOT NULL DEFAULT '{}'",
    """CREATE TABLE task_keys (
        key        text COLLATE "C" NOT NULL,
        due        text COLLATE "C" NOT NULL,
        task_id    text COLLATE "C" NOT NULL,
        opened     text COLLATE "C" NOT NULL,
        process_id text COLLATE "C" NOT NULL,
        step_id    text COLLATE "C" NOT NULL,
        PRIMARY KEY (key, due, task_id)
    )""",
    "CREATE INDEX task_keys_by_opened ON task_keys (key, opened, task_id)",
    """CREATE TABLE instance_search (
        field       text COLLATE "C" NOT NULL,
        value       text COLLATE "C" NOT NULL,
        started_at  text COLLATE "C" NOT NULL,
        instance_id text COLLATE "C" NOT NULL,
        process_id  text COLLATE "C" NOT NULL,
        PRIMARY KEY (field, value, started_at, instance_id)
    )""",
    "CREATE TABLE procflow_meta (name text PRIMARY KEY, value bytea NOT NULL)",
)


def _migrate_2(conn: Any) -> None:
    """Inbox and instance queries by index: ``task_keys``, ``instance_search``, ``meta``.

    As SQLite's schema 5: the open tasks are filed under their keys; tasks
    stored before have no opening moment (they sort first by opening) and no
    four-eyes bars (the engine still checks each task it lists; the
    instance's next command writes them).
    """
    for statement in _SCHEMA_2:
        conn.execute(statement)
    conn.execute("INSERT INTO procflow_meta VALUES ('cursor_key', %s)", (secrets.token_bytes(32),))
    keys: set[KeyRow] = set()
    for task_id, iid, step_id, roles, assignee, candidates, due, process_id in conn.execute(
        "SELECT t.task_id, t.instance_id, t.step_id, t.roles, t.assignee, t.candidates, t.due,"
        " i.process_id FROM tasks AS t JOIN instances AS i ON i.instance_id = t.instance_id"
    ).fetchall():
        row = TaskRow(task_id, iid, step_id, tuple(roles), assignee, tuple(candidates), due)
        keys |= key_rows(row, process_id)
    if keys:
        conn.execute(
            "INSERT INTO task_keys SELECT * FROM unnest(%s::text[], %s::text[], %s::text[],"
            " %s::text[], %s::text[], %s::text[])",
            [list(column) for column in zip(*keys, strict=True)],
        )


_SCHEMA_3 = (
    """CREATE TABLE snapshots (
        instance_id   text COLLATE "C" PRIMARY KEY REFERENCES instances,
        state_version integer NOT NULL,
        state         text NOT NULL
    )""",
    # every stored snapshot was the latest
    "INSERT INTO snapshots SELECT instance_id, version, state FROM instances",
    "ALTER TABLE instances DROP COLUMN state",
)


def _migrate_3(conn: Any) -> None:
    """The snapshot is written now and then, in a table of its own (``snapshots``).

    As SQLite's schema 6 (`base.Tail`): a command writes its events and the
    tasks it changed, and the snapshot only when the events since the last
    one add up to half its size.
    """
    for statement in _SCHEMA_3:
        conn.execute(statement)


Migration = Callable[[Any], None]

MIGRATIONS: tuple[Migration, ...] = (_migrate_1, _migrate_2, _migrate_3)
"""Migration ``n`` (1-based) takes a database from schema version ``n - 1`` to ``n``.

Each takes a psycopg connection inside the upgrade's transaction. Append only;
never edit a migration that has shipped.
"""


def read_version(conn: Any, where: str) -> int:
    """The schema version of the database behind ``conn`` (0: no procflow tables yet).

    Raises:
        StoreError: Tables of a store are there without ``procflow_schema``: they
            were not made by procflow.
    """
    if conn.execute("SELECT to_regclass('procflow_schema')").fetchone()[0] is None:
        found = [t for t in TABLES if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0]]
        if found:
            raise StoreError(
                f"{where}: has a table {found[0]!r} that procflow did not make; use another"
                " database, or another schema (options=-csearch_path=NAME in the URL)"
            )
        return 0
    version: int | None = conn.execute("SELECT max(version) FROM procflow_schema").fetchone()[0]
    return version or 0


def upgrade(conn: Any, where: str, *, allowed: bool = True) -> None:
    """Bring the database to the latest schema; call inside a transaction.

    Args:
        conn: A psycopg connection, inside a transaction.
        where: Names the database in messages.
        allowed: False: refuse an older schema (a new database is always set up).

    Raises:
        StoreError: A newer procflow wrote the schema, or it is older and
            upgrading was not allowed, or the tables are not procflow's.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
    version = read_version(conn, where)
    check_schema(str(where), version, len(MIGRATIONS), upgrade=allowed)
    if version == 0:
        conn.execute(
            "CREATE TABLE procflow_schema (version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    for number in range(version + 1, len(MIGRATIONS) + 1):
        MIGRATIONS[number - 1](conn)
        conn.execute("INSERT INTO procflow_schema (version) VALUES (%s)", (number,))
