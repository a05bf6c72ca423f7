"""The JSON HTTP API: the Engine's calls over HTTP, described at ``/openapi.json``.

Owns the routes under ``/api``: processes; start; tasks (a page of the
caller's inbox, with the same filters as the inbox page), one task, its
form (JSON Schema, `Engine.form`), complete, claim, delegate; an instance,
its history, cancel. Results are the documented JSON forms of
`procflow.to_json`; errors are RFC 9457 problem details (`web.problems`)
listing every field problem. Commands take an ``Idempotency-Key`` header,
passed to the engine as ``command_id``: a retried request returns what the
first one did.

Who calls comes from the `SignIn`'s ``api_user`` (a header, never the
session cookie: another site cannot make a browser call this API).

Imports the runtime and the web modules below it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from procflow.errors import NotAllowed, ProcessNotFound
from procflow.runtime.export import EventJSON, InstanceJSON, TaskJSON, to_json
from procflow.runtime.people import User
from procflow.web.inbox import InboxQuery, inbox
from procflow.web.sitewide import site_of

__all__ = ["ERRORS", "router"]

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": words}
    for status, words in (
        (401, "No user: sign in (the SignIn's header)."),
        (403, "The user may not do this (role, four-eyes, someone else's task)."),
        (404, "No such process, task or instance."),
        (409, "Someone changed the instance at the same moment, or it is not running."),
        (413, "The request body is too large."),
        (415, "The request body is not JSON."),
        (422, "The request or the submitted data does not fit; every problem is listed."),
        (503, "The store failed; see the detail."),
    )
}
"""The error answers every API route may give (problem details, `web.problems.Problem`)."""

router = APIRouter(prefix="/api", responses=ERRORS)

Key = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Makes a retried command return what the first one did (its command_id).",
    ),
]
Id = Annotated[str, Field(min_length=1, max_length=200)]
Data = dict[str, dict[str, Any]]


class Unauthenticated(Exception):
    """The API call names no user."""


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: Data | None = Field(
        None, description="Initial document values: {document: {field: value}}."
    )


class CompleteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str | None = Field(None, max_length=200, description="One of the task's outcomes.")
    data: Data | None = Field(
        None,
        description="Values of the documents the task fills; money and numbers as text "
        '("12000.50") or integers, dates as "YYYY-MM-DD". See GET /api/tasks/{id}/form.',
    )


class DelegateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Id = Field(description="The user id to hand the task to.")


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=10_000)


class TaskPage(BaseModel):
    items: list[TaskJSON]
    total: int = Field(description="How many tasks the filters match.")
    next: str | None = Field(description="The cursor of the next page (pass it as `after`).")


class ProcessJSON(BaseModel):
    id: str
    title: str
    version: str
    definition_hash: str = Field(description="The content hash new instances are pinned to.")
    versions: list[str] = Field(description="Hashes of every version that ran, oldest first.")
    starts_by: list[str] | None = Field(description="Roles that may start it; null: anyone.")
    may_start: bool = Field(description="Whether the caller may start it.")


def caller(request: Request) -> User:
    """The user of an API call (`Unauthenticated` when none is named)."""
    site = site_of(request)
    uid = site.sign_in.api_user(request)
    if uid is None:
        raise Unauthenticated
    return site.staff.user(uid)


@router.get("/processes", response_model=list[ProcessJSON], summary="The processes")
async def processes(request: Request) -> list[ProcessJSON]:
    user = caller(request)
    engine = site_of(request).engine
    out = []
    for pid, process in sorted(engine.catalog.items()):
        starters = engine.core.program_of(pid).starters
        out.append(
            ProcessJSON(
                id=pid,
                title=process.title,
                version=process.version,
                definition_hash=process.flow.definition_hash,
                versions=engine.store.definitions(pid),
                starts_by=None if starters is None else sorted(starters),
                may_start=starters is None or not user.roles.isdisjoint(starters),
            )
        )
    return out


@router.post(
    "/processes/{process_id}/instances",
    response_model=InstanceJSON,
    status_code=201,
    summary="Start an instance",
)
async def start(
    request: Request, process_id: str, body: StartBody, idempotency_key: Key = None
) -> Any:
    user = caller(request)
    engine = site_of(request).engine
    if process_id not in engine.catalog:
        raise ProcessNotFound(f"no process {process_id!r}")
    inst = engine.start(process_id, by=user, data=body.data, command_id=idempotency_key)
    return to_json(inst)


@router.get("/tasks", response_model=TaskPage, summary="A page of the caller's open tasks")
async def tasks(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    request: Request,
    process_id: Annotated[str | None, Query(max_length=200)] = None,
    step_id: Annotated[str | None, Query(max_length=200)] = None,
    due: Annotated[str | None, Query(pattern="^(overdue|soon)$")] = None,
    sort: Annotated[str, Query(pattern="^(due|opened|process)$")] = "due",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    user = caller(request)
    query = InboxQuery(process_id, step_id, due, sort, limit, after)  # type: ignore[arg-type]
    found = inbox(site_of(request).engine, user, query)
    return {"items": to_json(found.tasks), "total": found.total, "next": found.next}


@router.get("/tasks/{task_id}", response_model=TaskJSON, summary="One open task")
async def task(request: Request, task_id: str) -> Any:
    caller(request)
    return to_json(site_of(request).engine.task(task_id))


@router.get(
    "/tasks/{task_id}/form",
    response_model=dict[str, Any],
    summary="What the task asks for and shows, as JSON Schema",
)
async def form(request: Request, task_id: str) -> Any:
    caller(request)
    return site_of(request).engine.form(task_id)


@router.post("/tasks/{task_id}/complete", response_model=InstanceJSON, summary="Complete a task")
async def complete(
    request: Request, task_id: str, body: CompleteBody, idempotency_key: Key = None
) -> Any:
    user = caller(request)
    inst = site_of(request).engine.complete(
        task_id, by=user, outcome=body.outcome, data=body.data, command_id=idempotency_key
    )
    return to_json(inst)


@router.post("/tasks/{task_id}/claim", response_model=TaskJSON, summary="Claim a role task")
async def claim(request: Request, task_id: str, idempotency_key: Key = None) -> Any:
    user = caller(request)
    return to_json(site_of(request).engine.claim(task_id, by=user, command_id=idempotency_key))


@router.post("/tasks/{task_id}/delegate", response_model=TaskJSON, summary="Hand a task on")
async def delegate(
    request: Request, task_id: str, body: DelegateBody, idempotency_key: Key = None
) -> Any:
    user = caller(request)
    engine = site_of(request).engine
    return to_json(engine.delegate(task_id, by=user, to=body.to, command_id=idempotency_key))


@router.get("/instances/{instance_id}", response_model=InstanceJSON, summary="An instance")
async def instance(request: Request, instance_id: str) -> Any:
    user = caller(request)
    engine = site_of(request).engine
    inst = engine.instance(instance_id)
    if not engine.supervision.may_see(
        inst.snapshot, engine.core.program(inst.definition_hash), user
    ):
        raise NotAllowed(f"{user.id} may not see {instance_id}")
    return to_json(inst)


@router.get(
    "/instances/{instance_id}/history",
    response_model=list[EventJSON],
    summary="An instance's events, oldest first",
)
async def history(request: Request, instance_id: str) -> Any:
    await instance(request, instance_id)  # the same check: found, and theirs to see
    return to_json(site_of(request).engine.history(instance_id))


@router.post(
    "/instances/{instance_id}/cancel", response_model=InstanceJSON, summary="Cancel an instance"
)
async def cancel(
    request: Request, instance_id: str, body: CancelBody, idempotency_key: Key = None
) -> Any:
    user = caller(request)
    engine = site_of(request).engine
    inst = engine.cancel(instance_id, by=user, reason=body.reason, command_id=idempotency_key)
    return to_json(inst)
