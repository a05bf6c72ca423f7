"""A sequence made when first read: the full task and timer sets of a `store.Commit`.

Owns `Later`. The engine hands each commit both what changed in an
instance's open tasks and timers (`store.Changes`) and their complete sets;
a store that applies the changes never reads the complete sets, so they are
made only when a store reads them (a for-each step with ten thousand open
tasks must not list them all at every completion).

Not compiled (it subclasses `collections.abc.Sequence`, which mypyc's native
classes cannot). Imports nothing from procflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar, overload

T = TypeVar("T")

__all__ = ["Later"]


class Later(Sequence[T]):
    """The tuple ``make()`` gives, made the first time it is read; compares as that tuple."""

    __slots__ = ("_items", "_make")

    def __init__(self, make: Callable[[], tuple[T, ...]]) -> None:
        self._make = make
        self._items: tuple[T, ...] | None = None

    def _all(self) -> tuple[T, ...]:
        items = self._items
        if items is None:
            items = self._items = self._make()
        return items

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[T]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Later):
            other = other._all()
        return isinstance(other, tuple | list) and self._all() == tuple(other)

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"Later({self._all()!r})"
