"""The contract every store honours.

Owns the abstract `Store`, and the helpers the stores share so that they
behave identically: structural checks on commits, the JSON codec, and the
task-visibility rule. The records (`Event`, `InstanceRow`, `TaskRow`,
`TimerRow`, `Changes`, `Commit`) are in `store.rows`, the inbox and instance queries in
`store.query`; both are importable from here too.

The store never interprets events or state; the engine does. Payloads are
JSON values (dict, list, str, int, float, bool, None): the engine encodes
``Decimal`` and dates as text before handing them over.

Must not import anything from procflow but `errors`, `compiled` (the mark
that lets applications subclass `Store` in the compiled build), `store.rows`
and `store.query`.
"""

from __future__ import annotations

import json
import json.encoder as json_encoder
import json.scanner as json_scanner
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, NamedTuple, Self, cast

from procflow.compiled import mypyc_attr
from procflow.errors import DamagedRecord, InstanceNotFound, StoreError
from procflow.store.query import InstanceQuery, TaskQuery
from procflow.store.rows import (
    Changes,
    Checkpoint,
    Commit,
    Event,
    InstanceRow,
    NewEvent,
    TaskRow,
    TimerRow,
)

__all__ = [  # the records and queries are re-exported: stores import them from here
    "Changes",
    "Checkpoint",
    "Commit",
    "Event",
    "InstanceQuery",
    "InstanceRow",
    "NewEvent",
    "Store",
    "Tail",
    "TaskQuery",
    "TaskRow",
    "TimerRow",
    "check_commits",
    "check_schema",
    "command_clash",
    "conflict_message",
    "decode",
    "decode_result",
    "dumps",
    "loads",
    "new_task_ids",
    "role_set",
    "skip_damaged",
    "snapshot_of",
    "state_json",
    "visible",
]


log = logging.getLogger("procflow.store")


@mypyc_attr(allow_interpreted_subclasses=True)
class Store(ABC):
    """Persists events, snapshots and projections; never interprets them.

    Every method is safe to call from several threads. Stores are context
    managers; leaving the block closes the store.
    """

    @abstractmethod
    def commit(
        self,
        commits: Sequence[Commit],
        *,
        command_id: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Apply the commits of one command atomically.

        Args:
            commits: One per instance the command changes (a hand-off touches two).
            command_id: Makes retries idempotent: when this id was already committed,
                nothing changes and the result recorded the first time is returned.
            result: Recorded with ``command_id`` in the same transaction.

        Returns:
            None for a fresh commit; the first ``result`` for a repeated ``command_id``.

        Raises:
            Conflict: Some instance's version differs from ``expected_version``
                (0 when absent). Nothing of any commit is applied.
            StoreError: A task id already belongs to another instance, or the store failed.
            ValueError: The commits are malformed (no events, an instance twice, ...).
            TypeError: A payload is not JSON.
        """

    @abstractmethod
    def command_result(self, command_id: str) -> dict[str, Any] | None:
        """The result recorded for ``command_id``; None if unknown or recorded as None."""

    @abstractmethod
    def load(self, instance_id: str) -> tuple[int, Any]:
        """The version and the latest state: its snapshot (JSON data, or the very object
        committed, in a store that keeps objects), or a `Checkpoint`: the snapshot of an
        earlier version and the events since, which the caller folds (a store that writes
        the snapshot only now and then, `Tail`). The store never replays events itself.

        Raises:
            InstanceNotFound: No instance has this id.
        """

    @abstractmethod
    def events(self, instance_id: str, *, after: int = 0) -> list[Event]:
        """The events with ``seq > after``, in order.

        Raises:
            InstanceNotFound: No instance has this id.
        """

    @abstractmethod
    def instance(self, instance_id: str) -> InstanceRow:
        """The summary of one instance.

        Raises:
            InstanceNotFound: No instance has this id.
        """

    def load_many(self, instance_ids: Iterable[str]) -> dict[str, tuple[int, Any]]:
        """`load` for many instances at once (a page's), in one read where a store can
        (each value a snapshot or a `Checkpoint`, as `load` gives it).

        Instances that do not exist are left out, and so are those whose state
        does not read back (`DamagedRecord`, logged), so that one bad row does
        not take a page down.
        """
        found: dict[str, tuple[int, Any]] = {}
        for iid in dict.fromkeys(instance_ids):
            try:
                found[iid] = self.load(iid)
            except DamagedRecord as exc:
                skip_damaged(exc)
            except InstanceNotFound:
                continue
        return found

    def version(self, instance_id: str) -> int:
        """The version of one instance: `instance` ``.version``, for less where a store can.

        The engine asks it on every command, to know whether its cached snapshot
        is still the latest.

        Raises:
            InstanceNotFound: No instance has this id.
        """
        return self.instance(instance_id).version

    @abstractmethod
    def instances(
        self,
        *,
        status: str | None = None,
        process_id: str | None = None,
        limit: int | None = None,
    ) -> list[InstanceRow]:
        """Instances matching every given filter, ordered by ``started_at``, then id."""

    @abstractmethod
    def open_tasks(
        self,
        *,
        instance_id: str | None = None,
        user: str | None = None,
        roles: Iterable[str] | None = None,
    ) -> list[TaskRow]:
        """Open tasks, ordered by instance id, then as the engine listed them.

        When ``user`` or ``roles`` is given, only tasks that `visible` admits.
        """

    @abstractmethod
    def task(self, task_id: str) -> TaskRow | None:
        """One open task, or None when it is unknown or no longer open."""

    @abstractmethod
    def find_tasks(self, query: TaskQuery, *, limit: int | None = None) -> list[TaskRow]:
        """The open tasks ``query`` admits (`query.task_matches`), in its order, after its cursor.

        Ordered by the query's sort key (`query.sort_key`), then task id; at
        most ``limit`` of them. Answered from indexes (`query.plan`): the
        rows read are those of the keys walked, from the cursor on, never
        every open task.
        """

    @abstractmethod
    def count_tasks(self, query: TaskQuery) -> int:
        """How many open tasks ``query`` admits (its cursor is ignored)."""

    @abstractmethod
    def find_instances(
        self, query: InstanceQuery, *, limit: int | None = None
    ) -> list[InstanceRow]:
        """The instances ``query`` admits (`query.instance_matches`), by ``started_at``, then
        id, after its cursor; at most ``limit``. Answered from indexes: the searchable field
        values of `Commit.search` for ``where``, the summary columns for the rest."""

    @abstractmethod
    def searchable(self, instance_id: str) -> tuple[tuple[str, str], ...]:
        """The searchable values stored for an instance (`Commit.search`; for copying).

        Raises:
            InstanceNotFound: No instance has this id.
        """

    @abstractmethod
    def cursor_key(self) -> bytes:
        """A secret made once per store and the same for every handle on it (32 bytes).

        The engine signs page cursors with it, so that a cursor made by one
        process is accepted by every other process sharing the store, and a
        cursor changed by hand is refused.
        """

    @abstractmethod
    def due_timers(self, now_iso: str) -> list[TimerRow]:
        """Timers with ``fire_at <= now_iso``, ordered by ``fire_at``, instance, timer id."""

    @abstractmethod
    def claim_due_timers(
        self, now_iso: str, *, until_iso: str, claimant: str, limit: int = 100
    ) -> list[TimerRow]:
        """Claim up to ``limit`` due timers for ``claimant``, so that workers share them out.

        Returns timers with ``fire_at <= now_iso`` that nobody holds (never
        claimed, released, or claimed until a moment ``<= now_iso``), in the
        order of `due_timers`, and holds each for ``claimant`` until
        ``until_iso``: no other call returns it before then, whoever makes it
        (other threads, processes, machines). The claim is advisory: the
        engine still fires a timer through a commit with its version check, so
        a timer fires once even when a claim runs out while it is being fired.
        A commit that rewrites a timer may drop its claim. Only due timers are
        read (an index on ``fire_at``), never every pending one.

        Args:
            now_iso: The moment, as `due_timers` takes it.
            until_iso: When the claims run out, on the same clock.
            claimant: Who claims (a token unique to the caller, for `release_timers`).
            limit: At most this many timers (at least 1).
        """

    @abstractmethod
    def release_timers(self, timers: Iterable[TimerRow], *, claimant: str) -> None:
        """Give back the claims ``claimant`` still holds on ``timers``; others' are untouched."""

    @abstractmethod
    def put_definition(self, definition_hash: str, process_id: str, text: str) -> None:
        """Keep a definition's text under its hash; storing it again is a no-op.

        Raises:
            StoreError: The hash is already stored with another text or process id.
        """

    @abstractmethod
    def definition(self, definition_hash: str) -> str:
        """The text stored under ``definition_hash``.

        Raises:
            DefinitionNotFound: Nothing is stored under this hash.
        """

    @abstractmethod
    def definitions(self, process_id: str) -> list[str]:
        """Hashes of every stored version of ``process_id``, oldest first."""

    @abstractmethod
    def stored_definitions(self) -> list[tuple[str, str]]:
        """``(hash, process id)`` of every stored definition, oldest first (for copying)."""

    @abstractmethod
    def stored_commands(self) -> list[tuple[str, dict[str, Any] | None]]:
        """``(command id, result)`` of every recorded command, by command id (for copying)."""

    @abstractmethod
    def put_commands(self, commands: Sequence[tuple[str, dict[str, Any] | None]]) -> None:
        """Record command results without a commit, in one transaction (for copying a store).

        A command id already recorded with the same result is left alone.

        Raises:
            StoreError: A command id is already recorded with another result.
        """

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """How many rows the store holds: ``instances`` (and ``instances.<status>``
        per status), ``events``, ``tasks``, ``timers``, ``commands``, ``definitions``."""

    @abstractmethod
    def close(self) -> None:
        """Release resources. Calling it twice is harmless."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# One encoder for every call: json.dumps(), and even JSONEncoder.encode(), build
# the C encoder anew on each call, which costs more than encoding a small event.
# This one is made once: compact, text as is (no \u escapes), no NaN or
# infinity. Without a circular-reference check (the engine's values are trees)
# a cycle ends in RecursionError, reported like any other non-JSON value.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_MAKE_ENCODER: Any = getattr(json_encoder, "c_make_encoder", None)
_C_ENCODER: Any = (
    None
    if _MAKE_ENCODER is None
    else _MAKE_ENCODER(
        None, _refuse, json_encoder.encode_basestring, None, ":", ",", False, False, False
    )
)
_SCAN: Any = json_scanner.make_scanner(cast(Any, json.JSONDecoder()))


def dumps(value: Any, *, what: str) -> str:
    """Encode a JSON value compactly; ``what`` names it in the error."""
    try:
        if _C_ENCODER is None or type(value) is str:  # pragma: no cover - CPython has it
            return _ENCODER.encode(value)
        return "".join(_C_ENCODER(value, 0))
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"{what} is not JSON: {exc}") from exc


def loads(text: str) -> Any:
    """Decode what `dumps` wrote (no surrounding blanks, as `dumps` writes none)."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        return json.loads(text)  # blanks around the value, or an error with its position
    return value


def state_json(state: Any) -> Any:
    """A commit's snapshot as JSON data: ``state.to_json()`` when it has one, else itself."""
    to_json = getattr(state, "to_json", None)
    return to_json() if to_json is not None else state


SNAPSHOT_SHARE = 0.5
"""A store that writes snapshots now and then (`Tail`) writes the next one once the
events stored since the last one hold more than this share of its size."""
EVENT_ROW = 64
"""What a stored event costs beyond its data, in characters, for `Tail` (type, time, user)."""


class Tail(NamedTuple):
    """The stored snapshot of an instance and the events stored after it: what a SQL store
    knows, to write the snapshot only now and then.

    Every command stores its events (they hold everything: the engine folds them
    into a snapshot), but encoding and writing the whole snapshot costs what the
    instance holds (ten thousand open tasks are hundreds of kilobytes). So it is
    written once the events since the last one add up to `SNAPSHOT_SHARE` of its
    size: a command costs, on average, a bounded multiple of what it adds, and
    loading an instance cold reads the snapshot and a tail of events at most
    about half its size (`Checkpoint`). A tail never spans a store being opened
    or another writer: a store that does not know the instance's tail (`at`
    unknown) writes the snapshot.

    Attributes:
        at: The version of the stored snapshot.
        size: Its length, in characters.
        behind: Characters of the events stored after it (`EVENT_ROW` each, and their data).
    """

    at: int
    size: int
    behind: int

    def grown(self, added: int) -> Tail | None:
        """This tail with ``added`` more characters of events; None when the snapshot is due."""
        behind = self.behind + added
        if behind > self.size * SNAPSHOT_SHARE:
            return None
        return Tail(self.at, self.size, behind)


def snapshot_of(
    c: Commit, events: Sequence[tuple[Any, ...]], tail: Tail | None, encode: Callable[[Any], str]
) -> tuple[str | None, Tail]:
    """The snapshot text a SQL store writes with ``c`` (None: not due yet), and the
    instance's tail once ``c`` is written.

    Args:
        events: ``c``'s events as the store writes them: (instance, seq, type, at, by, data
            text) rows.
        tail: The tail the store knows the instance to be at, at ``c``'s expected version;
            None when it does not know (then the snapshot is written).
        encode: Turns JSON data into the store's text.
    """
    state = c.state
    if type(state) is Checkpoint:  # a copy: the snapshot of an earlier version
        text = encode(state_json(state.state))
        after = sum(EVENT_ROW + len(e[5]) for e in events if e[1] > state.version)
        return text, Tail(state.version, len(text), after)
    if tail is not None:
        tail = tail.grown(sum(EVENT_ROW + len(e[5]) for e in events))
        if tail is not None:
            return None, tail
    text = encode(state_json(state))
    return text, Tail(c.expected_version + len(c.events), len(text), 0)


def decode(
    text: Any, *, what: str, instance_id: str | None, shape: type | tuple[type, ...] = dict
) -> Any:
    """Decode JSON text read back from a store, or raise `DamagedRecord` naming its owner.

    Args:
        text: The stored text.
        what: What it is, for the message (``"the state of instance 'i1'"``).
        instance_id: The instance the row belongs to, if any.
        shape: The type the value must have (dict for states and payloads).
    """
    try:
        value = loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise DamagedRecord(
            f"{what} is damaged (not JSON: {exc}); restore it from a backup",
            instance_id=instance_id,
        ) from None
    if not isinstance(value, shape):
        wanted = " or ".join(t.__name__ for t in (shape if isinstance(shape, tuple) else (shape,)))
        raise DamagedRecord(
            f"{what} is damaged (a JSON {type(value).__name__}, not a {wanted});"
            " restore it from a backup",
            instance_id=instance_id,
        )
    return value


def decode_result(command_id: str, text: str) -> dict[str, Any] | None:
    """A stored command result (a dict, or None), or `DamagedRecord`."""
    found: dict[str, Any] | None = decode(
        text,
        what=f"the result of command {command_id!r}",
        instance_id=None,
        shape=(dict, type(None)),
    )
    return found


def skip_damaged(exc: DamagedRecord) -> None:
    """Log a damaged row that a query over many instances leaves out, so the rest answer."""
    log.error("procflow: %s; left out of the answer", exc)


def check_commits(commits: Sequence[Commit]) -> None:
    """Reject malformed commits before anything is locked or written.

    Raises:
        ValueError: Describing the first problem found.
    """
    if not commits:
        raise ValueError("commit() needs at least one Commit")
    instance_ids: set[str] = set()
    task_ids: set[str] = set()
    for c in commits:
        iid, expected = c.instance_id, c.expected_version
        if iid in instance_ids:
            raise ValueError(f"instance {iid!r} appears twice in one command")
        instance_ids.add(iid)
        if not c.events:
            raise ValueError(f"commit for {iid!r} has no events")
        if expected < 0:
            raise ValueError(f"commit for {iid!r} expects version {expected}")
        timer_ids: set[str] = set()
        changes = c.changes if expected else None
        for t in c.tasks if changes is None else changes.tasks:
            tid = t.task_id
            if t.instance_id != iid:
                raise ValueError(f"task {tid!r} belongs to {t.instance_id!r}, not {iid!r}")
            if tid in task_ids:
                raise ValueError(f"task {tid!r} appears twice in one command")
            task_ids.add(tid)
        for tm in c.timers if changes is None else changes.timers:
            if tm.instance_id != iid:
                raise ValueError(
                    f"timer {tm.timer_id!r} belongs to {tm.instance_id!r}, not {iid!r}"
                )
            if tm.timer_id in timer_ids:
                raise ValueError(f"timer {tm.timer_id!r} appears twice in {iid!r}")
            timer_ids.add(tm.timer_id)


def new_task_ids(c: Commit) -> list[str]:
    """The ids of the tasks ``c`` writes, to check that no other instance holds them:
    those it opens or changes when it says so (`Commit.changes`), else all its tasks."""
    changes = c.changes
    if changes is not None and c.expected_version > 0:
        return [t.task_id for t in changes.tasks]
    return [t.task_id for t in c.tasks]


def role_set(roles: Iterable[str] | None) -> frozenset[str]:
    """The roles argument of `Store.open_tasks` as a set; a bare string is a mistake."""
    if isinstance(roles, str):
        raise TypeError(f"roles must be a collection of role ids, not the string {roles!r}")
    return frozenset(roles or ())


def visible(task: TaskRow, *, user: str | None, roles: frozenset[str]) -> bool:
    """Whether ``user`` holding ``roles`` sees ``task`` in their inbox.

    A task is visible when the user is a candidate or the assignee, or when it
    has neither candidates nor assignee and the user holds one of its roles.
    Authorization proper is the engine's job; this only narrows queries.
    """
    if user is not None and (user in task.candidates or task.assignee == user):
        return True
    return not task.candidates and task.assignee is None and not roles.isdisjoint(task.roles)


def check_schema(where: str, version: int, latest: int, *, upgrade: bool) -> None:
    """Refuse a schema ``version`` this procflow cannot use: newer than ``latest``, or
    older when upgrading is not allowed (0, a new store, is always set up).

    Raises:
        StoreError: Saying which, and what to do.
    """
    if version > latest:
        raise StoreError(
            f"{where}: schema version {version} was written by a newer procflow "
            f"(this one knows up to {latest}); upgrade procflow to open it"
        )
    if 0 < version < latest and not upgrade:
        raise StoreError(
            f"{where}: schema version {version} is older than this procflow's"
            f" {latest}; run 'procflow store migrate' on it first"
        )


def command_clash(command_id: str) -> str:
    """The one wording of `Store.put_commands` meeting a command id with another result."""
    return f"command {command_id!r} is already recorded with another result"


def conflict_message(instance_id: str, current: int, expected: int) -> str:
    """The one wording of a version conflict, shared by both stores."""
    return f"instance {instance_id!r} is at version {current}, the command expected {expected}"
