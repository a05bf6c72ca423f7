"""From a finished command to the outside: store records and hook calls.

Owns `commit_of` (a `Run` as the `store.Commit` the store writes: the new
events, the snapshot, and the open-task and timer projections and the
searchable values rebuilt from the snapshot) and `tell_hooks` (the `Hooks`
calls for what a stored command did: tasks opened, notifications,
deadlines, finished instances).

Imports `interpreter` (types), `guards`, `search`, `state`, `views`, `hooks`, `store`
(records), the flow's `NotifyNode`.
"""

from __future__ import annotations

from collections.abc import Callable

from procflow.flow.kinds.notify import NotifyNode
from procflow.runtime.codec import Stored
from procflow.runtime.guards import barred
from procflow.runtime.hooks import Hooks, Notification, call_hook
from procflow.runtime.interpreter import Command, Run
from procflow.runtime.search import stored
from procflow.runtime.views import Instance, build_task
from procflow.store import Commit, TaskRow, TimerRow

__all__ = ["commit_of", "tell_hooks"]


def commit_of(run: Run, state: Stored) -> Commit:
    """What the store keeps for ``run``: its new events, the snapshot (``state``, which
    gives its JSON form on demand), its open-task and timer projections (each task with
    the users four-eyes bars from it), and its searchable values."""
    snapshot = state.snapshot
    iid = run.id
    program = run.program
    four_eyes = program.four_eyes
    tasks: list[TaskRow] = []
    timers: list[TimerRow] = []
    for number, t in snapshot.tasks.items():
        node = four_eyes.get(t.step) if four_eyes else None
        bars = () if node is None else barred(snapshot, t, node)
        tasks.append(
            TaskRow(f"{iid}.{number}", iid, t.step, t.roles, t.assignee, t.candidates, t.due,
                    t.opened, bars)
        )  # fmt: skip
        if t.timers:
            timers += [TimerRow(iid, f"{number}:{k}", at) for k, at in t.timers]
    parent = snapshot.parent
    search = stored(program, snapshot.documents) if program.search else ()
    return Commit(  # positional: this is the hot path
        iid,
        run.version,
        tuple(run.events),
        state,
        snapshot.process,
        snapshot.definition_hash,
        snapshot.status,
        snapshot.started_at,
        None if parent is None else parent.id,
        tuple(tasks),
        tuple(timers),
        snapshot.started_by,
        search,
    )


def tell_hooks(hooks: Hooks, cmd: Command, members: Callable[..., list[str]] | None) -> None:
    """Run the hooks for what ``cmd`` did (after it was stored); ``members`` finds recipients."""
    for notice in cmd.notices:
        kind, run = notice[0], notice[1]
        if kind == "opened":
            task = run.state.tasks.get(notice[2])
            if task is not None:
                call_hook(hooks.task_opened, build_task(run.id, run.program, notice[2], task))
        elif kind == "deadline":
            task = build_task(run.id, run.program, notice[2], notice[3])
            call_hook(hooks.deadline_reached, task, notice[4])
        elif kind == "notify":
            node: NotifyNode = notice[2]
            recipients = members(node.roles, why="") if members is not None else []
            recipients = list(dict.fromkeys([*recipients, *notice[3]]))  # notify_users
            note = Notification(
                run.id, run.program.process_id, node.id, node.roles, tuple(recipients),
                node.message, node.title, cmd.now,
            )  # fmt: skip
            call_hook(hooks.notification, note)
        else:
            inst = Instance(run.id, run.version, run.snapshot(), run.program)
            call_hook(hooks.instance_finished, inst)
