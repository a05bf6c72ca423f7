"""How much room a line of text takes in a diagram: the measure its layout is made with.

procflow lays diagrams out itself (`render.arrange`), so it must know how wide
Graphviz (through pango) and a browser will draw every line. Both draw with
Noto Sans CJK SC, the first family of `render.words.FONT`; its advance widths
are in `render.fontwidths` (generated from the font by ``scripts/font-widths``).
A line is as wide as the sum of its characters' advances; pango's kerning and a
browser's rounding at small sizes are why `SLACK` is added on top.

Lines are set at a fixed pitch (`pitch`): each line of a label is a table row of
that height, so text never sits closer than that to the line above, whatever
the renderer thinks the font's line height is.

Imports `render.fontwidths` only.
"""

from __future__ import annotations

import math

from procflow.render import fontwidths

EM = 1000
LEADING = 1.3
"""A line's pitch over its font size: the ideographs fill 0.92 em, the rest is air."""
ASCENT = 0.88
"""How far above the baseline ink reaches, in ems (Noto Sans CJK's ideographic top)."""
DESCENT = 0.22
"""How far below the baseline ink reaches, in ems (Latin descenders; ideographs 0.12)."""
SLACK = 1.04
"""Room added to every measured width for kerning and rounding."""


def _table(runs: str) -> dict[int, int]:
    widths: dict[int, int] = {}
    for run in runs.split(";"):
        start, count, advance = (int(x, 16) for x in run.split(","))
        widths.update(dict.fromkeys(range(start, start + count), advance))
    return widths


_WIDTHS = {False: _table(fontwidths.REGULAR), True: _table(fontwidths.BOLD)}


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The advance width of ``text`` at ``size`` points, in points (no slack)."""
    table = _WIDTHS[bold]
    return sum(table.get(ord(c), EM) for c in text) * size / EM


def pitch(size: float) -> int:
    """The height of a line of text at ``size`` points: whole points, for Graphviz."""
    return math.ceil(size * LEADING)
