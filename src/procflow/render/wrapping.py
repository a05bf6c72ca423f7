"""Breaking labels into lines: by display width, never before a closing bracket.

Owns `wrap` (a CJK character is two columns wide; Latin words stay whole; a
closing bracket or mark never begins a line and an opening one never ends
one, as Chinese typesetting wants), `width` and `clean` (no control
characters, which XML and DOT refuse). Imports nothing from procflow.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"\s+|[\x21-\x7e]+|.", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """``text`` without control characters (they are invalid in XML and DOT)."""
    return _CONTROL.sub("", text)


def width(text: str) -> int:
    """Display width in columns: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


NO_START = frozenset(
    "）」』》〉】〕］｝〗〙〛”’、。，．：；！？・‧…‥ー々〜～%‰℃"  # a line never starts with these
    ")]},.;:!?"
)
"""Closing brackets and punctuation: never the first character of a line (禁則)."""
NO_END = frozenset("（「『《〈【〔［｛〖〘〚“‘([{")
"""Opening brackets: never the last character of a line."""


def _pieces(paragraph: str, columns: int) -> list[str]:
    """The unbreakable pieces of a line: a space, a run of printable ASCII (cut at
    ``columns``), or one other character."""
    out: list[str] = []
    for token in _TOKEN.findall(paragraph):
        if token.isspace():
            out.append(" ")
        else:  # only printable ASCII tokens are longer than one character: one column each
            out.extend(token[i : i + columns] for i in range(0, len(token), columns))
    return out


def _carry(line: list[str], piece: str, columns: int) -> list[str]:
    """What moves from the end of a full ``line`` to the next one with ``piece``: the
    characters a closing mark must not be parted from, and a dangling opening bracket."""
    moved: list[str] = []
    if piece in NO_START:  # （第1次退回 / ） would start a line with the bracket
        while len(line) > 1 and line[-1] != " " and (not moved or moved[0] in NO_START):
            moved.insert(0, line.pop())
    while len(line) > 1 and line[-1] in NO_END:
        moved.insert(0, line.pop())
    if width("".join([*moved, piece])) > columns:  # nothing to gain: break as it comes
        line.extend(moved)
        return []
    return moved


def wrap(text: str, columns: int = 24) -> list[str]:
    """Break ``text`` into lines of at most ``columns`` display columns.

    Latin words stay whole unless longer than a line; CJK text breaks between
    any two characters, except that a closing bracket or mark (`NO_START`)
    never begins a line and an opening one (`NO_END`) never ends one: the
    characters next to it move to the next line with it. Explicit newlines are
    kept. Never returns no lines.
    """
    out: list[str] = []
    for paragraph in clean(text).split("\n"):
        line: list[str] = []
        for piece in _pieces(paragraph, columns):
            if piece == " ":
                if line:
                    line.append(piece)
                continue
            if "".join(line).strip() and width("".join(line)) + width(piece) > columns:
                moved = _carry(line, piece, columns)
                out.append("".join(line).rstrip())
                line = moved
            line.append(piece)
        out.append("".join(line).rstrip())
    return out or [""]
