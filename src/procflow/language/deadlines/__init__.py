"""Deadlines: the texts analysts write ("3 working days", "每月25日前") and their due times.

Owns the deadline values (`Relative`, `MonthlyDay`, `YearlyDate`, `Window`), the
action offsets (`Offset`), their parsers (`parse_deadline`, `parse_offset`, which
raise `DeadlineSyntaxError`, code PF410), the due-time arithmetic (`due_at`,
`window_opens`, `apply_offset`) and the short labels for diagrams (`describe`,
`describe_zh`).

Times are whatever the caller passes: naive or aware datetimes come back in the
same kind and zone. "End of a day" is 00:00 of the next day.

A package: `spec` (the values), `text` (parsing and labels), `due` (arithmetic).
Imports `diagnostics`, `errors` and `workcalendar` only; nothing here reads YAML.
"""

from __future__ import annotations

from procflow.language.deadlines.due import apply_offset, due_at, window_opens
from procflow.language.deadlines.spec import (
    AT_DUE,
    HINT,
    MAX_AMOUNT,
    MAX_TEXT,
    MONTHS,
    OFFSET_HINT,
    UNITS,
    Deadline,
    DeadlineSyntaxError,
    MonthlyDay,
    Offset,
    Relative,
    Unit,
    Window,
    YearlyDate,
)
from procflow.language.deadlines.text import describe, describe_zh, parse_deadline, parse_offset

__all__ = [
    "AT_DUE",
    "HINT",
    "MAX_AMOUNT",
    "MAX_TEXT",
    "MONTHS",
    "OFFSET_HINT",
    "UNITS",
    "Deadline",
    "DeadlineSyntaxError",
    "MonthlyDay",
    "Offset",
    "Relative",
    "Unit",
    "Window",
    "YearlyDate",
    "apply_offset",
    "describe",
    "describe_zh",
    "due_at",
    "parse_deadline",
    "parse_offset",
    "window_opens",
]
