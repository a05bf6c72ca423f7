"""The process language as pydantic models. This module is its reference.

Owns the shape of a process file and of an organisation file: the header,
actors, documents and their typed fields, the step kinds, deadlines,
four-eyes rules and references to decision tables. Everything here is
structure only; meaning that needs more than one node (targets exist, steps
are reachable, expressions type-check) is checked in `validate`.

Short forms that analysts like to write (``actor: 市場經理`` instead of
``actor: {title: 市場經理}``, ``fills: proposal`` instead of a list) are
turned into the long form by ``mode="before"`` validators, so the models
always hold one form and dump back to YAML that loads to an equal model.

Must not import `flow.checks`, `flow.build`, `runtime` or `cli`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from procflow.language.shapes import Model, ShortForm, Source, StrOrList, Text, as_list, as_notes

# pydantic only; `procflow.decisions` imports nothing on import, so no cycle.
from procflow.language.tablefile import Table, TableId

LANGUAGE_VERSION = 1

Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]
"""A key written by the analyst: letters, digits and '_', starting with a letter."""
ProcessId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]
"""A process id from the inventory, such as ``SC-001``."""
ExprText = Annotated[str, StringConstraints(min_length=1)]
"""A condition in the expression language (see docs/language.md). Length is checked by `expr`."""
Target = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]
"""A step id, or ``next`` for the step written after this one."""

FieldType = Literal[
    "text", "number", "money", "percent", "date", "datetime", "choice", "yesno", "list", "user"
]
STEP_KINDS = ("task", "sign", "branch", "parallel", "notify", "call", "handoff", "end")
"""Every step kind; the key that marks each one is in `KIND_KEYS`."""
KIND_KEYS: dict[str, str] = {
    "sign": "sign",
    "branch": "branch",
    "parallel": "parallel",
    "notify": "notify",
    "notify_users": "notify",
    "call": "call",
    "handoff": "handoff",
    "end": "end",
    "actor": "task",
}


FillsInput = str | list[str] | dict[str, str | list[str] | None]
ReturnsInput = str | list[str] | dict[str, str]
_as_list = as_list
_as_notes = as_notes


class Actor(ShortForm):
    """A role (執行對象), and who holds it when the organisation file says so."""

    title: Text
    notes: list[Text] = []
    external: bool = False
    """True for people outside the company (the customer, the printer)."""
    members: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = []
    """The user ids holding the role, when the organisation fixes them (one GM): `validate`
    warns (PF327) where a four-eyes rule or a sign-off could then leave nobody to act. The
    engine's directory decides who holds a role at run time."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"title": value} if isinstance(value, str) else value

    _notes = field_validator("notes", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: _as_notes(v)
    )


NUMERIC = ("number", "money", "percent")
"""Field types whose values are exact decimals."""
MONEY_DECIMALS = 2
"""Decimals of a money field that does not say ``decimals:``: the yuan's 2 (fen)."""
NUMBER_DECIMALS = 10
"""Decimals of a number or percent field that does not say ``decimals:``."""
MAGNITUDE = Decimal(10) ** 15
"""A number, money or percent is smaller than this in size, unless ``min``/``max`` allow more."""
TEXT_LENGTH = 10_000
"""Characters of a text value, unless the field says ``max_length:``."""
LIST_ITEMS = 1_000
"""Items of a list value, unless the field says ``max_items:``."""
Rounding = Literal["half_up", "half_even", "down", "up"]
"""How a value with more decimals than its field allows is rounded (else it is refused)."""


class FieldDef(ShortForm):
    """One typed field of a document.

    Bounds on its values, with their defaults: decimals (money 2, numbers and
    percents 10), rounding (none: more decimals are refused), max_length of
    text (10,000 characters), max_items of a list (1,000), min and max
    (smaller than 10^15 in size).
    """

    type: FieldType
    title: Text = ""
    required: bool = True
    default: Any = None
    of: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | FieldType | None = (
        None
    )
    """Allowed values of a ``choice``; item type of a ``list``."""
    titles: dict[Annotated[str, StringConstraints(min_length=1, max_length=200)], Text] = {}
    """What a reader sees for some values of a ``choice`` (``{annual: 年度}``); a value
    without a title is shown as it is stored."""
    min: Decimal | None = None
    max: Decimal | None = None
    decimals: Annotated[int, Field(ge=0, le=20)] | None = None
    """Most digits after the point: 2 for money, 10 for numbers and percents by default."""
    rounding: Rounding | None = None
    """Round a value with more decimals (else it is refused): half_up is 四捨五入."""
    max_length: Annotated[int, Field(ge=1)] | None = None
    """Most characters of a text value (of each item, for a list of text); 10,000 by default."""
    max_items: Annotated[int, Field(ge=0)] | None = None
    """Most items of a list value; 1,000 by default."""
    fields: dict[Ident, FieldDef] | None = None
    """For a ``list`` of records (line items): the fields of each item."""
    notes: list[Text] = []

    @property
    def item_type(self) -> FieldType:
        """The type of the values: the item type of a list of plain items, else `type`."""
        return self.of if self.type == "list" and isinstance(self.of, str) else self.type

    @property
    def places(self) -> int:
        """Most digits after the point of this number, money or percent field."""
        if self.decimals is not None:
            return self.decimals
        return MONEY_DECIMALS if self.item_type == "money" else NUMBER_DECIMALS

    @property
    def longest(self) -> int:
        """Most characters of a text value of this field."""
        return self.max_length if self.max_length is not None else TEXT_LENGTH

    @property
    def most(self) -> int:
        """Most items of a list value of this field."""
        return self.max_items if self.max_items is not None else LIST_ITEMS

    _notes = field_validator("notes", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: _as_notes(v)
    )

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _shape(self) -> FieldDef:
        if self.type == "choice":
            self._choices()
        elif self.type == "list":
            if self.of is None and self.fields is None:
                raise ValueError(
                    "a list field needs 'of:' (the item type) or 'fields:' (line items)"
                )
            if isinstance(self.of, list):
                raise ValueError("'of:' of a list field is one item type, such as 'of: text'")
            if self.of in ("list", "choice"):
                raise ValueError("a list of lists or of choices is not supported; use 'fields:'")
        elif self.of is not None:
            raise ValueError(f"'of:' only applies to choice and list fields, not to {self.type}")
        if self.titles and self.type != "choice":
            raise ValueError("'titles:' only applies to choice fields")
        if self.fields is not None and self.type != "list":
            raise ValueError("'fields:' only applies to list fields")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        self._bounds()
        return self

    def _choices(self) -> None:
        if not isinstance(self.of, list) or len(self.of) < 2:
            raise ValueError("a choice field needs 'of:' with at least two allowed values")
        if len(set(self.of)) != len(self.of):
            raise ValueError("the allowed values in 'of:' must be different from each other")
        unknown = [v for v in self.titles if v not in self.of]
        if unknown:
            raise ValueError(
                f"'titles:' names {', '.join(unknown)}, which 'of:' does not allow "
                f"(allowed: {', '.join(self.of)})"
            )

    def _bounds(self) -> None:
        """The options that bound a value fit the field's type, and so does its default."""
        kind = self.item_type
        if (self.decimals is not None or self.rounding is not None) and kind not in NUMERIC:
            raise ValueError(f"'decimals' and 'rounding' apply to {', '.join(NUMERIC)} fields")
        if self.max_length is not None and kind != "text":
            raise ValueError("'max_length' applies to text fields (and lists of text)")
        if self.max_items is not None and self.type != "list":
            raise ValueError("'max_items' applies to list fields")
        value = self.default
        if kind in NUMERIC and isinstance(value, int | Decimal) and not isinstance(value, bool):
            exponent = Decimal(value).normalize().as_tuple().exponent
            if isinstance(exponent, int) and -exponent > self.places and self.rounding is None:
                raise ValueError(
                    f"the default {value} has more than {self.places} decimals; "
                    "write it with fewer, or set 'decimals:' or 'rounding:'"
                )
        if kind == "text" and isinstance(value, str) and len(value) > self.longest:
            raise ValueError(f"the default is longer than {self.longest:,} characters")


COPY_FIELDS = ("filled_by", "filled_at")
"""What conditions read of each copy of a per-person form besides its fields."""


class DocumentDef(Model):
    """A form (規範標準): a title and typed fields.

    A form that a ``for_each`` step fills is a per-person form: one copy per
    member or item, each kept with who filled it and when (``copies:
    per_task``, which procflow infers and writes into the definitions it
    stores, so that an instance keeps the meaning it started with). ``copies:
    each`` keeps every submission as its own copy (a daily report).
    """

    title: Text
    fields: dict[Ident, FieldDef] = {}
    notes: list[Text] = []
    copies: Literal["each", "per_task"] | None = None
    """``each``: every submission is kept as its own copy (one per day, one per visit);
    ``per_task``: one copy per member or item of the for-each step that fills it
    (inferred when not written)."""

    @model_validator(mode="after")
    def _copy_fields(self) -> DocumentDef:
        taken = [f for f in COPY_FIELDS if f in self.fields]
        if taken:
            raise ValueError(
                f"'{taken[0]}' names who filled a copy and when; call the field otherwise"
            )
        return self

    _notes = field_validator("notes", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: _as_notes(v)
    )


class Escalate(ShortForm):
    """Give the task to another actor when the deadline passes."""

    to: Ident
    after: Text = "at due"
    mode: Literal["offer", "move"] = "offer"
    """``offer``: the new actor may act too; ``move``: only the new actor may act."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"to": value} if isinstance(value, str) else value


class Expire(ShortForm):
    """Complete the task with a named outcome when the deadline passes."""

    outcome: Ident
    after: Text = "at due"

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"outcome": value} if isinstance(value, str) else value


class Deadline(Model):
    """When a task is due and what happens around that time: ``due`` or ``due_on``."""

    due: Text | None = None
    """``3 working days``, ``1 hour``, ``before the 25th of each month``, ``1-15 January``."""
    due_on: ExprText | None = None
    """An expression giving a date (due at the end of that day) or a date-time,
    read when the task opens: ``probation.end_date``."""
    from_: Annotated[str, StringConstraints(pattern=r"^(open|start|[A-Za-z][A-Za-z0-9_]*)$")] = (
        Field("open", alias="from")
    )
    """Count from ``open`` (the task opened), ``start`` (the instance started) or a step id."""
    holidays: Literal["ignore", "postpone"] = "ignore"
    """``postpone``: a due date on a holiday or weekend moves to the next working day."""
    remind: list[Text] = []
    """When to remind, as offsets: ``1 day before``, ``at due``, ``2 hours after``."""
    escalate: Escalate | None = None
    expire: Expire | None = None

    _remind = field_validator("remind", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: _as_list(v)
    )

    @model_validator(mode="after")
    def _one_due(self) -> Deadline:
        if (self.due is None) == (self.due_on is None):
            raise ValueError("write one of 'due:' (a length or a day) or 'due_on:' (a date)")
        if self.due_on is not None and self.from_ != "open":
            raise ValueError("'from:' counts a 'due:' length; a 'due_on:' date needs none")
        return self


class Require(Model):
    """A rule checked when the task is completed; breaking it refuses the submission."""

    that: ExprText
    message: Text


class Apply(Model):
    """Fill document fields from a decision table when the step completes."""

    table: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    inputs: dict[Ident, ExprText] = {}
    outputs: dict[
        Ident, Annotated[str, StringConstraints(pattern=r"^[A-Za-z]\w*\.[A-Za-z]\w*$")]
    ] = {}
    """Table output name -> ``document.field`` to store it in."""


class Members(Model):
    """The members of one role, each signing for themselves: ``{members: board}``
    (resolved through the engine's directory when the sign-off opens)."""

    members: Ident
    order: Literal["set", "any"] = "set"
    """For ``in_turn``: ``set``, in the directory's order; ``any``, one at a time, whoever
    comes first."""


Signers = list[Ident] | Members


class SignRule(Model):
    """Who signs a sign-off, and how many must: roles (one task each), or the members of
    one role (one task per person)."""

    all_of: Signers | None = None
    any_of: Signers | None = None
    n_of: Signers | None = None
    n: int | None = Field(None, ge=1)
    in_turn: Signers | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> SignRule:
        given = [k for k in ("all_of", "any_of", "n_of", "in_turn") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("write exactly one of all_of, any_of, n_of or in_turn")
        if self.n_of is not None and self.n is None:
            raise ValueError("n_of needs 'n:', how many must sign")
        if self.n is not None and self.n_of is None:
            raise ValueError("'n:' only applies to n_of")
        if self.members is not None and self.members.order == "any" and self.in_turn is None:
            raise ValueError("'order: any' only applies to in_turn")
        signers = self.signers
        if not signers:
            raise ValueError("name at least one signer")
        if len(set(signers)) != len(signers):
            raise ValueError("a signer is named twice")
        return self

    @property
    def rule(self) -> Literal["all_of", "any_of", "n_of", "in_turn"]:
        for k in ("all_of", "any_of", "n_of", "in_turn"):
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated to have one rule")

    @property
    def members(self) -> Members | None:
        """The role whose members sign, when the rule names ``{members: role}``."""
        given = self.all_of or self.any_of or self.n_of or self.in_turn
        return given if isinstance(given, Members) else None

    @property
    def signers(self) -> list[str]:
        """The signer roles (the one role, for ``{members: role}``)."""
        given = self.all_of or self.any_of or self.n_of or self.in_turn or []
        return [given.members] if isinstance(given, Members) else list(given)

    @property
    def needed(self) -> int:
        """How many signatures complete the sign-off (0: every member, known at run time)."""
        if self.rule == "any_of":
            return 1
        if self.rule == "n_of":
            return self.n or 1
        return 0 if self.members is not None else len(self.signers)


class Loop(Model):
    """A way with a limit: taken at most ``at_most`` times (counted over the instance);
    the next time the flow goes to ``then`` (a step) or ends with the result ``end``."""

    to: Target
    """Where the way goes: a step id or ``next``."""
    at_most: Annotated[int, Field(ge=1, le=1000)]
    """How many times it may be taken."""
    then: Target | None = None
    """Where the flow goes instead once the limit is reached."""
    end: Ident | None = None
    """Or: the result the instance ends with once the limit is reached."""

    @model_validator(mode="after")
    def _past_the_limit(self) -> Loop:
        if (self.then is None) == (self.end is None):
            raise ValueError("say what happens past the limit: 'then:' a step, or 'end:' a result")
        return self


def _way_kind(value: Any) -> str:
    return "loop" if isinstance(value, dict | Loop) else "target"


Way = Annotated[
    Annotated[Target, Tag("target")] | Annotated[Loop, Tag("loop")],
    Discriminator(_way_kind),
]
"""Where a step goes: a step id, ``next``, or a `Loop` (a limited way back)."""


def target_of(way: str | Loop) -> str:
    """The step id (or ``next``) a way goes to."""
    return way if isinstance(way, str) else way.to


class BranchArm(Model):
    """One arm of a conditional branch: ``if`` + ``goto``, or ``otherwise``."""

    if_: ExprText | None = Field(None, alias="if")
    goto: Way | None = None
    otherwise: Way | None = None
    title: Text = ""
    """The arm's condition in words (``預算外``): what diagrams show instead of the condition."""

    @model_validator(mode="after")
    def _form(self) -> BranchArm:
        if self.otherwise is not None:
            if self.if_ is not None or self.goto is not None:
                raise ValueError("'otherwise' stands alone: write it without 'if' and 'goto'")
        elif self.if_ is None or self.goto is None:
            raise ValueError("write 'if:' with 'goto:', or 'otherwise:'")
        return self


class StepBase(Model):
    """What every step may say."""

    id: Ident | None = None
    title: Text = ""
    when: ExprText | None = None
    """Skip rule: the step runs only when this holds; otherwise the flow goes on past it."""
    when_title: Text = ""
    """The skip rule in words (``非例行計劃``): what diagrams show instead of the condition."""
    next: Way | None = None
    """Where to go after this step, when not the step written after it (a `Loop` limits
    how often a way back is taken)."""
    notes: list[Text] = []

    _notes = field_validator("notes", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: _as_notes(v)
    )

    @model_validator(mode="after")
    def _when_title(self) -> StepBase:
        if self.when_title and self.when is None:
            raise ValueError("'when_title' names the skip rule: write 'when' too")
        return self

    @property
    def kind(self) -> str:
        raise NotImplementedError

    def nested(self) -> list[tuple[tuple[str | int, ...], list[StepBase]]]:
        """The lists of steps this step holds (a parallel step's branches), with their paths."""
        return []


def _fills(value: Any) -> Any:
    if isinstance(value, str):
        return {value: []}
    if isinstance(value, list):
        return {v: [] for v in value} if all(isinstance(v, str) for v in value) else value
    if isinstance(value, dict):
        return {k: ([v] if isinstance(v, str) else (v or [])) for k, v in value.items()}
    return value


class HumanStep(StepBase):
    """Shared by tasks and sign-offs: documents, deadlines, four-eyes."""

    fills: dict[Ident, list[Ident]] = {}
    """Documents the actor fills: ``proposal``, ``[a, b]``, or ``{record: [signature, rating]}``."""
    reads: list[Ident] = []
    deadline: Deadline | None = None
    not_by: list[Ident] = []
    """Four-eyes: whoever did these earlier steps may not act here."""
    requires: list[Require] = []
    apply: list[Apply] = []
    cancels: list[Ident] = []
    """Steps whose open tasks are withdrawn when this step is done (WCP-19)."""
    withdraw_by: list[Ident] = []
    """Roles whose holders may withdraw this step's open tasks (`Engine.withdraw`)."""

    _fills = field_validator("fills", mode="before", json_schema_input_type=FillsInput)(
        lambda cls, v: _fills(v)
    )
    _reads = field_validator(
        "reads", "not_by", "cancels", "withdraw_by", mode="before", json_schema_input_type=StrOrList
    )(lambda cls, v: _as_list(v))


class TaskStep(HumanStep):
    """A human task: an actor fills or reads documents, and may decide."""

    actor: list[Ident]
    """The role that does it; several roles mean any one of them."""
    decide: dict[Ident, Way] | None = None
    """Named outcomes and where each goes (``next``, a step id, or a `Loop`)."""
    optional: bool = False
    """'If needed': the actor may mark the step not needed instead of doing it."""
    for_each: (
        Annotated[str, StringConstraints(pattern=r"^(member|[A-Za-z]\w*\.[A-Za-z]\w*)$")] | None
    ) = None
    """``member``: one task per holder of the role; ``document.field``: one task per list item
    (a list of ``user`` items: one task for each listed person, whatever their roles)."""
    assignee: ExprText | None = None
    """An expression giving the user id to do it (e.g. the engineer chosen earlier), or
    ``starter``: whoever started the instance."""
    same_as: Ident | None = None
    """Retain familiar (``actor: {same_as: draft}``): done by whoever last did that step."""
    wait: bool = True
    """For ``for_each``: False goes on at once; the tasks finish on their own."""

    @model_validator(mode="before")
    @classmethod
    def _same_as(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("actor"), dict):
            actor = value["actor"]
            if set(actor) == {"same_as"}:
                return {**value, "actor": [], "same_as": actor["same_as"]}
        return value

    _actor = field_validator(
        "actor", mode="before", json_schema_input_type=StrOrList | dict[str, str]
    )(lambda cls, v: _as_list(v))

    @property
    def kind(self) -> str:
        return "task"

    @model_validator(mode="after")
    def _some(self) -> TaskStep:
        if not self.actor and self.same_as is None:
            raise ValueError("name the role that does this step ('actor:')")
        if self.actor and self.same_as is not None:
            raise ValueError("write 'actor: {same_as: step}' or roles, not both")
        if not self.wait and self.for_each is None:
            raise ValueError("'wait: false' only applies to for_each")
        return self


class SignStep(HumanStep):
    """Sign-off by several actors: all of, any of, n of m, or in turn."""

    sign: SignRule
    reject: Way | None = None
    """Where a rejection goes. Without it, signers can only sign."""

    @property
    def kind(self) -> str:
        return "sign"


class BranchStep(StepBase):
    """Automatic branch: the first arm whose condition holds, else ``otherwise``."""

    branch: list[BranchArm] = Field(min_length=1)

    @property
    def kind(self) -> str:
        return "branch"


class ParallelBranch(Model):
    """One branch of a parallel step: its own list of steps."""

    title: Text = ""
    when: ExprText | None = None
    """A branch whose condition does not hold is skipped and does not block the join."""
    when_title: Text = ""
    """The condition in words: what diagrams show instead of it."""
    steps: list[Step] = Field(min_length=1)


class ParallelStep(StepBase):
    """Branches that run at the same time, joined when all (or any) are done."""

    parallel: list[ParallelBranch] = Field(min_length=2)
    join: Literal["all", "any", "first"] = "all"
    """``all``: wait for every branch; ``any``: go on at the first, withdraw the others;
    ``first``: go on at the first, the others run to their end."""

    @property
    def kind(self) -> str:
        return "parallel"

    def nested(self) -> list[tuple[tuple[str | int, ...], list[StepBase]]]:
        return [(("parallel", b, "steps"), list(br.steps)) for b, br in enumerate(self.parallel)]


class NotifyStep(StepBase):
    """Tell actors (``notify``), or people named by data (``notify_users``), something.
    Does not wait."""

    notify: list[Ident] = []
    """Roles: every holder is told."""
    notify_users: ExprText | None = None
    """An expression giving a user or a list of users: ``appraisal.employee``."""
    message: Text = ""
    reads: list[Ident] = []

    _notify = field_validator("notify", "reads", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: _as_list(v)
    )

    @model_validator(mode="after")
    def _someone(self) -> NotifyStep:
        if not self.notify and self.notify_users is None:
            raise ValueError("name whom to tell: 'notify:' roles or 'notify_users:' people")
        return self

    @property
    def kind(self) -> str:
        return "notify"


class Carry(ShortForm):
    """One document carried to another process: which of ours, and whether it must be there."""

    from_: Ident = Field(alias="from")
    """Our document (by default the one of the same name)."""
    optional: bool = False
    """True: carried only when we hold it; without it the hand-off or call still goes on.
    False: we must hold it (checked at load, PF320; at run time a missing one is an error)."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"from": value} if isinstance(value, str) else value


class CarryEntry(Model):
    """What an analyst may write for one carried document (``from`` defaults to its key)."""

    from_: Ident | None = Field(None, alias="from")
    optional: bool = False


CarryInput = str | list[str | dict[str, str | CarryEntry]] | dict[str, str | CarryEntry]


def _carry(value: Any) -> Any:
    """Short forms of ``carry``: a name, a list of names (or one-key mappings), a mapping
    ``{their_name: our_name | {from, optional}}``; ``from`` defaults to their name."""
    if isinstance(value, str):
        return {value: value}
    if isinstance(value, list):
        merged: dict[Any, Any] = {}
        for item in value:
            if isinstance(item, str):
                merged[item] = item
            elif isinstance(item, dict):
                merged.update(item)
            else:
                return value  # pydantic reports the bad item
        value = merged
    if isinstance(value, dict):
        return {
            k: {"from": k, **v} if isinstance(v, dict) and not {"from", "from_"} & set(v) else v
            for k, v in value.items()
        }
    return value


def _returns(value: Any) -> Any:
    if isinstance(value, str):
        return {value: value}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {v: v for v in value}
    return value


class CallStep(StepBase):
    """Run another process as a sub-process and wait for it to finish."""

    call: ProcessId
    carry: dict[Ident, Carry] = {}
    """Documents passed in: a list of shared names, ``{their_name: our_name}``, or
    ``{their_name: {from: our_name, optional: true}}``."""
    returns: dict[Ident, Ident] = {}
    """Documents copied back when it finishes: ``{our_name: their_name}``."""

    _carry = field_validator("carry", mode="before", json_schema_input_type=CarryInput)(
        lambda cls, v: _carry(v)
    )
    _returns = field_validator("returns", mode="before", json_schema_input_type=ReturnsInput)(
        lambda cls, v: _returns(v)
    )

    @property
    def kind(self) -> str:
        return "call"


class HandoffStep(StepBase):
    """Start the next process with documents carried over; does not wait."""

    handoff: ProcessId
    carry: dict[Ident, Carry] = {}

    _carry = field_validator("carry", mode="before", json_schema_input_type=CarryInput)(
        lambda cls, v: _carry(v)
    )

    @property
    def kind(self) -> str:
        return "handoff"


class EndStep(StepBase):
    """Finish the instance with a result."""

    end: Ident

    @property
    def kind(self) -> str:
        return "end"


def step_kind(value: Any) -> str | None:
    """The kind of a raw step mapping, from the key that marks it (None if none or several)."""
    if isinstance(value, StepBase):
        return value.kind
    if not isinstance(value, dict):
        return None
    kinds = {KIND_KEYS[k] for k in value if k in KIND_KEYS}
    return kinds.pop() if len(kinds) == 1 else None


Step = Annotated[
    Annotated[TaskStep, Tag("task")]
    | Annotated[SignStep, Tag("sign")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[ParallelStep, Tag("parallel")]
    | Annotated[NotifyStep, Tag("notify")]
    | Annotated[CallStep, Tag("call")]
    | Annotated[HandoffStep, Tag("handoff")]
    | Annotated[EndStep, Tag("end")],
    Discriminator(
        step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step needs exactly one of: actor, sign, branch, "
        "parallel, notify, call, handoff, end",
    ),
]
"""Any step; its kind is told by the key that marks it."""

AnyStep = (
    TaskStep | SignStep | BranchStep | ParallelStep | NotifyStep | CallStep | HandoffStep | EndStep
)


class Schedule(Model):
    """When the system starts an instance by itself: a recurring process.

    ``every: month`` (with ``day``, default 1), ``every: year`` (with ``month`` and
    ``day``, default 1 January), ``every: working day`` or ``every: day``; or a day
    in words: ``every: 每月20日``, ``every: the 20th of each month``, ``every: 1 December``.
    """

    every: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    day: int | None = Field(None, ge=1, le=31)
    """Day of the month (29-31 mean the last day in shorter months)."""
    month: int | None = Field(None, ge=1, le=12)
    """Month of the year, for ``every: year``."""
    by: Ident
    """The role on whose behalf the system starts it (its holders may cancel it)."""
    holidays: Literal["ignore", "postpone"] = "ignore"
    """``postpone``: a start that falls on a holiday or weekend moves to the next working day."""


SearchField = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$", max_length=129),
]
"""A searchable field: ``document.field``."""


class Process(Model):
    """One documented process, as written (`procflow.Process` adds its compiled flow)."""

    # Files are validated with the subclass `procflow.Process`, which pydantic builds on its
    # own: this class is built when first used (its JSON Schema, say), not at every start.
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, arbitrary_types_allowed=True, defer_build=True
    )

    procflow: Literal[1]
    id: ProcessId
    title: Text
    owner: Text = ""
    version: Annotated[str, StringConstraints(max_length=40)] = "1"
    source: Source | None = None
    notes: list[Text] = []
    organisation: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    """Path of the shared organisation file, relative to this file."""
    actors: dict[Ident, Actor] = {}
    documents: dict[Ident, DocumentDef] = {}
    decisions: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = []
    """Paths of decision-table files this process uses, relative to this file."""
    tables: dict[TableId, Table] = {}
    """Decision tables of this process only (the format of docs/decisions.md)."""
    starts_by: list[Ident] = []
    """Roles that may start an instance. Default: the first step's actor."""
    schedule: Schedule | None = None
    """Start an instance by itself, once per period (see `Engine.tick`)."""
    search: list[SearchField] = []
    """Document fields instances can be found by (``Engine.instances(where=...)``): the store
    indexes their values. Each is ``document.field``, a field that is not a list."""
    labels: dict[Ident, Text] = {}
    """What diagrams and the catalog call an outcome or a result: ``{appeal: 申訴}``."""
    steps: list[Step] = Field(min_length=1)

    _notes = field_validator("notes", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: _as_notes(v)
    )
    _starts = field_validator(
        "starts_by", "decisions", "search", mode="before", json_schema_input_type=StrOrList
    )(lambda cls, v: _as_list(v))

    @field_validator("version", mode="before", json_schema_input_type=str | int | float)
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | Decimal) and not isinstance(v, bool) else v


class Organisation(Model):
    """A shared organisation file: the roles (and shared documents) of one company."""

    procflow: Literal[1]
    organisation: Ident
    title: Text
    notes: list[Text] = []
    roles: dict[Ident, Actor] = {}
    documents: dict[Ident, DocumentDef] = {}

    _notes = field_validator("notes", mode="before", json_schema_input_type=StrOrList)(
        lambda cls, v: _as_notes(v)
    )


ParallelBranch.model_rebuild()
ParallelStep.model_rebuild()
