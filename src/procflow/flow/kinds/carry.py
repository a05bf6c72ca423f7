"""What calls and hand-offs share: the documents they carry to the other process.

Not a kind of its own: `call` and `handoff` keep their carried documents as
`procflow.flow.ir.Carried` (on their common `LinkNode`) and check them here
(`check_carry`: the documents exist, PF303). Whether a required carry is
surely filled is `procflow.flow.held`; whether the other process has the
documents is `procflow.flow.links`.

Imports `context`, `layout` and the language layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from procflow.flow.context import Context
from procflow.flow.ir import Carried
from procflow.flow.layout import Placed
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import Carry
from procflow.language.source import Document, Path_


def carried(carry: Mapping[str, Carry]) -> tuple[Carried, ...]:
    return tuple(Carried(theirs, c.from_, c.optional) for theirs, c in carry.items())


def carried_words(carry: tuple[Carried, ...]) -> str:
    """``proposal、activity_plan（如有）``: what a call or hand-off carries, for diagrams."""
    return "、".join(c.ours + ("（如有）" if c.optional else "") for c in carry)


def carry_path(doc: Document, step_path: Path_, theirs: str) -> Path_:
    """Where the ``carry`` entry for ``theirs`` is written (its ``from`` when there is one)."""
    base = (*step_path, "carry")
    raw: object = doc.data
    for part in base:
        try:
            raw = raw[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return base
    if isinstance(raw, dict) and theirs in raw:
        inner = raw[theirs]
        written_from = isinstance(inner, dict) and "from" in inner
        return (*base, theirs, "from") if written_from else (*base, theirs)
    if isinstance(raw, list):
        for i, item in enumerate(raw):
            if item == theirs:
                return (*base, i)
            if isinstance(item, dict) and theirs in item:
                return (*base, i, theirs)
    return base


def check_carry(ctx: Context, placed: Placed, carry: tuple[Carried, ...]) -> Iterator[Diagnostic]:
    for c in carry:
        where = carry_path(ctx.doc, placed.path, c.theirs)
        yield from ctx.document(c.ours, where)
        if c.ours in ctx.collections:
            yield ctx.one_form(c.ours, where, "another process receives one form")
