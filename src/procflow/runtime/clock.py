"""Time for the runtime: the clock protocol, the two clocks, and how moments are written.

Owns `Clock`, `SystemClock`, `ManualClock` and the two text forms of a moment:
`iso` (events, due dates: the clock's own zone, to the second) and `stamp`
(timers: UTC for aware moments, so that text order is time order in the store).

The engine never calls ``datetime.now()`` itself; everything reads the injected
clock, so scenarios and tests can move time.

Imports nothing from procflow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "iso", "parse_iso", "stamp"]


class Clock(Protocol):
    """Anything that tells the time."""

    def now(self) -> datetime:
        """The current moment. Use one kind throughout: naive, or aware."""
        ...


class SystemClock:
    """The machine's clock.

    Args:
        tz: The zone of the moments it returns; None (the default) gives naive
            local time, which suits a company working in one zone.
    """

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz = tz

    def now(self) -> datetime:
        """The current moment in ``tz`` (naive local time when ``tz`` is None)."""
        return datetime.now(self.tz)

    def __repr__(self) -> str:
        return f"SystemClock(tz={self.tz!r})"


class ManualClock:
    """A clock that only moves when told to; for tests and scenarios.

    Args:
        start: The first moment it shows.
    """

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        """The moment it was last set to."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (backwards too: tests may need it)."""
        self._now = moment

    def advance(self, delta: timedelta | None = None, **amount: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**amount)``; return the new moment.

        Example: ``clock.advance(days=3)``.
        """
        step = delta if delta is not None else timedelta(**amount)
        if step < timedelta(0):
            raise ValueError("advance() moves forward only; use set() to go back")
        self._now += step
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


def iso(moment: datetime) -> str:
    """A moment as text in its own zone, to the second: ``2026-03-02T09:00:00+08:00``."""
    return moment.isoformat(timespec="seconds")


def stamp(moment: datetime) -> str:
    """A moment as text whose order is time order: aware moments in UTC, to the second."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    """The moment `iso` or `stamp` wrote."""
    return datetime.fromisoformat(text)
