"""From a finished command to the outside: store records and hook calls.

Owns `commit_of` (a `Run` as the `store.Commit` the store writes: the new
events, the snapshot, and the open-task and timer projections and the
searchable values rebuilt from the snapshot) and `tell_hooks` (the `Hooks`
calls for what a stored command did: tasks opened, notifications,
deadlines, finished instances).

Imports `interpreter` (types), `guards`, `search`, `state`, `later`, `views`, `hooks`,
`store` (records), the flow's `NotifyNode`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from procflow.flow.kinds.notify import NotifyNode
from procflow.runtime.codec import Stored
from procflow.runtime.guards import barred
from procflow.runtime.hooks import Hooks, Notification, call_hook
from procflow.runtime.interpreter import Command, Run
from procflow.runtime.later import Later
from procflow.runtime.search import stored
from procflow.runtime.state import OpenTask, Snapshot
from procflow.runtime.views import Instance, build_task
from procflow.store import Changes, Commit, TaskRow, TimerRow

__all__ = ["commit_of", "tell_hooks"]


Rows = tuple[tuple[TaskRow, ...], tuple[TimerRow, ...]]


def _row(iid: str, number: int, t: OpenTask, run: Run, snapshot: Snapshot) -> TaskRow:
    """The row of an open task: with the users four-eyes bars from it (`guards.barred`)."""
    # one unpacking instead of a named field read each (generic attribute lookups)
    step, _, roles, candidates, assignee, due, _, _, opened, _ = t
    four_eyes = run.program.four_eyes
    node = four_eyes.get(step) if four_eyes else None
    bars = () if node is None else barred(snapshot, t, node)
    row = (f"{iid}.{number}", iid, step, roles, assignee, candidates, due, opened, bars)
    return tuple.__new__(TaskRow, row)  # TaskRow(*row), without its __new__'s frame


def _rows(iid: str, run: Run, snapshot: Snapshot) -> Rows:
    """The open-task and timer rows of an instance's open tasks, in the order they opened."""
    rows: list[TaskRow] = []
    timers: list[TimerRow] = []
    tasks = snapshot.tasks
    for number, t in sorted(tasks.items()) if len(tasks) > 1 else tasks.items():
        rows.append(_row(iid, number, t, run, snapshot))
        if t.timers:
            timers += [TimerRow(iid, f"{number}:{k}", at) for k, at in t.timers]
    return tuple(rows), tuple(timers)


def _changes(iid: str, touched: set[int], old: Mapping[int, OpenTask], run: Run,
             snapshot: Snapshot) -> Changes:  # fmt: skip
    """What changed in the rows of the tasks a command touched (in task number order)."""
    rows: list[TaskRow] = []
    dropped: list[str] = []
    timers: list[TimerRow] = []
    gone: list[str] = []
    new = snapshot.tasks
    for number in sorted(touched):
        t = new.get(number)
        before = old.get(number)
        now = () if t is None else t.timers
        if before is not None:
            gone += [f"{number}:{k}" for k, at in before.timers if (k, at) not in now]
        if t is None:
            if before is not None:
                dropped.append(f"{iid}.{number}")
            continue
        rows.append(_row(iid, number, t, run, snapshot))
        kept = () if before is None else before.timers
        timers += [TimerRow(iid, f"{number}:{k}", at) for k, at in now if (k, at) not in kept]
    program = run.program
    sources = program.bar_sources
    if sources and any(
        (t := new.get(n) or old.get(n)) is not None and t.step in sources for n in touched
    ):  # a step others' four-eyes rules name moved: their bars may have changed too
        four_eyes = program.four_eyes
        rows += [_row(iid, n, t, run, snapshot) for n, t in sorted(new.items())
                 if n not in touched and t.step in four_eyes]  # fmt: skip
    return Changes(tuple(rows), tuple(dropped), tuple(timers), tuple(gone))


def commit_of(run: Run, state: Stored) -> Commit:
    """What the store keeps for ``run``: its new events, the snapshot (``state``, which
    gives its JSON form on demand), and its open-task and timer projections.

    For an instance that was there before the command, the projections are
    given as what changed (`store.Changes`, from the tasks the command
    touched) and as complete sets made only if a store reads them (`Later`),
    so that a command costs what it changes, not how many tasks are open.
    """
    snapshot = state.snapshot
    iid = run.id
    touched = run.draft.touched
    base = run.base
    changes = None
    tasks: Sequence[TaskRow]
    timers: Sequence[TimerRow]
    # touched is None for a new or small instance (`state.SMALL`), whose complete sets cost
    # no more than the command that made them
    if touched is None or base is None or run.version == 0:
        tasks, timers = _rows(iid, run, snapshot)
    else:
        changes = _changes(iid, touched, base.tasks, run, snapshot)
        made: list[Rows] = []

        def full() -> Rows:
            if not made:
                made.append(_rows(iid, run, snapshot))
            return made[0]

        tasks = Later(lambda: full()[0])
        timers = Later(lambda: full()[1])
    parent = snapshot.parent
    program = run.program
    search = stored(program, snapshot.documents) if program.search else ()
    return tuple.__new__(Commit, (  # Commit(...), positional: this is the hot path
        iid,
        run.version,
        tuple(run.events),
        state,
        snapshot.process,
        snapshot.definition_hash,
        snapshot.status,
        snapshot.started_at,
        None if parent is None else parent.id,
        tasks,
        timers,
        changes,
        snapshot.started_by,
        search,
    ))  # fmt: skip


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
