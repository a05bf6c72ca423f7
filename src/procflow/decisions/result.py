"""The result of evaluating a decision table: `Decision` and its `Match` lines.

A `Decision` carries the outputs and, for the person appraised, why: which
rules matched and on what values (``rule 2: score 89 >= 70 → grade B``), and
under ``first`` why the rules before did not. `Decision.explain` is what
``procflow decide`` prints; `Decision.to_dict` what ``--format json`` prints
(numbers as exact decimal text).

Imports `columns` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from procflow.decisions.columns import show_value


@dataclass(frozen=True)
class Match:
    """A rule (or scorecard item) that contributed, and why.

    Attributes:
        rule: its number, counting from 1 in written order.
        why: one phrase per tested input, e.g. ``score 89 in [70..90)``.
        outputs: what this rule gave.
        note: the rule's ``note:``, or the item's title.
    """

    rule: int
    why: tuple[str, ...]
    outputs: dict[str, Any]
    note: str = ""
    item: bool = False
    """True for a scorecard item (``rule`` is then the item's number)."""

    def __str__(self) -> str:
        if self.item:
            return f"item {self.rule}: {', '.join(self.why)}"
        reason = ", ".join(self.why) or "every input"
        given = ", ".join(f"{k} {show_value('', v)}" for k, v in self.outputs.items())
        note = f" ({self.note})" if self.note else ""
        return f"rule {self.rule}: {reason} → {given}{note}"


@dataclass(frozen=True)
class Decision:
    """The result of `decide`: the outputs and the rules that gave them.

    Attributes:
        table: the table id, e.g. ``MBO-GRADE``.
        title: the table's title.
        inputs: every input as used (defaults filled in).
        outputs: output name → value (a tuple per output under ``collect``
            without ``aggregate``).
        matched: the rules that matched, in written order (for ``first`` and
            ``priority``, only the one that decided); a scorecard's items.
        unmatched: under ``first``, why each rule before the one that decided
            did not match: ``rule 1: absent true, not false``.
    """

    table: str
    title: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    matched: tuple[Match, ...]
    unmatched: tuple[str, ...] = ()

    def __getitem__(self, output: str) -> Any:
        return self.outputs[output]

    def explain(self) -> str:
        """The decision in lines of text, as ``procflow decide`` prints it."""
        lines = [f"{self.table} {self.title}".rstrip()]
        lines += [f"  {k} = {show_value('', v)}" for k, v in self.outputs.items()]
        lines.append("matched:" if self.matched else "matched: no rule (the default applies)")
        lines += [f"  {m}" for m in self.matched]
        if self.unmatched:
            lines.append("not matched:")
            lines += [f"  {u}" for u in self.unmatched]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: numbers as exact decimal text, dates as ISO text."""
        return {
            "table": self.table,
            "title": self.title,
            "inputs": {k: _json(v) for k, v in self.inputs.items()},
            "outputs": {k: _json(v) for k, v in self.outputs.items()},
            "matched": [
                {
                    "rule": m.rule,
                    "why": list(m.why),
                    "outputs": {k: _json(v) for k, v in m.outputs.items()},
                    "note": m.note,
                }
                for m in self.matched
            ],
            "unmatched": list(self.unmatched),
        }


def _json(value: Any) -> Any:
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    return str(value.isoformat() if hasattr(value, "isoformat") else value)
