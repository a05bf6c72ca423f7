"""The one JSON form of every public result: `to_json` and, for plain records, `from_json`.

Owns how a `Task`, an `Instance`, an `Event`, a `Notification` and an
`Attachment` look as JSON (the `TypedDict`\\ s below describe each form, and
`procflow serve`'s API declares them in its OpenAPI document), and reading
the plain records back. The forms hold JSON data only: moments are ISO 8601
text, document values are in their stored form (money, numbers and percents
as decimal text such as ``"12000.50"``, dates as ``"2026-07-06"``), tuples
are lists. ``json.loads(json.dumps(to_json(x))) == to_json(x)``, and
``to_json(from_json(type(x), to_json(x))) == to_json(x)``; for a `Task`,
`Event`, `Notification` and `Attachment`, ``from_json`` gives back an equal
object (a task's for-each item comes back in its stored form).

An `Instance` is a view of a stored snapshot, so it has a JSON form but is
not built from one: read it from the engine by its id.

Imports `views`, `hooks`, `supervision`, `clock`, `store` (records), `errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from typing_extensions import TypedDict  # pydantic reads these (the API's schemas) on 3.11

from procflow.errors import InvalidArgument
from procflow.runtime.clock import parse_iso
from procflow.runtime.hooks import Notification
from procflow.runtime.supervision import Attachment
from procflow.runtime.views import Instance, Task
from procflow.store import Event

__all__ = [
    "AttachmentJSON",
    "EventJSON",
    "InstanceJSON",
    "NotificationJSON",
    "TaskJSON",
    "from_json",
    "plain",
    "to_json",
]


class TaskJSON(TypedDict):
    """The JSON form of a `Task` (same names; ``due`` and ``opened_at`` ISO text)."""

    id: str
    instance_id: str
    process_id: str
    step_id: str
    kind: str
    title: str
    actor: list[str]
    outcomes: list[str]
    fills: dict[str, list[str]]
    reads: list[str]
    due: str | None
    assignee: str | None
    candidates: list[str]
    item: Any
    opened_at: str
    overdue: bool


class InstanceJSON(TypedDict):
    """The JSON form of an `Instance`; ``documents`` in their stored form."""

    id: str
    version: int
    process_id: str
    title: str
    definition_hash: str
    process_version: str
    status: str
    result: str | None
    started_at: str
    started_by: str | None
    parent_id: str | None
    handed_off_to: list[str]
    waiting_on: list[str]
    documents: dict[str, dict[str, Any]]
    copies: dict[str, list[dict[str, Any]]]
    """The per-person forms: each copy's ``of``, ``by``, ``at``, ``step`` and ``values``."""
    loops: dict[str, int]
    """How many times each limited way was taken (``review>draft``)."""
    tasks: list[TaskJSON]


class EventJSON(TypedDict):
    """The JSON form of an `Event` (it is JSON data already)."""

    instance_id: str
    seq: int
    type: str
    at: str
    by: str | None
    data: dict[str, Any]


class NotificationJSON(TypedDict):
    """The JSON form of a `Notification`."""

    instance_id: str
    process_id: str
    step_id: str
    roles: list[str]
    recipients: list[str]
    message: str
    title: str
    at: str


class AttachmentJSON(TypedDict):
    """The JSON form of an `Attachment` (the reference, not the bytes)."""

    instance_id: str
    name: str
    blob: str
    size: int
    type: str
    at: str
    by: str | None


def plain(value: Any) -> Any:
    """``value`` as JSON data: decimals as text, moments and dates ISO, tuples as lists."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise InvalidArgument(f"{type(value).__name__} has no JSON form")


def _task(t: Task) -> TaskJSON:
    return {
        "id": t.id,
        "instance_id": t.instance_id,
        "process_id": t.process_id,
        "step_id": t.step_id,
        "kind": t.kind,
        "title": t.title,
        "actor": list(t.actor),
        "outcomes": list(t.outcomes),
        "fills": {doc: list(fields) for doc, fields in t.fills.items()},
        "reads": list(t.reads),
        "due": None if t.due is None else t.due.isoformat(),
        "assignee": t.assignee,
        "candidates": list(t.candidates),
        "item": plain(t.item),
        "opened_at": t.opened_at.isoformat(),
        "overdue": t.overdue,
    }


def _instance(i: Instance) -> InstanceJSON:
    snapshot = i.snapshot
    return {
        "id": i.id,
        "version": i.version,
        "process_id": i.process_id,
        "title": i.title,
        "definition_hash": i.definition_hash,
        "process_version": i.process_version,
        "status": i.status,
        "result": i.result,
        "started_at": snapshot.started_at,
        "started_by": i.started_by,
        "parent_id": i.parent_id,
        "handed_off_to": list(i.handed_off_to),
        "waiting_on": list(i.waiting_on),
        "documents": plain(snapshot.documents),
        "copies": {
            name: [plain(copy._asdict()) for copy in kept] for name, kept in snapshot.copies.items()
        },
        "loops": dict(snapshot.loops),
        "tasks": [_task(t) for t in i.tasks],
    }


def to_json(value: Any) -> Any:
    """The documented JSON form of a public result (see the module docstring).

    Takes a `Task`, `Instance`, `Event`, `Notification`, `Attachment`, a list
    or tuple of them, or plain data (decimals, dates, mappings), and returns
    data that ``json.dumps`` writes as it is.

    Raises:
        InvalidArgument: Something with no JSON form.
    """
    if isinstance(value, Task):
        return _task(value)
    if isinstance(value, Instance):
        return _instance(value)
    if isinstance(value, Event):
        return {
            "instance_id": value.instance_id,
            "seq": value.seq,
            "type": value.type,
            "at": value.at,
            "by": value.by,
            "data": plain(value.data),
        }
    if isinstance(value, Notification):
        return {
            "instance_id": value.instance_id,
            "process_id": value.process_id,
            "step_id": value.step_id,
            "roles": list(value.roles),
            "recipients": list(value.recipients),
            "message": value.message,
            "title": value.title,
            "at": value.at.isoformat(),
        }
    if isinstance(value, Attachment):
        return {**value._asdict(), "at": value.at.isoformat()}
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return [to_json(v) for v in value]
    return plain(value)


R = TypeVar("R", Task, Event, Notification, Attachment)


def _read_task(data: Mapping[str, Any]) -> Task:
    due = data["due"]
    return Task(
        data["id"], data["instance_id"], data["process_id"], data["step_id"], data["kind"],
        data["title"], tuple(data["actor"]), tuple(data["outcomes"]),
        {doc: tuple(fields) for doc, fields in data["fills"].items()}, tuple(data["reads"]),
        None if due is None else parse_iso(due), data["assignee"], tuple(data["candidates"]),
        data["item"], parse_iso(data["opened_at"]), data["overdue"],
    )  # fmt: skip


def _read_event(data: Mapping[str, Any]) -> Event:
    return Event(
        data["instance_id"], data["seq"], data["type"], data["at"], data["by"], dict(data["data"])
    )


def _read_notification(data: Mapping[str, Any]) -> Notification:
    return Notification(
        data["instance_id"], data["process_id"], data["step_id"], tuple(data["roles"]),
        tuple(data["recipients"]), data["message"], data["title"], parse_iso(data["at"]),
    )  # fmt: skip


def _read_attachment(data: Mapping[str, Any]) -> Attachment:
    return Attachment(
        data["instance_id"], data["name"], data["blob"], data["size"], data["type"],
        parse_iso(data["at"]), data["by"],
    )  # fmt: skip


_READERS: dict[type, Callable[[Mapping[str, Any]], Any]] = {
    Task: _read_task,
    Event: _read_event,
    Notification: _read_notification,
    Attachment: _read_attachment,
}


def from_json(kind: type[R], data: Mapping[str, Any]) -> R:
    """Read back the JSON form of a `Task`, `Event`, `Notification` or `Attachment`.

    Raises:
        InvalidArgument: ``kind`` is not one of those (an `Instance` is read from
            the engine by its id), or ``data`` is not its JSON form.
    """
    reader = _READERS.get(kind)
    if reader is None:
        name = getattr(kind, "__name__", repr(kind))
        raise InvalidArgument(
            f"from_json reads a Task, Event, Notification or Attachment, not {name}"
            + (": read an instance with engine.instance(data['id'])" if kind is Instance else "")
        )
    try:
        result: R = reader(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidArgument(f"not the JSON form of a {kind.__name__}: {exc!r}") from None
    return result
