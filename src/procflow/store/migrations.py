"""The SQLite schema of a procflow store and its migrations.

Owns the table layout, ``PRAGMA user_version`` (the schema version) and
``PRAGMA application_id`` (marks a file as a procflow store).

Layout (schema 6):

- ``instances``: one row per instance: summary columns (``started_by`` since
  schema 5), ``version``, and ``search``, its searchable values as last
  written (a JSON array of pairs). Indexed by start, by status, by process
  (and process and status), and by who started it, each then by
  ``started_at`` and id.
- ``snapshots`` (schema 6; before, ``instances.state``): one row per instance,
  a ``state`` snapshot (JSON) of version ``state_version``; the events after
  it make the latest state (`base.Tail`, `Checkpoint`).
- ``events``: ``(instance_id, seq)`` primary key; ``data`` is JSON.
- ``tasks``: the open tasks, ``WITHOUT ROWID`` on ``task_id``, indexed by
  ``(instance_id, pos)`` (again since schema 6); ``roles``, ``candidates``
  and ``barred`` are JSON arrays, ``pos`` keeps the engine's order within an
  instance (increasing, not necessarily contiguous), ``opened`` its opening
  moment.
- ``task_keys``: every open task filed under its keys (`store.query`):
  ``WITHOUT ROWID`` on ``(key, due, task_id)``, and indexed by ``(key,
  opened, task_id)``: the inbox queries walk these (schema 5).
- ``instance_search``: the searchable values, ``WITHOUT ROWID`` on
  ``(field, value, started_at, instance_id)`` (schema 5).
- ``timers``: pending timers, indexed by ``fire_at``; ``claimant`` and
  ``claimed_until`` hold a worker's claim (schema 4).
- ``commands``: ``command_id`` → result JSON, for idempotent retries.
- ``definitions``: every definition text ever run, by content hash.
- ``meta``: named values of the store: ``cursor_key``, the secret that signs
  page cursors (schema 5).

Every B-tree a commit touches is at least one more page in the write-ahead
log, so the layout keeps them few. Schema 1 kept ``tasks`` in four B-trees (a
rowid table, the task id key, indexes on ``(instance_id, pos)`` and on
``assignee``), schema 2 in two (``WITHOUT ROWID`` and the first index);
schema 3 moved that index's job into the instance row, which every commit
wrote anyway; schema 6 brought the index back, as a list of every open task
in the instance row made a command cost what the instance holds.

Must not import anything from procflow but `errors`, `store.base` and `store.query`.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path

from procflow.errors import StoreError
from procflow.store.base import TaskRow, check_schema
from procflow.store.query import due_key, opened_key, task_keys

APPLICATION_ID = 0x50464C57
"""``PRAGMA application_id`` of a procflow store ("PFLW"), so we never write into other files."""

_SCHEMA_1 = (
    """CREATE TABLE instances (
        instance_id     TEXT PRIMARY KEY,
        process_id      TEXT NOT NULL,
        definition_hash TEXT NOT NULL,
        status          TEXT NOT NULL,
        version         INTEGER NOT NULL,
        started_at      TEXT NOT NULL,
        parent_id       TEXT,
        state           TEXT NOT NULL
    )""",
    "CREATE INDEX instances_by_start ON instances (started_at, instance_id)",
    "CREATE INDEX instances_by_status ON instances (status, started_at, instance_id)",
    "CREATE INDEX instances_by_process ON instances (process_id, started_at, instance_id)",
    """CREATE TABLE events (
        instance_id TEXT NOT NULL REFERENCES instances,
        seq         INTEGER NOT NULL,
        type        TEXT NOT NULL,
        at          TEXT NOT NULL,
        by          TEXT,
        data        TEXT NOT NULL,
        PRIMARY KEY (instance_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE tasks (
        task_id     TEXT PRIMARY KEY,
        instance_id TEXT NOT NULL REFERENCES instances,
        pos         INTEGER NOT NULL,
        step_id     TEXT NOT NULL,
        roles       TEXT NOT NULL,
        assignee    TEXT,
        candidates  TEXT NOT NULL,
        due         TEXT
    )""",
    "CREATE INDEX tasks_by_instance ON tasks (instance_id, pos)",
    "CREATE INDEX tasks_by_assignee ON tasks (assignee)",
    """CREATE TABLE timers (
        instance_id TEXT NOT NULL REFERENCES instances,
        timer_id    TEXT NOT NULL,
        fire_at     TEXT NOT NULL,
        PRIMARY KEY (instance_id, timer_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX timers_by_fire_at ON timers (fire_at)",
    "CREATE TABLE commands (command_id TEXT PRIMARY KEY, result TEXT NOT NULL)",
    """CREATE TABLE definitions (
        definition_hash TEXT PRIMARY KEY,
        process_id      TEXT NOT NULL,
        text            TEXT NOT NULL
    )""",
    "CREATE INDEX definitions_by_process ON definitions (process_id)",
    f"PRAGMA application_id = {APPLICATION_ID}",
)


def _migrate_1(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_1:
        conn.execute(statement)


_SCHEMA_2 = (
    """CREATE TABLE tasks_2 (
        task_id     TEXT PRIMARY KEY,
        instance_id TEXT NOT NULL REFERENCES instances,
        pos         INTEGER NOT NULL,
        step_id     TEXT NOT NULL,
        roles       TEXT NOT NULL,
        assignee    TEXT,
        candidates  TEXT NOT NULL,
        due         TEXT
    ) WITHOUT ROWID""",
    "INSERT INTO tasks_2 SELECT task_id, instance_id, pos, step_id, roles, assignee,"
    " candidates, due FROM tasks",
    "DROP TABLE tasks",
    "ALTER TABLE tasks_2 RENAME TO tasks",
    "CREATE INDEX tasks_by_instance ON tasks (instance_id, pos)",
)


def _migrate_2(conn: sqlite3.Connection) -> None:
    """``tasks`` keyed by its primary key alone, without the unused assignee index.

    A command writes a few tasks; each B-tree it touches is one more page in
    the write-ahead log at every commit. Schema 1 had four for ``tasks`` (the
    rowid table, the task id key, two indexes); schema 2 has two.
    """
    for statement in _SCHEMA_2:
        conn.execute(statement)


def _migrate_3(conn: sqlite3.Connection) -> None:
    """Each instance row lists its open tasks (``task_ids``); ``tasks`` loses its index.

    Nearly every command closes a task or opens one, and each time the index
    on ``(instance_id, pos)`` was one more page in the write-ahead log. The
    list lives in the instance row, which every commit writes anyway.
    """
    conn.execute("ALTER TABLE instances ADD COLUMN task_ids TEXT NOT NULL DEFAULT '[]'")
    lists: dict[str, list[str]] = {}
    for instance_id, task_id in conn.execute(
        "SELECT instance_id, task_id FROM tasks ORDER BY instance_id, pos"
    ):
        lists.setdefault(instance_id, []).append(task_id)
    conn.executemany(
        "UPDATE instances SET task_ids = ? WHERE instance_id = ?",
        [(json.dumps(ids, separators=(",", ":"), ensure_ascii=False), iid)
         for iid, ids in lists.items()],
    )  # fmt: skip
    conn.execute("DROP INDEX tasks_by_instance")


def _migrate_4(conn: sqlite3.Connection) -> None:
    """Timers can be claimed: ``claimant`` and ``claimed_until`` (`Store.claim_due_timers`).

    Claiming reads the due timers through the index on ``fire_at`` and writes
    the two columns, which no index covers.
    """
    conn.execute("ALTER TABLE timers ADD COLUMN claimant TEXT")
    conn.execute("ALTER TABLE timers ADD COLUMN claimed_until TEXT")


_SCHEMA_5 = (
    "ALTER TABLE instances ADD COLUMN started_by TEXT",
    "ALTER TABLE instances ADD COLUMN search TEXT NOT NULL DEFAULT '[]'",
    # the first event is the start: its user started the instance
    "UPDATE instances SET started_by = (SELECT e.by FROM events AS e"
    " WHERE e.instance_id = instances.instance_id AND e.seq = 1)",
    "CREATE INDEX instances_by_starter ON instances (started_by, started_at, instance_id)",
    "CREATE INDEX instances_by_process_status"
    " ON instances (process_id, status, started_at, instance_id)",
    "ALTER TABLE tasks ADD COLUMN opened TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE tasks ADD COLUMN barred TEXT NOT NULL DEFAULT '[]'",
    """CREATE TABLE task_keys (
        key        TEXT NOT NULL,
        due        TEXT NOT NULL,
        task_id    TEXT NOT NULL,
        opened     TEXT NOT NULL,
        process_id TEXT NOT NULL,
        step_id    TEXT NOT NULL,
        PRIMARY KEY (key, due, task_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX task_keys_by_opened ON task_keys (key, opened, task_id)",
    """CREATE TABLE instance_search (
        field       TEXT NOT NULL,
        value       TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        process_id  TEXT NOT NULL,
        PRIMARY KEY (field, value, started_at, instance_id)
    ) WITHOUT ROWID""",
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
)


def _migrate_5(conn: sqlite3.Connection) -> None:
    """Inbox and instance queries by index: ``task_keys``, ``instance_search``, ``meta``.

    The open tasks are filed under their keys (`store.query.task_keys`);
    tasks stored before have no opening moment (``""``: they sort first by
    opening, as they were opened before any later one) and no four-eyes bars
    (the engine still checks each task it lists; the instance's next command
    writes them). ``started_by`` comes from each instance's first event.
    """
    for statement in _SCHEMA_5:
        conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('cursor_key', ?)", (secrets.token_bytes(32),))
    rows = conn.execute(
        "SELECT t.task_id, t.instance_id, t.step_id, t.roles, t.assignee, t.candidates, t.due,"
        " i.process_id FROM tasks AS t JOIN instances AS i ON i.instance_id = t.instance_id"
    )
    keys = []
    for task_id, iid, step_id, roles, assignee, candidates, due, process_id in rows:
        try:
            row = TaskRow(task_id, iid, step_id, tuple(json.loads(roles)), assignee,
                          tuple(json.loads(candidates)), due)  # fmt: skip
        except (ValueError, TypeError):
            continue  # a damaged row stays out of the inboxes, as it was (`DamagedRecord`)
        sort = due_key(due)
        keys += [(k, sort, task_id, opened_key(""), process_id, step_id)
                 for k in task_keys(row, process_id)]  # fmt: skip
    conn.executemany("INSERT INTO task_keys VALUES (?, ?, ?, ?, ?, ?)", keys)


_SCHEMA_6 = (
    """CREATE TABLE snapshots (
        instance_id   TEXT PRIMARY KEY REFERENCES instances,
        state_version INTEGER NOT NULL,
        state         TEXT NOT NULL
    )""",
    # every stored snapshot was the latest
    "INSERT INTO snapshots SELECT instance_id, version, state FROM instances",
    "ALTER TABLE instances DROP COLUMN state",
    "ALTER TABLE instances DROP COLUMN task_ids",
    "CREATE INDEX tasks_by_instance ON tasks (instance_id, pos)",
)


def _migrate_6(conn: sqlite3.Connection) -> None:
    """The snapshot is written now and then, in a table of its own (``snapshots``);
    ``tasks`` is indexed by instance again, and ``task_ids`` goes.

    With ten thousand open tasks, writing the whole snapshot and the list of
    task ids at every command made a command cost what the instance holds
    (SQLite writes a whole row when one column changes, so the snapshot
    cannot stay in the row every command updates). Now a command writes its
    events, the tasks it changed (one entry of the index each), and the
    snapshot only when the events since the last one add up to half its
    size (`base.Tail`).
    """
    for statement in _SCHEMA_6:
        conn.execute(statement)


Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: tuple[Migration, ...] = (
    _migrate_1, _migrate_2, _migrate_3, _migrate_4, _migrate_5, _migrate_6,
)  # fmt: skip
"""Migration ``n`` (1-based) takes a file from schema version ``n - 1`` to ``n``.

Append only; never edit a migration that has shipped.
"""


def read_version(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version of the file behind ``conn`` (0: a new, empty file).

    Raises:
        StoreError: The file belongs to another application.
    """
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app not in (0, APPLICATION_ID) or (app == 0 and tables):
        raise StoreError(f"{path}: an SQLite database, but not a procflow store")
    return version


def upgrade(conn: sqlite3.Connection, path: Path, *, allowed: bool = True) -> None:
    """Bring the file behind ``conn`` to the latest schema; call inside a write transaction.

    Args:
        allowed: False: refuse an older schema (0, a new file, is always made).

    Raises:
        StoreError: The file belongs to another application or a newer procflow,
            or it is older and upgrading was not allowed.
    """
    version = read_version(conn, path)
    check_schema(str(path), version, len(MIGRATIONS), upgrade=allowed)
    for number in range(version + 1, len(MIGRATIONS) + 1):
        MIGRATIONS[number - 1](conn)
        conn.execute(f"PRAGMA user_version = {number}")
