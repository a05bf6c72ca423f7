"""Diagnostics: the one data type for every problem an analyst can cause.

Owns `Diagnostic`, `Severity`, the registry of stable codes (`CODES`) and
`did_you_mean`. Every stage (source, model, validate, expr, decisions,
scenarios) yields `Diagnostic` values; the loader collects all of them and
raises one `DefinitionError`.

Codes are stable and documented in docs/diagnostics.md (a test keeps the two
in step):

- PF1xx: YAML text (encoding, syntax, limits, duplicate keys)
- PF2xx: schema (unknown keys, wrong types, missing keys)
- PF3xx: graph and references (unknown steps/actors/documents, reachability)
- PF4xx: expressions and deadlines
- PF5xx: decision tables
- PF6xx: scenarios

Must not import any other procflow module.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any


class Severity(enum.StrEnum):
    """How serious a diagnostic is. Warnings fail only under ``--strict``."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One located problem.

    Attributes:
        file: path of the file as given by the user ("<string>" for text).
        line: 1-based line; 0 when the problem is about the path as a whole (it
            cannot be read, or is not a file), printed then as the path alone.
        column: 1-based column.
        code: stable code such as ``PF301``.
        message: plain-words description.
        hint: how to fix it, or "" when there is nothing useful to add.
        severity: error or warning.
        pointer: JSON Pointer of the node inside the document ("" = the root).
        end_line: last line of the span (defaults to ``line``).
        end_column: column after the span (defaults to ``column``).
    """

    file: str
    line: int
    column: int
    code: str
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR
    pointer: str = ""
    end_line: int = field(default=0, compare=False)
    end_column: int = field(default=0, compare=False)

    def __str__(self) -> str:
        text = f"{self.where}: {self.severity} {self.code}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    @property
    def where(self) -> str:
        """``file:line:col``, or the file alone when the problem has no line (line 0)."""
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping, as printed by ``--format json``."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line or self.line,
            "end_column": self.end_column or self.column,
            "severity": str(self.severity),
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "pointer": self.pointer,
        }


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidate, or "" when none is close."""
    matches = difflib.get_close_matches(str(word), sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else ""


def choices_hint(candidates: Iterable[str], *, limit: int = 8) -> str:
    """A hint listing what is allowed, shortened when the list is long."""
    names = sorted(set(candidates))
    if not names:
        return ""
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"expected one of {shown}{more}"


def merge_repeats(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic for each problem found at one place under several paths, with the count.

    A value written once and used in many places through aliases (``*name``)
    is checked in each place, and each check reports it at the same line and
    column; those become one diagnostic naming how often, and where.
    """
    groups: dict[tuple[Any, ...], list[Diagnostic]] = {}
    for d in diagnostics:
        key = (d.file, d.line, d.column, d.code, d.message, d.hint, d.severity)
        groups.setdefault(key, []).append(d)
    out: list[Diagnostic] = []
    for same in groups.values():
        pointers = list(dict.fromkeys(d.pointer for d in same))
        first = same[0]
        if len(pointers) < 2:
            out.extend(dict.fromkeys(same))
            continue
        shown = ", ".join(p or "/" for p in pointers[:2])
        more = f" and {len(pointers) - 2} more" if len(pointers) > 2 else ""
        out.append(
            replace(
                first,
                message=f"{first.message} (in {len(pointers)} places, through aliases: "
                f"{shown}{more})",
            )
        )
    return out


def errors(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Only the errors among ``diagnostics``."""
    return [d for d in diagnostics if d.is_error]


# The registry of codes: code -> one-line summary. docs/diagnostics.md lists
# exactly these, and tests/test_problems.py keeps the two in step.
CODES: dict[str, str] = {
    # PF1xx: the YAML text
    "PF101": "the file or folder cannot be read, is not a regular file, or is not UTF-8 text",
    "PF102": "the file is larger than a size limit (bytes, or values)",
    "PF103": "the YAML does not parse",
    "PF104": "a key appears twice in one mapping",
    "PF105": "too many aliases, or an alias expands too far (alias bomb)",
    "PF106": "the document nests too deeply",
    "PF107": "the file is empty",
    "PF108": "a YAML 1.1 boolean word (yes/no/on/off) where text was meant",
    "PF109": "tabs used for indentation",
    "PF110": "more than one YAML document in a file",
    "PF111": "a YAML tag or a non-text mapping key",
    "PF112": "an entry of a folder was skipped: a link that loops or leads nowhere, "
    "a link to a folder, a sub-folder that cannot be read, or not a regular file (warning)",
    "PF113": "no process file under a folder given",
    # PF2xx: the schema
    "PF201": "a key that the language does not know",
    "PF202": "a required key is missing",
    "PF203": "a value has the wrong type or form",
    "PF204": "the top level is not a mapping",
    "PF205": "a step has no kind, or more than one",
    "PF206": "an unsupported language version",
    "PF207": "an id or name is not a valid identifier",
    # PF3xx: graph and references
    "PF301": "a step target that is not defined",
    "PF302": "an actor that is not defined",
    "PF303": "a document that is not defined",
    "PF304": "a field that is not defined in its document",
    "PF305": "two steps share an id",
    "PF306": "a step that can never be reached",
    "PF307": "a step from which no end can be reached",
    "PF308": "a loop with no way out",
    "PF309": "a decision with fewer than two outcomes",
    "PF310": "a sign-off asks for more signers than it names",
    "PF311": "parallel branches that never join",
    "PF312": "a hand-off or call to a process that is not in the catalog",
    "PF313": "an actor that no step uses",
    "PF314": "a document that no step uses",
    "PF315": "two processes share an id",
    "PF316": "the organisation file cannot be used",
    "PF317": "a conditional branch without 'otherwise'",
    "PF318": "a four-eyes (not_by) or same-person (same_as) rule names a step that does not "
    "run before this one",
    "PF319": "a for-each over something that is not a list field or a role",
    "PF320": "documents carried to another process do not match, or may be missing",
    "PF321": "a step kind used where it is not allowed",
    "PF322": "a process calls itself, directly or through others, with no call's 'when:' "
    "to bound the depth",
    "PF323": "a default value that does not fit its field",
    "PF324": "a call or hand-off that could not be checked: the file was validated alone "
    "and the process is not beside it (warning)",
    "PF330": "a field that cannot be searched: a list field, or one named twice in 'search'",
    "PF325": "a per-person form used where one form is needed (carried, returned, filled "
    "by a decision table, gone through by for_each)",
    "PF326": "a loop limit on a way that does not lead back, or on a way written twice",
    "PF327": "a four-eyes rule or a sign-off that can leave nobody to act, by the members "
    "the organisation gives its roles (warning)",
    # PF4xx: expressions and deadlines
    "PF401": "an expression does not parse",
    "PF402": "an expression names something that is not defined",
    "PF403": "an expression does not type-check",
    "PF404": "a choice value that is not among the allowed ones",
    "PF405": "an expression is too long or too deeply nested",
    "PF406": "a condition that is not yes/no",
    "PF407": "a name or function that is not allowed in expressions",
    "PF408": "a per-person form read as if it were one form, without saying which copy",
    "PF410": "a deadline that cannot be parsed",
    "PF411": "a deadline action that does not fit the step",
    "PF412": "a schedule that cannot be read or does not fit",
    # PF5xx: decision tables
    "PF501": "a rule cell does not parse",
    "PF502": "inputs that no rule covers (gap)",
    "PF503": "rules overlap under the unique hit policy",
    "PF504": "a cell or output that does not fit its declared type",
    "PF505": "a rule that can never match under the first hit policy",
    "PF506": "a table with no rules",
    "PF507": "an unknown hit policy or aggregation",
    "PF508": "scorecard weights do not add up to 100%",
    "PF509": "a decision table that is not defined",
    "PF510": "a rule has the wrong number of cells",
    "PF511": "a table input or output is referenced but not declared",
    "PF512": "a hit policy, aggregation or scorecard that does not fit the table",
    "PF513": "two decision tables share an id (or the function name made from it)",
    "PF514": "decision tables that call each other in a circle",
    "PF515": "an apply: that does not give an input the table needs",
    "PF516": "a value given to a table at evaluation is missing or does not fit",
    "PF517": "a table too irregular to check every combination of inputs (warning)",
    "PF518": "a threshold or deadline that reads its notes' 以上, 以下 or 之前 the other way "
    "(warning)",
    # PF6xx: scenarios
    "PF601": "a scenario refers to something that is not in its process",
    "PF602": "a scenario expectation failed",
}
