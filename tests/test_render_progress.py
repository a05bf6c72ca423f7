"""An instance's way on its diagram: `runtime.trail` reads it, `render.render_progress` marks it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import procflow
from procflow import Engine, MemoryStore, User
from procflow.render.progress import render_progress
from procflow.runtime.trail import trail
from tests.needs import missing

pytestmark = [pytest.mark.graphviz]

CATALOG = procflow.load_dir(Path(__file__).parent.parent / "processes")
SC001 = CATALOG["SC-001"]
LI, WANG, ZHAO = (
    User("li", {"market_manager"}),
    User("wang", {"pmm"}),
    User("zhao", {"division_gm"}),
)
ROUTINE = {"plan_type": "routine", "content": "c", "method": "m", "budget": "10"}


def sent_back_then_budgeted() -> tuple[Engine, procflow.Instance]:
    e = Engine(CATALOG, store=MemoryStore(strict=True))
    i = e.start("SC-001", by=LI)
    i = e.complete(i.tasks[0].id, by=LI, data={"proposal": ROUTINE})
    i = e.complete(i.tasks[0].id, by=WANG, outcome="revise")
    i = e.complete(i.tasks[0].id, by=LI)
    i = e.complete(i.tasks[0].id, by=WANG, outcome="approve")
    return e, e.complete(i.tasks[0].id, by=ZHAO, outcome="approve")


def test_the_trail_of_an_instance_sent_back_once() -> None:
    e, inst = sent_back_then_budgeted()
    way = trail(SC001.flow, e.history(inst.id), inst.snapshot)
    assert way.visited == ("@start", "draft", "review", "budget", "gm_review", "countersign")
    assert way.skipped == {"gm_review"}  # routine plans skip the GM's review
    assert way.current == ("countersign",)
    assert ("review", "draft") in way.taken  # the send-back
    assert ("gm_review", "countersign") in way.taken
    assert ("budget", "draft") not in way.taken


def test_a_finished_instance_is_at_its_end() -> None:
    e = Engine({"P": procflow.loads(PROCESS)}, store=MemoryStore(strict=True))
    clerk = User("c", {"clerk"})
    i = e.start("P", by=clerk)
    i = e.complete(i.tasks[0].id, by=clerk, outcome="refuse")
    way = trail(e.catalog["P"].flow, e.history(i.id), i.snapshot)
    assert way.current == ("refused",) and ("a", "refused") in way.taken


PROCESS = """procflow: 1
id: P
title: p
actors: {clerk: Clerk}
steps:
  - {id: a, actor: clerk, decide: {ok: next, refuse: refused}}
  - {id: b, actor: clerk}
  - {id: refused, end: rejected}
"""


def test_the_diagram_marks_where_it_is_and_the_way_it_went() -> None:
    if shutil.which("dot") is None:
        missing("the Graphviz binary 'dot'")
    e, inst = sent_back_then_budgeted()
    way = trail(SC001.flow, e.history(inst.id), inst.snapshot)
    svg = render_progress(
        SC001, current=way.current, visited=way.visited, skipped=way.skipped, taken=way.taken
    )
    found = re.findall(r'class="(?:node|edge) (pf-[a-z]+)">\s*<title>([^<]*)', svg)
    by_title = {title: mark for mark, title in found}
    assert by_title["countersign"] == "pf-current"
    assert by_title["draft"] == by_title["budget"] == "pf-visited"
    assert by_title["gm_review@when"] == "pf-visited"
    assert "gm_review" not in by_title  # skipped: only its gate is marked
    assert by_title["review&#45;&gt;draft"] == "pf-taken"  # sent back once
    assert "budget&#45;&gt;draft" not in by_title
    assert "@end" not in by_title
    assert ".pf-current" in svg and svg.rstrip().endswith("</svg>")
    plain = render_progress(SC001)
    assert "pf-current" not in plain.replace(".pf-current", "")
