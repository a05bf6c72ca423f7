"""The engine's commands: start, complete, claim, delegate, withdraw and cancel.

Owns `Commands`, the part of `Engine` that changes instances. A command
loads the instance snapshot (never replaying history), checks everything it
can before changing anything (the task is open, the user may act, four-eyes,
the outcome, the submitted data, the ``requires`` rules), then lets the
interpreter move, and hands every new event of every instance it touched to
the store in one commit with the versions it read (`core.Core.store_command`).
Any failure before the commit leaves no trace; a concurrent change makes the
store refuse it (`Conflict`). Hooks run after the commit.

A ``command_id`` makes a retry return what the first command did. The store
keeps, with the id, what the command was (its kind, user, task or process);
a retry must be the same command, or it is refused (`CommandReused`), so an
id cannot open another user's instance.

Imports `core`, `queries`, `guards`, `values`, `views`, `people`, `errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from procflow.errors import CommandReused, ExecutionError, InvalidSubmission, NotAllowed
from procflow.runtime.core import Core
from procflow.runtime.guards import (
    as_text,
    as_user,
    as_user_id,
    check_actor,
    check_assignees,
    check_rules,
    check_withdrawer,
    resolve_outcome,
)
from procflow.runtime.people import User
from procflow.runtime.queries import task_of
from procflow.runtime.reasons import Reason
from procflow.runtime.values import encode_submission
from procflow.runtime.views import Instance, Task, build_task

__all__ = ["Commands"]


class Commands:
    """The commands of an `Engine` (see the module docstring); each is one transaction."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def _replayed(self, command_id: str, what: dict[str, Any]) -> Instance | None:
        """What the first command under ``command_id`` did, when this one repeats it.

        Raises:
            CommandReused: The id was used for a different command.
        """
        result = self.core.store.command_result(as_text(command_id, name="command_id"))
        if result is None:
            return None
        first = {k: result[k] for k in what if k in result}
        if first != {k: what[k] for k in first}:
            said = ", ".join(f"{k}={first[k]!r}" for k in first)
            now = ", ".join(f"{k}={what[k]!r}" for k in first)
            raise CommandReused(
                f"the command id {command_id!r} was used for ({said}); this is ({now}): "
                "a retry must repeat the first command, give a new id for a new one"
            )
        return self.core.instance(result["instance"])

    def start(
        self,
        process_id: str,
        *,
        by: User,
        data: Mapping[str, Any] | None = None,
        command_id: str | None = None,
    ) -> Instance:
        user = as_user(by)
        what = {"command": "start", "by": user.id, "process": process_id}
        if command_id is not None and (done := self._replayed(command_id, what)) is not None:
            return done
        core = self.core
        program = core.program_of(process_id)
        if program.starters is not None and user.roles.isdisjoint(program.starters):
            roles = tuple(sorted(program.starters))
            raise NotAllowed(Reason("may_not_start", user=user.id, process=process_id, roles=roles))
        encoded, problems = encode_submission(data, program.codecs, None)
        for doc in program.collections.intersection(encoded):
            problems[doc] = Reason("per_person_form")
        if program.assigned and not problems:
            check_assignees(
                program, program.defaults, encoded, problems, state=None, starter=user.id
            )
        if problems:
            raise InvalidSubmission(problems)
        cmd = core.command(user.id)
        run = cmd.spawn(program, encoded, None)
        if cmd.resume:  # called instances that finished: their callers go on
            cmd.settle()
        return core.store_command(cmd, command_id, run, {**what, "instance": run.id})

    def complete(
        self,
        task_id: str,
        *,
        by: User,
        outcome: str | None = None,
        data: Mapping[str, Any] | None = None,
        command_id: str | None = None,
    ) -> Instance:
        user = as_user(by)
        what = None
        if command_id is not None:
            what = {"command": "complete", "by": user.id, "task": task_id}
            if (done := self._replayed(command_id, what)) is not None:
                return done
        core = self.core
        cmd = core.command(user.id)
        run, number, task, node = core.task_run(cmd, task_id)
        check_actor(run.draft, task, node, user)
        problems: dict[str, str] = {}
        chosen = resolve_outcome(node, outcome, problems)
        encoded: dict[str, dict[str, Any]] = {}
        if data is not None:  # (nothing to encode, most of the time)
            encoded, more = encode_submission(data, run.program.codecs, node.fills)
            problems.update(more)
        if not problems and chosen != "skip" and (node.fills or node.rules):
            check_rules(run, node, encoded, problems, rules=chosen != "reject", task=task)
        if run.program.assigned and encoded and not problems:
            draft = run.draft
            check_assignees(run.program, draft.documents, encoded, problems, state=draft,
                            starter=draft.started_by, now=cmd.now)  # fmt: skip
        if problems:
            raise InvalidSubmission(problems)
        run.complete(number, task, chosen, encoded or None)
        if cmd.resume:  # called instances that finished: their callers go on
            cmd.settle()
        result = None if what is None else {**what, "instance": run.id}
        return core.store_command(cmd, command_id, run, result)

    def claim(self, task_id: str, *, by: User, command_id: str | None = None) -> Task:
        user = as_user(by)
        what = {"command": "claim", "by": user.id, "task": task_id}
        core = self.core
        if command_id is not None and self._replayed(command_id, what) is not None:
            return task_of(core, task_id)
        cmd = core.command(user.id)
        run, number, task, node = core.task_run(cmd, task_id)
        check_actor(run.draft, task, node, user)
        if task.assignee == user.id:
            return build_task(run.id, run.program, number, task)
        run.emit("task_claimed", {"task": number})
        core.store_command(cmd, command_id, run, {**what, "instance": run.id})
        return build_task(run.id, run.program, number, run.state.tasks[number])

    def delegate(
        self, task_id: str, *, by: User, to: User | str, command_id: str | None = None
    ) -> Task:
        user = as_user(by)
        target = as_user_id(to, name="to")
        what = {"command": "delegate", "by": user.id, "task": task_id, "to": target}
        core = self.core
        if command_id is not None and self._replayed(command_id, what) is not None:
            return task_of(core, task_id)
        cmd = core.command(user.id)
        run, number, task, node = core.task_run(cmd, task_id)
        check_actor(run.draft, task, node, user)
        check_actor(run.draft, task._replace(assignee=target, candidates=()), node, User(target))
        if node.kind == "sign":  # one signature per person: never two of its tasks for one
            for other in run.open_tasks(task.token):
                held = run.draft.tasks[other]
                if other != number and (held.assignee == target or target in held.candidates):
                    raise NotAllowed(
                        Reason("already_has_a_signature_task", user=target, step=node.id)
                    )
        run.emit("task_delegated", {"task": number, "to": target})
        core.store_command(cmd, command_id, run, {**what, "instance": run.id})
        return build_task(run.id, run.program, number, run.state.tasks[number])

    def withdraw(
        self, task_id: str, *, by: User, reason: str, command_id: str | None = None
    ) -> Instance:
        user = as_user(by)
        reason = as_text(reason, name="reason")
        what = {"command": "withdraw", "by": user.id, "task": task_id}
        if command_id is not None and (done := self._replayed(command_id, what)) is not None:
            return done
        core = self.core
        cmd = core.command(user.id)
        run, number, task, node = core.task_run(cmd, task_id)
        check_withdrawer(node, user, core.administrators)
        run.withdraw_task(number, task, {"why": "withdrawn", "reason": reason})
        if cmd.resume:  # called instances that finished: their callers go on
            cmd.settle()
        return core.store_command(cmd, command_id, run, {**what, "instance": run.id})

    def cancel(
        self, instance_id: str, *, by: User, reason: str, command_id: str | None = None
    ) -> Instance:
        user = as_user(by)
        reason = as_text(reason, name="reason")
        what = {"command": "cancel", "by": user.id, "instance": instance_id}
        if command_id is not None and (done := self._replayed(command_id, what)) is not None:
            return done
        core = self.core
        cmd = core.command(user.id)
        run = cmd.open(instance_id)
        state = run.state
        if state.status != "running":
            raise ExecutionError(Reason("already_ended", instance=instance_id, status=state.status))
        starters = run.program.starters
        if state.started_by != user.id and starters is not None and user.roles.isdisjoint(starters):
            raise NotAllowed(Reason("may_not_cancel", user=user.id, instance=instance_id))
        parent = state.parent
        if parent is not None and parent.mode == "call":
            raise NotAllowed(Reason("cancel_the_caller", instance=instance_id, caller=parent.id))
        run.cancel(reason)
        return core.store_command(cmd, command_id, run, what)
