"""HTML forms made from a task's JSON Schema, and what a posted form submits.

Owns `TaskForm`: built from `Engine.form` (so the page asks exactly what the
engine checks), it lists the fieldsets and inputs to draw (money, numbers,
dates, choices, yes/no, users, lists of text, tables of line items), reads a
posted form back into ``{document: {field: value}}`` (text as typed: the
engine parses numbers and dates, and says what is wrong; a number is only
brought into the plain form as people type it, `typed_number`), keeps what was
typed so a refused form comes back filled in, and places each problem of
an `InvalidSubmission` beside its field. What the step reads is shown
beside the form, a per-person form once per copy, titled with whose copy
it is. Also `show`, how a stored value reads on a page (money with
thousands separators, yes/no as 是/否).

Input names are ``data.<document>.<field>``; a line item's cell is
``data.<document>.<field>.<row>.<column>``.

Imports nothing from procflow but the `Task` type, `language.written.typed_number` and
`runtime.reasons.say`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from procflow.language.written import typed_number
from procflow.runtime.reasons import Names, say

__all__ = ["Fieldset", "Input", "TaskForm", "show"]

_NUMERIC = ("money", "number", "percent")
BLANK_ROWS = 2
"""Empty rows offered at the end of a table of line items."""
_ROW = re.compile(r"^(\d{1,4})\.([A-Za-z_][A-Za-z0-9_]*)$")


class Posted(Protocol):
    """What a posted form offers (Starlette's ``FormData``)."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def keys(self) -> Any: ...


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("x-procflow-type")
    return kind if isinstance(kind, str) else "text"


def show(value: Any, schema: Mapping[str, Any] | None = None) -> str:
    """A stored value as a page shows it."""
    if value is None or value == "":
        return "—"
    kind = _kind(schema or {})
    titles = (schema or {}).get("x-procflow-titles")
    if kind == "choice" and isinstance(titles, Mapping) and isinstance(value, str):
        return str(titles.get(value, value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if kind in _NUMERIC and isinstance(value, str | int | Decimal):
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        text = f"{d:,f}"
        return f"{text} 元" if kind == "money" else (f"{text} %" if kind == "percent" else text)
    if isinstance(value, list):
        return "、".join(show(v, (schema or {}).get("items")) for v in value) or "—"
    if isinstance(value, dict):
        return "；".join(f"{k}: {show(v)}" for k, v in value.items())
    return str(value)


@dataclass
class Input:
    """One input of the form."""

    name: str
    """The form field name (``data.proposal.budget``)."""
    key: str
    """The field's id (``budget``)."""
    path: str
    """The engine's name for it in problems (``proposal.budget``)."""
    label: str
    kind: str
    required: bool
    schema: Mapping[str, Any]
    value: str = ""
    choices: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    """A choice's titles by value (``x-procflow-titles``): what each option reads."""
    error: str = ""
    hint: str = ""
    columns: list[Input] = field(default_factory=list)
    """For a table of line items: its columns (``name`` and ``path`` are the column's own)."""
    rows: list[dict[str, str]] = field(default_factory=list)
    """For a table of line items: each row's values by column."""
    cell_errors: dict[tuple[int, str], str] = field(default_factory=dict)

    @property
    def dom_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


@dataclass
class Fieldset:
    document: str
    title: str
    inputs: list[Input]


def _hint(schema: Mapping[str, Any]) -> str:
    kind = _kind(schema)
    parts = []
    if kind == "money":
        parts.append(f"金額，最多 {schema.get('x-procflow-decimals', 2)} 位小數，如 12000.50")
    elif kind in ("number", "percent"):
        parts.append("數字")
    elif kind == "date":
        parts.append("日期 YYYY-MM-DD")
    elif kind == "datetime":
        parts.append("日期時間 YYYY-MM-DDTHH:MM")
    elif kind == "user":
        parts.append("用戶 ID")
    if "x-procflow-minimum" in schema:
        parts.append(f"不少於 {schema['x-procflow-minimum']}")
    if "x-procflow-maximum" in schema:
        parts.append(f"不多於 {schema['x-procflow-maximum']}")
    return "；".join(parts)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _input(doc: str, name: str, schema: Mapping[str, Any], required: bool) -> Input:
    kind = _kind(schema)
    items = schema.get("items") if kind == "list" else None
    if isinstance(items, Mapping) and items.get("type") == "object":
        kind = "items"
    out = Input(
        name=f"data.{doc}.{name}",
        key=name,
        path=f"{doc}.{name}",
        label=str(schema.get("title") or name),
        kind=kind,
        required=required,
        schema=schema,
        hint=_hint(items if kind == "list" and isinstance(items, Mapping) else schema),
    )
    default = schema.get("default")
    if kind == "choice":
        out.choices = [str(c) for c in schema.get("enum", [])]
        titles = schema.get("x-procflow-titles")
        out.titles = (
            {str(k): str(v) for k, v in titles.items()} if isinstance(titles, Mapping) else {}
        )
    if kind == "items" and isinstance(items, Mapping):
        needed = set(items.get("required", []))
        out.columns = [
            _input(doc, col, sub, col in needed) for col, sub in items["properties"].items()
        ]
        rows = default if isinstance(default, list) else []
        out.rows = [
            {c.key: _text(r.get(c.key)) for c in out.columns}
            for r in rows
            if isinstance(r, Mapping)
        ]
        out.rows += [{} for _ in range(BLANK_ROWS)]
    elif kind == "list":
        out.value = "\n".join(_text(v) for v in default) if isinstance(default, list) else ""
        out.hint = "每行一項" + (f"；{out.hint}" if out.hint else "")
    else:
        out.value = _text(default)
    return out


def _shown(
    fields: Mapping[str, Any], values: Mapping[str, Any] | None = None
) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Each field's title, value as shown, and schema: the value from ``values`` (one
    copy of a per-person form), else the field's ``default`` (a document read)."""
    return [
        (
            str(sub.get("title") or field_name),
            show(sub.get("default") if values is None else values.get(field_name), sub),
            sub,
        )
        for field_name, sub in fields.items()
    ]


class TaskForm:
    """The form of one task (see the module docstring)."""

    def __init__(
        self, schema: Mapping[str, Any], name: Callable[[str | None], str] | None = None
    ) -> None:
        """``name`` gives a person's name from their user id (the ids themselves by default)."""
        props = schema.get("properties", {})
        self.outcomes: list[str] = list(props.get("outcome", {}).get("enum", []))
        self.fieldsets: list[Fieldset] = []
        for doc, doc_schema in props.get("data", {}).get("properties", {}).items():
            needed = set(doc_schema.get("required", []))
            inputs = [
                _input(doc, name, sub, name in needed)
                for name, sub in doc_schema.get("properties", {}).items()
            ]
            self.fieldsets.append(Fieldset(doc, str(doc_schema.get("title") or doc), inputs))
        self.context: list[tuple[str, list[tuple[str, str, Mapping[str, Any]]]]] = []
        """What the step reads: (title, [(field title, value shown, field schema)])."""
        for doc, doc_schema in props.get("context", {}).get("properties", {}).items():
            title = str(doc_schema.get("title") or doc)
            if doc_schema.get("type") == "array":  # a per-person form: each copy
                self._copies(title, doc_schema, name or (lambda user: user or ""))
            else:
                self.context.append((title, _shown(doc_schema.get("properties", {}))))
        self.errors: list[str] = []
        """Problems that belong to no input (``outcome``, a ``requires`` rule)."""

    def _copies(
        self, title: str, doc_schema: Mapping[str, Any], name: Callable[[str | None], str]
    ) -> None:
        fields = doc_schema.get("items", {}).get("properties", {})
        whose = doc_schema.get("x-procflow-copies", [])
        for values, about in zip(doc_schema.get("default", []), whose, strict=False):
            of, by = about.get("of"), about.get("by")
            person = name(of) if isinstance(of, str) else str(of or "")
            at = datetime.fromisoformat(about["at"]).strftime("%Y-%m-%d %H:%M")
            heading = f"{title}（{person or name(by)}的一份，{name(by)} {at}）"
            self.context.append((heading, _shown(fields, values)))

    def inputs(self) -> list[Input]:
        return [i for fs in self.fieldsets for i in fs.inputs]

    def read(self, posted: Posted) -> dict[str, dict[str, Any]]:
        """The data a posted form submits; the inputs keep what was typed."""
        data: dict[str, dict[str, Any]] = {}
        for fs in self.fieldsets:
            values: dict[str, Any] = {}
            for i in fs.inputs:
                key = i.key
                if i.kind == "items":
                    rows = self._rows(i, posted)
                    if rows or i.rows:
                        values[key] = rows
                    i.rows = [{k: _text(v) for k, v in r.items()} for r in rows]
                    i.rows += [{} for _ in range(BLANK_ROWS)]
                    continue
                raw = posted.get(i.name)
                raw = raw if isinstance(raw, str) else ""
                i.value = raw
                if i.kind == "list":
                    lines = [line.strip() for line in raw.splitlines()]
                    if any(lines):
                        values[key] = [line for line in lines if line]
                elif i.kind == "yesno":
                    if raw in ("true", "false"):
                        values[key] = raw == "true"
                elif i.kind in _NUMERIC and raw.strip():
                    # 1,200.50, １２００ and 85% as typed
                    values[key] = typed_number(raw, percent=i.kind == "percent")
                elif raw.strip():
                    values[key] = raw.strip() if i.kind != "text" else raw.rstrip()
            if values:
                data[fs.document] = values
        return data

    @staticmethod
    def _rows(table: Input, posted: Posted) -> list[dict[str, Any]]:
        prefix = table.name + "."
        numeric = {c.key: c.kind == "percent" for c in table.columns if c.kind in _NUMERIC}
        cells: dict[int, dict[str, str]] = {}
        for key in list(posted.keys()):
            if isinstance(key, str) and key.startswith(prefix):
                match = _ROW.match(key[len(prefix) :])
                value = posted.get(key)
                if match and isinstance(value, str) and value.strip():
                    column = match.group(2)
                    percent = numeric.get(column)
                    typed = (
                        value.strip() if percent is None else typed_number(value, percent=percent)
                    )
                    cells.setdefault(int(match.group(1)), {})[column] = typed
        return [cells[n] for n in sorted(cells)]

    def place(self, problems: Mapping[str, str], names: Names | None = None) -> None:
        """Put each problem beside its input, in Chinese (``names`` says what to call the
        steps and people it names); the rest go to `errors`."""
        by_path = {i.path: i for i in self.inputs()}
        for path, problem in problems.items():
            message = say(problem, "zh", names)
            found = by_path.get(path)
            if found is not None:
                found.error = message
                continue
            match = re.fullmatch(r"(.+)\[(\d+)\](?:\.(\w+))?", path)
            table = by_path.get(match.group(1)) if match else None
            if match and table is not None:
                if table.kind == "items" and match.group(3):
                    table.cell_errors[(int(match.group(2)), match.group(3))] = message
                else:
                    table.error = f"第 {int(match.group(2)) + 1} 項：{message}"
                continue
            self.errors.append(f"{path}: {message}" if path not in ("data",) else message)
