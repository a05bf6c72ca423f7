"""The arguments of the listing calls, checked and turned into store queries.

Owns what `Engine.tasks`, `Engine.count_tasks` and `Engine.instances`
accept, and the one error each wrong argument gets (`InvalidArgument`,
naming it), so that the queries below see only well-formed questions:

- filters are text (a `User` or a user id for people); text that no store
  can hold (a lone surrogate) matches nothing, as an unknown id does;
- ``overdue`` is True, False or None; ``due_before`` and ``started_after``
  are datetimes of the clock's kind (aware when it is, naive when it is not);
- ``status`` is ``running``, ``completed`` or ``cancelled`` (a typo is an error, not an
  empty list);
- ``order_by`` is ``due`` or ``opened_at``; ``limit`` a whole number from 1;
- ``where`` names searchable fields (`search.asked`).

Not compiled (argument checks run in the plain-Python façade). Imports `guards`,
`people`, `search`, `program`, `clock`, `errors`, `diagnostics`, `store` (queries).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from procflow.errors import InvalidArgument
from procflow.language.diagnostics import did_you_mean
from procflow.runtime.clock import iso, stamp
from procflow.runtime.guards import as_user, as_user_id, can_exist
from procflow.runtime.people import User
from procflow.runtime.program import Program
from procflow.runtime.search import asked
from procflow.store.base import InstanceQuery, TaskQuery

__all__ = ["Asked", "instance_query", "page_after", "page_limit", "task_query"]

STATUSES = ("running", "completed", "cancelled")
"""What ``status=`` may be: the statuses an instance has (`runtime.state`)."""
ORDER_BY = {"due": "due", "opened_at": "opened"}
"""``order_by=`` -> the store's order."""


class Asked(NamedTuple):
    """A checked question: the store's query, or None when nothing can match."""

    query: Any
    user: User | None


def _text(value: Any, name: str) -> tuple[str | None, bool]:
    """(the text, whether it can match anything) of an optional text filter."""
    if value is None:
        return None, True
    if not isinstance(value, str):
        raise InvalidArgument(f"{name}= takes text, not {type(value).__name__}")
    return value, can_exist(value)


def _moment(value: Any, name: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgument(f"{name}= takes a datetime, not {type(value).__name__}")
    if (value.tzinfo is None) != (now.tzinfo is None):
        kind = "naive" if now.tzinfo is None else "aware"
        raise InvalidArgument(
            f"{name}= must be {kind}, as the engine's clock is: {value.isoformat()}"
        )
    return value


def page_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArgument(f"limit= takes a whole number from 1, or None, not {limit!r}")
    return limit


def page_after(after: Any) -> str | None:
    if after is not None and not isinstance(after, str):
        raise InvalidArgument(f"after= takes the text of a page's next, not {type(after).__name__}")
    return after


def task_query(
    *,
    user: Any,
    role: Any,
    process_id: Any,
    step_id: Any,
    instance_id: Any,
    assignee: Any,
    overdue: Any,
    due_before: Any,
    order_by: Any,
    now: datetime,
) -> Asked:
    """The store's `TaskQuery` for these arguments (see the module docstring)."""
    who = None if user is None else as_user(user, name="user")
    matches = True
    texts: dict[str, str | None] = {}
    for name, value in (("role", role), ("process_id", process_id), ("step_id", step_id)):
        texts[name], ok = _text(value, name)
        matches = matches and ok
    iid = instance_id if isinstance(instance_id, str) else None
    if instance_id is not None and (iid is None or not can_exist(iid)):
        matches = False  # no instance has such an id
    asg = None if assignee is None else as_user_id(assignee, name="assignee")
    if overdue is not None and not isinstance(overdue, bool):
        raise InvalidArgument(f"overdue= takes True, False or None, not {overdue!r}")
    before = _moment(due_before, "due_before", now)
    if order_by not in ORDER_BY:
        raise InvalidArgument(f"order_by= takes 'due' or 'opened_at', not {order_by!r}")
    key = stamp(now)
    query = TaskQuery(
        user=None if who is None else who.id,
        roles=frozenset() if who is None else frozenset(who.roles),
        role=texts["role"],
        process_id=texts["process_id"],
        step_id=texts["step_id"],
        instance_id=iid,
        assignee=asg,
        due_before=None if before is None else stamp(before),
        due_by=key if overdue is True else None,
        not_due_by=key if overdue is False else None,
        order=ORDER_BY[order_by],
    )
    return Asked(query if matches else None, who)


def instance_query(
    *,
    process_id: Any,
    status: Any,
    started_by: Any,
    started_after: Any,
    where: Any,
    programs: Iterable[Program],
    now: datetime,
) -> Asked:
    """The store's `InstanceQuery` for these arguments (see the module docstring)."""
    matches = True
    texts: dict[str, str | None] = {}
    for name, value in (("process_id", process_id), ("status", status)):
        texts[name], ok = _text(value, name)
        matches = matches and ok
    if status is not None and status not in STATUSES:  # a typo would list nothing, silently
        hint = did_you_mean(status, STATUSES)
        raise InvalidArgument(
            f"status= is {status!r}, not one of {', '.join(STATUSES)}"
            + (f" ({hint})" if hint else "")
        )
    starter = None if started_by is None else as_user_id(started_by, name="started_by")
    after = _moment(started_after, "started_after", now)
    if after is not None and after.tzinfo is not None:
        after = after.astimezone(now.tzinfo)  # started_at is written in the clock's zone
    pairs: tuple[tuple[str, str], ...] = ()
    if where is not None:
        if not isinstance(where, Mapping):
            raise InvalidArgument(
                f"where= takes a mapping of 'document.field' to a value, not {type(where).__name__}"
            )
        if where:
            pairs = asked(programs, where, process_id=texts["process_id"])
    query = InstanceQuery(
        process_id=texts["process_id"],
        status=texts["status"],
        started_by=starter,
        started_after=None if after is None else iso(after),
        where=pairs,
    )
    return Asked(query if matches else None, None)
