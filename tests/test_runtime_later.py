"""`Later`: the complete task and timer sets of a commit, made only when a store reads them."""

from __future__ import annotations

from procflow.runtime.later import Later


def test_made_once_when_first_read_and_compares_as_its_tuple() -> None:
    calls: list[int] = []

    def make() -> tuple[int, ...]:
        calls.append(1)
        return (1, 2, 3)

    rows = Later(make)
    assert calls == []  # a store that applies the changes never pays for the sets
    assert (len(rows), rows[0], rows[1:], list(rows)) == (3, 1, (2, 3), [1, 2, 3])
    assert rows == (1, 2, 3) and rows == [1, 2, 3] and rows == Later(make)
    assert rows != (1, 2)
    assert rows != "123"
    assert hash(rows) == hash((1, 2, 3)) and repr(rows) == "Later((1, 2, 3))"
    assert len(calls) == 2  # once for rows, once for the other Later
