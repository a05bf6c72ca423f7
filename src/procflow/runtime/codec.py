"""The JSON form of a snapshot, versioned: what stores keep, and every form they may hold.

Owns `encode` (a `state.Snapshot` as JSON data, form 3, `FORM`) and `decode` (JSON
data of any form a store may hold back to a `Snapshot`, and a store's `Checkpoint`: a
snapshot and the events after it, folded with `state.replay`).

- Form 3 (procflow 0.2, per-person forms and loop limits): form 2 and
  ``copies`` ({document: [[step, of, by, at, values], ...]}, each copy as a
  JSON array, the fields of `state.Copy` in order) and ``loops``
  ({"step>target": count}).
- Form 2 (procflow 0.2): ``{"v": 2, ...}`` with the snapshot's own field
  names: ``process``, ``definition_hash``, ``status``, ``result``,
  ``started_at``, ``started_by``, ``parent`` ({id, step, mode, token, depth}),
  ``documents``, ``tokens`` ({number: {at, completions, done_by, child, each, people}},
  the last three only when set),
  ``tasks`` ({number: {step, token, roles, candidates, assignee, due,
  timers, item, opened, late}}, the last six only when set), ``joins``
  ({step: {live, done, fired}}, fired only when set), ``done`` ({step: {by,
  at, last}}, last only when it is not the last of by), ``handoffs``,
  ``counter``.
- Form 1 (procflow 0.1, no ``v``): the snapshot as the fold's dict, with
  short keys (``hash``, ``started``, ``by``, ``docs``, ``n``, ``cand``,
  ``asg``...). Stores written by 0.1 open and replay with it; a test keeps
  a store file written by 0.1.

Encoding reuses the JSON of records that did not change since the last
snapshot of the same instance (`Encoder`), so a command encodes what it
changed, not the whole instance; and it happens only when a store writes
text (`Stored`): a store that keeps objects never encodes at all.

`Token.open` and `Snapshot.timers_at` are not written: `decode` counts them
from the tasks.

Imports `state` and `store` (`Checkpoint`), and `immutables` (the tasks' persistent map).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from immutables import Map

from procflow.runtime.state import (
    Copy,
    JoinState,
    OpenTask,
    Parent,
    Snapshot,
    StepDone,
    Token,
    open_counts,
    replay,
    timer_counts,
)
from procflow.store import Checkpoint

FORM = 3
"""The form `encode` writes."""
FORMS = (1, 2, 3)
"""Every form `decode` reads."""


class SnapshotError(ValueError):
    """Stored data is not a snapshot of any form this procflow reads."""


def _token(t: Token) -> dict[str, Any]:
    out: dict[str, Any] = {"at": t.at, "completions": t.completions, "done_by": list(t.done_by)}
    if t.child is not None:
        out["child"] = t.child
    if t.each:
        out["each"] = True
    if t.people:
        out["people"] = list(t.people)
    return out


def _task(t: OpenTask) -> dict[str, Any]:
    out: dict[str, Any] = {"step": t.step, "token": t.token, "roles": list(t.roles)}
    if t.candidates:
        out["candidates"] = list(t.candidates)
    if t.assignee is not None:
        out["assignee"] = t.assignee
    if t.due is not None:
        out["due"] = t.due
    if t.timers:
        out["timers"] = dict(t.timers)
    if t.item is not None:
        out["item"] = t.item
    out["opened"] = t.opened
    if t.late:
        out["late"] = True
    return out


class Encoder:
    """Encodes snapshots, reusing the JSON of records kept from the snapshot before.

    Records are immutable: a task or a token that is the very object of the
    previous snapshot encodes as it did then. One encoder per instance cache
    entry; `encode` keeps the last snapshot's records and their JSON.
    """

    __slots__ = ("_copies", "_tasks", "_tokens")

    def __init__(self) -> None:
        self._tasks: dict[int, tuple[OpenTask, dict[str, Any]]] = {}
        self._tokens: dict[int, tuple[Token, dict[str, Any]]] = {}
        self._copies: dict[str, tuple[tuple[Copy, ...], list[list[Any]]]] = {}

    def encode(self, s: Snapshot) -> dict[str, Any]:
        old_tasks, old_tokens = self._tasks, self._tokens
        tasks: dict[int, tuple[OpenTask, dict[str, Any]]] = {}
        for n, t in s.tasks.items():
            seen = old_tasks.get(n)
            tasks[n] = seen if seen is not None and seen[0] is t else (t, _task(t))
        tokens: dict[int, tuple[Token, dict[str, Any]]] = {}
        for n, k in s.tokens.items():
            seen_token = old_tokens.get(n)
            tokens[n] = (
                seen_token if seen_token is not None and seen_token[0] is k else (k, _token(k))
            )
        copies: dict[str, tuple[tuple[Copy, ...], list[list[Any]]]] = {}
        for name, kept in s.copies.items():
            seen_copies = self._copies.get(name)
            copies[name] = (
                seen_copies
                if seen_copies is not None and seen_copies[0] is kept
                else (kept, _copies(kept))
            )
        self._tasks, self._tokens, self._copies = tasks, tokens, copies
        return _document(
            s,
            {str(n): j for n, (_, j) in tasks.items()},
            {str(n): j for n, (_, j) in tokens.items()},
            {name: j for name, (_, j) in copies.items()},
        )


class Stored:
    """A snapshot as the engine hands it to a store: the object, and its JSON on demand.

    A store that keeps objects (`MemoryStore`) keeps it as it is and gives it
    back; one that writes text asks for ``to_json()`` (`store.base.state_json`),
    which the `Encoder` of the instance makes once. `decode` takes either.
    """

    __slots__ = ("_json", "encoder", "snapshot")

    def __init__(self, snapshot: Snapshot, encoder: Encoder | None) -> None:
        self.snapshot = snapshot
        self.encoder = encoder
        """The encoder of the snapshot before (its records' JSON), made when first needed."""
        self._json: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        if self._json is None:
            if self.encoder is None:
                self.encoder = Encoder()
            self._json = self.encoder.encode(self.snapshot)
        return self._json


def _copies(kept: tuple[Copy, ...]) -> list[list[Any]]:
    return [[c.step, c.of, c.by, c.at, c.values] for c in kept]


def _document(
    s: Snapshot,
    tasks: dict[str, dict[str, Any]],
    tokens: dict[str, dict[str, Any]],
    copies: dict[str, list[list[Any]]],
) -> dict[str, Any]:
    parent = s.parent
    return {
        "v": FORM,
        "process": s.process,
        "definition_hash": s.definition_hash,
        "status": s.status,
        "result": s.result,
        "started_at": s.started_at,
        "started_by": s.started_by,
        "parent": None if parent is None else _parent(parent),
        "documents": s.documents,
        "tokens": tokens,
        "tasks": tasks,
        "joins": {k: _join(j) for k, j in s.joins.items()},
        "done": {k: _done(d) for k, d in s.done.items()},
        "handoffs": list(s.handoffs),
        "counter": s.counter,
        "copies": copies,
        "loops": dict(s.loops),
    }


def _parent(p: Parent) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "step": p.step, "mode": p.mode}
    if p.token is not None:
        out["token"] = p.token
    if p.depth:
        out["depth"] = p.depth
    return out


def _join(j: JoinState) -> dict[str, Any]:
    out: dict[str, Any] = {"live": list(j.live), "done": list(j.done)}
    if j.fired:
        out["fired"] = True
    return out


def _done(d: StepDone) -> dict[str, Any]:
    out: dict[str, Any] = {"by": list(d.by), "at": d.at}
    if d.last is not None:
        out["last"] = d.last
    return out


def encode(s: Snapshot) -> dict[str, Any]:
    """A snapshot as JSON data (form 3: `FORM`)."""
    return _document(
        s,
        {str(n): _task(t) for n, t in s.tasks.items()},
        {str(n): _token(k) for n, k in s.tokens.items()},
        {name: _copies(kept) for name, kept in s.copies.items()},
    )


def decode(data: Any) -> Snapshot:
    """A snapshot from the JSON data a store holds, of any form, or from a `Checkpoint`
    (`Store.load`: a stored snapshot and the events after it, folded here).

    Raises:
        SnapshotError: The data is not a snapshot (damaged, or from a newer procflow).
    """
    if isinstance(data, Stored):
        return data.snapshot  # a store that keeps objects (MemoryStore) gives them back
    if isinstance(data, Snapshot):
        return data
    if type(data) is Checkpoint:
        start = decode(data.state)
        try:
            return replay(data.events, start)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise SnapshotError(
                f"an event after the stored snapshot does not fold: {exc!r}"
            ) from exc
    if not isinstance(data, Mapping):
        raise SnapshotError(f"a snapshot is a JSON object, not {type(data).__name__}")
    form = data.get("v", 1)
    try:
        if form in (2, 3):  # form 3 is form 2 with copies and loops
            return _decode_2(data)
        if form == 1:
            return _decode_1(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SnapshotError(f"a form-{form} snapshot with a bad part: {exc!r}") from exc
    raise SnapshotError(f"snapshot form {form!r} is newer than this procflow reads ({FORM})")


_FORM_2 = {
    "hash": "definition_hash", "started": "started_at", "by": "started_by",
    "docs": "documents", "n": "counter", "completions": "completions",
    "done_by": "done_by", "candidates": "candidates", "assignee": "assignee",
}  # fmt: skip
_FORM_1 = {
    "hash": "hash", "started": "started", "by": "by", "docs": "docs", "n": "n",
    "completions": "n", "done_by": "by", "candidates": "cand", "assignee": "asg",
}  # fmt: skip
"""The names each form gives the parts whose names changed (form 1 is 0.1's fold dict)."""


def _decode_2(d: Mapping[str, Any]) -> Snapshot:
    return _decode(d, _FORM_2)


def _decode_1(d: Mapping[str, Any]) -> Snapshot:
    return _decode(d, _FORM_1)


def _parent_of(p: Mapping[str, Any]) -> Parent:
    return Parent(p["id"], p["step"], p["mode"], p.get("token"), p.get("depth", 0))


def _decode(d: Mapping[str, Any], k: Mapping[str, str]) -> Snapshot:
    p = d["parent"]
    tasks = Map(
        {
            int(n): OpenTask(
                t["step"],
                t["token"],
                tuple(t["roles"]),
                tuple(t.get(k["candidates"], ())),
                t.get(k["assignee"]),
                t.get("due"),
                tuple(t.get("timers", {}).items()),
                t.get("item"),
                t["opened"],
                bool(t.get("late", False)),
            )
            for n, t in d["tasks"].items()
        }
    )
    tokens = {
        int(n): Token(
            t["at"],
            t[k["completions"]],
            tuple(t[k["done_by"]]),
            t.get("child"),
            each=bool(t.get("each", False)),
            people=tuple(t.get("people", ())),
        )
        for n, t in d["tokens"].items()
    }
    return Snapshot(
        d["process"],
        d[k["hash"]],
        d["status"],
        d["result"],
        d[k["started"]],
        d[k["by"]],
        None if p is None else _parent_of(p),
        {name: dict(v) for name, v in d[k["docs"]].items()},
        open_counts(tokens, tasks.values()),
        tasks,
        {
            name: JoinState(tuple(j["live"]), tuple(j["done"]), bool(j.get("fired", False)))
            for name, j in d["joins"].items()
        },
        {name: StepDone(tuple(x["by"]), x["at"], x.get("last")) for name, x in d["done"].items()},
        tuple(d["handoffs"]),
        d[k["n"]],
        timer_counts(tasks.values()),
        {
            name: tuple(Copy(c[0], c[1], c[2], c[3], dict(c[4])) for c in kept)
            for name, kept in d.get("copies", {}).items()
        },
        dict(d.get("loops", {})),
    )
