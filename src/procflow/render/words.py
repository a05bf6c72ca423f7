"""The words of the diagrams and the catalog, in Chinese or English, and wrapping.

Owns every fixed text a diagram or a catalog page shows that is not a step
kind's own (those are in each kind's module, `procflow.flow.kinds`): `TEXT`,
by language; the words for outcomes and results (`OUTCOMES`, and a process's
own ``labels:``); which language a process is written in (`language_of`);
and the lines of deadline and document notes (`Words`). Breaking them into
lines is `render.wrapping`. Nothing here escapes: each writer escapes for its
own syntax.

Imports `model`, `deadlines`, the flow's `DeadlinePlan` and `ports.Language`;
never `runtime` or `cli`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from procflow.flow.catalog import Process
from procflow.flow.ir import Collection, DeadlinePlan, Edge
from procflow.flow.ports import Language
from procflow.language.deadlines import (
    Deadline,
    DeadlineSyntaxError,
    Offset,
    describe,
    describe_zh,
    parse_deadline,
    parse_offset,
)
from procflow.language.model import Actor, DocumentDef

FONT = "Noto Sans CJK SC, Noto Sans CJK TC, Noto Sans, sans-serif"
"""Graphviz ``fontname`` and SVG ``font-family``: CJK first, then anything sans."""

LANGUAGES: tuple[Language, ...] = ("zh", "en")

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def language_of(text: str) -> Language:
    """``zh`` when ``text`` (a process's title) has Chinese characters in it, else ``en``."""
    return "zh" if _HAN.search(text) else "en"


TEXT: Mapping[Language, Mapping[str, str]] = {
    "zh": {
        # diagrams
        "owner": "主管部門：{owner}",
        "source": "來源：{where}",
        "lines": "{lines}行",
        "skip": "不符合「{rule}」則跳過",
        "noted": "{label}（{notes}）",
        "notes_sep": "，",
        "sent_back": "退回",
        "only_when": "僅當 {rule}",
        "external": "（外部）",
        "process": "流程",
        "escalate_move": "逾期移交",
        "escalate_offer": "逾期轉呈",
        "due": "時限 {when}",
        "due_on": "時限 {date} 當日",
        "from_start": "自流程開始起算",
        "from_step": "自「{step}」起算",
        "postpone": "遇假日順延",
        "remind": "提醒：{when}",
        "move": "{after}移交{who}",
        "offer": "{after}轉呈{who}",
        "expire": "{after}自動「{outcome}」",
        "fills": "填寫《{doc}》",
        "fields": "填寫《{doc}》：{fields}",
        "reads": "參閱《{doc}》",
        "reads_all": "參閱全部《{doc}》（{per}）",
        "fills_copy": "填寫《{doc}》（{per}）",
        "fields_copy": "填寫《{doc}》（{per}）：{fields}",
        "per_member": "每人一份",
        "per_item": "每項一份",
        "per_submission": "每次一份",
        "at_most": "至多{n}次",
        "exceeded": "{label}超過{n}次",
        "times": "次",
        "time": "次",
        "loop_back": "{label}：已退回{count}次，至多{n}次",
        "loop_way": "{label}：已走{count}次，至多{n}次",
        "back_to": "退回「{step}」",
        "way_to": "轉到「{step}」",
        "doc": "《{doc}》",
        "field": "《{doc}》{field}",
        "and": "、",
        "or": " 或 ",
        "reject": "駁回",
        "otherwise": "否則",
        "not needed": "不需要",
        "signed": "",
        # pages
        "html_lang": "zh-Hant",
        "nav_index": "流程目錄",
        "nav_map": "流程地圖",
        "nav_actors": "角色矩陣",
        "count": "{n} 個流程",
        "index_head": "代號|流程名稱|主管部門|步驟|情境測試",
        "passed_of": "{passed}/{n} 通過",
        "no_source": "（未註明來源）",
        "version": "版本：{version}",
        "diagram": "流程圖",
        "download": "下載：{links}",
        "steps": "步驟",
        "steps_head": "#|步驟|類型|執行對象|規範標準|時限|去向|執行條件",
        "actors": "角色",
        "actors_head": "角色|名稱|在本流程中",
        "documents": "表單",
        "fields_head": "欄位|名稱|類型|必填|說明",
        "deadlines": "時限",
        "deadlines_head": "步驟|原文|時限|起算、提醒與逾期",
        "tables": "決策表",
        "related": "相關流程",
        "calls": "調用",
        "hands_off": "轉入",
        "called_by": "被 {process} {verb}",
        "scenarios": "情境測試結果",
        "scenarios_head": "情境|結果|說明",
        "passed": "通過",
        "failed": "失敗",
        "no_scenarios": "尚未執行情境測試",
        "none": "（無）",
        "yes": "是",
        "no": "否",
        "choices": "可選：{values}",
        "items": "項目：{type}",
        "subfields": "欄位：{names}",
        "min": "最小 {value}",
        "max": "最大 {value}",
        "default": "預設 {value}",
        "list_sep": "；",
        "duty": "{duty}：{steps}",
        "map_legend": "實線：轉入下一流程（不等待）；虛線：調用子流程（等待完成）。",
        "actors_legend": "辦理：執行步驟；審批：決定或簽準；知會：收到通知。"
        "數字為步驟數，滑鼠停留可見步驟名稱。",
        "actor_col": "角色",
        "goes": "{label} → {target}",
        "goes_on": "→ {target}",
        "辦理": "辦理",
        "審批": "審批",
        "知會": "知會",
        "task": "工作",
        "decision": "審批",
        "sign": "會簽",
        "branch": "自動分支",
        "parallel": "並行",
        "notify": "知會",
        "call": "調用",
        "handoff": "轉入",
        "end": "結束",
        "text": "文字",
        "number": "數字",
        "money": "金額",
        "percent": "百分比",
        "date": "日期",
        "datetime": "日期時間",
        "choice": "選項",
        "yesno": "是否",
        "list": "清單",
        "user": "人員",
    },
    "en": {
        "owner": "Owner: {owner}",
        "source": "Source: {where}",
        "lines": "lines {lines}",
        "skip": "skipped unless {rule}",
        "noted": "{label} ({notes})",
        "notes_sep": ", ",
        "sent_back": "sent back",
        "only_when": "only when {rule}",
        "external": "(external)",
        "process": "Process",
        "escalate_move": "takes it over when late",
        "escalate_offer": "is offered it when late",
        "due": "Due {when}",
        "due_on": "Due on {date}",
        "from_start": "counted from the start",
        "from_step": "counted from “{step}”",
        "postpone": "postponed past holidays",
        "remind": "reminders: {when}",
        "move": "{after}: moves to {who}",
        "offer": "{after}: offered to {who}",
        "expire": "{after}: “{outcome}” by itself",
        "fills": "fills “{doc}”",
        "fields": "fills “{doc}”: {fields}",
        "reads": "reads “{doc}”",
        "reads_all": "reads every “{doc}” ({per})",
        "fills_copy": "fills “{doc}” ({per})",
        "fields_copy": "fills “{doc}” ({per}): {fields}",
        "per_member": "one per person",
        "per_item": "one per item",
        "per_submission": "one per submission",
        "at_most": "at most {n} {times}",
        "exceeded": "{label} more than {n} {times}",
        "times": "times",
        "time": "time",
        "loop_back": "{label}: sent back {count} of at most {n} {times}",
        "loop_way": "{label}: taken {count} of at most {n} {times}",
        "back_to": "back to “{step}”",
        "way_to": "on to “{step}”",
        "doc": "“{doc}”",
        "field": "{field} of “{doc}”",
        "and": ", ",
        "or": " or ",
        "reject": "reject",
        "otherwise": "otherwise",
        "not needed": "not needed",
        "signed": "",
        "html_lang": "en",
        "nav_index": "Processes",
        "nav_map": "Process map",
        "nav_actors": "Actors",
        "count": "{n} processes",
        "index_head": "Id|Process|Owner|Steps|Scenarios",
        "passed_of": "{passed}/{n} passed",
        "no_source": "(no source given)",
        "version": "Version: {version}",
        "diagram": "Diagram",
        "download": "Download: {links}",
        "steps": "Steps",
        "steps_head": "#|Step|Kind|Who|Forms|Deadline|Goes to|Runs when",
        "actors": "Actors",
        "actors_head": "Role|Name|In this process",
        "documents": "Documents",
        "fields_head": "Field|Name|Type|Required|Notes",
        "deadlines": "Deadlines",
        "deadlines_head": "Step|As written|Due|Counted from, reminders, when late",
        "tables": "Decision tables",
        "related": "Related processes",
        "calls": "calls",
        "hands_off": "hands off to",
        "called_by": "{verb} by {process}",
        "scenarios": "Scenario results",
        "scenarios_head": "Scenario|Result|Message",
        "passed": "passed",
        "failed": "failed",
        "no_scenarios": "no scenarios run",
        "none": "(none)",
        "yes": "yes",
        "no": "no",
        "choices": "one of: {values}",
        "items": "items: {type}",
        "subfields": "fields: {names}",
        "min": "at least {value}",
        "max": "at most {value}",
        "default": "default {value}",
        "list_sep": "; ",
        "duty": "{duty}: {steps}",
        "map_legend": "Solid: hands off to the next process (does not wait); "
        "dashed: calls a sub-process (waits for it).",
        "actors_legend": "does: does a step; decides: decides or signs; told: is notified. "
        "Numbers count steps; hover to see them.",
        "actor_col": "Role",
        "goes": "{label} → {target}",
        "goes_on": "→ {target}",
        "辦理": "does",
        "審批": "decides",
        "知會": "told",
        "task": "task",
        "decision": "decision",
        "sign": "sign-off",
        "branch": "branch",
        "parallel": "parallel",
        "notify": "notice",
        "call": "call",
        "handoff": "hand-off",
        "end": "end",
        "text": "text",
        "number": "number",
        "money": "money",
        "percent": "percent",
        "date": "date",
        "datetime": "date and time",
        "choice": "choice",
        "yesno": "yes/no",
        "list": "list",
        "user": "person",
    },
}
"""Every fixed word of the diagrams and pages that is not a step kind's, by language."""

OUTCOMES: Mapping[str, str] = {
    "approve": "同意",
    "approved": "已批准",
    "agree": "同意",
    "ok": "通過",
    "pass": "通過",
    "passed": "已通過",
    "fail": "不通過",
    "failed": "未通過",
    "reject": "駁回",
    "rejected": "已駁回",
    "refuse": "拒絕",
    "refused": "已拒絕",
    "decline": "婉拒",
    "declined": "已婉拒",
    "revise": "退回修改",
    "amend": "修改",
    "back": "退回",
    "accept": "接受",
    "accepted": "已接受",
    "confirm": "確認",
    "confirmed": "已確認",
    "appeal": "申訴",
    "maintain": "維持",
    "extend": "延長",
    "stop": "終止",
    "stopped": "已終止",
    "cancel": "取消",
    "cancelled": "已取消",
    "sign": "簽準",
    "signed": "已簽準",
    "skip": "不需要",
    "done": "完成",
    "completed": "完成",
    "closed": "結案",
    "invalid": "無效",
    "yes": "是",
    "no": "否",
}
"""Chinese words for the outcome and result names analysts write most; a process names
the others in its ``labels:``."""


def actor_title(actors: Mapping[str, Actor], key: str) -> str:
    """The title of an actor key, or the key itself when unknown."""
    actor = actors.get(key)
    return actor.title if actor is not None else key


_FIELD = re.compile(r"([A-Za-z]\w*)\.([A-Za-z]\w*)")


@dataclass(frozen=True)
class Words:
    """The words of one process's diagram and page, in its language.

    Attributes:
        language: ``zh`` or ``en``.
        labels: The process's own words for outcomes and results (``labels:``).
        actors, documents: What the process can name, for titles.
    """

    language: Language
    labels: Mapping[str, str] = field(default_factory=dict)
    actors: Mapping[str, Actor] = field(default_factory=dict)
    documents: Mapping[str, DocumentDef] = field(default_factory=dict)

    @classmethod
    def of(cls, process: Process, language: Language | None = None) -> Words:
        """The words of ``process``: in ``language``, by default the one its title is
        written in, with its ``labels:``, actors and documents."""
        flow = process.flow
        chosen = language or language_of(process.title)
        return cls(chosen, process.labels, flow.actors, flow.documents)

    def say(self, key: str, **values: object) -> str:
        """The fixed text ``key`` in this language, with ``values`` filled in."""
        return TEXT[self.language][key].format(**values)

    def outcome(self, name: str) -> str:
        """An outcome's or a result's name for a reader: the process's label, else the
        usual word (Chinese), else the name with its underscores as spaces."""
        if name in self.labels:
            return self.labels[name]
        if self.language == "zh" and name in OUTCOMES:
            return OUTCOMES[name]
        return name.replace("_", " ")

    def document(self, name: str) -> str:
        """A document's title in its brackets (``《考核表》``)."""
        doc = self.documents.get(name)
        return self.say("doc", doc=doc.title if doc is not None else name)

    def value(self, text: str) -> str:
        """An expression as words: a document field as its titles (``《考核表》被考核者``);
        one that picks a person from fields, as those fields (``A 或 B``); else as written."""
        m = _FIELD.fullmatch(text.strip())
        if m is not None and self._field(m[1], m[2]):
            return self._field(m[1], m[2])
        people = [
            self._field(d, f)
            for d, f in dict.fromkeys(_FIELD.findall(text))
            if d in self.documents
            and getattr(self.documents[d].fields.get(f), "type", "") == "user"
        ]
        return TEXT[self.language]["or"].join(people) if people else text.strip()

    def _field(self, document: str, name: str) -> str:
        doc = self.documents.get(document)
        if doc is None or name not in doc.fields:
            return ""
        return self.say("field", doc=doc.title, field=doc.fields[name].title or name)

    def actor(self, key: str) -> str:
        return actor_title(self.actors, key)

    def edge(self, edge: Edge, *, between: str = "\n", back: bool = False) -> str:
        """What a way on says: an outcome in the reader's words, a branch arm's title
        (else its condition), a parallel branch's title and when it runs (``between``
        them), nothing for the plain way on. A way ``back`` says it sends back, unless its
        label already does (``駁回（退回）``, ``退回修改``); a limited way says how often
        it may be taken, in the same brackets (``駁回（退回，至多3次）``, ``revise (sent
        back, at most 3 times)``); the way past the limit says when (``退回修改超過3次``)."""
        label = self._edge(edge, between)
        limit = edge.limit
        if limit is not None and edge.kind == "exceeded":
            return self.say(
                "exceeded", label=label, n=limit.at_most, times=self.times(limit.at_most)
            )
        notes = []
        if back and not self.says_back(label):
            notes.append(self.say("sent_back"))
        if limit is not None:
            notes.append(self.say("at_most", n=limit.at_most, times=self.times(limit.at_most)))
        if not notes:
            return label
        joined = self.say("notes_sep").join(notes)
        return self.say("noted", label=label, notes=joined) if label else joined

    def says_back(self, label: str) -> bool:
        """Whether ``label`` already says the way sends back (``退回修改``, ``send back``)."""
        return self.say("sent_back").split()[-1] in label.lower()

    def times(self, n: int) -> str:
        """``times`` (``time`` for one), ``次`` in Chinese."""
        return self.say("time" if n == 1 else "times")

    def loop_count(self, edge: Edge, count: int, *, back: bool, target: str) -> str:
        """How often a limited way was taken in an instance, of how many times it may be:
        ``退回修改：已退回2次，至多3次``, ``revise: sent back 2 of at most 3 times``. A way
        with no label is named by where it goes (``target``, a step title)."""
        limit = edge.limit
        at_most = limit.at_most if limit is not None else 0
        label = self._edge(edge, " ") or self.say("back_to" if back else "way_to", step=target)
        key = "loop_back" if back else "loop_way"
        return self.say(key, label=label, count=count, n=at_most, times=self.times(at_most))

    def _edge(self, edge: Edge, between: str) -> str:
        if edge.kind == "exceeded":
            return self.outcome(edge.outcome) if edge.outcome else edge.label
        if edge.kind == "fork":
            when = edge.condition.words if edge.condition is not None else ""
            return edge.label + (between + self.say("only_when", rule=when) if when else "")
        if edge.kind in ("outcome", "loop", "reject"):
            return self.outcome(edge.outcome or edge.label)
        if edge.kind == "otherwise" and edge.label == "otherwise":
            return self.say("otherwise")
        if edge.kind == "optional":
            return self.say("not needed")
        return "" if edge.kind in ("next", "skip") else edge.label

    def skip(self, edge: Edge) -> str:
        """What a skip rule's way past the step says: ``不符合「非例行計劃」則跳過``."""
        rule = edge.condition.words if edge.condition is not None else edge.label
        return self.say("skip", rule=rule)

    def due(self, text: str) -> str:
        """A deadline as written (``by the 26th of each month``) as words (``每月26日``)."""
        return self._described(text, parse_deadline)

    def offset(self, text: str) -> str:
        """An offset as written (``2 days before``) as words (``到期前2天``)."""
        return self._described(text, parse_offset)

    def _described(self, text: str, parse: Callable[[str], Deadline | Offset]) -> str:
        try:
            spec = parse(text)
        except DeadlineSyntaxError:
            return text  # the loader has said what is wrong with it
        return describe_zh(spec) if self.language == "zh" else describe(spec)

    def deadline_lines(self, deadline: DeadlinePlan, steps: Mapping[str, str]) -> list[str]:
        """The lines of a deadline note: due, counted from, holidays, reminders, what
        happens when it is late. ``steps``: step id -> title."""
        if deadline.due is not None:
            lines = [self.say("due", when=self.due(deadline.due_text))]
        else:  # a date from the form: due at the end of that day
            lines = [self.say("due_on", date=self.value(deadline.due_text))]
        if deadline.count_from == "start":
            lines.append(self.say("from_start"))
        elif deadline.count_from != "open":
            step = steps.get(deadline.count_from, deadline.count_from)
            lines.append(self.say("from_step", step=step))
        if deadline.postpone:
            lines.append(self.say("postpone"))
        if deadline.reminder_texts:
            when = self.say("and").join(self.offset(r) for r in deadline.reminder_texts)
            lines.append(self.say("remind", when=when))
        if deadline.escalate is not None:
            key = "move" if deadline.escalate.mode == "move" else "offer"
            after = self.offset(deadline.escalate.after_text)
            lines.append(self.say(key, after=after, who=self.actor(deadline.escalate.to)))
        if deadline.expire is not None:
            after = self.offset(deadline.expire.after_text)
            outcome = self.outcome(deadline.expire.outcome)
            lines.append(self.say("expire", after=after, outcome=outcome))
        return lines

    def document_lines(
        self,
        fills: Mapping[str, Sequence[str]],
        reads: Sequence[str],
        collections: Mapping[str, Collection] | None = None,
    ) -> list[str]:
        """The lines of a step's document note: ``填寫《title》`` and ``參閱《title》``; a
        per-person form says so: ``填寫《title》（每人一份）``, ``參閱全部《title》（每人一份）``.

        ``fills`` as written: the fields a step names (none when it fills the whole form)."""
        kept = collections or {}
        lines: list[str] = []
        for key, fields in fills.items():
            doc = self.documents.get(key)
            title = doc.title if doc is not None else key
            copy = {"per": self.say(f"per_{kept[key].per}")} if key in kept else {}
            if fields:
                names = [
                    (doc.fields[f].title or f) if doc and f in doc.fields else f for f in fields
                ]
                joined = self.say("and").join(names)
                lines.append(
                    self.say("fields_copy" if copy else "fields", doc=title, fields=joined, **copy)
                )
            else:
                lines.append(self.say("fills_copy" if copy else "fills", doc=title, **copy))
        for key in reads:
            if key not in fills:
                doc = self.documents.get(key)
                title = doc.title if doc is not None else key
                if key in kept:
                    per = self.say(f"per_{kept[key].per}")
                    lines.append(self.say("reads_all", doc=title, per=per))
                else:
                    lines.append(self.say("reads", doc=title))
        return lines
