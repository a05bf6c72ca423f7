"""The checks every command makes before anything changes.

Owns the one rule of who may act on a task (`check_actor`: role, candidate,
assignee or delegate; four-eyes; one signature per person per sign-off),
the outcome check, and the submission rules (required fields, ``requires``).
`Engine.complete`, `claim`, `delegate` and the inbox all go through
`check_actor`, so no entry point can bypass it.

Imports `people`, `state`, `values`, `errors` and the flow's `HumanNode`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from procflow.errors import ExecutionError, InvalidArgument, NotAllowed, TaskNotOpen
from procflow.flow.ir import STARTER, HumanNode
from procflow.runtime.people import User, check_user_id
from procflow.runtime.program import Program
from procflow.runtime.reasons import Reason
from procflow.runtime.state import Draft, OpenTask, Snapshot
from procflow.runtime.values import Values, missing_required, shown, text_problem

if TYPE_CHECKING:
    from procflow.runtime.interpreter import Run

__all__ = [
    "as_text",
    "as_user",
    "as_user_id",
    "barred",
    "can_exist",
    "check_actor",
    "check_assignees",
    "check_rules",
    "check_withdrawer",
    "resolve_outcome",
    "split_task_id",
]


def split_task_id(task_id: str) -> tuple[str, int]:
    """The instance id and task number of a task id; `TaskNotOpen` when it is not one."""
    instance_id, dot, number = task_id.rpartition(".") if can_exist(task_id) else ("", "", "")
    # ASCII digits without a leading zero: one task, one id
    if not (dot and instance_id and number.isascii() and number.isdigit()) or (
        number[0] == "0" and len(number) > 1
    ):
        raise TaskNotOpen(Reason("no_task", task=task_id))
    return instance_id, int(number)


def as_user(by: Any, *, name: str = "by") -> User:
    """``by`` if it is a `User`; `InvalidArgument` naming the parameter otherwise.

    A bare user id is refused too: the engine trusts the roles of the `User`
    the application vouches for, and has no other place to learn them from.
    """
    if isinstance(by, User):
        return by
    if isinstance(by, str):
        raise InvalidArgument(
            f"{name}= takes a procflow.User (a user id and the roles the application vouches "
            f"for), not the text {shown(by)!r}: write {name}=User({shown(by)!r}, roles={{...}})"
        )
    raise InvalidArgument(f"{name}= takes a procflow.User, not {type(by).__name__}")


def as_user_id(value: Any, *, name: str) -> str:
    """The user id of ``value``, a `User` or a user id; `InvalidArgument` otherwise."""
    return value.id if isinstance(value, User) else check_user_id(value, name=f"{name}=")


def as_text(value: Any, *, name: str) -> str:
    """``value`` if it is text every store can keep; `InvalidArgument` naming it otherwise."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{name}= takes text, not {type(value).__name__}")
    why = text_problem(value)
    if why:
        raise InvalidArgument(f"{name}= is not valid text: it {why}")
    return value


def can_exist(key: Any) -> bool:
    """False for what can be no instance's id (not text, or text no store can keep)."""
    # ASCII text is always fine (`text_problem` says so first): no call for it
    return isinstance(key, str) and (key.isascii() or not text_problem(key))


Refusal = tuple[str, dict[str, Any]]
"""Why someone may not act: a `Reason`'s kind and values (made into one only when raised)."""


def refusal(state: Snapshot | Draft, task: OpenTask, node: HumanNode, user: User) -> Refusal | None:
    """The one place that says who may act on a task: None when ``user`` may, else why
    not. An inbox filters with it; `check_actor` raises it."""
    uid = user.id
    candidates = task.candidates
    assignee = task.assignee
    step = node.id
    if not (
        uid in candidates
        or uid == assignee
        or (not candidates and assignee is None and not user.roles.isdisjoint(task.roles))
    ):
        if assignee is not None:
            return "assigned_to_another", {"user": uid, "step": step, "assignee": assignee}
        if candidates:
            return "for_candidates", {"user": uid, "step": step, "candidates": tuple(candidates)}
        return "needs_role", {"user": uid, "step": step, "roles": tuple(task.roles)}
    if node.same_as is not None:
        done = state.done.get(node.same_as)
        familiar = None if done is None else done.who
        if uid != familiar:
            kind = "same_person" if familiar else "same_person_nobody_yet"
            return kind, {"user": uid, "step": step, "earlier": node.same_as, "who": familiar}
    for earlier in node.not_by:
        if earlier == STARTER:
            if uid == state.started_by:
                return "four_eyes_starter", {"user": uid, "step": step}
            continue
        done = state.done.get(earlier)
        if done is not None and uid in done.by:
            return "four_eyes_did", {"user": uid, "earlier": earlier, "step": step}
    if node.kind == "sign" and uid in state.tokens[task.token].done_by:
        return "already_signed", {"user": uid, "step": step}
    return None


def check_actor(state: Snapshot | Draft, task: OpenTask, node: HumanNode, user: User) -> None:
    """`NotAllowed`, with its `Reason`, unless ``user`` may act on ``task`` (`refusal`)."""
    why = refusal(state, task, node, user)
    if why is not None:
        raise NotAllowed(Reason(why[0], **why[1]))


def barred(state: Snapshot | Draft, task: OpenTask, node: HumanNode) -> tuple[str, ...]:
    """The users `check_actor` refuses on ``task`` whatever they hold: those a four-eyes
    rule names (they did a ``not_by`` step) and, at a sign-off, those who signed.

    The store files a task under these (`TaskRow.barred`), so that inbox queries leave
    it out for them; `check_actor` stays the rule, and a test holds the two together.
    """
    users: list[str] = []
    for step in node.not_by:
        if step == STARTER:
            if state.started_by:
                users.append(state.started_by)
            continue
        done = state.done.get(step)
        if done is not None:
            users += done.by
    if node.kind == "sign":
        users += state.tokens[task.token].done_by
    # in the order first named, each once
    return tuple(dict.fromkeys(users)) if len(users) > 1 else tuple(users)


def check_withdrawer(node: HumanNode, user: User, administrators: frozenset[str]) -> None:
    """`NotAllowed` unless ``user`` may withdraw a task of ``node``: they hold a role of its
    ``withdraw_by:``, or one of the engine's ``administrators`` roles."""
    if user.roles.isdisjoint(administrators) and user.roles.isdisjoint(node.withdraw_by):
        who = [*node.withdraw_by, *sorted(administrators)]
        kind = "may_not_withdraw" if who else "nobody_may_withdraw"
        raise NotAllowed(Reason(kind, user=user.id, step=node.id, roles=tuple(who)))


def _named(expression: Any, values: Values, now: Any) -> list[str]:
    """The people an assignee or for-each expression names now ([] when it cannot say)."""
    try:
        value = expression.evaluate(values, now=now)
    except ExecutionError:
        return []
    found = value if isinstance(value, list | tuple) else [value]
    return [u for u in found if isinstance(u, str) and u]


def check_assignees(
    program: Program,
    docs: Mapping[str, Mapping[str, Any]],
    data: Mapping[str, Mapping[str, Any]],
    problems: dict[str, str],
    *,
    state: Snapshot | Draft | None,
    starter: str | None,
    now: Any = None,
) -> None:
    """Refuse a submission that names, as the person to do a later step (its
    ``assignee:``, or a for-each list of users), someone that step's four-eyes rule
    keeps off it: whoever did a ``not_by`` step or is named by the data to do it, or
    the starter for ``not_by: starter``. The problem names the field."""
    if not data:
        return
    merged = {**docs, **{d: {**docs.get(d, {}), **v} for d, v in data.items()}}
    copies = state.copies if state is not None else {}
    values = Values(merged, program.codecs, copies, program.collections)
    done = state.done if state is not None else {}
    for node, expression in program.assigned:
        given = sorted(n for n in expression.names if n.partition(".")[2] in data.get(
            n.partition(".")[0], {}))  # fmt: skip
        if not given:
            continue  # this submission does not name them
        why: dict[str, tuple[str, str]] = {}  # user -> (kind of Reason, the earlier step)
        for step in node.not_by:
            if step == STARTER:
                if starter is not None:
                    why.setdefault(starter, ("names_the_starter", step))
                continue
            earlier = done.get(step)
            for user in earlier.by if earlier is not None else ():
                why.setdefault(user, ("names_who_did", step))
            other = program.nodes.get(step)
            named = getattr(other, "assignee", None)
            if named is not None:
                for user in _named(named, values, now):
                    why.setdefault(user, ("names_who_is_named", step))
        for user in _named(expression, values, now):
            if user in why:
                kind, step = why[user]
                problems[given[0]] = Reason(kind, user=user, earlier=step, step=node.id)
                break


def resolve_outcome(node: HumanNode, outcome: str | None, problems: dict[str, str]) -> str | None:
    """The outcome to record (a sign-off defaults to ``sign``); problems go in ``problems``."""
    allowed = node.outcome_names
    if outcome is None:
        if node.kind == "sign":
            return "sign"
        if allowed and allowed != ("skip",):
            problems["outcome"] = Reason("choose_outcome", outcomes=tuple(allowed))
        return None
    if outcome not in allowed:
        kind = "not_an_outcome" if allowed else "has_no_outcomes"
        problems["outcome"] = Reason(kind, outcome=outcome, step=node.id, outcomes=tuple(allowed))
    return outcome


def check_rules(
    run: Run,
    node: HumanNode,
    data: dict[str, dict[str, Any]],
    problems: dict[str, str],
    *,
    rules: bool,
    task: OpenTask | None = None,
) -> None:
    """Required fields of this step, then (when ``rules``) its ``requires`` rules; a
    per-person form the step fills is checked as ``task``'s own copy of it."""
    codecs = run.program.codecs
    docs = run.draft.documents
    merged = {**docs, **{doc: {**docs.get(doc, {}), **v} for doc, v in data.items()}}
    if task is not None:
        for doc in node.copies:
            merged[doc] = {**run.own_copy(node, task, doc), **data.get(doc, {})}
    missing_required(merged, codecs, node.fills, problems)
    if problems or not rules:
        return
    values = run.values(merged)
    for i, rule in enumerate(node.rules):
        key = f"requires[{i}]"
        try:
            if not rule.condition.expression.evaluate(values, now=run.cmd.now):
                problems[key] = rule.message
        except ExecutionError as exc:
            problems[key] = f"{rule.message} ({exc})"
