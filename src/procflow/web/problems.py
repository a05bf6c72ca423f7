"""Errors as HTTP answers: RFC 9457 problem details, one per kind of `ProcflowError`.

Owns `Problem` (the body, as a pydantic model so the OpenAPI document
declares it), `status_of` (the HTTP status and title of each error), and
`problem_response`. An `InvalidSubmission` lists every field problem in
``errors`` (``{"field": "proposal.budget", "detail": "..."}``), and so do
the request checks of the API (`from_validation`), so a client sees every
mistake at once.

Imports `errors` and pydantic/starlette.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from procflow.errors import (
    BlobNotFound,
    CommandReused,
    Conflict,
    EvaluationError,
    ExecutionError,
    InstanceNotFound,
    InvalidArgument,
    InvalidSubmission,
    NotAllowed,
    ProcessNotFound,
    ProcflowError,
    StoreError,
    TaskNotOpen,
)
from procflow.runtime.reasons import Reason, reason_of

__all__ = ["PROBLEM_TYPE", "FieldProblem", "Problem", "from_validation", "problem_response"]

PROBLEM_TYPE = "application/problem+json"
_BASE = "https://procflow.dev/problems/"


class FieldProblem(BaseModel):
    """One bad field: where (``proposal.budget``, ``data.request.items[2].price``) and why."""

    field: str
    detail: str
    type: str | None = Field(
        default=None,
        description="A stable name for the kind of problem (``not_a_number``, ``required``, "
        "or pydantic's for the request's own checks), for a client that says it in its own "
        "words; null for a process's own rule message, already in the process's words.",
    )


class ReasonJSON(BaseModel):
    """A refusal's kind and what it names (step, role and user ids), as `detail` says them."""

    kind: str = Field(description="A stable name: needs_role, four_eyes_did, task_not_open, ...")
    values: dict[str, Any] = Field(description="What the refusal names, by id.")


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="The kind of problem, in words.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong this time.")
    errors: list[FieldProblem] = Field(
        default_factory=list, description="Every field problem, when the input was at fault."
    )
    reason: ReasonJSON | None = Field(
        default=None,
        description="Why the engine refused, for a client that says it in its own words "
        "(a refusal of the engine's: not allowed, the task not open, ...).",
    )


# most specific first
_KINDS: tuple[tuple[type[ProcflowError], int, str, str], ...] = (
    (InvalidSubmission, 422, "invalid-submission", "The submitted data does not fit"),
    (CommandReused, 422, "idempotency-key-reused", "The Idempotency-Key was used before"),
    (EvaluationError, 422, "evaluation-error", "A condition met a missing value"),
    (NotAllowed, 403, "not-allowed", "Not allowed"),
    (TaskNotOpen, 404, "task-not-open", "The task is not open"),
    (ProcessNotFound, 404, "process-not-found", "No such process"),
    (InstanceNotFound, 404, "instance-not-found", "No such instance"),
    (BlobNotFound, 404, "attachment-not-found", "No such attachment"),
    (Conflict, 409, "conflict", "Someone changed the instance at the same moment"),
    (InvalidArgument, 422, "invalid-argument", "An argument has the wrong form"),
    (ExecutionError, 409, "cannot-do", "The command cannot be carried out"),
    (StoreError, 503, "store-unavailable", "The store failed"),
)  # fmt: skip


def status_of(exc: ProcflowError) -> tuple[int, str, str]:
    """(HTTP status, problem type URI, title) of an error."""
    for kind, status, slug, title in _KINDS:
        if isinstance(exc, kind):
            return status, _BASE + slug, title
    return 400, _BASE + "error", "The request cannot be carried out"


def field_problems(exc: ProcflowError, prefix: str = "") -> list[FieldProblem]:
    if not isinstance(exc, InvalidSubmission):
        return []
    return [
        FieldProblem(field=prefix + k, detail=v, type=v.kind if isinstance(v, Reason) else None)
        for k, v in exc.problems.items()
    ]


def problem(exc: ProcflowError, *, prefix: str = "") -> Problem:
    status, kind, title = status_of(exc)
    errors = field_problems(exc, prefix)
    detail = str(exc) if not errors else f"{len(errors)} problem(s) with the submitted data"
    why = None if errors else reason_of(exc)
    reason = None if why is None else ReasonJSON(kind=why.kind, values=why.values)
    return Problem(
        type=kind, title=title, status=status, detail=detail, errors=errors, reason=reason
    )


def problem_response(body: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body.model_dump(), status_code=body.status, media_type=PROBLEM_TYPE, headers=headers
    )


def _location(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def from_validation(errors: Iterable[dict[str, Any]]) -> Problem:
    """The problem of a request that failed the API's own checks (every one listed)."""
    listed = [
        FieldProblem(field=_location(e.get("loc", ())), detail=e.get("msg", ""), type=e.get("type"))
        for e in errors
    ]
    return Problem(
        type=_BASE + "invalid-request",
        title="The request does not fit the API",
        status=422,
        detail=f"{len(listed)} problem(s) with the request",
        errors=listed,
    )
