"""The engine's queries: instances, their history, open tasks and inboxes.

Owns `Queries`, the part of `Engine` that reads: an instance as it is now,
pages of instances (by process, status, starter, start, searchable
values), an instance's events (the audit trail), one open task, and pages
of open tasks (a user's inbox, a role's, a process's...) with their counts.
Nothing here changes anything.

- **The store narrows** (`Store.find_tasks`, `Store.find_instances`): from
  indexes, in the page's order, from the cursor on, at most what the page
  needs plus one (to know whether there is a next page).
- **The engine decides.** Each task the store gives is checked against its
  instance's snapshot, loaded for the whole page in one read: it is still
  open, and for an inbox `guards.refusal` admits the user (role,
  candidate, assignee, four-eyes: the rule the commands apply). The store
  already leaves out the tasks a four-eyes rule bars the user from
  (`TaskRow.barred`), so a task is refused here only when the store's
  projection lags (a task stored before its bars were kept, a command in
  between): then the page reads on, at most `PASSED` rows more, and ends
  early with a ``next`` cursor after the last row read. No task is skipped
  or listed twice; a page may be short.
- **Counts** are the store's (`Store.count_tasks`): the same filters and bars,
  without loading any instance.

Imports `core`, `guards`, `views`, `paging`, `people`, `errors`, `store` (records and queries).
"""

from __future__ import annotations

from datetime import datetime

from procflow.errors import InstanceNotFound, TaskNotOpen
from procflow.flow.ir import HumanNode
from procflow.runtime.core import Core
from procflow.runtime.guards import can_exist, refusal, split_task_id
from procflow.runtime.paging import InstancePage, TaskPage, digest, make_cursor, read_cursor
from procflow.runtime.people import User
from procflow.runtime.reasons import Reason
from procflow.runtime.views import Instance, Task, build_task
from procflow.store import Event, TaskRow
from procflow.store.base import InstanceQuery, TaskQuery
from procflow.store.query import sort_key

__all__ = ["PASSED", "Queries", "task_of"]

PASSED = 200
"""Rows a page of tasks may read past (refused by the engine) before it ends early."""


def task_of(core: Core, task_id: str) -> Task:
    """One open task.

    Raises:
        TaskNotOpen: It is unknown, done or withdrawn.
    """
    instance_id, number = split_task_id(task_id)
    try:
        _, state = core.load(instance_id)
    except InstanceNotFound:
        raise TaskNotOpen(Reason("no_task", task=task_id)) from None
    task = state.tasks.get(number)
    if task is None:
        raise TaskNotOpen(Reason("task_not_open", task=task_id))
    return build_task(
        instance_id, core.program(state.definition_hash), number, task, core.clock.now()
    )


class Queries:
    """The queries of an `Engine` (see the module docstring)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._key: bytes | None = None

    def cursor_key(self) -> bytes:
        """The store's secret that signs cursors (read once)."""
        if self._key is None:
            self._key = self.core.store.cursor_key()
        return self._key

    def instance(self, instance_id: str) -> Instance:
        return self.core.instance(instance_id)

    def instances(
        self, query: InstanceQuery, *, limit: int | None, after: str | None
    ) -> InstancePage:
        """A page of instances, oldest first; ``query`` without its cursor."""
        filters = digest(["i", *query])
        if after is not None:
            query = query._replace(after=read_cursor(self.cursor_key(), after, "i", filters))
        rows = self.core.store.find_instances(query, limit=None if limit is None else limit + 1)
        more = limit is not None and len(rows) > limit
        if more:
            rows = rows[:limit]
        core = self.core
        loaded = core.load_many(r.instance_id for r in rows)
        page = InstancePage(
            Instance(r.instance_id, version, state, core.program(state.definition_hash))
            for r in rows
            if r.instance_id in loaded
            for version, state in (loaded[r.instance_id],)
        )
        if more:
            last = rows[-1]
            position = (last.started_at, last.instance_id)
            page.next = make_cursor(self.cursor_key(), "i", filters, position)
        return page

    def history(self, instance_id: str) -> list[Event]:
        if not can_exist(instance_id):  # refused the same way by every store
            raise InstanceNotFound(f"no instance {instance_id!r}")
        return self.core.store.events(instance_id)

    def task(self, task_id: str) -> Task:
        return task_of(self.core, task_id)

    def tasks(
        self, query: TaskQuery, *, user: User | None, limit: int | None, after: str | None
    ) -> TaskPage:
        """A page of open tasks; ``query`` without its cursor (its user is ``user``)."""
        filters = digest(["t", *query._replace(roles=frozenset(), due_by=None, not_due_by=None),
                          query.due_by is not None, query.not_due_by is not None])  # fmt: skip
        if after is not None:
            query = query._replace(after=read_cursor(self.cursor_key(), after, "t", filters))
        store = self.core.store
        now = self.core.clock.now()
        if limit is None:
            rows = store.find_tasks(query)
            return TaskPage(t for _, t in self._checked(rows, user, now) if t is not None)
        out: list[Task] = []
        last_out: TaskRow | None = None
        passed = 0
        while True:
            want = limit - len(out) + 1  # one more: is there a next page?
            rows = store.find_tasks(query, limit=want)
            last = None
            for row, task in self._checked(rows, user, now):
                if len(out) == limit and last_out is not None:
                    return TaskPage(out, self._cursor(query, filters, last_out))
                if task is None:
                    passed += 1
                else:
                    out.append(task)
                    last_out = row
                last = row
            if len(rows) < want or last is None:
                return TaskPage(out)
            if passed >= PASSED:  # end early, after the last row read
                return TaskPage(out, self._cursor(query, filters, last))
            query = query._replace(after=(sort_key(last, query.order), last.task_id))

    def count_tasks(self, query: TaskQuery) -> int:
        return self.core.store.count_tasks(query)

    def _cursor(self, query: TaskQuery, filters: str, row: TaskRow) -> str:
        position = (sort_key(row, query.order), row.task_id)
        return make_cursor(self.cursor_key(), "t", filters, position)

    def _checked(
        self, rows: list[TaskRow], user: User | None, now: datetime
    ) -> list[tuple[TaskRow, Task | None]]:
        """Each row with its `Task`, or None when it is no longer open or ``user`` may
        not act on it (`refusal`). The instances are loaded in one read."""
        core = self.core
        loaded = core.load_many(row.instance_id for row in rows)
        out: list[tuple[TaskRow, Task | None]] = []
        for row in rows:
            found = loaded.get(row.instance_id)
            task = None
            if found is not None:
                state = found[1]
                number = int(row.task_id.rpartition(".")[2])
                open_task = state.tasks.get(number)
                if open_task is not None:
                    program = core.program(state.definition_hash)
                    node = program.nodes[open_task.step]
                    if (
                        user is None
                        or not isinstance(node, HumanNode)
                        or refusal(state, open_task, node, user) is None
                    ):
                        task = build_task(row.instance_id, program, number, open_task, now)
            out.append((row, task))
        return out
