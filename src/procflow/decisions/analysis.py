"""Gaps, overlaps and unreachable rules, found exactly by a sweep over the inputs.

Each input's domain is cut into *atoms*, the coarsest pieces on which every
cell is either true or false: for numbers and dates the points where some
cell's interval starts or ends and the open stretches between them; for
choices and yes/no their values; for text the values some cell names plus
"any other text". Rules are swept one input at a time: the first input's
atoms are grouped by the set of rules that match there, and each group is
explored on the next input with only those rules, and so on. Results are
memoised on (input, set of rules), so tables with many similar rows (1,000
bands, or a grid of regions × amounts) explore each distinct set once.

On the last input no sets are built: a sweep keeps the number of matching
rules (zero is a gap) and, in a heap, the first of them (the rule ``first``
picks, so every rule that is never first is unreachable); under ``unique``
a range-minimum table over those first rules finds, for each rule, the
earliest rule it overlaps. That keeps two-input tables at O(n log n) per
group of the first input.

Everything is exact: bounds are `Decimal` with open and closed ends;
whole-number inputs and dates use `intervals.to_whole`. Places are described
only when a problem is reported (`Segment.text`).

Imports `intervals`, `columns`, `cells`.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from procflow.decisions.cells import UnaryTest, universe_of
from procflow.decisions.columns import InputColumn
from procflow.decisions.intervals import NEG_INF, POS_INF, Interval, clip, describe, to_whole

MAX_GAPS = 5
"""Gaps reported per table (and places named per gap); the last message counts the rest."""
MAX_PARTNERS = 3
"""Earlier rules named per unreachable or conflicting rule."""
MAX_WORK = 3_000_000
"""Atoms a table may take to sweep. Banded and grid tables of 1,000 rules take
a few thousand; only rules that overlap at random in three or more inputs get
near, and are then checked as far as this goes (`Findings.complete` is False)."""
OTHER_TEXT = object()
"""The atom of text inputs that stands for every text no cell names."""


@dataclass(frozen=True, eq=False)
class _Dim:
    column: InputColumn
    domain: Interval
    """Ordered inputs: every key they may take (whole-number form when ``column.whole``)."""
    universe: tuple[Any, ...]
    """Other inputs: every value (text: the named ones and `OTHER_TEXT`)."""


@dataclass(frozen=True, eq=False)
class Segment:
    """A part of one input's domain, described only when a message needs it."""

    dim: _Dim
    atoms: tuple[Any, ...]
    """Ordered inputs: atom numbers into ``points``; others: values."""
    points: tuple[Any, ...] = ()

    def text(self) -> str:
        column = self.dim.column
        if not column.ordered:
            values = list(self.atoms)
            if values == [OTHER_TEXT]:
                return f"{column.name} is any other text"
            shown = [("any other text" if v is OTHER_TEXT else column.show(v)) for v in values]
            if len(shown) > 2 * MAX_GAPS:
                shown = [*shown[: 2 * MAX_GAPS], f"... ({len(shown) - 2 * MAX_GAPS} more)"]
            if len(shown) == 1:
                return f"{column.name} = {shown[0]}"
            return f"{column.name} in {', '.join(shown)}"
        runs: list[Interval] = []
        start = prev = self.atoms[0]
        for atom in [*self.atoms[1:], None]:
            if atom is not None and atom == prev + 1:
                prev = atom
                continue
            a, b = _atom(self.points, start), _atom(self.points, prev)
            runs.append(Interval(a.lo, b.hi, a.lo_closed, b.hi_closed))
            if atom is not None:
                start = prev = atom
        phrases = []
        for run in runs[:MAX_GAPS]:
            words = describe(run, column.show_key, whole=column.whole)
            phrases.append(f"{column.name} {'in ' if words[0] in '[(' else ''}{words}")
        more = f" (and {len(runs) - MAX_GAPS} more)" if len(runs) > MAX_GAPS else ""
        return " or ".join(phrases) + more


Region = tuple[Segment, ...]
"""A place in the input space: one segment per input that is not 'any value'."""


def region_text(region: Region) -> str:
    """A region in words: ``score in (89..90) and grade = B``."""
    return " and ".join(s.text() for s in region) if region else "every input"


@dataclass
class Findings:
    """What the sweep found. Rule indexes count from 0."""

    gaps: list[Region] = field(default_factory=list)
    gap_count: int = 0
    overlaps: dict[int, dict[int, Region]] = field(default_factory=dict)
    """Later rule → an earlier rule it shares inputs with → one place where they do."""
    conflicts: dict[int, dict[int, Region]] = field(default_factory=dict)
    """Under ``any``: later rule → earlier overlapping rules with other outputs."""
    winners: set[int] = field(default_factory=set)
    """Rules that are the first match somewhere (the others never decide under ``first``)."""
    shadows: dict[int, list[int]] = field(default_factory=dict)
    """Each rule that never comes first → earlier rules that match where it does."""
    complete: bool = True
    """False when the sweep stopped at `MAX_WORK`: what it found holds, but there may be more
    (and ``winners`` is then partial, so nothing can be said to be unreachable)."""

    def merge(self, other: Findings, prefix: Segment | None) -> None:
        def place(region: Region) -> Region:
            return region if prefix is None else (prefix, *region)

        for gap in other.gaps:
            if len(self.gaps) < MAX_GAPS:
                self.gaps.append(place(gap))
        self.gap_count += other.gap_count
        for target, source in ((self.overlaps, other.overlaps), (self.conflicts, other.conflicts)):
            for later, partners in source.items():
                mine = target.setdefault(later, {})
                for earlier, region in partners.items():
                    if earlier not in mine and len(mine) < MAX_PARTNERS:
                        mine[earlier] = place(region)


def _atom(points: Sequence[Any], atom: int) -> Interval:
    """Atom 2k+1 is the point ``points[k]``; atom 2k the open stretch before it."""
    if atom % 2:
        p = points[atom // 2]
        return Interval(p, p, True, True)
    lo = points[atom // 2 - 1] if atom else NEG_INF
    hi = points[atom // 2] if atom // 2 < len(points) else POS_INF
    return Interval(lo, hi, False, False)


def _first_atom(index: dict[Any, int], iv: Interval) -> int:
    return 0 if not iv.lo.is_finite() else 2 * index[iv.lo] + (1 if iv.lo_closed else 2)


def _last_atom(index: dict[Any, int], iv: Interval, count: int) -> int:
    return 2 * count if not iv.hi.is_finite() else 2 * index[iv.hi] + (1 if iv.hi_closed else 0)


class _Sweep:
    def __init__(
        self,
        columns: Sequence[InputColumn],
        rows: Sequence[Sequence[UnaryTest]],
        *,
        policy: str,
        outputs: Sequence[Hashable] | None,
    ) -> None:
        self.policy = policy
        self.outputs = outputs
        self.dims: list[_Dim] = []
        # cells[r][d]: None for '-', else intervals (ordered) or a frozenset of values
        self.cells: list[list[Any]] = [[] for _ in rows]
        for d, column in enumerate(columns):
            if column.ordered:
                domain = to_whole(column.domain()) if column.whole else column.domain()
                self.dims.append(_Dim(column, domain, ()))
                for r, row in enumerate(rows):
                    t = row[d]
                    self.cells[r].append(None if t.any else _ordered_cell(column, t))
                continue
            universe = universe_of(column)
            if universe is None:  # text: the values some cell names, and all other text
                named = {v for row in rows for v in row[d].values}
                universe = (*sorted(named), OTHER_TEXT)
            self.dims.append(_Dim(column, Interval(NEG_INF, POS_INF, False, False), universe))
            for r, row in enumerate(rows):
                t = row[d]
                self.cells[r].append(None if t.any else _discrete_cell(t, universe))
        self.memo: dict[tuple[int, frozenset[int]], Findings] = {}
        self.winners: set[int] = set()
        self.overlapping: set[int] = set()
        self.work = 0

    # -- one ordered input ------------------------------------------------------------
    def _atoms(
        self, d: int, active: frozenset[int]
    ) -> tuple[tuple[Any, ...], list[tuple[int, int, int]], int, int]:
        """The points, each rule's atom spans, and the first and last atom inside the domain."""
        dim = self.dims[d]
        spans: list[tuple[int, Interval]] = []
        points: set[Any] = {x for x in (dim.domain.lo, dim.domain.hi) if x.is_finite()}
        for r in active:
            cell = self.cells[r][d]
            for iv in (dim.domain,) if cell is None else cell:
                spans.append((r, iv))
                points.update(x for x in (iv.lo, iv.hi) if x.is_finite())
        ordered = tuple(sorted(points))
        index = {p: i for i, p in enumerate(ordered)}
        n = len(ordered)
        self.work += 2 * n + 1 + len(spans)
        atom_spans = [(r, _first_atom(index, iv), _last_atom(index, iv, n)) for r, iv in spans]
        return ordered, atom_spans, _first_atom(index, dim.domain), _last_atom(index, dim.domain, n)

    def _split_ordered(
        self, d: int, active: frozenset[int]
    ) -> list[tuple[Segment, frozenset[int]]]:
        dim = self.dims[d]
        ordered, spans, first, last = self._atoms(d, active)
        adds: dict[int, list[int]] = defaultdict(list)
        drops: dict[int, list[int]] = defaultdict(list)
        for r, lo, hi in spans:
            adds[lo].append(r)
            drops[hi + 1].append(r)
        groups: dict[frozenset[int], list[int]] = defaultdict(list)
        current: set[int] = set()
        snapshot: frozenset[int] = frozenset()
        for atom in range(last + 1):
            changed = False
            for r in drops.get(atom, ()):
                current.discard(r)
                changed = True
            for r in adds.get(atom, ()):
                current.add(r)
                changed = True
            if changed:
                snapshot = frozenset(current)
            if atom >= first:
                groups[snapshot].append(atom)
        return [(Segment(dim, tuple(atoms), ordered), hit) for hit, atoms in groups.items()]

    def _last_ordered(self, d: int, active: frozenset[int], found: Findings) -> None:
        """The last input, by counting: gaps, the first rule of each atom, overlaps."""
        dim = self.dims[d]
        ordered, spans, first, last = self._atoms(d, active)
        starts: dict[int, list[int]] = defaultdict(list)
        ends: dict[int, list[int]] = defaultdict(list)
        for r, lo, hi in spans:
            starts[lo].append(r)
            ends[hi + 1].append(r)
        current: set[int] = set()
        heap: list[int] = []
        empty: list[int] = []
        firsts: list[int] = []  # the first matching rule of each atom from `first`, -1 for none
        crowded = False
        for atom in range(last + 1):
            for r in ends.get(atom, ()):
                current.discard(r)
            for r in starts.get(atom, ()):
                current.add(r)
                heapq.heappush(heap, r)
            if atom < first:
                continue
            while heap and heap[0] not in current:
                heapq.heappop(heap)
            if not heap:
                empty.append(atom)
                firsts.append(-1)
                continue
            self.winners.add(heap[0])
            firsts.append(heap[0])
            crowded = crowded or len(current) > 1
        if empty:
            found.gap_count += 1
            found.gaps.append((Segment(dim, tuple(empty), ordered),))
        if crowded and self.policy == "unique":
            self._ordered_overlaps(dim, ordered, spans, first=first, firsts=firsts, found=found)

    def _ordered_overlaps(
        self,
        dim: _Dim,
        ordered: tuple[Any, ...],
        spans: list[tuple[int, int, int]],
        *,
        first: int,
        firsts: list[int],
        found: Findings,
    ) -> None:
        """Each rule that an earlier rule shadows on some atom: one overlap per rule.

        Args:
            dim: The input.
            ordered: Its points (as `_atoms` gives them).
            spans: (rule, first atom, last atom) of each active rule.
            first: The first atom counted.
            firsts: The first matching rule of each atom from `first`, -1 for none.
            found: Where the overlaps go.
        """
        big = len(self.cells)
        firsts = [big if f < 0 else f for f in firsts]
        for r, lo, hi in spans:
            if r in self.overlapping:
                continue  # one overlap per rule is reported, found once
            start, stop = max(lo, first) - first, hi - first + 1
            if start >= stop:
                continue
            part = firsts[start:stop]
            earliest = min(part)
            if earliest < r:
                atom = start + part.index(earliest) + first
                found.overlaps[r] = {earliest: (Segment(dim, (atom,), ordered),)}
                self.overlapping.add(r)

    # -- exploring ----------------------------------------------------------------------
    def split(self, d: int, active: frozenset[int]) -> list[tuple[Segment | None, frozenset[int]]]:
        """The groups of this input's atoms with the same matching rules."""
        dim = self.dims[d]
        if all(self.cells[r][d] is None for r in active):
            return [(None, active)]
        if dim.column.ordered:
            found: list[tuple[Segment | None, frozenset[int]]] = []
            found.extend(self._split_ordered(d, active))
        else:
            groups: dict[frozenset[int], list[Any]] = defaultdict(list)
            self.work += len(dim.universe) * len(active)
            for v in dim.universe:
                hit = frozenset(
                    r for r in active if self.cells[r][d] is None or v in self.cells[r][d]
                )
                groups[hit].append(v)
            found = [(Segment(dim, tuple(vs)), hit) for hit, vs in groups.items()]
        return [(None, found[0][1])] if len(found) == 1 else found

    def explore(self, d: int, active: frozenset[int]) -> Findings:
        key = (d, active)
        found = self.memo.get(key)
        if found is not None:
            return found
        found = Findings()
        if self.work > MAX_WORK:
            found.complete = False
        elif d == len(self.dims):
            self._leaf(active, found)
        elif (
            d == len(self.dims) - 1
            and self.dims[d].column.ordered
            and self.policy != "any"
            and any(self.cells[r][d] is not None for r in active)
        ):
            self._last_ordered(d, active, found)
        else:
            for segment, hit in self.split(d, active):
                if not hit:
                    found.gap_count += 1
                    if len(found.gaps) < MAX_GAPS:
                        found.gaps.append(() if segment is None else (segment,))
                    continue
                found.merge(self.explore(d + 1, hit), segment)
        if self.work > MAX_WORK:
            found.complete = False
        self.memo[key] = found
        return found

    def _leaf(self, active: frozenset[int], found: Findings) -> None:
        self.winners.add(min(active))
        self.work += len(active)
        if len(active) < 2 or self.policy not in ("unique", "any"):
            return
        order = sorted(active)
        for i, later in enumerate(order[1:], 1):
            if self.policy == "unique":
                if later not in self.overlapping:
                    found.overlaps[later] = {order[0]: ()}
                    self.overlapping.add(later)
            elif self.outputs is not None:
                differ = [e for e in order[:i] if self.outputs[e] != self.outputs[later]]
                if differ:
                    found.conflicts[later] = dict.fromkeys(differ[:MAX_PARTNERS], ())

    # -- afterwards ---------------------------------------------------------------------
    def meet(self, a: int, b: int) -> bool:
        """Whether rules ``a`` and ``b`` match some input together."""
        for ca, cb in zip(self.cells[a], self.cells[b], strict=True):
            if ca is None or cb is None:
                continue
            if isinstance(ca, frozenset):
                if not ca & cb:
                    return False
            elif not any(not x.intersect(y).empty for x in ca for y in cb):
                return False
        return True


def _ordered_cell(column: InputColumn, test: UnaryTest) -> tuple[Interval, ...]:
    inside = clip(test.intervals, column.domain())
    if column.whole:
        return tuple(w for w in (to_whole(iv) for iv in inside) if not w.empty)
    return inside


def _discrete_cell(test: UnaryTest, universe: tuple[Any, ...]) -> frozenset[Any]:
    return frozenset(
        v
        for v in universe
        if (test.complement if v is OTHER_TEXT else (v in test.values) != test.complement)
    )


def analyse(
    columns: Sequence[InputColumn],
    rows: Sequence[Sequence[UnaryTest]],
    *,
    policy: str = "unique",
    outputs: Sequence[Hashable] | None = None,
) -> Findings:
    """Sweep the input space of a table.

    Args:
        columns: the inputs.
        rows: per rule, one `UnaryTest` per input. Rules whose cells can match
            nothing should be left out by the caller (they are PF504).
        policy: the hit policy (overlaps are collected under ``unique``,
            conflicting outputs under ``any``).
        outputs: per rule, something comparable standing for its outputs
            (needed for ``any``).
    """
    sweep = _Sweep(columns, rows, policy=policy, outputs=outputs)
    found = sweep.explore(0, frozenset(range(len(rows))))
    found.winners = sweep.winners
    found.complete = sweep.work <= MAX_WORK
    if policy == "first" and found.complete:
        for rule in sorted(set(range(len(rows))) - found.winners):
            earlier = (e for e in range(rule) if sweep.meet(e, rule))
            found.shadows[rule] = [
                e for _, e in zip(range(MAX_PARTNERS + 1), earlier, strict=False)
            ]
    return found
