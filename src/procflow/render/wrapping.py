"""Breaking labels into lines: by display width, never before a closing bracket.

Owns `wrap` (a CJK character is two columns wide; Latin words and 《titles》
that fit on a line stay whole; a closing bracket or mark never begins a line
and an opening one never ends one, as Chinese typesetting wants), `balanced`
(the same lines, as even as they can be, so that no word is left alone on the
last one), `width` and `clean` (no control characters, which XML and DOT
refuse). Imports nothing from procflow.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

_TOKEN = re.compile(r"\s+|[\x21-\x7e]+|.", re.DOTALL)
_TITLE = re.compile(r"《[^《》\s]+》")
"""A title in its brackets (《項目可行性分析報告》): kept on one line when it fits."""
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
    ``columns``), a title in 《》 that fits on a line (a document's name is not parted:
    《項目可行性分析報告》, not 《項目可行性分析報 / 告》), or one other character."""
    out: list[str] = []
    at = 0
    for title in _TITLE.finditer(paragraph):
        rest = paragraph[title.end() :]
        marks = rest[: len(rest) - len(rest.lstrip("".join(NO_START)))]
        if width(title[0] + marks) <= columns:  # with the marks that must follow it
            out += _plain(paragraph[at : title.start()], columns)
            out.append(title[0])
            at = title.end()
    return out + _plain(paragraph[at:], columns)


def _plain(text: str, columns: int) -> list[str]:
    out: list[str] = []
    for token in _TOKEN.findall(text):
        if token.isspace():
            out.append(" ")
        else:  # only printable ASCII tokens are longer than one character: one column each
            out.extend(token[i : i + columns] for i in range(0, len(token), columns))
    return out


def _carry(line: list[str], piece: str, columns: int) -> list[str]:
    """What moves from the end of a full ``line`` to the next one with ``piece``: the
    characters a closing mark must not be parted from, and a dangling opening bracket;
    else what follows the line's last space, if that space is in its second half (第二篇
    市場部 breaks at the space, not inside 市場部)."""
    moved: list[str] = []
    if piece in NO_START:  # （第1次退回 / ） would start a line with the bracket
        while len(line) > 1 and line[-1] != " " and (not moved or moved[0] in NO_START):
            moved.insert(0, line.pop())
        if moved[:1] and moved[0] in NO_START and all(c in NO_START for c in line):
            # inside a run of marks wider than a line: break as it comes
            line.extend(moved)
            return []
    while len(line) > 1 and line[-1] in NO_END:
        moved.insert(0, line.pop())
    if width("".join([*moved, piece])) > columns:  # nothing to gain: break as it comes
        line.extend(moved)
        return []
    if not moved and " " in line:  # a space the writer put in the second half: break there
        space = len(line) - 1 - line[::-1].index(" ")
        if width("".join(line[:space])) * 2 >= columns:
            moved = line[space + 1 :]
            del line[space:]
    return moved


def wrap(text: str, columns: int = 24) -> list[str]:
    """Break ``text`` into lines of at most ``columns`` display columns.

    Latin words stay whole unless longer than a line, and so does a title in 《》;
    CJK text breaks between any two characters, except that a closing bracket or mark (`NO_START`)
    never begins a line and an opening one (`NO_END`) never ends one: the
    characters next to it move to the next line with it. A line breaks at its
    last space instead when that space is in its second half. Explicit newlines
    are kept. Never returns no lines.
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


def balanced(text: str, columns: int = 24) -> list[str]:
    """``text`` in no more lines than `wrap` makes at ``columns``, as even as they can be.

    Each paragraph is wrapped at the narrowest width that needs no more lines, so a
    title does not leave a character alone on its last line (申訴人是否接受答 / 復
    becomes 申訴人是否 / 接受答復, 總經理簽批（預算 / 外） becomes 總經理簽批 /
    （預算外））; but a wider one whose lines end after more pauses (、，) or before
    more opening brackets wins (調研結果分析、 / 確認). The rules of `wrap` hold, and
    no line is wider than ``columns``.
    """
    out: list[str] = []
    for paragraph in clean(text).split("\n"):
        greedy = wrap(paragraph, columns)
        if len(greedy) < 2:
            out.extend(greedy)
            continue
        word = max(width(piece) for piece in _pieces(paragraph, columns))  # kept whole
        narrowest = max(2, word, -(-width(paragraph) // len(greedy)))
        tried = (wrap(paragraph, narrow) for narrow in range(narrowest, columns))
        # a narrower width may part a run of marks (a、、、、、 / 《a) or a 《title》 with
        # the marks after it (a《、 / 「》、) that `wrap` keeps whole at ``columns``: such a
        # candidate is not taken
        whole = [t for t in _TITLE.findall(paragraph) if any(t in line for line in greedy)]
        fits = [
            found
            for found in tried
            if len(found) <= len(greedy)
            and not any(line[:1] in NO_START for line in found[1:])
            and all(any(t in line for line in found) for t in whole)
        ]
        best = max([*fits, greedy], key=_clean_breaks)  # on a tie, the narrowest
        out.extend(best)
    return out


_BREAK_AFTER = frozenset("、，。：；！？）」』》〉】,;:")
"""Where a line ends well: after a pause or a closing bracket."""


def _clean_breaks(lines: list[str]) -> int:
    """How many of the breaks between ``lines`` fall after a pause or a closing mark, or
    before an opening one (分析、 / 確認, not 分 / 析、確認)."""
    return sum(1 for a, b in itertools.pairwise(lines) if a[-1:] in _BREAK_AFTER or b[:1] in NO_END)
