"""MemoryStore only: commits kept by reference, and what a strict store checks."""

from __future__ import annotations

from typing import Any

import pytest

from procflow.store import MemoryStore, NewEvent
from tests.test_store_contract import AT, commit


@pytest.mark.parametrize("strict", [False, True])
def test_memory_store_keeps_commits_by_reference(strict: bool) -> None:
    """The documented contract: a committed snapshot is the store's; nobody changes it."""
    state: dict[str, Any] = {"list": [1], "tuple": [2]}
    event = NewEvent("step", AT, "alice", {"roles": ("pmm", "gm")})
    store = MemoryStore(strict=strict)
    store.commit([commit(state=state)._replace(events=(event,))])
    assert store.load("i1") == (1, state)
    assert store.load("i1")[1] is state  # not copied: read it, never change it
    # payloads come back as a JSON round trip, as from SQLite: fresh, tuples as lists
    assert store.events("i1")[0].data == {"roles": ["pmm", "gm"]}
    assert store.events("i1")[0].data is not event.data


def test_memory_store_checks_snapshots_when_strict() -> None:
    loose, strict = MemoryStore(), MemoryStore(strict=True)
    for bad in ({"x": object()}, {"x": float("inf")}, {"x": (1, 2)}, {1: "int key"}, {"s": {1}}):
        assert loose.commit([commit(state=bad)]) is None  # the engine's folds are JSON
        with pytest.raises(TypeError, match="not JSON"):
            strict.commit([commit(state=bad)])
        assert strict.instances() == []
        loose = MemoryStore()
    # a strict store skips what the previous snapshot already had, and checks the rest
    shared = {"big": [{"k": "v"}] * 100}
    strict.commit([commit(state={"a": shared, "b": [1]})])
    strict.commit([commit(expected=1, state={"a": shared, "b": [1, 2]})])
    with pytest.raises(TypeError, match="not JSON"):
        strict.commit([commit(expected=2, state={"a": shared, "b": [1, object()]})])
    assert strict.load("i1")[0] == 2


@pytest.mark.parametrize(
    "bad",
    [{"state": {"x": object()}}, {"event": {"x": object()}}],
    ids=["object", "event-object"],
)
def test_a_loose_memory_store_keeps_what_it_is_given(bad: dict[str, Any]) -> None:
    """Documented contract: a non-strict MemoryStore keeps commits by reference, unchecked."""
    store = MemoryStore()
    c = commit(state=bad.get("state"))
    if "event" in bad:
        c = c._replace(events=(*c.events, NewEvent("bad", AT, None, bad["event"])))
    store.commit([c])
    assert store.load("i1")[1] is c.state
    if "event" in bad:  # what it cannot give back as JSON, it refuses to give back
        with pytest.raises(TypeError, match="not JSON"):
            store.events("i1")
