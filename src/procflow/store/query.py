"""What an inbox or an instance list asks of a store, and how every store answers it alike.

Owns the questions (`TaskQuery`, `InstanceQuery`), the **task keys** that
make them index lookups, the sort keys, and the reference answer in Python
(`task_matches`, `instance_matches`) that the SQL of each store must agree
with (a contract test holds them to it).

**Task keys.** Every open task is filed under a few keys, each one row of
``task_keys`` in the SQL stores (a dict in `MemoryStore`), ordered by due
moment and by opening moment:

- ``s:<process>\\x1f<step>``: its step (every task has one);
- ``q:<role>`` for each of its roles while it is open to the role (no
  candidates, no assignee: anyone holding the role sees it), else ``r:<role>``;
- ``c:<user>`` for each candidate, ``a:<user>`` for its assignee;
- ``b:<user>`` for each user a four-eyes rule bars from it (`TaskRow.barred`).

A user's inbox is then the union of ``c:<user>``, ``a:<user>`` and
``q:<role>`` for each role they hold, less the tasks filed under
``b:<user>``: the visibility rule (`base.visible`) evaluated by index, never
by reading roles out of JSON. Each key is one *arm* of the query, walked in
order from the cursor with a limit; the arms are merged (a task under two
arms counts once). Filters the arm does not imply are *residual*: checked on
the key row (process, step, due moment) or on the task row (role, assignee).

**Sort keys.** Due and opening moments sort as `due_key` and `opened_key`
give them: aware moments in UTC, so that text order is time order (as timer
stamps are); a task without a due moment sorts after every other (``~``).

Must not import anything from procflow but `store.rows`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from procflow.store.rows import InstanceRow, TaskRow

NO_DUE = "~"
"""The due key of a task without a due moment: after every time stamp (they start with digits)."""

ORDERS = ("due", "opened")
"""How a task query may be ordered (then by task id)."""

SEP = "\x1f"
"""Between process and step in a step key (a character no id contains)."""


class TaskQuery(NamedTuple):
    """Which open tasks, in which order, from where (all filters narrow).

    Attributes:
        user: Only tasks this user may act on (candidate, assignee, or one of
            ``roles`` when the task is open to its roles), and no four-eyes bar.
        roles: The roles ``user`` holds.
        role: Only tasks with this role among their roles (`Task.actor`).
        process_id, step_id, instance_id, assignee: Only tasks with these.
        due_before: Only tasks due before this key (`due_key` form).
        due_by: Only tasks due at or before this key (overdue at that moment).
        not_due_by: Only tasks not due at this key: due after it, or with no due moment.
        order: ``due`` or ``opened``, then task id.
        after: The (sort key, task id) of the last task of the previous page.
    """

    user: str | None = None
    roles: frozenset[str] = frozenset()
    role: str | None = None
    process_id: str | None = None
    step_id: str | None = None
    instance_id: str | None = None
    assignee: str | None = None
    due_before: str | None = None
    due_by: str | None = None
    not_due_by: str | None = None
    order: str = "due"
    after: tuple[str, str] | None = None


class InstanceQuery(NamedTuple):
    """Which instances, oldest first (``started_at``, then id); all filters narrow.

    Attributes:
        where: ``(document.field, value as JSON text)`` pairs the instance's
            searchable fields must equal (`Commit.search`).
        started_after: Only instances started after this ``started_at`` text.
        after: The (started_at, instance id) of the last instance of the previous page.
    """

    process_id: str | None = None
    status: str | None = None
    started_by: str | None = None
    started_after: str | None = None
    where: tuple[tuple[str, str], ...] = ()
    after: tuple[str, str] | None = None


class Arm(NamedTuple):
    """One key a query walks, and the filters its rows still need checked.

    Attributes:
        key: The task key.
        role: Check the role filter on the task row.
        visible: Check that the user is the assignee or a candidate (task row).
        process: Check the process and step filters on the key row.
    """

    key: str
    role: bool = False
    visible: bool = False
    process: bool = True


class Plan(NamedTuple):
    """How a store answers a `TaskQuery`.

    Attributes:
        arms: The keys to walk; empty with ``discover`` None: nothing matches.
        discover: Walk every step key with this prefix (found in the store),
            keeping those ending with ``step_suffix``: a process's steps, or all.
        step_suffix: With ``discover``: only step keys that end so.
        instance: Read the instance's tasks instead (`TaskQuery.instance_id`).
        barred: The ``b:`` key of the user, when four-eyes bars must be left out.
    """

    arms: tuple[Arm, ...] = ()
    discover: str | None = None
    step_suffix: str | None = None
    instance: bool = False
    barred: str | None = None


_KEYS: dict[str, str] = {}


def _moment_key(text: str) -> str:
    if len(text) == 19 or text.endswith("+00:00"):
        return text  # naive, or UTC already: its own key
    key = _KEYS.get(text)
    if key is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text  # not written by the engine; sorted as text
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        key = moment.isoformat(timespec="seconds")
        if len(_KEYS) > 4096:
            _KEYS.clear()
        _KEYS[text] = key
    return key


def due_key(due: str | None) -> str:
    """The sort key of a due moment (ISO text from the engine), `NO_DUE` for none."""
    return NO_DUE if due is None else _moment_key(due)


def opened_key(opened: str) -> str:
    """The sort key of an opening moment ("" for tasks stored before it was kept: first)."""
    return _moment_key(opened) if opened else ""


def step_key(process_id: str, step_id: str) -> str:
    return f"s:{process_id}{SEP}{step_id}"


def _keys(row: TaskRow, process_id: str) -> list[str]:
    """The keys a task is filed under, a key maybe more than once (a role listed twice)."""
    keys = [step_key(process_id, row.step_id)]
    kind = "q:" if not row.candidates and row.assignee is None else "r:"
    keys += [kind + r for r in row.roles]
    if row.candidates:
        keys += ["c:" + u for u in row.candidates]
    if row.assignee is not None:
        keys.append("a:" + row.assignee)
    if row.barred:
        keys += ["b:" + u for u in row.barred]
    return keys


def task_keys(row: TaskRow, process_id: str) -> list[str]:
    """The keys a task is filed under (see the module docstring), each once."""
    return list(dict.fromkeys(_keys(row, process_id)))


KeyRow = tuple[str, str, str, str, str, str]
"""A row of ``task_keys``: (key, due key, task id, opened key, process id, step id)."""


def key_rows(t: TaskRow, process_id: str) -> set[KeyRow]:
    """The ``task_keys`` rows of an open task of a ``process_id`` instance."""
    due, opened, task_id, step_id = due_key(t.due), opened_key(t.opened), t.task_id, t.step_id
    return {(k, due, task_id, opened, process_id, step_id) for k in _keys(t, process_id)}


def sort_key(row: TaskRow, order: str) -> str:
    """The value a task is ordered by (before its id) in ``order``."""
    return due_key(row.due) if order == "due" else opened_key(row.opened)


def plan(q: TaskQuery) -> Plan:
    """The arms a store walks for ``q``: the most selective key the filters give.

    Preference: one instance; an assignee; a user's inbox; a step; a role; a
    process's steps; every step.
    """
    barred = None if q.user is None else "b:" + q.user
    if q.instance_id is not None:
        return Plan(instance=True, barred=barred)
    if q.assignee is not None:
        visible = q.user is not None and q.user != q.assignee
        return Plan((Arm("a:" + q.assignee, role=q.role is not None, visible=visible),),
                    barred=barred)  # fmt: skip
    if q.user is not None:
        arms = [Arm("a:" + q.user, role=q.role is not None),
                Arm("c:" + q.user, role=q.role is not None)]  # fmt: skip
        # a task open to a role the user holds may have the role asked for among others
        arms += [Arm("q:" + r, role=q.role not in (None, r)) for r in sorted(q.roles)]
        return Plan(tuple(arms), barred=barred)
    if q.step_id is not None and q.process_id is not None:
        return Plan((Arm(step_key(q.process_id, q.step_id), role=q.role is not None,
                         process=False),))  # fmt: skip
    if q.role is not None:
        return Plan((Arm("q:" + q.role), Arm("r:" + q.role)))
    if q.process_id is not None:
        return Plan(discover=f"s:{q.process_id}{SEP}")
    return Plan(discover="s:", step_suffix=None if q.step_id is None else SEP + q.step_id)


def step_arms(q: TaskQuery, found: Iterable[str], suffix: str | None) -> tuple[Arm, ...]:
    """The arms of a discovering plan, given the step keys found in the store."""
    return tuple(
        Arm(k, role=q.role is not None, process=False)
        for k in found
        if suffix is None or k.endswith(suffix)
    )


def due_matches(q: TaskQuery, key: str) -> bool:
    """Whether a task due at ``key`` (`due_key`) passes the due filters of ``q``."""
    return (
        (q.due_before is None or key < q.due_before)
        and (q.due_by is None or key <= q.due_by)
        and (q.not_due_by is None or key > q.not_due_by)
    )


def task_matches(row: TaskRow, process_id: str, q: TaskQuery) -> bool:
    """The reference answer: whether an open task (of a ``process_id`` instance) is in ``q``.

    Every store must return exactly the tasks this admits; the cursor aside.
    """
    if q.user is not None:
        user = q.user
        if user in row.barred:
            return False
        if not (
            user in row.candidates
            or row.assignee == user
            or (not row.candidates and row.assignee is None and not q.roles.isdisjoint(row.roles))
        ):
            return False
    return (
        (q.role is None or q.role in row.roles)
        and (q.process_id is None or q.process_id == process_id)
        and (q.step_id is None or q.step_id == row.step_id)
        and (q.instance_id is None or q.instance_id == row.instance_id)
        and (q.assignee is None or q.assignee == row.assignee)
        and due_matches(q, due_key(row.due))
    )


def after_cursor(q: TaskQuery, row: TaskRow) -> bool:
    """Whether ``row`` comes after the cursor of ``q`` (always, without one)."""
    return q.after is None or (sort_key(row, q.order), row.task_id) > q.after


def instance_matches(row: InstanceRow, search: Iterable[tuple[str, str]], q: InstanceQuery) -> bool:
    """The reference answer for instances: whether ``row``, with its ``search`` values,
    is in ``q``."""
    values = set(search)
    return (
        (q.process_id is None or row.process_id == q.process_id)
        and (q.status is None or row.status == q.status)
        and (q.started_by is None or row.started_by == q.started_by)
        and (q.started_after is None or row.started_at > q.started_after)
        and all(pair in values for pair in q.where)
        and (q.after is None or (row.started_at, row.instance_id) > q.after)
    )
