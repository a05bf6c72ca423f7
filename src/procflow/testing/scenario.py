"""Scenario files: an analyst's proof that an approval chain behaves, without code.

Owns the scenario language (pydantic models) and its static checks against
the process it tests (PF601: a step, user role, document or outcome that the
process does not have). Running scenarios is `procflow.testing.runner`.

A scenario file lives in a ``scenarios/`` folder next to the processes
(``processes/scenarios/SC-001.routine.yaml``)::

    procflow: 1
    scenario: 常規計劃跳過總經理
    process: SC-001
    clock: 2026-03-02T09:00:00
    users:
      li: [market_manager]
      wang: [pmm]
    acts:
      - start: {by: li}
      - do: draft
        by: li
        data: {proposal: {plan_type: routine, budget: 1000}}
      - do: review
        by: li
        outcome: approve
        error: NotAllowed               # the drafter may not approve
      - expect: {tasks: [review]}
      - advance: 3 working days          # moves the clock and fires deadlines
    expect:
      status: completed
      result: approved

Imports `model`, `source`, `locate`, `diagnostics`, `flow.checks`; never `runtime`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator

from procflow.language import source
from procflow.language.diagnostics import Diagnostic, did_you_mean
from procflow.language.locate import diagnostics_from
from procflow.language.model import Ident, ProcessId
from procflow.language.shapes import Model, StrOrList, Text
from procflow.language.shapes import as_list as _as_list

ERRORS = Literal[
    "NotAllowed",
    "InvalidSubmission",
    "TaskNotOpen",
    "EvaluationError",
    "Conflict",
    "ExecutionError",
]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]+$", max_length=64)]


class TaskExpect(Model):
    """An open task expected at a checkpoint."""

    step: Ident
    actor: Ident | None = None
    """The role it is offered to (one of them)."""
    users: list[UserId] | None = None
    """Exactly the users who may act on it, when given."""
    process: ProcessId | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"step": value} if isinstance(value, str) else value


class Expect(Model):
    """What must hold at a checkpoint (or at the end)."""

    status: Literal["running", "completed", "cancelled"] | None = None
    result: Ident | None = None
    tasks: list[TaskExpect] | None = None
    """Exactly these open tasks (by step), in any order."""
    documents: dict[Ident, dict[Ident, Any]] | None = None
    """These field values (others are not compared). Money compares exactly."""
    copies: dict[Ident, list[dict[Ident, Any]]] | None = None
    """Per-person forms: exactly these copies, first filled first; each lists the fields
    to compare, and may give ``of`` (whom or what it is for) and ``filled_by``."""
    skipped: list[Ident] | None = None
    """Steps skipped by their ``when`` rule so far."""
    overdue: list[Ident] | None = None
    """Steps whose task passed its due moment so far."""
    reminded: list[Ident] | None = None
    escalated: list[Ident] | None = None
    expired: list[Ident] | None = None
    notified: list[Ident] | None = None
    """Actors notified so far."""
    started: list[ProcessId] | None = None
    """Processes started by hand-offs or calls so far (in order)."""
    process: ProcessId | None = None
    """Check this process's instance (one started by a hand-off) instead of the first."""

    _lists = field_validator(
        "skipped",
        "overdue",
        "reminded",
        "escalated",
        "expired",
        "notified",
        "started",
        mode="before",
        json_schema_input_type=StrOrList,
    )(lambda cls, v: _as_list(v))


class StartAct(Model):
    by: UserId
    data: dict[Ident, dict[Ident, Any]] = {}


class Act(Model):
    """One thing that happens: start, do, claim, delegate, cancel, advance the clock, or check."""

    start: StartAct | None = None
    do: Ident | None = None
    """Complete the open task at this step."""
    claim: Ident | None = None
    delegate: Ident | None = None
    cancel: bool | None = None
    advance: Text | None = None
    """A duration (``3 working days``, ``2 hours``) to move the clock forward; deadlines fire."""
    expect: Expect | None = None
    by: UserId | None = None
    to: UserId | None = None
    """For ``delegate``: who gets the task."""
    outcome: Ident | None = None
    data: dict[Ident, dict[Ident, Any]] = {}
    item: Annotated[int, Field(ge=0)] | None = None
    """For for-each steps: which of the open tasks at the step (0-based), when several may fit."""
    process: ProcessId | None = None
    """Act in the instance of this process (one started by a hand-off or call)."""
    error: ERRORS | None = None
    """The act must fail with this error (and change nothing)."""
    reason: Text = ""

    @model_validator(mode="after")
    def _one_kind(self) -> Act:
        kinds = [
            k
            for k in ("start", "do", "claim", "delegate", "cancel", "advance", "expect")
            if getattr(self, k) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                "an act is exactly one of: start, do, claim, delegate, cancel, advance, expect"
            )
        kind = kinds[0]
        if kind in ("do", "claim", "delegate", "cancel") and self.by is None:
            raise ValueError(f"'{kind}' needs 'by:', the user who acts")
        if kind == "delegate" and self.to is None:
            raise ValueError("'delegate' needs 'to:', the user who gets the task")
        if kind != "do" and (self.outcome is not None or self.data):
            raise ValueError("'outcome' and 'data' only go with 'do'")
        return self

    @property
    def kind(self) -> str:
        for k in ("start", "do", "claim", "delegate", "cancel", "advance", "expect"):
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated to have one kind")


class Scenario(Model):
    """A scenario: users, acts in order, and what must hold at the end."""

    procflow: Literal[1]
    scenario: Text
    process: ProcessId
    clock: Annotated[
        str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?$")
    ] = "2026-01-05T09:00:00"
    """When the scenario starts (a Monday by default)."""
    calendar: Literal["CN", "weekends"] = "CN"
    """Working days: China's public holidays, or weekends only."""
    users: dict[UserId, list[Ident]] = {}
    notes: list[Text] = []
    acts: list[Act] = Field(min_length=1)
    expect: Expect | None = None

    _users = field_validator("users", mode="before", json_schema_input_type=dict[str, StrOrList])(
        lambda cls, v: {k: _as_list(x) for k, x in v.items()} if isinstance(v, dict) else v
    )
    _notes = field_validator("notes", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: [v] if isinstance(v, str) else (v or [])
    )


def load_scenario(path: Path) -> tuple[Scenario | None, source.Document | None, list[Diagnostic]]:
    """Read and validate a scenario file's shape (not yet against its process)."""
    doc, problems = source.load_file(path)
    if doc is None:
        return None, None, problems
    if not isinstance(doc.data, dict):
        problems.append(
            doc.diag(
                (),
                "PF204",
                "the top level is not a mapping",
                "a scenario starts with 'procflow: 1', 'scenario:' and 'process:'",
            )
        )
        return None, doc, problems
    try:
        return Scenario.model_validate(doc.data), doc, problems
    except ValidationError as exc:
        return None, doc, problems + list(diagnostics_from(exc, doc, Scenario))


def check_scenario(scenario: Scenario, doc: source.Document, catalog: Any) -> list[Diagnostic]:
    """PF601 for every step, role, document or field the scenario names but its processes lack."""
    if scenario.process not in catalog:
        hint = did_you_mean(scenario.process, catalog) or "check the id"
        return [doc.diag(("process",), "PF601", f"there is no process '{scenario.process}'", hint)]
    out = _check_users(scenario, doc, catalog)
    for i, act in enumerate(scenario.acts):
        out.extend(_check_act(scenario, act, ("acts", i), doc, catalog))
    return out


def _check_users(scenario: Scenario, doc: source.Document, catalog: Any) -> list[Diagnostic]:
    """PF601 for each role a scenario's user holds that no process has."""
    out: list[Diagnostic] = []
    roles_known: set[str] = set()
    for pid in catalog:
        roles_known |= set(catalog[pid].flow.actors)
    for user, roles in scenario.users.items():
        for i, role in enumerate(roles):
            if role not in roles_known:
                out.append(
                    doc.diag(
                        ("users", user, i),
                        "PF601",
                        f"no process has the role '{role}'",
                        did_you_mean(role, roles_known),
                    )
                )
    return out


def _check_act(
    scenario: Scenario, act: Act, base: tuple[str | int, ...], doc: source.Document, catalog: Any
) -> list[Diagnostic]:
    """PF601 for the user, process, step, outcome, documents and fields one act names."""
    out: list[Diagnostic] = []
    if act.by is not None and act.by not in scenario.users:
        out.append(
            doc.diag(
                (*base, "by"),
                "PF601",
                f"the user '{act.by}' is not under 'users:'",
                did_you_mean(act.by, scenario.users) or "add them with their roles",
            )
        )
    step_id = act.do or act.claim or act.delegate
    if step_id is None:
        return out
    pid = act.process or scenario.process
    if pid not in catalog:
        out.append(
            doc.diag(
                (*base, "process"),
                "PF601",
                f"there is no process '{pid}'",
                did_you_mean(pid, catalog),
            )
        )
        return out
    flow = catalog[pid].flow
    steps = {n.id: n for n in flow.steps()}
    node = steps.get(step_id)
    if node is None:
        out.append(
            doc.diag(
                (*base, act.kind),
                "PF601",
                f"the process has no step '{step_id}'",
                did_you_mean(step_id, steps),
            )
        )
        return out
    allowed = list(getattr(node, "outcome_names", ()))
    if act.outcome is not None and act.outcome not in allowed:
        hint = did_you_mean(act.outcome, allowed) or (
            f"this step's outcomes are: {', '.join(allowed)}"
            if allowed
            else "this step has no outcomes"
        )
        out.append(
            doc.diag(
                (*base, "outcome"),
                "PF601",
                f"'{act.outcome}' is not an outcome of the step '{step_id}'",
                hint,
            )
        )
    out.extend(_check_data(act, flow, base, doc))
    return out


def _check_data(
    act: Act, flow: Any, base: tuple[str | int, ...], doc: source.Document
) -> list[Diagnostic]:
    """PF601 for each document or field an act's data names that the process lacks."""
    out: list[Diagnostic] = []
    for dname, fields in act.data.items():
        ddef = flow.documents.get(dname)
        if ddef is None:
            out.append(
                doc.diag(
                    (*base, "data", dname),
                    "PF601",
                    f"the process has no document '{dname}'",
                    did_you_mean(dname, flow.documents),
                    at_key=True,
                )
            )
            continue
        for fname in fields:
            if fname not in ddef.fields:
                out.append(
                    doc.diag(
                        (*base, "data", dname, fname),
                        "PF601",
                        f"the document '{dname}' has no field '{fname}'",
                        did_you_mean(fname, ddef.fields),
                        at_key=True,
                    )
                )
    return out


def number(value: Any) -> Any:
    """YAML numbers in scenario data as the engine expects them (Decimal for decimals)."""
    if isinstance(value, float):
        return Decimal(str(value))
    return value
