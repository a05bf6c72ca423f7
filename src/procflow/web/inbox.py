"""A user's inbox, a page at a time: the one place that asks the engine for task lists.

Owns `InboxQuery` (filters: process, step, overdue, due soon; sorting;
a page size and an opaque cursor), `InboxPage` (the tasks of one page, the
cursor of the next, and the counts the filters show) and `inbox`, which
both the inbox page and ``GET /api/tasks`` call.

Today it asks `Engine.tasks(user=...)` for the whole inbox and filters,
sorts and slices it here (the cursor is an offset). When the engine gains
paged, filtered queries (``engine.tasks(..., limit=, after=)`` and
``engine.count_tasks(...)``), `inbox` is the one function to change: the
cursor stays opaque to its callers.

Imports the runtime's `Engine`, `Task`, `User`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

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


def _is_soon(task: Task, now: datetime) -> bool:
    return task.due is not None and not task.overdue and now <= task.due <= now + DUE_SOON


def _offset(cursor: str | None) -> int:
    if cursor is None or not cursor.isascii() or not cursor.isdigit() or len(cursor) > 9:
        return 0
    return int(cursor)


def inbox(engine: Engine, user: User, query: InboxQuery) -> InboxPage:
    """One page of ``user``'s inbox (see the module docstring)."""
    now = engine.clock.now()
    everything = engine.tasks(user=user)
    by_process = Counter(t.process_id for t in everything)
    steps: dict[tuple[str, str], tuple[str, int]] = {}
    for t in everything:
        key = (t.process_id, t.step_id)
        steps[key] = (t.title, steps.get(key, ("", 0))[1] + 1)
    overdue = sum(1 for t in everything if t.overdue)
    soon = sum(1 for t in everything if _is_soon(t, now))
    chosen = [
        t
        for t in everything
        if (query.process_id is None or t.process_id == query.process_id)
        and (query.step_id is None or t.step_id == query.step_id)
        and (query.due != "overdue" or t.overdue)
        and (query.due != "soon" or _is_soon(t, now))
    ]
    never = datetime.max
    if query.sort == "opened":
        chosen.sort(key=lambda t: (t.opened_at, t.id))
    elif query.sort == "process":
        chosen.sort(key=lambda t: (t.process_id, t.step_id, t.opened_at, t.id))
    else:
        chosen.sort(
            key=lambda t: (t.due.replace(tzinfo=None) if t.due else never, t.opened_at, t.id)
        )
    start = min(_offset(query.after), len(chosen))
    end = start + query.size
    return InboxPage(
        chosen[start:end],
        len(chosen),
        str(end) if end < len(chosen) else None,
        start,
        len(everything),
        overdue,
        soon,
        dict(sorted(by_process.items())),
        dict(sorted(steps.items())),
    )
