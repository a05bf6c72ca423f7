"""Exact intervals over `Decimal`: the sets that number, percent, money and date cells stand for.

Bounds are `Decimal` values, the infinities included, each open or closed,
so ``[70..90)`` and ``>= 90`` meet without a gap or an overlap and nothing is
ever rounded. Whole-number inputs (counts, dates as day numbers) are mapped
by `to_whole` to half-open intervals ``[a, b)`` with whole ends, on which the
same dense reasoning gives the whole-number answer: ``[0..5]`` and ``[6..10]``
become ``[0, 6)`` and ``[6, 11)``, which touch.

Imports nothing from procflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

NEG_INF = Decimal("-Infinity")
POS_INF = Decimal("Infinity")
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Interval:
    """The numbers between ``lo`` and ``hi``; each end is included when closed."""

    lo: Decimal
    hi: Decimal
    lo_closed: bool = True
    hi_closed: bool = True

    @property
    def empty(self) -> bool:
        if self.lo > self.hi:
            return True
        if self.lo == self.hi:
            return not (self.lo_closed and self.hi_closed and self.lo.is_finite())
        return False

    def contains(self, x: Decimal) -> bool:
        if x < self.lo or (x == self.lo and not self.lo_closed):
            return False
        return not (x > self.hi or (x == self.hi and not self.hi_closed))

    def intersect(self, other: Interval) -> Interval:
        if self.lo > other.lo:
            lo, lo_closed = self.lo, self.lo_closed
        elif self.lo < other.lo:
            lo, lo_closed = other.lo, other.lo_closed
        else:
            lo, lo_closed = self.lo, self.lo_closed and other.lo_closed
        if self.hi < other.hi:
            hi, hi_closed = self.hi, self.hi_closed
        elif self.hi > other.hi:
            hi, hi_closed = other.hi, other.hi_closed
        else:
            hi, hi_closed = self.hi, self.hi_closed and other.hi_closed
        return Interval(lo, hi, lo_closed, hi_closed)


EVERYTHING = Interval(NEG_INF, POS_INF, False, False)


def point(x: Decimal) -> Interval:
    return Interval(x, x, True, True)


def below(x: Decimal, *, closed: bool) -> Interval:
    return Interval(NEG_INF, x, False, closed)


def above(x: Decimal, *, closed: bool) -> Interval:
    return Interval(x, POS_INF, closed, False)


def _touches(left: Interval, right: Interval) -> bool:
    """Whether ``right`` (starting at or after ``left``) overlaps or meets ``left``."""
    return right.lo < left.hi or (right.lo == left.hi and (left.hi_closed or right.lo_closed))


def normalize(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """The same set as sorted, disjoint, non-touching, non-empty intervals."""
    items = sorted((i for i in intervals if not i.empty), key=lambda i: (i.lo, not i.lo_closed))
    out: list[Interval] = []
    for iv in items:
        if out and _touches(out[-1], iv):
            last = out[-1]
            if iv.hi > last.hi or (iv.hi == last.hi and iv.hi_closed and not last.hi_closed):
                out[-1] = Interval(last.lo, iv.hi, last.lo_closed, iv.hi_closed)
            continue
        out.append(iv)
    return tuple(out)


def complement(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Every number not in ``intervals``."""
    out: list[Interval] = []
    lo, lo_closed = NEG_INF, False
    for iv in normalize(intervals):
        gap = Interval(lo, iv.lo, lo_closed, not iv.lo_closed)
        if not gap.empty:
            out.append(gap)
        lo, lo_closed = iv.hi, not iv.hi_closed
    tail = Interval(lo, POS_INF, lo_closed, False)
    if not tail.empty:
        out.append(tail)
    return tuple(out)


def clip(intervals: Iterable[Interval], domain: Interval) -> tuple[Interval, ...]:
    """``intervals`` within ``domain``."""
    return normalize(iv.intersect(domain) for iv in intervals)


def to_whole(iv: Interval) -> Interval:
    """The whole numbers in ``iv``, as the half-open ``[a, b)`` with whole ends (maybe empty)."""
    a = NEG_INF
    if iv.lo.is_finite():
        a = _ceil(iv.lo) if iv.lo_closed else _floor(iv.lo) + _ONE
    if iv.hi.is_finite():
        b = (_floor(iv.hi) if iv.hi_closed else _ceil(iv.hi) - _ONE) + _ONE
    else:
        b = POS_INF
    return Interval(a, b, a.is_finite(), False)


def _ceil(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_CEILING)


def _floor(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_FLOOR)


def describe(iv: Interval, show: Callable[[Decimal], str], *, whole: bool = False) -> str:
    """``iv`` as a cell would write it: ``< 60``, ``>= 90``, ``= 5``, ``[70..90)``.

    With ``whole``, ``iv`` is a half-open ``[a, b)`` from `to_whole` and is
    written as the whole numbers it holds: ``[a..b-1]``.
    """
    if whole:
        lo, hi = iv.lo, iv.hi - _ONE if iv.hi.is_finite() else POS_INF
        if not lo.is_finite() and not hi.is_finite():
            return "any value"
        if not lo.is_finite():
            return f"<= {show(hi)}"
        if not hi.is_finite():
            return f">= {show(lo)}"
        return f"= {show(lo)}" if lo == hi else f"[{show(lo)}..{show(hi)}]"
    if not iv.lo.is_finite() and not iv.hi.is_finite():
        return "any value"
    if not iv.lo.is_finite():
        return f"{'<=' if iv.hi_closed else '<'} {show(iv.hi)}"
    if not iv.hi.is_finite():
        return f"{'>=' if iv.lo_closed else '>'} {show(iv.lo)}"
    if iv.lo == iv.hi:
        return f"= {show(iv.lo)}"
    left = "[" if iv.lo_closed else "("
    right = "]" if iv.hi_closed else ")"
    return f"{left}{show(iv.lo)}..{show(iv.hi)}{right}"
