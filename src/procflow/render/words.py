"""The words of the diagrams: Chinese labels for rules, deadlines and documents, and wrapping.

Owns every fixed text a diagram shows (so DOT, Mermaid and HTML say the same
thing) and `wrap`, which breaks labels by display width (a CJK character is two
columns wide). Nothing here escapes: each writer escapes for its own syntax.

Imports `model`, `deadlines` and the flow's `DeadlinePlan`; never `runtime` or `cli`.
The words of each kind of step are in that kind's module (`procflow.flow.kinds`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from procflow.flow.ir import Collection, DeadlinePlan
from procflow.language.deadlines import (
    DeadlineSyntaxError,
    describe_zh,
    parse_deadline,
    parse_offset,
)
from procflow.language.model import Actor, DocumentDef

FONT = "Noto Sans CJK SC, Noto Sans CJK TC, Noto Sans, sans-serif"
"""Graphviz ``fontname`` and SVG ``font-family``: CJK first, then anything sans."""

FIXED_LABELS = {
    "signed": "",
    "reject": "駁回",
    "otherwise": "否則",
    "not needed": "不需要",
}
"""Edge labels that the flow writes in English, as the diagrams show them."""

_TOKEN = re.compile(r"\s+|[\x21-\x7e]+|.", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """``text`` without control characters (they are invalid in XML and DOT)."""
    return _CONTROL.sub("", text)


def width(text: str) -> int:
    """Display width in columns: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, columns: int = 24) -> list[str]:
    """Break ``text`` into lines of at most ``columns`` display columns.

    Latin words stay whole unless longer than a line; CJK text breaks between
    any two characters; explicit newlines are kept. Never returns no lines.
    """
    out: list[str] = []
    for paragraph in clean(text).split("\n"):
        line = ""
        for token in _TOKEN.findall(paragraph):
            if token.isspace():
                line += " " if line else ""
                continue
            # only printable ASCII tokens are longer than one character: one column each
            for i in range(0, len(token), columns):
                piece = token[i : i + columns]
                if line.strip() and width(line) + width(piece) > columns:
                    out.append(line.rstrip())
                    line = ""
                line += piece
        out.append(line.rstrip())
    return out or [""]


def actor_title(actors: Mapping[str, Actor], key: str) -> str:
    """The title of an actor key, or the key itself when unknown."""
    actor = actors.get(key)
    return actor.title if actor is not None else key


def due_words(text: str) -> str:
    """The Chinese label of a deadline text ("每月26日前"); the text itself if it does not parse."""
    try:
        return describe_zh(parse_deadline(text))
    except DeadlineSyntaxError:
        return text


def offset_words(text: str) -> str:
    """The Chinese label of an offset ("到期前1天"); the text itself if it does not parse."""
    try:
        return describe_zh(parse_offset(text))
    except DeadlineSyntaxError:
        return text


def deadline_lines(
    deadline: DeadlinePlan, actors: Mapping[str, Actor], titles: Mapping[str, str]
) -> list[str]:
    """The lines of a deadline note: due, counted from, holidays, reminders, escalation."""
    if deadline.due is not None:
        lines = [f"時限 {due_words(deadline.due_text)}"]
    else:  # a date from the form: due at the end of that day
        lines = [f"時限 {deadline.due_text} 當日"]
    if deadline.count_from == "start":
        lines.append("自流程開始起算")
    elif deadline.count_from != "open":
        lines.append(f"自「{titles.get(deadline.count_from, deadline.count_from)}」起算")
    if deadline.postpone:
        lines.append("遇假日順延")
    if deadline.reminder_texts:
        lines.append("提醒：" + "、".join(offset_words(r) for r in deadline.reminder_texts))
    if deadline.escalate is not None:
        how = "移交" if deadline.escalate.mode == "move" else "轉呈"
        lines.append(
            f"{offset_words(deadline.escalate.after_text)}{how}"
            f"{actor_title(actors, deadline.escalate.to)}"
        )
    if deadline.expire is not None:
        lines.append(f"{offset_words(deadline.expire.after_text)}自動「{deadline.expire.outcome}」")
    return lines


def document_lines(
    fills: Mapping[str, Sequence[str]],
    reads: Sequence[str],
    documents: Mapping[str, DocumentDef],
    collections: Mapping[str, Collection] | None = None,
) -> list[str]:
    """The lines of a step's document note: ``填寫《title》`` and ``參閱《title》``; a
    per-person form says so: ``填寫《title》（每人一份）``, ``參閱全部《title》（每人一份）``.

    ``fills`` as written: the fields a step names (none when it fills the whole form)."""
    kept = collections or {}
    lines: list[str] = []
    for key, fields in fills.items():
        doc = documents.get(key)
        title = doc.title if doc is not None else key
        line = f"填寫《{title}》" + (f"（{kept[key].words}）" if key in kept else "")
        if fields:
            names = [(doc.fields[f].title or f) if doc and f in doc.fields else f for f in fields]
            line += "：" + "、".join(names)
        lines.append(line)
    for key in reads:
        if key in fills:
            continue
        doc = documents.get(key)
        title = doc.title if doc is not None else key
        lines.append(
            f"參閱全部《{title}》（{kept[key].words}）" if key in kept else f"參閱《{title}》"
        )
    return lines
