"""The engine's queries: instances, their history, open tasks and inboxes.

Owns `Queries`, the part of `Engine` that reads: an instance as it is now,
instances by status and process, an instance's events (the audit trail), one
open task, and the open tasks a user may act on now (the store narrows by
role, candidate and assignee; `guards.check_actor` then applies four-eyes,
the same rule the commands apply). Nothing here changes anything.

Imports `core`, `guards`, `views`, `people`, `errors`, `store` (records).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from procflow.errors import DamagedRecord, InstanceNotFound, NotAllowed, TaskNotOpen
from procflow.flow.ir import HumanNode
from procflow.runtime.core import Core
from procflow.runtime.guards import as_user, can_exist, check_actor, split_task_id
from procflow.runtime.people import User
from procflow.runtime.program import Program
from procflow.runtime.state import Snapshot
from procflow.runtime.views import Instance, Task, build_task
from procflow.store import Event, TaskRow
from procflow.store.base import skip_damaged

__all__ = ["Queries", "task_of"]


def task_of(core: Core, task_id: str) -> Task:
    """One open task.

    Raises:
        TaskNotOpen: It is unknown, done or withdrawn.
    """
    instance_id, number = split_task_id(task_id)
    try:
        _, state = core.load(instance_id)
    except InstanceNotFound:
        raise TaskNotOpen(f"there is no task {task_id!r}") from None
    task = state.tasks.get(number)
    if task is None:
        raise TaskNotOpen(f"the task {task_id!r} is not open (done, withdrawn or unknown)")
    return build_task(instance_id, core.program(state.definition_hash), number, task)


class Queries:
    """The queries of an `Engine` (see the module docstring)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def instance(self, instance_id: str) -> Instance:
        return self.core.instance(instance_id)

    def instances(
        self, *, status: str | None = None, process_id: str | None = None
    ) -> list[Instance]:
        rows = self.core.store.instances(status=status, process_id=process_id)
        out = []
        for row in rows:
            try:
                out.append(self.core.instance(row.instance_id))
            except DamagedRecord as exc:  # one damaged instance must not hide the others
                skip_damaged(exc)
        return out

    def history(self, instance_id: str) -> list[Event]:
        if not can_exist(instance_id):  # refused the same way by every store
            raise InstanceNotFound(f"no instance {instance_id!r}")
        return self.core.store.events(instance_id)

    def task(self, task_id: str) -> Task:
        return task_of(self.core, task_id)

    def tasks(self, *, user: User | None = None, instance_id: str | None = None) -> list[Task]:
        store = self.core.store
        if instance_id is not None and not can_exist(instance_id):
            return []
        if user is not None:
            as_user(user, name="user")
            rows = store.open_tasks(instance_id=instance_id, user=user.id, roles=user.roles)
        else:
            rows = store.open_tasks(instance_id=instance_id)
        return list(self._tasks_of(rows, user))

    def _tasks_of(self, rows: Iterable[TaskRow], user: User | None) -> Iterator[Task]:
        loaded: dict[str, tuple[Snapshot, Program] | None] = {}
        core = self.core
        for row in rows:
            iid = row.instance_id
            if iid not in loaded:
                try:
                    state = core.load(iid)[1]
                    loaded[iid] = (state, core.program(state.definition_hash))
                except InstanceNotFound:
                    loaded[iid] = None
                except DamagedRecord as exc:  # one damaged instance must not hide the others
                    skip_damaged(exc)
                    loaded[iid] = None
            found = loaded[iid]
            if found is None:
                continue
            state, program = found
            number = int(row.task_id.rpartition(".")[2])
            task = state.tasks.get(number)
            if task is None:
                continue
            if user is not None:
                node = program.nodes[task.step]
                try:
                    if isinstance(node, HumanNode):
                        check_actor(state, task, node, user)
                except NotAllowed:
                    continue
            yield build_task(iid, program, number, task)
