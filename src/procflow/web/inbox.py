"""A user's inbox, a page at a time: the one place that asks the engine for task lists.

Owns `InboxQuery` (filters: process, step, overdue, due soon; sorting;
a page size and an opaque cursor), `InboxPage` (the tasks of one page, the
cursor of the next, and the counts the filters show) and `inbox`, which
both the inbox page and ``GET /api/tasks`` call.

Every list and count is the engine's paged, indexed query
(`Engine.tasks` with ``limit=`` and ``after=``, `Engine.count_tasks`):
nothing here reads the whole inbox. The cursor is opaque to callers: the
position of the page's first task, then the engine's keyset cursor (and,
sorted by process, the step it is in). A cursor that does not read back
(changed by hand, or from before a restart of another store) starts again
from the first page. The step counts ask one count per process of the
catalog, then one per human step of the processes where the user has tasks.

Imports the runtime's `Engine`, `Task`, `User` and `ProcflowError`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, NamedTuple

from procflow.errors import InvalidArgument
from procflow.runtime.engine import Engine
from procflow.runtime.people import User
from procflow.runtime.views import Task

__all__ = ["DUE_SOON", "SORTS", "InboxPage", "InboxQuery", "inbox"]

DUE_SOON = timedelta(days=2)
"""A task is due soon when its due moment is this close and not past."""
Sort = Literal["due", "opened", "process"]
SORTS: tuple[Sort, ...] = ("due", "opened", "process")


class InboxQuery(NamedTuple):
    """Which of a user's tasks to list, in what order, from where."""

    process_id: str | None = None
    step_id: str | None = None
    due: Literal["overdue", "soon"] | None = None
    sort: Sort = "due"
    size: int = 20
    after: str | None = None
    """The cursor `InboxPage.next` gave; None for the first page."""


class InboxPage(NamedTuple):
    """One page of an inbox.

    Attributes:
        tasks: The tasks of this page.
        total: How many tasks the filters match.
        next: The cursor of the next page, or None on the last.
        start: The 0-based position of the first task of this page among ``total``.
        all: How many tasks the user's inbox holds, filters aside.
        overdue: Of those, how many are overdue; ``soon``: due soon.
        by_process: Process id -> how many of the user's tasks (for the filter's choices).
        steps: (process id, step id) -> (step title, how many).
    """

    tasks: list[Task]
    total: int
    next: str | None
    start: int
    all: int
    overdue: int
    soon: int
    by_process: dict[str, int]
    steps: dict[tuple[str, str], tuple[str, int]]


_SEP = "~"


def _cursor(start: int, *position: str) -> str:
    return _SEP.join((str(start), *position))


def _position(cursor: str | None) -> tuple[int, list[str]]:
    """(the start, the rest) of a cursor of ours; (0, []) for None or anything else."""
    if cursor is None or not cursor.isascii() or len(cursor) > 2000:
        return 0, []
    start, *rest = cursor.split(_SEP)
    if not start.isdigit() or len(start) > 9:
        return 0, []
    return int(start), rest


def _step_counts(engine: Engine, user: User) -> dict[tuple[str, str], tuple[str, int]]:
    """(process id, step id) -> (step title, how many of the user's tasks), from counts."""
    steps: dict[tuple[str, str], tuple[str, int]] = {}
    for pid in sorted(engine.catalog):
        if not engine.count_tasks(user=user, process_id=pid):
            continue
        for node in engine.catalog[pid].flow.human_steps():
            n = engine.count_tasks(user=user, process_id=pid, step_id=node.id)
            if n:
                steps[pid, node.id] = (node.title, n)
    return steps


def _page(engine: Engine, user: User, filters: dict[str, Any], *, order_by: str, size: int,
          after: str | None) -> tuple[list[Task], str | None]:  # fmt: skip
    try:
        found = engine.tasks(user=user, order_by=order_by, limit=size, after=after, **filters)
    except InvalidArgument:  # a cursor that does not read back: from the first page
        found = engine.tasks(user=user, order_by=order_by, limit=size, **filters)
    return list(found), found.next


def _by_process(
    engine: Engine, user: User, filters: dict[str, Any], steps: list[tuple[str, str]], *,
    size: int, position: list[str],
) -> tuple[list[Task], list[str] | None]:  # fmt: skip
    """A page sorted by process, then step, then opening: step after step."""
    k = int(position[0]) if position and position[0].isdigit() else 0
    inner = position[1] if len(position) > 1 and position[1] else None
    tasks: list[Task] = []
    while k < len(steps) and len(tasks) < size:
        pid, sid = steps[k]
        more, nxt = _page(engine, user, {**filters, "process_id": pid, "step_id": sid},
                          order_by="opened_at", size=size - len(tasks), after=inner)  # fmt: skip
        tasks += more
        if nxt is not None:
            inner = nxt
            continue
        k, inner = k + 1, None
    if k >= len(steps):
        return tasks, None
    return tasks, [str(k), inner or ""]


def inbox(engine: Engine, user: User, query: InboxQuery) -> InboxPage:
    """One page of ``user``'s inbox (see the module docstring)."""
    now = engine.clock.now()
    # due soon: not overdue, and due by the end of the second DUE_SOON from now
    soon: dict[str, Any] = {"overdue": False, "due_before": now + DUE_SOON + timedelta(seconds=1)}
    filters: dict[str, Any] = {}
    if query.process_id is not None:
        filters["process_id"] = query.process_id
    if query.step_id is not None:
        filters["step_id"] = query.step_id
    if query.due == "overdue":
        filters["overdue"] = True
    elif query.due == "soon":
        filters.update(soon)
    steps = _step_counts(engine, user)
    by_process: dict[str, int] = {}
    for (pid, _), (_, n) in steps.items():
        by_process[pid] = by_process.get(pid, 0) + n
    start, position = _position(query.after)
    size = max(1, query.size)
    if query.sort == "process":
        wanted = [
            key
            for key in steps
            if query.process_id in (None, key[0]) and query.step_id in (None, key[1])
        ]
        tasks, rest = _by_process(engine, user, filters, wanted, size=size, position=position)
        nxt = None if rest is None else _cursor(start + len(tasks), *rest)
    else:
        order_by = "opened_at" if query.sort == "opened" else "due"
        tasks, after = _page(engine, user, filters, order_by=order_by, size=size,
                             after=position[0] if position else None)  # fmt: skip
        nxt = None if after is None else _cursor(start + len(tasks), after)
    return InboxPage(
        tasks,
        engine.count_tasks(user=user, **filters),
        nxt,
        start,
        engine.count_tasks(user=user),
        engine.count_tasks(user=user, overdue=True),
        engine.count_tasks(user=user, **soon),
        by_process,
        steps,
    )
