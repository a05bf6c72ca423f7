"""Instance state as a fold of events: the event vocabulary, the typed snapshot and `apply`.

Owns the snapshot (`Snapshot` and the records it holds: `Token`,
`OpenTask`, `JoinState`, `StepDone`, `Parent`), the fold that builds it from
events (`Draft`, `apply`, `replay`) and the list of event types. A snapshot
is immutable; the fold is copy-on-write: a `Draft` copies a part of the
state only when an event first changes it, so a command costs what it
changes, not what the instance holds, and old snapshots can be shared safely
(the engine caches them). Replaying the stored events of an instance from
nothing gives exactly its stored snapshot; a property test holds us to that.
The snapshot's JSON form, and the reading of older forms, is `codec`.

The records are `typing.NamedTuple`s: immutable and typed with full field
names like frozen dataclasses, and several times cheaper to make, which the
per-command path needs (a frozen dataclass costs about 1.4 µs to build here,
a named tuple 0.26 µs).

The fold needs no process definition: events are facts that carry everything
they change (ids, roles, due times), so a history can be read and replayed on
its own. Control flow is decided by the interpreter, never here.

Events (``type``: payload; every event also has ``at`` and ``by``):

- ``started``: process, hash, token, docs, parent ({id, step, mode, token,
  depth: how many calls deep, 0 when absent}) when a call or hand-off started
  it, schedule ({by, period, at}) when the system started it on its
  ``schedule:`` (``by`` is then None).
- ``task_opened``: task (a number; the public id is ``<instance>.<task>``),
  step, token, roles, and when they apply: candidates (the only users who may
  act), assignee, due, timers ({name: UTC moment}), item (the for-each item),
  enter (the token arrives at the step: its count of completions restarts),
  each (with enter: a for-each step's tasks, whose completers the token does
  not keep in ``done_by``; histories without it keep every completer),
  people (with enter: the members of a role who sign a sign-off, as resolved
  then, kept with the token), left_out (for the record: members a four-eyes
  rule kept from getting a for-each task).
  Histories written by procflow 0.1 say ``cand`` and ``asg``; both are read.
- ``task_completed``: task, outcome, data (stored form), timer (when a
  deadline expired it; ``by`` is then None), keep (remember who did the step:
  a later four-eyes rule, deadline or ``same_as`` names it; who did it last is
  kept too); and when the step fills per-person forms: copies ({document: the
  copy's values, stored form}), of (the member or item the copy is for; absent
  for a step without for-each), each (the documents where every submission is
  a new copy; otherwise the copy of the same step and ``of`` is replaced).
- ``task_withdrawn``: task, why (``signed``, ``rejected``, ``join``;
  ``withdrawn`` with reason, by `Engine.withdraw`; ``cancelled`` with step, by
  a step that ``cancels`` it; ``finished``, open when the instance finished).
- ``task_claimed``: task (``by`` becomes the assignee); ``task_delegated``: task, to.
- ``task_reassigned``: task, to, from (the assignee before, or None): an
  administrator gave the task to ``to`` (folded as a delegation).
- ``commented``: text; ``attached``: name, blob (the blob store's key), size
  (bytes), type (media type), sha256. For the record only: the snapshot does
  not change, and the bytes of an attachment are in the blob store, not here.
- ``reminded`` / ``overdue``: task, timer; ``escalated``: task, timer, to,
  mode (``offer`` or ``move``), candidates (members offered the task), why
  (for the record: ``nobody eligible: ...`` when four-eyes left nobody to
  take the task as it opened).
- ``step_skipped``: step, when (the condition) or why; ``branched``: step, to,
  arm (the condition, or ``otherwise``); ``notified``: step, roles, message,
  users (the people ``notify_users`` named, when the step has it).
- ``forked``: step, token, branches ([[branch, token], ...]), skipped
  (branches whose ``when`` did not hold); ``joined``: step, token, branch;
  ``merged``: step, token, discard (tokens of a join-any's losing branches),
  drop (joins inside them), first (a ``join: first``: the join stays, marked
  fired, until its other branches have ended there).
- ``thread_ended``: step, token (the tasks of a for-each that did not wait
  are all done: their token ends).
- ``called``: step, token, child; ``child_finished``: child, token, result,
  docs (the returned documents); ``handed_off``: step, process, child.
- ``decided``: step, table, docs (fields set by a decision table).
- ``looped``: step, to, count, at_most: a limited way was taken for the
  count-th time (the state counts it under ``step>to``); ``loop_exhausted``:
  step, to (where the flow goes instead), at_most: its limit was reached.
- ``finished``: result; ``cancelled``: reason.

Open tasks are kept in a persistent map (`immutables.Map`, a hash array
mapped trie): a command that opens, completes or changes a few tasks of an
instance with ten thousand open ones copies a few nodes, not the ten thousand.
Each token counts its open tasks (`Token.open`), so a for-each step knows it
is done without looking at its siblings; the snapshot counts its pending
timers by moment (`Snapshot.timers_at`), so a command sees at once whether a
deadline of the instance is due. Both are derived from the tasks (the codec
does not store them).

Imports nothing from procflow (`immutables` for the persistent map).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from immutables import Map

__all__ = [
    "EVENT_TYPES",
    "FOLDS",
    "Copy",
    "Draft",
    "EventLike",
    "JoinState",
    "OpenTask",
    "Parent",
    "Snapshot",
    "StepDone",
    "Token",
    "apply",
    "own_copy",
    "replay",
]


class EventLike(Protocol):
    """What the fold reads from an event (`store.Event` and `store.NewEvent` both fit)."""

    @property
    def type(self) -> str: ...
    @property
    def at(self) -> str: ...
    @property
    def by(self) -> str | None: ...
    @property
    def data(self) -> dict[str, Any]: ...


class Token(NamedTuple):
    """Where a thread of the flow is.

    Attributes:
        at: The node it is at.
        completions: Tasks completed there since it arrived (a sign-off's count).
        done_by: Who completed them (one signature per person).
        child: The instance it waits for, at a call step.
        open: How many open tasks it has (derived from the tasks, not stored).
        each: Its tasks are a for-each step's, one per member or item: their count
            is all that matters, so who completed them is not kept in ``done_by``.
        people: The members of a role who sign a sign-off, as the directory gave
            them when it opened (in order).
    """

    at: str
    completions: int = 0
    done_by: tuple[str, ...] = ()
    child: str | None = None
    open: int = 0
    each: bool = False
    people: tuple[str, ...] = ()


class OpenTask(NamedTuple):
    """An open task of an instance (its public view is `procflow.Task`).

    Attributes:
        step: The step it comes from.
        token: The token it belongs to.
        roles: Roles that may act (unless `candidates` or `assignee` narrow it).
        candidates: When not empty, only these users may act.
        assignee: The one user who may act (claimed, delegated, or assigned), or None.
        due: When it is due (ISO text), or None.
        timers: (timer name, UTC moment) of its deadline's pending timers.
        item: The for-each list item it is about (stored form), or None.
        opened: When it was opened (ISO text).
        late: Its due moment has passed.
    """

    step: str
    token: int
    roles: tuple[str, ...]
    candidates: tuple[str, ...] = ()
    assignee: str | None = None
    due: str | None = None
    timers: tuple[tuple[str, str], ...] = ()
    item: Any = None
    opened: str = ""
    late: bool = False


class JoinState(NamedTuple):
    """A parallel step waiting at its join: the branches that run and those that arrived;
    ``fired`` when a ``join: first`` went on already (it waits for the others to end)."""

    live: tuple[int, ...]
    done: tuple[int, ...] = ()
    fired: bool = False


class StepDone(NamedTuple):
    """Who did a remembered step (a four-eyes rule, a deadline or ``same_as`` names it), when
    last, and who last (None: the last of ``by``)."""

    by: tuple[str, ...]
    at: str
    last: str | None = None

    @property
    def who(self) -> str | None:
        """Who did it last."""
        return self.last if self.last is not None else (self.by[-1] if self.by else None)


class Parent(NamedTuple):
    """The instance that started this one: by a ``call`` (which waits) or a ``handoff``;
    ``depth``: how many calls deep this instance runs (a process may call itself)."""

    id: str
    step: str
    mode: str
    token: int | None = None
    depth: int = 0


class Copy(NamedTuple):
    """One copy of a per-person form (its public view is `procflow.FormCopy`).

    Attributes:
        step: The step whose task filled it.
        of: The member (user id) or list item (stored form) it is for; None for a
            step without for-each.
        by: Who filled it (None when the system did).
        at: When (ISO text).
        values: Field -> stored value (JSON form).
    """

    step: str
    of: Any
    by: str | None
    at: str
    values: Mapping[str, Any]


class Snapshot(NamedTuple):
    """An instance at one moment: the fold of its events.

    Attributes:
        process: Its process.
        definition_hash: The definition it runs on.
        status: ``running``, ``completed`` or ``cancelled``.
        result: The end's result when completed.
        started_at: When it started (ISO text); ``started_by``: who, or None for the system.
        parent: The instance that started it, or None.
        documents: Document -> field -> stored value (JSON form: `values` decodes).
        tokens: Token number -> `Token`.
        tasks: Task number -> `OpenTask` (the open ones only).
        joins: Parallel step id -> `JoinState` while its branches run.
        done: Step id -> `StepDone`, for the remembered steps.
        handoffs: Instances it handed off to, oldest first.
        counter: The last number given to a task or a token.
        timers_at: UTC moment -> how many pending timers of open tasks fire then
            (derived from the tasks, not stored).
        copies: Per-person form -> its copies (`Copy`), in the order first filled.
        loops: ``step>target`` -> how many times that limited way was taken.
    """

    process: str
    definition_hash: str
    status: str
    result: str | None
    started_at: str
    started_by: str | None
    parent: Parent | None
    documents: Mapping[str, Mapping[str, Any]]
    tokens: Mapping[int, Token]
    tasks: Mapping[int, OpenTask]
    joins: Mapping[str, JoinState]
    done: Mapping[str, StepDone]
    handoffs: tuple[str, ...]
    counter: int
    timers_at: Mapping[str, int]
    copies: Mapping[str, tuple[Copy, ...]] = MappingProxyType({})
    loops: Mapping[str, int] = MappingProxyType({})


_new = tuple.__new__
"""``_new(OpenTask, (every field...))`` is ``OpenTask(...)`` without the Python frame of a
named tuple's ``__new__`` (about half the cost of making one): for the records the fold
makes on every command, with every field given, in order."""

NO_TASKS: Map[int, OpenTask] = Map()

SMALL = 16
"""Up to this many open tasks before a command, its commit gives the instance's complete
sets of task and timer rows; beyond, what changed (`Draft.touched`, `records.commit_of`)."""

_EMPTY = Snapshot("", "", "", None, "", None, None, {}, {}, NO_TASKS, {}, {}, (), 0, {}, {}, {})


def own_copy(
    copies: Mapping[str, Sequence[Copy]], doc: str, step: str, item: Any
) -> Mapping[str, Any] | None:
    """The values of the copy of ``doc`` that a task of ``step`` about ``item`` filled
    (a form with one copy per member or item, which a redraft replaces), or None."""
    for c in copies.get(doc, ()):
        if c.step == step and c.of == item:
            return c.values
    return None


def timer_counts(tasks: Iterable[OpenTask]) -> dict[str, int]:
    """`Snapshot.timers_at` of these open tasks."""
    counts: dict[str, int] = {}
    for task in tasks:
        for _, at in task.timers:
            counts[at] = counts.get(at, 0) + 1
    return counts


def open_counts(tokens: Mapping[int, Token], tasks: Iterable[OpenTask]) -> dict[int, Token]:
    """``tokens`` with `Token.open` counted from the open tasks."""
    counts: dict[int, int] = {}
    for task in tasks:
        counts[task.token] = counts.get(task.token, 0) + 1
    return {n: t._replace(open=counts.get(n, 0)) for n, t in tokens.items()}


class Draft:
    """A snapshot being changed by one or more events: reads see every event folded so far.

    The mappings start as the base snapshot's own and are copied the first
    time an event changes them; the base and everything reachable from it are
    never changed, nor are event payloads.
    """

    __slots__ = (
        "_owned", "copies", "counter", "definition_hash", "documents", "done", "handoffs",
        "joins", "loops", "parent", "process", "result", "started_at", "started_by", "status",
        "tasks", "timers_at", "tokens", "touched",
    )  # fmt: skip

    process: str
    definition_hash: str
    status: str
    result: str | None
    started_at: str
    started_by: str | None
    parent: Parent | None
    documents: dict[str, Mapping[str, Any]]
    tokens: dict[int, Token]
    tasks: Any
    """The open tasks: the base's `Map` to read, or a `MapMutation` of it once changed
    (both answer ``get``, ``in``, ``[]`` and ``len``; `task_map` gives a `Map` to walk)."""
    joins: dict[str, JoinState]
    done: dict[str, StepDone]
    handoffs: tuple[str, ...]
    counter: int
    timers_at: dict[str, int]
    touched: set[int] | None
    """The tasks this draft changed (opened, closed or altered), or None when they are not
    counted: a new instance, or one that had at most `SMALL` open tasks."""
    copies: dict[str, tuple[Copy, ...]]
    loops: dict[str, int]

    def __init__(self, base: Snapshot | None = None) -> None:
        # the base's own mappings, read-only until an `own_*` method copies one
        (
            self.process, self.definition_hash, self.status, self.result, self.started_at,
            self.started_by, self.parent, self.documents, self.tokens, self.tasks, self.joins,
            self.done, self.handoffs, self.counter, self.timers_at, self.copies, self.loops,
        ) = base if base is not None else _EMPTY  # type: ignore[assignment]  # fmt: skip
        self._owned = 0
        # a small instance's commit gives its complete sets (`records.commit_of`): only a
        # large one's tells what changed, so only it keeps count of the tasks touched
        self.touched = set() if base is not None and len(base.tasks) > SMALL else None

    def own_tasks(self) -> Any:
        """The tasks, to change (a `MapMutation`)."""
        if not self._owned & 1:
            self.tasks = self.tasks.mutate()
            self._owned |= 1
        return self.tasks

    def task_map(self) -> Map[int, OpenTask]:
        """The open tasks as they are now, as a `Map` (to walk: a mutation cannot be)."""
        if self._owned & 1:
            self.tasks = self.tasks.finish()
            self._owned &= ~1
        tasks: Map[int, OpenTask] = self.tasks
        return tasks

    def touch(self, number: int) -> None:
        touched = self.touched
        if touched is not None:
            touched.add(number)

    def own_timers_at(self) -> dict[str, int]:
        if not self._owned & 32:
            self.timers_at = dict(self.timers_at)
            self._owned |= 32
        return self.timers_at

    def add_timers(self, timers: tuple[tuple[str, str], ...]) -> None:
        counts = self.own_timers_at()
        for _, at in timers:
            counts[at] = counts.get(at, 0) + 1

    def drop_timers(self, timers: Iterable[tuple[str, str]]) -> None:
        counts = self.own_timers_at()
        for _, at in timers:
            left = counts.get(at, 1) - 1
            if left > 0:
                counts[at] = left
            else:
                counts.pop(at, None)

    def close_task(self, number: int) -> OpenTask:
        """Take an open task out (completed or withdrawn), with its timers; the caller
        counts it out of its token (`Token.open`)."""
        task: OpenTask = (self.tasks if self._owned & 1 else self.own_tasks()).pop(number)
        touched = self.touched
        if touched is not None:
            touched.add(number)
        if task.timers:
            self.drop_timers(task.timers)
        return task

    def own_tokens(self) -> dict[int, Token]:
        if not self._owned & 2:
            self.tokens = dict(self.tokens)
            self._owned |= 2
        return self.tokens

    def own_joins(self) -> dict[str, JoinState]:
        if not self._owned & 4:
            self.joins = dict(self.joins)
            self._owned |= 4
        return self.joins

    def own_done(self) -> dict[str, StepDone]:
        if not self._owned & 8:
            self.done = dict(self.done)
            self._owned |= 8
        return self.done

    def own_documents(self) -> dict[str, Mapping[str, Any]]:
        if not self._owned & 16:
            self.documents = dict(self.documents)
            self._owned |= 16
        return self.documents

    def own_copies(self) -> dict[str, tuple[Copy, ...]]:
        if not self._owned & 64:
            self.copies = dict(self.copies)
            self._owned |= 64
        return self.copies

    def own_loops(self) -> dict[str, int]:
        if not self._owned & 128:
            self.loops = dict(self.loops)
            self._owned |= 128
        return self.loops

    def add_copies(self, data: dict[str, Any], step: str, at: str, by: str | None) -> None:
        """Keep the copies a completed task filled: a new one, or in place of its own."""
        of = data.get("of")
        each = data.get("each", ())
        copies = self.own_copies()
        for doc, values in data["copies"].items():
            new = Copy(step, of, by, at, values)
            old = copies.get(doc, ())
            if doc not in each:
                for i, c in enumerate(old):
                    if c.step == step and c.of == of:
                        copies[doc] = (*old[:i], new, *old[i + 1 :])
                        break
                else:
                    copies[doc] = (*old, new)
            else:
                copies[doc] = (*old, new)

    def count(self, number: int) -> None:
        self.counter = max(self.counter, number)

    def merge_docs(self, docs: Mapping[str, Mapping[str, Any]], *, replace: bool = False) -> None:
        current = self.own_documents()
        for doc, values in docs.items():
            old = current.get(doc)
            current[doc] = dict(values) if replace or old is None else {**old, **values}

    def apply(self, event: EventLike) -> None:
        """Fold one event in."""
        handler = FOLDS.get(event.type)
        if handler is None:
            raise ValueError(f"unknown event type {event.type!r}")
        handler(self, event.data, event.at, event.by)

    def freeze(self) -> Snapshot:
        """The snapshot as of now (the draft may go on changing; the snapshot will not)."""
        tasks = self.tasks
        if self._owned & 1:  # task_map, inline: this is the hot path
            tasks = self.tasks = tasks.finish()
        self._owned = 0  # the mappings now belong to the snapshot: copy before changing again
        return _new(Snapshot, (  # Snapshot(...)
            self.process, self.definition_hash, self.status, self.result, self.started_at,
            self.started_by, self.parent, self.documents, self.tokens, tasks, self.joins,
            self.done, self.handoffs, self.counter, self.timers_at, self.copies,
            self.loops,
        ))  # fmt: skip


Handler = Callable[[Draft, dict[str, Any], str, "str | None"], None]


def _started(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    token = data["token"]
    p = data.get("parent")
    d.process, d.definition_hash, d.status, d.result = (
        data["process"],
        data["hash"],
        "running",
        None,
    )
    d.started_at, d.started_by = at, by
    d.parent = (
        None
        if p is None
        else Parent(p["id"], p["step"], p["mode"], p.get("token"), p.get("depth", 0))
    )
    d.documents = {k: dict(v) for k, v in data.get("docs", {}).items()}
    d.tokens, d.tasks, d.joins, d.done = {token: Token("@start")}, NO_TASKS, {}, {}
    d.handoffs, d.counter, d.timers_at, d.copies, d.loops = (), token, {}, {}, {}
    d._owned = 255 & ~1  # the tasks' Map is shared: it is mutated when first changed
    d.touched = None


def _task_opened(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    number = data["task"]
    get = data.get
    candidates = get("candidates")
    if candidates is None:
        candidates = get("cand")  # as procflow 0.1 wrote it
    assignee = get("assignee")
    if assignee is None:
        assignee = get("asg")
    timers = get("timers")
    pending = tuple(timers.items()) if timers else ()
    token = data["token"]
    if not d._owned & 1:  # own_tasks, inline: this is the hot path
        d.own_tasks()
    d.tasks[number] = _new(  # OpenTask(...)
        OpenTask,
        (
            data["step"],
            token,
            tuple(data["roles"]),
            tuple(candidates) if candidates else (),
            assignee,
            get("due"),
            pending,
            get("item"),
            at,
            False,
        ),
    )
    touched = d.touched
    if touched is not None:
        touched.add(number)
    if pending:
        d.add_timers(pending)
    tokens = d.tokens if d._owned & 2 else d.own_tokens()
    old = tokens.get(token)
    if get("enter"):
        people = get("people")
        tokens[token] = _new(Token, (  # Token(...)
            data["step"], 0, (), None, 1 if old is None else old.open + 1, bool(get("each")),
            tuple(people) if people else (),
        ))  # fmt: skip
    elif old is not None:
        where, completions, done_by, child, left, each, people = old
        tokens[token] = _new(Token, (where, completions, done_by, child, left + 1, each, people))
    if number > d.counter:  # noqa: PLR1730 - a call to max() costs more on the hot path
        d.counter = number


def _task_completed(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    task = d.close_task(data["task"])
    if data.get("data"):
        d.merge_docs(data["data"])
    if data.get("copies"):
        d.add_copies(data, task.step, at, by)
    tokens = d.tokens if d._owned & 2 else d.own_tokens()
    number = task.token
    where, completions, done_by, child, left, each, people = tokens[number]
    if by is not None and not each:
        done_by = (*done_by, by)
    tokens[number] = _new(Token, (where, completions + 1, done_by, child, left - 1, each, people))
    if data.get("keep"):
        done = d.own_done()
        old = done.get(task.step)
        users = old.by if old is not None else ()
        last = by if by is not None else (old.who if old is not None else None)
        users = users if by is None or by in users else (*users, by)
        # kept only when it is not the last of `by` (a doer of an earlier round again)
        done[task.step] = StepDone(users, at, None if users and last == users[-1] else last)


def _task_withdrawn(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    task = d.close_task(data["task"])
    tokens = d.own_tokens()
    token = tokens.get(task.token)
    if token is not None:
        where, completions, done_by, child, left, each, people = token
        tokens[task.token] = _new(
            Token, (where, completions, done_by, child, left - 1, each, people)
        )


def _changed(d: Draft, number: int) -> tuple[Any, OpenTask]:
    """The tasks to change, and task ``number`` in them (marked as changed)."""
    tasks = d.own_tasks()
    d.touch(number)
    return tasks, tasks[number]


def _task_claimed(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    tasks, task = _changed(d, data["task"])
    tasks[data["task"]] = task._replace(assignee=by)


def _task_delegated(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    tasks, task = _changed(d, data["task"])
    tasks[data["task"]] = task._replace(assignee=data["to"], candidates=())


_task_reassigned = _task_delegated


def _without(d: Draft, task: OpenTask, timer: str) -> tuple[tuple[str, str], ...]:
    """The task's timers but ``timer`` (which fired), counted out of ``timers_at``."""
    d.drop_timers(t for t in task.timers if t[0] == timer)
    return tuple(t for t in task.timers if t[0] != timer)


def _reminded(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    tasks, task = _changed(d, data["task"])
    tasks[data["task"]] = task._replace(timers=_without(d, task, data["timer"]))


def _overdue(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    tasks, task = _changed(d, data["task"])
    tasks[data["task"]] = task._replace(timers=_without(d, task, data["timer"]), late=True)


def _escalated(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    tasks, task = _changed(d, data["task"])
    timers = _without(d, task, data["timer"])
    to = data["to"]
    if data["mode"] == "move":
        tasks[data["task"]] = task._replace(
            timers=timers, roles=(to,), candidates=(), assignee=None
        )
        return
    roles = task.roles if to in task.roles else (*task.roles, to)
    offered = data.get("candidates", data.get("cand", ()))
    extra = tuple(u for u in offered if u not in task.candidates)
    tasks[data["task"]] = task._replace(
        timers=timers, roles=roles, candidates=task.candidates + extra
    )


def _nothing(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    """An event for the record only (skips, branch choices, notifications)."""


def _forked(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    step = data["step"]
    tokens = d.own_tokens()
    tokens.pop(data["token"])
    live = []
    for branch, token in data["branches"]:
        tokens[token] = Token(step)
        d.count(token)
        live.append(branch)
    d.own_joins()[step] = JoinState(tuple(live))


def _joined(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.own_tokens().pop(data["token"])
    joins = d.own_joins()
    join = joins[data["step"]]
    done = (*join.done, data["branch"])
    if join.fired and set(join.live) <= set(done):
        joins.pop(data["step"])  # a join: first whose last branch has ended
    else:
        joins[data["step"]] = join._replace(done=done)


def _merged(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    joins = d.own_joins()
    if data.get("first"):  # join: first: the others run on; the join waits for them
        joins[data["step"]] = joins[data["step"]]._replace(fired=True)
    else:
        joins.pop(data["step"])
    for inner in data.get("drop", ()):
        joins.pop(inner, None)
    tokens = d.own_tokens()
    for token in data.get("discard", ()):
        tokens.pop(token, None)
    tokens[data["token"]] = Token(data["step"])
    d.count(data["token"])


def _thread_ended(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.own_tokens().pop(data["token"], None)


def _called(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.own_tokens()[data["token"]] = Token(data["step"], child=data["child"])


def _child_finished(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    if data.get("docs"):
        d.merge_docs(data["docs"], replace=True)
    tokens = d.own_tokens()
    tokens[data["token"]] = tokens[data["token"]]._replace(child=None)


def _handed_off(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.handoffs = (*d.handoffs, data["child"])


def _decided(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.merge_docs(data["docs"])


def _looped(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.own_loops()[f"{data['step']}>{data['to']}"] = data["count"]


def _end(d: Draft, status: str, result: str | None) -> None:
    d.status, d.result = status, result
    d.tokens, d.tasks, d.joins, d.timers_at = {}, NO_TASKS, {}, {}
    d._owned = (d._owned | 38) & ~1
    d.touched = None


def _finished(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    _end(d, "completed", data["result"])


def _cancelled(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    _end(d, "cancelled", None)


FOLDS: dict[str, Handler] = {
    "started": _started,
    "task_opened": _task_opened,
    "task_completed": _task_completed,
    "task_withdrawn": _task_withdrawn,
    "task_claimed": _task_claimed,
    "task_delegated": _task_delegated,
    "task_reassigned": _task_reassigned,
    "commented": _nothing,
    "attached": _nothing,
    "reminded": _reminded,
    "overdue": _overdue,
    "escalated": _escalated,
    "step_skipped": _nothing,
    "branched": _nothing,
    "notified": _nothing,
    "forked": _forked,
    "joined": _joined,
    "merged": _merged,
    "thread_ended": _thread_ended,
    "called": _called,
    "child_finished": _child_finished,
    "handed_off": _handed_off,
    "decided": _decided,
    "looped": _looped,
    "loop_exhausted": _nothing,
    "finished": _finished,
    "cancelled": _cancelled,
}
"""Event type -> how it folds into a `Draft` (``FOLDS[type](draft, data, at, by)``, what
`Draft.apply` does; the interpreter calls it directly)."""

EVENT_TYPES: frozenset[str] = frozenset(FOLDS)
"""Every event type the fold knows."""


def apply(state: Snapshot, event: EventLike) -> Snapshot:
    """The snapshot after ``event``; ``state`` itself is not changed."""
    draft = Draft(state)
    draft.apply(event)
    return draft.freeze()


def replay(events: Iterable[EventLike], start: Snapshot | None = None) -> Snapshot:
    """The snapshot that ``events`` build, from the first, or from ``start`` (the
    snapshot of the version before the first of them: a store's `Checkpoint`)."""
    draft = Draft(start)
    for event in events:
        draft.apply(event)
    return draft.freeze()
