"""The typed flow: a node per step (plus start, end and joins), typed edges, a graph view."""

from __future__ import annotations

from pathlib import Path

import pytest

import procflow
from procflow.flow.ir import END, START, Edge, EndNode, Flow, JoinNode, StartNode, join_id
from procflow.flow.kinds import KINDS
from procflow.flow.kinds.branch import BranchNode
from procflow.flow.kinds.parallel import ParallelNode
from procflow.flow.kinds.sign import SignNode
from procflow.flow.kinds.task import TaskNode
from procflow.language.model import STEP_KINDS

VALID = Path(__file__).parent / "fixtures" / "valid"


def edges(flow: Flow) -> set[tuple[str, str, str, str]]:
    return {(e.source, e.target, e.kind, e.label) for e in flow.edges}


def test_approval_flow() -> None:
    p = procflow.load(VALID / "approval.yaml")
    flow = p.flow
    assert list(flow.nodes) == [
        START,
        "draft",
        "review",
        "budget_approval",
        "countersign",
        "step-5",
        "step-6",
        END,
    ]
    assert isinstance(flow.nodes[START], StartNode)
    assert isinstance(flow.nodes["review"], TaskNode)
    assert isinstance(flow.nodes["countersign"], SignNode)
    assert edges(flow) == {
        (START, "draft", "next", ""),
        ("draft", "review", "next", ""),
        ("review", "budget_approval", "outcome", "approve"),
        ("review", "draft", "loop", "reject"),
        ("budget_approval", "countersign", "skip", 'proposal.plan_type != "routine"'),
        ("budget_approval", "countersign", "next", ""),
        ("countersign", "step-5", "next", "signed"),
        ("step-5", "step-6", "next", ""),
    }
    # the skip edge comes first, then the plain 'next' of the task (both go to countersign)
    assert [e.kind for e in flow.outgoing("budget_approval")] == ["skip", "next"]
    end = flow.nodes["step-6"]
    assert isinstance(end, EndNode) and end.result == "approved"
    assert isinstance(flow.nodes[END], EndNode) and flow.nodes[END].result == "completed"
    # every node keeps where it is written
    assert flow.nodes["review"].where.path == ("steps", 1)
    assert flow.nodes["review"].where.line > flow.nodes["draft"].where.line > 0
    # the networkx view: the same nodes and a merged edge for the two ways to countersign
    g = p.graph
    assert list(g.nodes) == list(flow.nodes)
    both = g.edges["budget_approval", "countersign"]["all"]
    assert [a["kind"] for a in both] == ["skip", "next"]
    assert g.nodes["countersign"]["kind"] == "sign"


def test_everything_flow_has_joins_forks_and_conditions() -> None:
    flow = procflow.load(VALID / "everything.yaml").flow
    fork = flow.nodes["done_check"]
    assert isinstance(fork, ParallelNode)
    join = flow.nodes[join_id("done_check")]
    assert isinstance(join, JoinNode) and join.fork == "done_check"
    # the join sits right after the steps of the branches, in reading order
    order = list(flow.nodes)
    assert order.index("summary") < order.index(join.id) < order.index("service")
    forks = flow.outgoing("done_check")
    assert [e.target for e in forks] == ["visit", "each_ka"]
    assert forks[1].condition is not None and forks[1].condition.text == "request.urgent"
    # branch arms in first-match order, then otherwise
    arms = [(e.target, e.kind, e.order) for e in flow.outgoing("route")]
    assert arms == [("big", "condition", 0), ("train", "condition", 1), ("small", "otherwise", 2)]
    route = flow.nodes["route"]
    assert isinstance(route, BranchNode) and route.arms[-1].condition is None
    # the last steps of both branches reach the join, which goes on
    into_join = {e.source for e in flow.incoming[join.id]}
    assert {"visit", "summary"} <= into_join
    assert [e.target for e in flow.outgoing(join.id)] == ["service"]
    # sign-off reject edge and 'next:' override
    assert [e.kind for e in flow.outgoing("big") if e.target == "ask"] == ["reject"]
    assert {e.target for e in flow.outgoing("big")} == {"done_check", "ask"}
    # optional step offers a 'not needed' edge, taken by the outcome 'skip'
    optional = [e for e in flow.outgoing("train") if e.kind == "optional"]
    assert [e.outcome for e in optional] == ["skip"]
    # nodes inside a branch know their scope
    assert flow.nodes["each_ka"].scope == (("done_check", 1),)
    assert flow.nodes["each_ka"].in_branch == {"done_check": 1}


def test_compiled_conditions_evaluate() -> None:
    flow = procflow.load(VALID / "everything.yaml").flow
    (cond,) = [e for e in flow.outgoing("route") if e.order == 0]
    assert cond.condition is not None
    values = {"request": {"amount": 2500, "kind": "service"}}
    assert cond.condition.expression.evaluate(values) is True
    values["request"]["kind"] = "training"
    assert cond.condition.expression.evaluate(values) is False


def test_every_step_kind_of_the_language_has_a_kind_module() -> None:
    assert set(KINDS) == set(STEP_KINDS)
    for name, kind in KINDS.items():
        assert kind.name == name
        assert kind.build.__module__ == f"procflow.flow.kinds.{name}"


def test_the_flow_is_frozen() -> None:
    flow = procflow.load(VALID / "approval.yaml").flow
    with pytest.raises(AttributeError):
        flow.nodes["draft"].title = "changed"  # type: ignore[misc]
    edge = flow.edges[0]
    assert isinstance(edge, Edge)
    with pytest.raises(AttributeError):
        edge.target = "elsewhere"  # type: ignore[misc]
