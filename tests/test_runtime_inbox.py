"""Inboxes and lists through the engine, on every store: pages with a signed cursor that
neither skip nor repeat, counts, filters, overdue by the clock, four-eyes on every task
listed, searchable fields, and the errors wrong arguments get."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import procflow
from procflow import Engine, InvalidArgument, ManualClock, User
from procflow.runtime import queries
from procflow.runtime.guards import barred, check_actor
from procflow.runtime.paging import TaskPage
from procflow.store import Store
from tests.conftest import Backend
from tests.test_runtime_deadlines import DEADLINE
from tests.test_runtime_engine import SIGN
from tests.test_runtime_helpers import CHEN, LI, QIAN, SEQUENCE, SUN, T0, WANG, engine, only

PROPOSAL = {"proposal": {"plan_type": "special", "budget": "10"}}

SEARCHED = """
procflow: 1
id: FIND
title: searchable
search: [proposal.budget, proposal.plan_type, proposal.owner]
{org}
documents:
  proposal:
    title: 策劃書
    fields:
      plan_type: {type: choice, of: [annual, routine, special]}
      budget: {type: money, min: 0}
      owner: {type: user, required: false}
      notes: {type: text, required: false}
steps:
  - id: draft
    actor: market_manager
    fills: proposal
  - id: review
    actor: pmm
"""


def _reviews(eng: Engine, count: int, *, by: User = LI) -> list[str]:
    """Instances of SEQ waiting at review (one a minute); their review task ids."""
    ids = []
    clock = eng.clock
    assert isinstance(clock, ManualClock)
    for _ in range(count):
        inst = eng.start("SEQ", by=by)
        inst = eng.complete(only(inst.tasks).id, by=by, data=PROPOSAL)
        ids.append(only(inst.tasks).id)
        clock.advance(minutes=1)
    return ids


def _pages(eng: Engine, size: int, **filters: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    after = None
    while True:
        page = eng.tasks(limit=size, after=after, **filters)
        pages.append([t.id for t in page])
        if page.next is None:
            return pages
        after = page.next


def test_an_inbox_comes_in_pages_that_add_up(backend: Backend) -> None:
    with backend.open() as store:
        eng = engine(SEQUENCE, store=store)
        ids = _reviews(eng, 7)
        everything = eng.tasks(user=WANG, order_by="opened_at")
        assert isinstance(everything, list) and everything.next is None  # as before: a list
        assert [t.id for t in everything] == ids
        pages = _pages(eng, 3, user=WANG, order_by="opened_at")
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [t for page in pages for t in page] == ids
        assert eng.count_tasks(user=WANG) == 7
        assert eng.count_tasks(user=LI) == 0  # four-eyes: li drafted every one
        assert eng.tasks(user=User("li", {"market_manager", "pmm"})) == []


def test_a_page_neither_skips_nor_repeats_while_others_work(backend: Backend) -> None:
    with backend.open() as store:
        eng = engine(SEQUENCE, store=store)
        ids = _reviews(eng, 6)
        first = eng.tasks(user=WANG, order_by="opened_at", limit=3)
        assert [t.id for t in first] == ids[:3]
        eng.complete(ids[1], by=WANG, outcome="stop")  # one of the page is done
        eng.complete(ids[4], by=WANG, outcome="stop")  # one of the next page too
        newer = _reviews(eng, 2)  # and new ones come
        rest = eng.tasks(user=WANG, order_by="opened_at", limit=10, after=first.next)
        assert [t.id for t in rest] == [ids[3], ids[5], *newer]
        assert rest.next is None


def test_filters_narrow(backend: Backend) -> None:
    with backend.open() as store:
        eng = engine(SEQUENCE, SIGN.replace("RULE", "{all_of: [gm, cto]}"), store=store)
        reviews = _reviews(eng, 2)
        inst = eng.start("SIGN", by=LI)
        inst = eng.complete(only(inst.tasks).id, by=LI)
        signs = sorted(t.id for t in inst.tasks)
        eng.claim(reviews[0], by=WANG)

        def ids(**filters: Any) -> list[str]:
            found = sorted(t.id for t in eng.tasks(**filters))
            assert eng.count_tasks(**filters) == len(found)
            return found

        assert ids() == sorted([*reviews, *signs])
        assert ids(process_id="SIGN") == signs
        assert ids(step_id="review") == sorted(reviews)
        assert ids(process_id="SEQ", step_id="countersign") == []
        assert ids(role="gm") == [t.id for t in inst.tasks if t.actor == ("gm",)]
        assert ids(assignee=WANG) == [reviews[0]] == ids(assignee="wang")
        assert ids(instance_id=inst.id) == signs
        assert ids(instance_id=inst.id, user=CHEN) == [t.id for t in inst.tasks if "gm" in t.actor]
        assert ids(user=User("boss", {"gm", "cto", "pmm"})) == sorted([reviews[1], *signs])
        assert ids(user=User("boss", {"gm", "cto", "pmm"}), role="cto") == [
            t.id for t in inst.tasks if t.actor == ("cto",)
        ]
        assert ids(user=WANG, assignee=WANG) == [reviews[0]]
        assert ids(process_id="NOPE") == [] and ids(instance_id="\ud800") == []


def test_overdue_is_by_the_clock_and_orders_come_first_due() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9))  # Monday
    eng = engine(DEADLINE.replace("MODE", "offer"), clock=clock)
    early = only(eng.start("DL", by=WANG).tasks)  # due Thursday 09:00
    clock.advance(days=1)
    late = only(eng.start("DL", by=WANG).tasks)  # due Friday 09:00
    assert [t.id for t in eng.tasks(order_by="due")] == [early.id, late.id]
    assert eng.tasks(overdue=True) == [] and eng.count_tasks(overdue=True) == 0
    clock.set(datetime(2026, 3, 5, 9))  # Thursday 09:00: the first is due; no tick has run
    [due] = eng.tasks(overdue=True)
    assert due.id == early.id and due.overdue and not eng.task(late.id).overdue
    assert [t.id for t in eng.tasks(overdue=False)] == [late.id]
    assert eng.count_tasks(overdue=True) == 1
    assert [t.id for t in eng.tasks(due_before=datetime(2026, 3, 6, 9))] == [early.id]
    assert [t.id for t in eng.tasks(due_before=datetime(2026, 3, 6, 9, 1))] == [
        early.id, late.id
    ]  # fmt: skip


def test_moments_of_an_aware_clock_are_compared_in_utc() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 1, tzinfo=UTC))
    eng = engine(DEADLINE.replace("MODE", "offer"), clock=clock)
    task = only(eng.start("DL", by=WANG).tasks)
    assert task.due is not None
    plus8 = task.due.astimezone(procflow_zone(8))
    assert eng.tasks(due_before=plus8) == []
    assert [t.id for t in eng.tasks(due_before=plus8 + timedelta(seconds=1))] == [task.id]
    with pytest.raises(InvalidArgument, match="aware"):
        eng.tasks(due_before=datetime(2026, 3, 9))


def procflow_zone(hours: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_four_eyes_is_applied_to_every_task_listed(backend: Backend) -> None:
    with backend.open() as store:
        eng = engine(SIGN.replace("RULE", "{all_of: [gm, cto, ka_head]}"), store=store)
        inst = eng.start("SIGN", by=LI)
        inst = eng.complete(only(inst.tasks).id, by=LI)
        boss = User("boss", {"gm", "cto"})
        assert eng.count_tasks(user=boss) == 2
        inst = eng.complete(next(t.id for t in inst.tasks if t.actor == ("gm",)), by=boss)
        assert eng.tasks(user=boss) == [] and eng.count_tasks(user=boss) == 0  # signed once
        assert [t.actor for t in eng.tasks(user=SUN)] == [("cto",)]


def test_the_stores_bars_agree_with_check_actor() -> None:
    eng = engine(SEQUENCE, SIGN.replace("RULE", "{all_of: [gm, cto, ka_head]}"))
    people = [LI, WANG, CHEN, SUN, QIAN, User("boss", {"gm", "cto", "pmm", "market_manager"})]
    inst = eng.start("SIGN", by=LI)
    inst = eng.complete(only(inst.tasks).id, by=people[-1])
    inst = eng.complete(next(t.id for t in inst.tasks if t.actor == ("gm",)), by=people[-1])
    _reviews(eng, 1, by=people[-1])
    seen = 0
    for row in eng.store.open_tasks():
        _, state = eng.core.load(row.instance_id)
        task = state.tasks[int(row.task_id.rpartition(".")[2])]
        node = eng.core.program(state.definition_hash).nodes[task.step]
        for person in people:
            everyone = User(person.id, {*person.roles, *task.roles})  # the role never stops them
            try:
                check_actor(state, task, node, everyone)  # type: ignore[arg-type]
                allowed = True
            except procflow.NotAllowed:
                allowed = False
            assert allowed == (person.id not in row.barred), (row, person)
            assert row.barred == barred(state, task, node)  # type: ignore[arg-type]
            seen += not allowed
    assert seen >= 3  # the drafter at review, the signer at the two other sign tasks


def test_a_page_passes_over_what_the_store_did_not_bar(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task the store lists but `check_actor` refuses (its bars were not yet stored, as
    for tasks stored before procflow kept them) is passed over; a page that meets too many
    ends early, after the last one read, and the next page goes on from there."""
    with backend.open() as store:
        eng = engine(SEQUENCE, store=store)
        mine = _reviews(eng, 3, by=LI)
        others = _reviews(eng, 3, by=User("zhou", {"market_manager"}))
        _forget_bars(eng.store, backend)
        assert eng.count_tasks(user=User("li", {"pmm"})) == 6  # the store no longer knows
        li = User("li", {"pmm"})
        monkeypatch.setattr(queries, "PASSED", 2)
        pages = _pages(eng, 2, user=li, order_by="opened_at")
        assert [t for page in pages for t in page] == others
        assert pages[0] == []  # two of li's own passed over: the page ends early
        assert eng.tasks(user=li, order_by="opened_at") == [eng.task(t) for t in others]
        del mine


def _forget_bars(store: Store, backend: Backend) -> None:
    if backend.name == "memory":
        for inst in store._instances.values():  # type: ignore[attr-defined]
            inst.tasks = {tid: t._replace(barred=()) for tid, t in inst.tasks.items()}
        store._keys = None  # type: ignore[attr-defined]
    else:
        backend.sql("DELETE FROM task_keys WHERE key >= ? AND key < ?", ("b:", "b;"))


def test_cursors_are_checked(backend: Backend) -> None:
    with backend.open() as store:
        eng = engine(SEQUENCE, store=store)
        _reviews(eng, 3)
        page = eng.tasks(user=WANG, limit=1)
        assert page.next is not None
        body, _, sign = page.next.partition(".")
        changed = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + sign
        for bad in (changed, page.next[:-3], "nonsense", page.next + "x"):
            with pytest.raises(InvalidArgument, match="not a cursor of this store"):
                eng.tasks(user=WANG, limit=1, after=bad)
        with pytest.raises(InvalidArgument, match="another query"):
            eng.tasks(user=CHEN, limit=1, after=page.next)
        with pytest.raises(InvalidArgument, match="another query"):
            eng.tasks(user=WANG, limit=1, after=page.next, order_by="opened_at")
        assert len(eng.tasks(user=WANG, limit=1, after=page.next)) == 1
        other = engine(SEQUENCE)  # another store: another secret
        with pytest.raises(InvalidArgument, match="not a cursor of this store"):
            other.tasks(user=WANG, limit=1, after=page.next)


def test_a_cursor_made_by_one_engine_works_in_another(shared_backend: Backend) -> None:
    with shared_backend.open() as one, shared_backend.open() as two:
        first = engine(SEQUENCE, store=one)
        ids = _reviews(first, 3)
        page = first.tasks(user=WANG, limit=2, order_by="opened_at")
        second = engine(SEQUENCE, store=two)
        assert [t.id for t in second.tasks(user=WANG, limit=2, after=page.next,
                                           order_by="opened_at")] == ids[2:]  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 0}, "limit= takes a whole number from 1"),
        ({"limit": True}, "limit="),
        ({"limit": "50"}, "limit="),
        ({"order_by": "title"}, "order_by= takes 'due' or 'opened_at'"),
        ({"overdue": "yes"}, "overdue= takes True, False or None"),
        ({"due_before": "2026-03-01"}, "due_before= takes a datetime"),
        ({"after": 5}, "after= takes the text"),
        ({"role": 5}, "role= takes text"),
        ({"user": "wang"}, "user= takes a procflow.User"),
        ({"assignee": 5}, "assignee="),
    ],
)
def test_wrong_arguments_are_named(arguments: dict[str, Any], message: str) -> None:
    eng = engine(SEQUENCE)
    with pytest.raises(InvalidArgument, match=message):
        eng.tasks(**arguments)


def test_instances_are_found_by_searchable_fields(backend: Backend) -> None:
    with backend.open() as store:
        eng = engine(SEARCHED, SEQUENCE, store=store)
        clock = eng.clock
        assert isinstance(clock, ManualClock)
        made = []
        for budget, kind in (("12000.00", "annual"), ("12000", "special"), ("7", "annual")):
            inst = eng.start("FIND", by=LI)
            data = {"proposal": {"plan_type": kind, "budget": budget}}
            inst = eng.complete(only(inst.tasks).id, by=LI, data=data)
            made.append(inst.id)
            clock.advance(minutes=1)
        found = eng.instances(where={"proposal.budget": Decimal("12000")})
        assert [i.id for i in found] == made[:2]  # one amount, however it is written
        assert [i.id for i in eng.instances(where={"proposal.budget": "12000.0"})] == made[:2]
        both = {"proposal.budget": 12000, "proposal.plan_type": "annual"}
        assert [i.id for i in eng.instances(where=both, process_id="FIND")] == made[:1]
        assert eng.instances(where={"proposal.owner": "nobody"}) == []
        with pytest.raises(InvalidArgument, match=r"'proposal.notes' is not a searchable field"):
            eng.instances(where={"proposal.notes": "x"})
        with pytest.raises(InvalidArgument, match="searchable: none"):
            eng.instances(where={"proposal.budget": 1}, process_id="SEQ")
        with pytest.raises(InvalidArgument, match=r"proposal.budget: .*number"):
            eng.instances(where={"proposal.budget": "lots"})
        with pytest.raises(InvalidArgument, match="where= takes a mapping"):
            eng.instances(where=[("proposal.budget", 1)])  # type: ignore[arg-type]
        # the other filters, and pages
        seq = eng.start("SEQ", by=WANG.__class__("zhou", {"market_manager"}))
        assert [i.id for i in eng.instances(started_by="zhou")] == [seq.id]
        assert [i.id for i in eng.instances(started_by=LI, process_id="FIND")] == made
        assert [i.id for i in eng.instances(started_after=T0 + timedelta(seconds=30))] == [
            *made[1:], seq.id
        ]  # fmt: skip
        assert [i.id for i in eng.instances(status="running", process_id="SEQ")] == [seq.id]
        page = eng.instances(limit=2)
        assert [i.id for i in page] == made[:2] and page.next is not None
        rest = eng.instances(limit=2, after=page.next)
        assert [i.id for i in rest] == [made[2], seq.id] and rest.next is None
        with pytest.raises(InvalidArgument, match="another query"):
            eng.instances(limit=2, after=page.next, status="running")
        with pytest.raises(InvalidArgument, match=r"'runing', not one of .*did you mean 'running'"):
            eng.instances(status="runing")  # was an empty list, as if none were running


def test_a_field_declared_searchable_is_checked_at_load() -> None:
    with pytest.raises(procflow.DefinitionError, match="PF330"):
        engine(SEARCHED.replace("search: [", "search: [proposal.budget, "))


def test_a_page_is_a_list() -> None:
    eng = engine(SEQUENCE)
    page = eng.tasks()
    assert page == [] and isinstance(page, TaskPage) and repr(page) == "[]"
    _reviews(eng, 2)
    page = eng.tasks(limit=1)
    assert len(page) == 1 and page.next is not None
    assert repr(page).startswith("TaskPage([Task(")
    [task] = page
    assert task.step_id == "review"


def test_an_aware_started_after_is_read_in_the_clocks_zone() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=procflow_zone(8)))
    eng = engine(SEQUENCE, clock=clock)
    inst = eng.start("SEQ", by=LI)
    assert [i.id for i in eng.instances(started_after=datetime(2026, 3, 2, 0, 59, tzinfo=UTC))
            ] == [inst.id]  # fmt: skip
    assert eng.instances(started_after=datetime(2026, 3, 2, 1, tzinfo=UTC)) == []
