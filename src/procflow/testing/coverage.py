"""Scenario coverage: which paths of each process the scenarios have walked.

Owns `required` (what a process's scenarios must show: every step reached,
every outcome of every decision and sign-off, both sides of every skip rule,
every branch arm, every parallel branch run and skipped where it has a
condition, every deadline action, and every loop limit reached) and `measure` (what the histories of
scenario runs show). Camunda's process tests report the same kind of
figure; here a missing item names the step and what is missing, so an
analyst knows which scenario to add.

Imports the flow layer; never `runtime` or `cli`: it reads plain events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from procflow.flow.catalog import Process


@dataclass
class Coverage:
    """Required items of one process and whether scenarios covered each."""

    process_id: str
    items: dict[str, bool] = field(default_factory=dict)

    @property
    def covered(self) -> int:
        return sum(self.items.values())

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / len(self.items) if self.items else 100.0

    @property
    def missing(self) -> list[str]:
        return [item for item, done in self.items.items() if not done]

    def to_dict(self) -> dict[str, Any]:
        return {
            "process": self.process_id,
            "covered": self.covered,
            "required": len(self.items),
            "percent": round(self.percent, 1),
            "missing": self.missing,
        }


def required(process: Process) -> list[str]:
    """What the scenarios of ``process`` must show, as readable items (each step's kind
    says what it needs: `procflow.flow.ir.Node.coverage`)."""
    flow = process.flow
    items = [item for node in flow.steps() for item in node.coverage()]
    return items + [_limit_item(limit.source, limit.then) for limit in flow.limits.values()]


def _limit_item(source: str, then: str) -> str:
    """A limited way must be seen at its limit, going past it to ``then``."""
    return f"{source}: limit reached, on to {then}"


def _completed(node: Any, step: str, event: Any) -> list[str]:
    """What a completion shows: its outcome (a sign-off's silent one is ``sign``), and
    whether a timer did it."""
    out: list[str] = []
    outcome = event.data.get("outcome")
    if node is not None and node.kind == "sign" and outcome is None:
        outcome = "sign"
    if outcome is not None:
        out.append(f"{step}: outcome {outcome}")
    if event.by is None and event.data.get("timer"):
        out.append(f"{step}: expired")
    return out


def _seen(process: Process, histories: Iterable[Iterable[Any]]) -> set[str]:
    """Items the event histories of instances of ``process`` show."""
    seen: set[str] = set()
    nodes = process.flow.nodes
    for events in histories:
        step_of: dict[str, str] = {}
        for event in events:
            data: Mapping[str, Any] = event.data
            kind = event.type
            sid = str(data.get("step", ""))
            if kind == "task_opened":
                step_of[str(data["task"])] = sid
                seen.add(f"{sid}: reached")
                seen.add(f"{sid}: runs (when holds)")
            elif kind == "task_completed":
                task_step = step_of.get(str(data.get("task")), "")
                seen.update(_completed(nodes.get(task_step), task_step, event))
            elif kind in ("overdue", "reminded", "escalated"):
                seen.add(f"{step_of.get(str(data.get('task')), '')}: {kind}")
            elif kind == "loop_exhausted":
                seen.add(_limit_item(sid, str(data.get("to", ""))))
            elif kind == "step_skipped":
                seen.add(f"{sid}: skipped (when does not hold)")
            elif kind == "branched":
                seen.add(f"{sid}: arm {data.get('arm')}")
                seen.add(f"{sid}: runs (when holds)")
            elif kind == "forked":
                seen.add(f"{sid}: runs (when holds)")
                seen.update(f"{sid}: branch {int(b) + 1} runs" for b, _ in data.get("branches", ()))
                seen.update(f"{sid}: branch {int(b) + 1} skipped" for b in data.get("skipped", ()))
            elif sid:
                seen.add(f"{sid}: runs (when holds)")
    return seen


def measure(
    catalog: Mapping[str, Process], histories: Mapping[str, list[list[Any]]]
) -> dict[str, Coverage]:
    """Coverage of every process in ``catalog`` from event histories grouped by process id."""
    out: dict[str, Coverage] = {}
    for pid, process in catalog.items():
        seen = _seen(process, histories.get(pid, []))
        out[pid] = Coverage(pid, {item: item in seen for item in required(process)})
    return out
