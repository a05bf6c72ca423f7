"""Instance state as a fold of events: the event vocabulary and `apply`.

Owns the event types, their payloads, the shape of the state snapshot and the
fold. `apply(state, event)` is pure: it returns a new state and leaves the
given one alone. It is copy-on-write: a `Draft` copies only the parts an event
touches, so a command costs what it changes, not what the instance holds, and
old states can be shared safely (the engine caches them). Replaying the stored
events of an instance from nothing gives exactly its stored snapshot; a
property test holds us to that.

The fold needs no process definition: events are facts that carry everything
they change (ids, roles, due times), so a history can be read and replayed on
its own. Control flow is decided by the interpreter, never here.

Events (``type``: payload; every event also has ``at`` and ``by``):

- ``started``: process, hash, token, docs, parent ({id, step, mode}) when a
  call or hand-off started it, schedule ({by, period, at}) when the system
  started it on its ``schedule:`` (``by`` is then None; ``schedule.by`` is the
  role it acted for, ``at`` the period's moment).
- ``task_opened``: task (a number; the public id is ``<instance>.<task>``),
  step, token, roles, and when they apply: cand (the only users who may act),
  asg (assignee), due, timers ({name: UTC moment}), item (the for-each item),
  enter (the token arrives at the step: its progress restarts).
- ``task_completed``: task, outcome, data (stored form), timer (when a
  deadline expired it; ``by`` is then None), keep (remember who did the step:
  a later four-eyes rule or deadline names it).
- ``task_withdrawn``: task, why (``signed``, ``rejected``, ``join``).
- ``task_claimed``: task (``by`` becomes the assignee); ``task_delegated``: task, to.
- ``reminded`` / ``overdue``: task, timer; ``escalated``: task, timer, to,
  mode (``offer`` or ``move``), cand (members offered the task).
- ``step_skipped``: step, when (the condition) or why; ``branched``: step, to,
  arm (the condition, or ``otherwise``); ``notified``: step, roles, message,
  users (the people ``notify_users`` named, when the step has it).
- ``forked``: step, token, branches ([[branch, token], ...]), skipped
  (branches whose ``when`` did not hold); ``joined``: step, token, branch;
  ``merged``: step, token, discard (tokens of a join-any's losing branches),
  drop (joins inside them).
- ``called``: step, token, child; ``child_finished``: child, token, result,
  docs (the returned documents); ``handed_off``: step, process, child.
- ``decided``: step, table, docs (fields set by a decision table).
- ``finished``: result; ``cancelled``: reason.

State (JSON-ready): process, hash, status (running, completed, cancelled),
result, started, by, parent, docs ({document: {field: stored value}}),
tokens ({token: {at, n (completions there), by (who completed there),
child}}), tasks ({task: record}), joins ({parallel: {live, done}}), done
({step: {by, at}} for remembered steps), handoffs (child ids), n (the last
number given to a task or token).

Imports nothing from procflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

__all__ = ["EVENT_TYPES", "Draft", "EventLike", "State", "apply", "replay"]

State = dict[str, Any]


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


def _position(step: str) -> dict[str, Any]:
    return {"at": step, "n": 0, "by": []}


class Draft:
    """A state being changed by one or more events; copies each part once, on first write.

    Never changes ``base`` or anything reachable from it, nor event payloads:
    nested values are replaced, not mutated, unless this draft made them.
    """

    __slots__ = ("_items", "_parts", "state")

    def __init__(self, base: State) -> None:
        self.state: State = dict(base)
        self._parts: set[str] = set()
        self._items: set[tuple[str, str]] = set()

    def part(self, key: str) -> dict[str, Any]:
        """The top-level mapping ``key``, owned by this draft."""
        if key not in self._parts:
            self.state[key] = dict(self.state[key])
            self._parts.add(key)
        part: dict[str, Any] = self.state[key]
        return part

    def item(self, key: str, sub: str) -> dict[str, Any]:
        """The record ``sub`` of the mapping ``key``, owned by this draft."""
        part = self.part(key)
        if (key, sub) not in self._items:
            part[sub] = dict(part[sub])
            self._items.add((key, sub))
        item: dict[str, Any] = part[sub]
        return item

    def put(self, key: str, sub: str, record: dict[str, Any]) -> None:
        """Set a record this draft made (so later events may change it in place)."""
        self.part(key)[sub] = record
        self._items.add((key, sub))

    def count(self, number: int) -> None:
        self.state["n"] = max(self.state["n"], number)

    def apply(self, event: EventLike) -> None:
        """Fold one event in."""
        handler = _HANDLERS.get(event.type)
        if handler is None:
            raise ValueError(f"unknown event type {event.type!r}")
        handler(self, event.data, event.at, event.by)

    def merge_docs(self, docs: dict[str, dict[str, Any]], *, replace: bool = False) -> None:
        current = self.part("docs")
        for doc, values in docs.items():
            old = current.get(doc)
            current[doc] = dict(values) if replace or old is None else {**old, **values}


Handler = Callable[[Draft, dict[str, Any], str, "str | None"], None]


def _started(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    token = data["token"]
    d.state = {
        "process": data["process"],
        "hash": data["hash"],
        "status": "running",
        "result": None,
        "started": at,
        "by": by,
        "parent": data.get("parent"),
        "docs": {k: dict(v) for k, v in data.get("docs", {}).items()},
        "tokens": {str(token): _position("@start")},
        "tasks": {},
        "joins": {},
        "done": {},
        "handoffs": [],
        "n": token,
    }
    d._parts = {"docs", "tokens", "tasks", "joins", "done"}
    d._items = {("tokens", str(token))}


_NOT_IN_TASK = frozenset({"task", "enter"})


def _task_opened(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    number = data["task"]
    record = {k: v for k, v in data.items() if k not in _NOT_IN_TASK}
    record["opened"] = at
    d.put("tasks", str(number), record)
    if data.get("enter"):
        d.put("tokens", str(data["token"]), _position(data["step"]))
    d.count(number)


def _task_completed(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    record = d.part("tasks").pop(str(data["task"]))
    if data.get("data"):
        d.merge_docs(data["data"])
    token = d.item("tokens", str(record["token"]))
    token["n"] += 1
    if by is not None:
        token["by"] = [*token["by"], by]
    if data.get("keep"):
        done = d.part("done")
        old = done.get(record["step"])
        users: list[str] = old["by"] if old else []
        done[record["step"]] = {
            "by": users if by is None or by in users else [*users, by],
            "at": at,
        }


def _task_withdrawn(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.part("tasks").pop(str(data["task"]))


def _task_claimed(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.item("tasks", str(data["task"]))["asg"] = by


def _task_delegated(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    record = d.item("tasks", str(data["task"]))
    record["asg"] = data["to"]
    record.pop("cand", None)


def _drop_timer(record: dict[str, Any], timer: str) -> None:
    record["timers"] = {k: v for k, v in record.get("timers", {}).items() if k != timer}


def _reminded(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    _drop_timer(d.item("tasks", str(data["task"])), data["timer"])


def _overdue(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    record = d.item("tasks", str(data["task"]))
    _drop_timer(record, data["timer"])
    record["late"] = True


def _escalated(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    record = d.item("tasks", str(data["task"]))
    _drop_timer(record, data["timer"])
    to = data["to"]
    if data["mode"] == "move":
        record["roles"] = [to]
        record.pop("cand", None)
        record.pop("asg", None)
        return
    if to not in record["roles"]:
        record["roles"] = [*record["roles"], to]
    extra = [u for u in data.get("cand", ()) if u not in record.get("cand", ())]
    if extra:
        record["cand"] = [*record.get("cand", ()), *extra]


def _nothing(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    """An event for the record only (skips, branch choices, notifications)."""


def _forked(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    step = data["step"]
    d.part("tokens").pop(str(data["token"]))
    live = []
    for branch, token in data["branches"]:
        d.put("tokens", str(token), _position(step))
        d.count(token)
        live.append(branch)
    d.put("joins", step, {"live": live, "done": []})


def _joined(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.part("tokens").pop(str(data["token"]))
    join = d.item("joins", data["step"])
    join["done"] = [*join["done"], data["branch"]]


def _merged(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    joins = d.part("joins")
    joins.pop(data["step"])
    for inner in data.get("drop", ()):
        joins.pop(inner, None)
    tokens = d.part("tokens")
    for token in data.get("discard", ()):
        tokens.pop(str(token), None)
    d.put("tokens", str(data["token"]), _position(data["step"]))
    d.count(data["token"])


def _called(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.put("tokens", str(data["token"]), {**_position(data["step"]), "child": data["child"]})


def _child_finished(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    if data.get("docs"):
        d.merge_docs(data["docs"], replace=True)
    d.item("tokens", str(data["token"])).pop("child", None)


def _handed_off(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.state["handoffs"] = [*d.state["handoffs"], data["child"]]


def _decided(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    d.merge_docs(data["docs"])


def _end(d: Draft, status: str, result: str | None) -> None:
    d.state.update(status=status, result=result, tokens={}, tasks={}, joins={})
    d._parts |= {"tokens", "tasks", "joins"}


def _finished(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    _end(d, "completed", data["result"])


def _cancelled(d: Draft, data: dict[str, Any], at: str, by: str | None) -> None:
    _end(d, "cancelled", None)


_HANDLERS: dict[str, Handler] = {
    "started": _started,
    "task_opened": _task_opened,
    "task_completed": _task_completed,
    "task_withdrawn": _task_withdrawn,
    "task_claimed": _task_claimed,
    "task_delegated": _task_delegated,
    "reminded": _reminded,
    "overdue": _overdue,
    "escalated": _escalated,
    "step_skipped": _nothing,
    "branched": _nothing,
    "notified": _nothing,
    "forked": _forked,
    "joined": _joined,
    "merged": _merged,
    "called": _called,
    "child_finished": _child_finished,
    "handed_off": _handed_off,
    "decided": _decided,
    "finished": _finished,
    "cancelled": _cancelled,
}

EVENT_TYPES: frozenset[str] = frozenset(_HANDLERS)
"""Every event type the fold knows."""


def apply(state: State, event: EventLike) -> State:
    """The state after ``event``; ``state`` itself is not changed."""
    draft = Draft(state)
    draft.apply(event)
    return draft.state


def replay(events: Iterable[EventLike]) -> State:
    """The state that ``events``, from the first, build."""
    draft = Draft({})
    for event in events:
        draft.apply(event)
    return draft.state
