"""An instance's history as a page shows it: who, when, what, and the data changed.

Owns `Entry` and `timeline`, which turn the events of an instance into
lines a person reads (`procflow.runtime.state` lists the events): the step
titles, the people's names and role titles, the outcome, and the fields a
completion or a decision table set, with their titles and values.

Imports the runtime's `Instance`, the flow's nodes, `web.formdata`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from procflow.render.words import Words
from procflow.runtime.forms import field_schema
from procflow.runtime.views import Instance
from procflow.store import Event
from procflow.web.formdata import show
from procflow.web.loops import Loops

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


_Line = tuple[str, str, str, list[tuple[str, str]], str]
"""(kind, what, outcome, changes, text) of one history line."""

_WARNINGS = {"overdue": "逾期", "reminded": "提醒", "escalated": "升級"}
_PHASES = {
    "forked": "並行開始",
    "joined": "一個分支完成",
    "merged": "並行匯合",
    "thread_ended": "各自辦理全部完成",
}


class _Lines:
    """Turns each event of one instance into a line; remembers each task's step."""

    def __init__(self, program: Program, site: Site) -> None:
        self.program = program
        self.site = site
        self.steps: dict[int, str] = {}
        self.words = Words.of(program.process)
        """Outcomes in the reader's words (``revise`` is 退回修改), as the diagram says them."""
        self.loops = Loops(program)

    def title(self, step: Any) -> str:
        node = self.program.flow.nodes.get(step) if isinstance(step, str) else None
        return node.title if node is not None else str(step)

    def task_title(self, d: Any) -> str:
        return self.title(self.steps.get(d["task"], "?"))

    def line(self, e: Event) -> _Line:
        d = e.data
        handler = _HANDLERS.get(e.type)
        if handler is not None:
            return handler(self, d)
        if e.type in _WARNINGS:
            what = f"「{self.task_title(d)}」{_WARNINGS[e.type]}"
            if e.type == "escalated":
                what += f"給 {self.site.role(d['to'])}"
            return "warning", what, "", [], ""
        if e.type in _PHASES:
            return "system", f"「{self.title(d['step'])}」{_PHASES[e.type]}", "", [], ""
        if e.type in ("task_delegated", "task_reassigned"):
            verb = "轉交" if e.type == "task_delegated" else "管理員改派"
            return "info", f"{verb}「{self.task_title(d)}」給 {self.site.name(d['to'])}", "", [], ""
        return "info", e.type, "", [], ""

    def started(self, d: Any) -> _Line:
        return "done", "發起流程", "", _changes(self.program, d.get("docs")), ""

    def task_opened(self, d: Any) -> _Line:
        self.steps[d["task"]] = d["step"]
        roles = "、".join(self.site.role(r) for r in d.get("roles", []))
        whom = d.get("assignee") or d.get("asg")
        what = f"「{self.title(d['step'])}」等待 {self.site.name(whom) if whom else roles} 辦理"
        return "system", what, "", [], ""

    def task_completed(self, d: Any) -> _Line:
        step = self.task_title(d)
        what = f"完成「{step}」" if d.get("timer") is None else f"「{step}」到期自動完成"
        outcome = d.get("outcome")
        said = self.words.outcome(outcome) if isinstance(outcome, str) and outcome else ""
        return "done", what, said, _changes(self.program, d.get("data")), ""

    def task_withdrawn(self, d: Any) -> _Line:
        why = d.get("why", "")
        if why == "cancelled":  # a step that cancels it (WCP-19)
            why = f"「{self.title(d.get('step'))}」取消"
        return "system", f"「{self.task_title(d)}」撤回（{why}）", "", [], str(d.get("reason", ""))

    def task_claimed(self, d: Any) -> _Line:
        return "info", f"認領「{self.task_title(d)}」", "", [], ""

    def step_skipped(self, d: Any) -> _Line:
        why = d.get("when") or d.get("why", "")
        return "system", f"略過「{self.title(d['step'])}」（{why}）", "", [], ""

    def branched(self, d: Any) -> _Line:
        return "system", f"「{self.title(d['step'])}」走向 {d.get('arm', '')}", "", [], ""

    def notified(self, d: Any) -> _Line:
        told = "、".join(self.site.role(r) for r in d.get("roles", []))
        return "system", f"知會 {told}", "", [], str(d.get("message", ""))

    def called(self, d: Any) -> _Line:
        return "system", f"調用子流程（{d.get('child')}）", "", [], ""

    def child_finished(self, d: Any) -> _Line:
        what = f"子流程 {d.get('child')} 結束：{self.words.outcome(str(d.get('result')))}"
        return "system", what, "", _changes(self.program, d.get("docs")), ""

    def handed_off(self, d: Any) -> _Line:
        return "system", f"轉入 {d.get('process')}（{d.get('child')}）", "", [], ""

    def decided(self, d: Any) -> _Line:
        what = f"決策表 {d.get('table')} 填寫"
        return "system", what, "", _changes(self.program, d.get("docs")), ""

    def looped(self, d: Any) -> _Line:
        said = self.loops.looped(d["step"], d["to"], d["count"])
        return "system", f"「{self.title(d['step'])}」{said}", "", [], ""

    def loop_exhausted(self, d: Any) -> _Line:
        said = self.loops.exhausted(d["step"], d["to"])
        return "warning", f"「{self.title(d['step'])}」{said}", "", [], ""

    def finished(self, d: Any) -> _Line:
        return "done", f"流程結束：{self.words.outcome(str(d.get('result')))}", "", [], ""

    def cancelled(self, d: Any) -> _Line:
        return "warning", "流程已取消", "", [], str(d.get("reason", ""))

    def commented(self, d: Any) -> _Line:
        return "comment", "評論", "", [], str(d.get("text", ""))

    def attached(self, d: Any) -> _Line:
        what = f"附加檔案「{d.get('name')}」（{d.get('size', 0):,} 位元組）"
        return "comment", what, "", [], ""


_HANDLERS: dict[str, Callable[[_Lines, Any], _Line]] = {
    name: getattr(_Lines, name)
    for name in (
        "started",
        "task_opened",
        "task_completed",
        "task_withdrawn",
        "task_claimed",
        "step_skipped",
        "branched",
        "notified",
        "called",
        "child_finished",
        "handed_off",
        "decided",
        "looped",
        "loop_exhausted",
        "finished",
        "cancelled",
        "commented",
        "attached",
    )
}


def timeline(inst: Instance, events: Iterable[Event], site: Site) -> list[Entry]:
    """The history of ``inst`` as lines, oldest first."""
    lines = _Lines(site.engine.core.program(inst.definition_hash), site)
    out: list[Entry] = []
    for e in events:
        kind, what, outcome, changes, text = lines.line(e)
        out.append(Entry(e.seq, e.at, site.name(e.by), what, kind, outcome, changes, text))
    return out
