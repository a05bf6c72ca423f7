"""The compiled graph: one node per step plus start/end/join, one edge per transition."""

from __future__ import annotations

from pathlib import Path

import procflow
from procflow.flow.build import END, START, join_node, outgoing

VALID = Path(__file__).parent / "fixtures" / "valid"


def edges(process: procflow.Process) -> set[tuple[str, str, str, str]]:
    return {(u, v, d["kind"], d.get("label", "")) for u, v, d in process.graph.edges(data=True)}


def test_approval_graph() -> None:
    p = procflow.load(VALID / "approval.yaml")
    assert list(p.graph.nodes) == [
        START,
        "draft",
        "review",
        "budget_approval",
        "countersign",
        "step-5",
        "step-6",
        END,
    ]
    assert edges(p) == {
        (START, "draft", "next", ""),
        ("draft", "review", "next", ""),
        ("review", "budget_approval", "outcome", "approve"),
        ("review", "draft", "loop", "reject"),
        ("budget_approval", "countersign", "skip", 'proposal.plan_type != "routine"'),
        ("countersign", "step-5", "next", "signed"),
        ("step-5", "step-6", "next", ""),
    }
    # the skip edge also carries the plain 'next' of the task (both go to countersign)
    kinds = [d["kind"] for _, d in outgoing(p.graph, "budget_approval")]
    assert sorted(kinds) == ["next", "skip"]
    assert p.graph.nodes["step-6"]["result"] == "approved"
    assert p.graph.nodes[END]["result"] == "completed"


def test_everything_graph_has_joins_forks_and_conditions() -> None:
    p = procflow.load(VALID / "everything.yaml")
    g = p.graph
    assert join_node("done_check") in g
    forks = [(v, d) for v, d in outgoing(g, "done_check")]
    assert [v for v, _ in forks] == ["visit", "each_ka"]
    assert forks[1][1]["expr"] == "request.urgent"
    assert forks[1][1]["compiled"] is not None
    # branch arms in first-match order, then otherwise
    arms = [(v, d["kind"], d.get("order")) for v, d in outgoing(g, "route")]
    assert arms == [("big", "condition", 0), ("train", "condition", 1), ("small", "otherwise", 2)]
    # the last steps of both branches reach the join
    assert g.has_edge("visit", join_node("done_check"))
    assert g.has_edge("summary", join_node("done_check"))
    assert g.has_edge(join_node("done_check"), "service")
    # sign-off reject edge and 'next:' override
    assert g.edges["big", "ask"]["kind"] == "reject"
    assert g.has_edge("big", "done_check") and not g.has_edge("big", "train")
    # optional step offers a 'not needed' edge
    assert any(d["kind"] == "optional" for _, d in outgoing(g, "train"))
    # nodes inside a branch know their scope
    assert g.nodes["each_ka"]["scope"] == (("done_check", 1),)


def test_compiled_conditions_evaluate() -> None:
    p = procflow.load(VALID / "everything.yaml")
    (cond,) = [d for _, d in outgoing(p.graph, "route") if d.get("order") == 0]
    values = {"request": {"amount": 2500, "kind": "service"}}
    assert cond["compiled"].evaluate(values) is True
    values["request"]["kind"] = "training"
    assert cond["compiled"].evaluate(values) is False
