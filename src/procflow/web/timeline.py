"""An instance's history as a page shows it: who, when, what, and the data changed.

Owns `Entry` and `timeline`, which turn the events of an instance into
lines a person reads (`procflow.runtime.state` lists the events): the step
titles, the people's names and role titles, the outcome, and the fields a
completion or a decision table set, with their titles and values.

Imports the runtime's `Instance`, the flow's nodes, `web.formdata`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from procflow.runtime.forms import field_schema
from procflow.runtime.views import Instance
from procflow.store import Event
from procflow.web.formdata import show

if TYPE_CHECKING:
    from procflow.runtime.program import Program
    from procflow.web.sitewide import Site

__all__ = ["Entry", "timeline"]


@dataclass
class Entry:
    """One line of the history."""

    seq: int
    at: str
    who: str
    what: str
    kind: str
    """``done``, ``comment``, ``system``, ``warning`` or ``info``: how the line is drawn."""
    outcome: str = ""
    changes: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""


def _changes(program: Program, docs: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if not isinstance(docs, dict):
        return out
    for doc, values in docs.items():
        d = program.flow.documents.get(doc)
        if d is None or not isinstance(values, dict):
            continue
        for name, value in values.items():
            f = d.fields.get(name)
            label = f"{d.title} · {(f.title if f is not None else '') or name}"
            out.append((label, show(value, field_schema(f) if f is not None else None)))
    return out


def timeline(inst: Instance, events: Iterable[Event], site: Site) -> list[Entry]:
    """The history of ``inst`` as lines, oldest first."""
    program = site.engine.core.program(inst.definition_hash)
    nodes = program.flow.nodes

    def title(step: Any) -> str:
        node = nodes.get(step) if isinstance(step, str) else None
        return node.title if node is not None else str(step)

    steps: dict[int, str] = {}
    out: list[Entry] = []
    for e in events:
        d = e.data
        who = site.name(e.by)
        kind, what, outcome, changes, text = "info", e.type, "", [], ""
        if e.type == "started":
            kind, what, changes = "done", "發起流程", _changes(program, d.get("docs"))
        elif e.type == "task_opened":
            steps[d["task"]] = d["step"]
            roles = "、".join(site.role(r) for r in d.get("roles", []))
            whom = d.get("assignee") or d.get("asg")
            what = f"「{title(d['step'])}」等待 {site.name(whom) if whom else roles} 辦理"
            kind = "system"
        elif e.type == "task_completed":
            step = title(steps.get(d["task"], "?"))
            outcome = d.get("outcome") or ""
            what = f"完成「{step}」" if d.get("timer") is None else f"「{step}」到期自動完成"
            kind, changes = "done", _changes(program, d.get("data"))
        elif e.type == "task_withdrawn":
            what, kind = (
                f"「{title(steps.get(d['task'], '?'))}」撤回（{d.get('why', '')}）",
                "system",
            )
        elif e.type == "task_claimed":
            what = f"認領「{title(steps.get(d['task'], '?'))}」"
        elif e.type in ("task_delegated", "task_reassigned"):
            verb = "轉交" if e.type == "task_delegated" else "管理員改派"
            what = f"{verb}「{title(steps.get(d['task'], '?'))}」給 {site.name(d['to'])}"
        elif e.type in ("overdue", "reminded", "escalated"):
            words = {"overdue": "逾期", "reminded": "提醒", "escalated": "升級"}[e.type]
            what = f"「{title(steps.get(d['task'], '?'))}」{words}"
            if e.type == "escalated":
                what += f"給 {site.role(d['to'])}"
            kind = "warning"
        elif e.type == "step_skipped":
            what, kind = (
                f"略過「{title(d['step'])}」（{d.get('when') or d.get('why', '')}）",
                "system",
            )
        elif e.type == "branched":
            what, kind = f"「{title(d['step'])}」走向 {d.get('arm', '')}", "system"
        elif e.type == "notified":
            told = "、".join(site.role(r) for r in d.get("roles", []))
            what, kind, text = f"知會 {told}", "system", str(d.get("message", ""))
        elif e.type in ("forked", "joined", "merged"):
            phase = {"forked": "並行開始", "joined": "一個分支完成", "merged": "並行匯合"}
            what, kind = f"「{title(d['step'])}」{phase[e.type]}", "system"
        elif e.type == "called":
            what, kind = f"調用子流程（{d.get('child')}）", "system"
        elif e.type == "child_finished":
            what, kind = f"子流程 {d.get('child')} 結束：{d.get('result')}", "system"
            changes = _changes(program, d.get("docs"))
        elif e.type == "handed_off":
            what, kind = f"轉入 {d.get('process')}（{d.get('child')}）", "system"
        elif e.type == "decided":
            what, kind = f"決策表 {d.get('table')} 填寫", "system"
            changes = _changes(program, d.get("docs"))
        elif e.type == "finished":
            what, kind = f"流程結束：{d.get('result')}", "done"
        elif e.type == "cancelled":
            what, kind, text = "流程已取消", "warning", str(d.get("reason", ""))
        elif e.type == "commented":
            what, kind, text = "評論", "comment", str(d.get("text", ""))
        elif e.type == "attached":
            what, kind = f"附加檔案「{d.get('name')}」（{d.get('size', 0):,} 位元組）", "comment"
        out.append(Entry(e.seq, e.at, who, what, kind, outcome, changes, text))
    return out
