"""``procflow run FILE``: walk a process in the terminal, acting as any of its actors.

Owns the interactive session: it lists the open tasks, lets you act as an
actor (choose an outcome, seeing the documents the step reads; fill the fields:
each checked as it is typed, with every problem explained and the field asked
again, Enter keeping what it holds; a choice by its value or its title; line
items row by row), move the clock ("3 working days", or to a moment) and read
the history. The session runs its process and those it hands off to or calls,
not the rest of the folder (whose schedules would start them). State lives in a
SQLite file (default ``.procflow/<id>.db``), or in any store given (``--store
URL``), next to a small clock file, so quitting and running again resumes where
you were.

Every actor is played by a pretend user named after the role (``pmm`` holds
``pmm``); ``--member ROLE=a,b`` gives a role several pretend members, for
"each member" steps.

Imports `runtime`, `store`, `flow` (catalog, links), `deadlines`; only `cli` imports it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from procflow.errors import InvalidSubmission, ProcflowError
from procflow.flow.catalog import Catalog
from procflow.flow.links import linked_ids
from procflow.language import deadlines
from procflow.language.model import FieldDef
from procflow.language.written import YES_NO, typed_number
from procflow.runtime import Engine, Instance, ManualClock, StaticDirectory, Task, User
from procflow.runtime.values import codec_for
from procflow.store import Event, SQLiteStore, Store
from procflow.writing import atomic_write

Echo = Callable[[str], None]
_DONE = "done"
"""The choice that completes a task whose only outcome is ``skip``."""
_LEFT_EMPTY = object()
"""What `Session.value` gives for an optional field left empty."""


def _reached(catalog: Catalog, process_id: str) -> Catalog:
    """The processes a session runs: its own and those it hands off to or calls, and so on;
    not the rest of the folder, whose schedules would start them as the clock moves."""
    reached = [process_id]
    for pid in reached:  # grows as it goes
        reached += [o for o in linked_ids(catalog[pid]) if o in catalog and o not in reached]
    return dataclasses.replace(catalog, processes={pid: catalog[pid] for pid in reached})


def _clock_file(db: Path) -> Path:
    return db.with_name(db.name + ".clock.json")


def _load_clock(db: Path, start: datetime | None) -> ManualClock:
    saved = _clock_file(db)
    if saved.exists():
        return ManualClock(datetime.fromisoformat(json.loads(saved.read_text())["now"]))
    return ManualClock(start or datetime.now().replace(second=0, microsecond=0))


def _save_clock(db: Path, clock: ManualClock) -> None:
    atomic_write(_clock_file(db), json.dumps({"now": clock.now().isoformat()}))


_SEPARATORS = re.compile("[,，、]")
"""What separates the items of a list typed on one line (Chinese commas too)."""
_HINTS = {
    "date": "date YYYY-MM-DD",
    "datetime": "date and time YYYY-MM-DD HH:MM",
    "yesno": "yes/no",
    "percent": "percent, 85 for 85%",
    "user": "user id",
}
"""What to type for a value of each type whose name does not say it."""


def parse_value(f: FieldDef, text: str) -> Any:
    """A typed value from what was typed (the engine checks it properly)."""
    if f.type == "choice" and f.titles:  # a value's title stands for the value
        return next((value for value, title in f.titles.items() if title == text), text)
    if f.type == "list" and f.fields is None:
        parts = (part.strip() for part in _SEPARATORS.split(text))
        return [_scalar(str(f.of), part) for part in parts if part]
    return _scalar(str(f.type), text)


def _scalar(kind: str, text: str) -> Any:
    if kind in ("number", "money", "percent"):
        # as the web form does: 1,200.50 and full width are taken; 12,00 is refused, not 1200
        return typed_number(text, percent=kind == "percent")
    if kind == "yesno":
        return YES_NO.get(text.lower(), text)
    return text


def _hint(f: FieldDef) -> str:
    """What to type for ``f``: its choices (with their titles), else its type in words."""
    if f.type == "choice" and isinstance(f.of, list):
        return "/".join(f"{c} {f.titles[c]}" if c in f.titles else c for c in f.of)
    if f.type == "list":
        item = str(f.of or "text")
        return f"{_HINTS.get(item, item)}, several separated by commas"
    return _HINTS.get(str(f.type), str(f.type))


_TIMED = {
    "overdue": "is overdue",
    "reminded": "was reminded",
    "escalated": "was escalated",
    "task_completed": "was closed by its deadline",
}
"""What a deadline's firing did to a task, in words."""


def _moment(text: str) -> datetime | None:
    """The moment ``text`` names (2026-03-25, 2026-03-25 17:00), or None."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=None)  # the session's clock has no time zone


def _typed(value: Any) -> str:
    """A stored value as one would type it ('' for none): yes/no, items with commas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


class Session:
    """One interactive session over one process (and those it hands off to)."""

    def __init__(
        self,
        catalog: Catalog,
        process_id: str,
        db: Path,
        *,
        members: Mapping[str, Sequence[str]] | None = None,
        start: datetime | None = None,
        echo: Echo = click.echo,
        ask: Callable[..., Any] | None = None,
        store: Store | None = None,
    ) -> None:
        self.catalog = _reached(catalog, process_id)
        self.process_id = process_id
        self.db = db
        db.parent.mkdir(parents=True, exist_ok=True)
        self.clock = _load_clock(db, start)
        roles: set[str] = set()
        for process in self.catalog.values():
            roles |= set(process.flow.actors)
        self.members = {r: list((members or {}).get(r, [r])) for r in sorted(roles)}
        self.users: dict[str, User] = {}
        for role, people in self.members.items():
            for person in people:
                held = self.users[person].roles if person in self.users else frozenset()
                self.users[person] = User(person, roles=frozenset(held | {role}))
        self.store = store if store is not None else SQLiteStore(db)
        self.engine = Engine(
            self.catalog,
            store=self.store,
            clock=self.clock,
            directory=StaticDirectory({r: p for r, p in self.members.items()}),
        )
        self.echo = echo
        self.ask = ask or click.prompt  # looked up now: a test may put its own in place

    def close(self) -> None:
        _save_clock(self.db, self.clock)
        self.store.close()

    # -- screens ---------------------------------------------------------------

    def open_tasks(self) -> list[Task]:
        return [t for i in self.instances("running") for t in i.tasks]

    def show(self) -> list[Task]:
        tasks = self.open_tasks()
        self.echo(f"\n── {self.clock.now():%Y-%m-%d %H:%M} ──")
        for inst in self.instances():
            self.echo(
                f"  instance {inst.id}  {inst.process_id} {inst.title}  {inst.status}"
                + (f" ({inst.result})" if inst.result else "")
            )
        if not tasks:
            self.echo("  no open tasks")
        for n, t in enumerate(tasks, 1):
            due = f"  due {t.due:%Y-%m-%d %H:%M}" if t.due else ""
            who = ", ".join((t.assignee,) if t.assignee else t.candidates or t.actor)
            late = "  OVERDUE" if t.overdue else ""
            self.echo(f"  [{n}] {t.process_id} · {t.title} ({t.step_id}) — {who}{due}{late}")
        return tasks

    def loop(self) -> None:
        """Run until the user quits; every change is stored as it happens."""
        while True:
            tasks = self.show()
            choice = (
                str(
                    self.ask(
                        "task number, (s)tart, (a)dvance clock, (h)istory or (q)uit", default="q"
                    )
                )
                .strip()
                .lower()
            )
            if choice in ("q", "quit", "exit"):
                return
            try:
                if choice == "s":
                    self.start()
                elif choice == "a":
                    self.advance()
                elif choice == "h":
                    self.history()
                elif choice.isdigit() and 1 <= int(choice) <= len(tasks):
                    self.act(tasks[int(choice) - 1])
                else:
                    self.echo(f"  '{choice}' is not one of the choices")
            except ProcflowError as exc:
                self.echo(f"  ✗ {type(exc).__name__}: {exc}")

    def pick_user(self, roles: Sequence[str], people: Sequence[str] = ()) -> User:
        """Who acts: one of ``people`` when given (the users a task is for), else a
        member of one of ``roles``."""
        named = list(people)
        people = list(dict.fromkeys(named or [p for r in roles for p in self.members.get(r, [])]))
        who = people[0]
        if len(people) > 1:
            who = str(self.ask(f"  act as ({', '.join(people)})", default=who))
        if who in self.users:
            return self.users[who]
        # a person a form names (an assignee, a for-each item) who plays no role here acts
        # in the task's roles; anyone else typed holds none (to try who may not act)
        return User(who, roles=frozenset(roles if who in named else ()))

    def start(self) -> None:
        process = self.catalog[self.process_id]
        roles = list(process.starts_by) or self._first_roles()
        inst = self.engine.start(self.process_id, by=self.pick_user(roles))
        self.echo(f"  ✓ started {inst.id}")

    def _first_roles(self) -> list[str]:
        for node in self.catalog[self.process_id].flow.human_steps():
            if node.roles:
                return list(node.roles)
        return list(self.members)

    def act(self, task: Task) -> None:
        # a for-each task is for the users it names, who need not hold its role
        user = self.pick_user(task.actor, [task.assignee] if task.assignee else task.candidates)
        docs = self.catalog[task.process_id].flow.documents
        # what each field holds now (a redraft's values, else the field's default),
        # offered as the answer Enter gives
        form = self.engine.form(task.id)["properties"]
        held = form["data"]["properties"]
        now = {
            doc: {n: f.get("default") for n, f in held[doc]["properties"].items()} for doc in held
        }
        self.shown(form.get("context", {}).get("properties", {}))
        outcome = self.outcome(task)
        data = self.form(task, outcome, now)
        while True:
            try:
                inst = self.engine.complete(task.id, by=user, outcome=outcome, data=data or None)
                break
            except InvalidSubmission as exc:
                fields: list[tuple[str, str]] = []
                for path, problem in sorted(exc.problems.items()):
                    doc, _, name = path.partition(".")
                    name = name.split("[")[0]
                    if doc in docs and name in docs[doc].fields:
                        fields.append((doc, name))
                    self.echo(
                        f"  ✗ {problem}"
                        if path.startswith("requires")
                        else f"  ✗ {path}: {problem}"
                    )
                if len(fields) == len(exc.problems):  # each problem is one field's: ask it again
                    for doc, name in fields:
                        typed = data.get(doc, {}).get(name)
                        self.fill(data, doc, name, docs[doc].fields[name], typed)
                    continue
                # a rule across fields (or the outcome): every answer may be changed, with
                # what was typed offered again, or the task left open as it is
                again = bool(task.outcomes or data) and self.ask(
                    "  change the answers? (y/n)", type=click.BOOL, default="y"
                )
                if not again:
                    self.echo("  the task stays open")
                    return
                outcome = self.outcome(task, outcome)
                data = self.form(task, outcome, {**now, **data})
        self.echo(f"  ✓ done; {inst.process_id} is {inst.status}")

    def shown(self, context: Mapping[str, Any]) -> None:
        """The documents a task reads (``context`` of its form), with their values: what
        an approver decides on. A per-person form shows each copy, with who filled it."""
        for name, doc in context.items():
            self.echo(f"  《{doc.get('title') or name}》")
            if doc["type"] == "array":
                fields = doc["items"]["properties"]
                copies = zip(doc.get("default", []), doc.get("x-procflow-copies", []), strict=False)
                for values, copy in copies:
                    self.echo(f"    · {copy['by'] or 'system'}")
                    self.values(fields, values, "      ")
            else:
                fields = doc["properties"]
                self.values(fields, {n: f["default"] for n, f in fields.items() if "default" in f})

    def values(
        self, fields: Mapping[str, Any], values: Mapping[str, Any], indent: str = "    "
    ) -> None:
        """Each field's title and value; line items one row a line."""
        if not values:
            self.echo(f"{indent}(empty)")
        for name, value in values.items():
            field = fields.get(name, {})
            title = field.get("title") or name
            if isinstance(value, list) and value and isinstance(value[0], dict):
                self.echo(f"{indent}{title}:")
                columns = field.get("items", {}).get("properties", {})
                for row in value:
                    cells = (
                        f"{columns.get(k, {}).get('title') or k} {_typed(v)}"
                        for k, v in row.items()
                    )
                    self.echo(f"{indent}  - " + ", ".join(cells))
                continue
            named = field.get("x-procflow-titles", {})  # a choice is shown with its title
            shown = (
                f"{value} {named[value]}" if isinstance(value, str) and value in named else value
            )
            self.echo(f"{indent}{title}: {_typed(shown)}")

    def form(
        self, task: Task, outcome: str | None, now: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """The fields a task fills, each asked in turn (none for a step skipped), with
        ``now`` (document -> field -> value) as what Enter gives."""
        data: dict[str, dict[str, Any]] = {}
        if outcome == "skip":
            return data
        docs = self.catalog[task.process_id].flow.documents
        for doc, fields in task.fills.items():
            data[doc] = {}
            for name in list(fields) or list(docs[doc].fields):
                self.fill(data, doc, name, docs[doc].fields[name], now.get(doc, {}).get(name))
        return data

    def outcome(self, task: Task, chosen: str | None = None) -> str | None:
        """The outcome chosen, or None to just complete the task. A sign-off offers
        ``sign``; a step that may only be skipped offers ``done`` (do it) or ``skip``;
        ``chosen`` (the one chosen before) is offered first."""
        if not task.outcomes:
            return None
        choices, default = list(task.outcomes), chosen
        if task.optional:
            choices, default = [_DONE, "skip"], chosen or _DONE
        elif task.kind == "sign":
            default = chosen or "sign"
        picked = str(self.ask("  outcome", type=click.Choice(choices), default=default))
        return None if picked == _DONE and task.optional else picked

    def fill(
        self, data: dict[str, dict[str, Any]], doc: str, name: str, f: FieldDef, now: Any = None
    ) -> None:
        value = self.value(f"{doc}.{name}", f, now)
        if value is _LEFT_EMPTY:
            data.setdefault(doc, {}).pop(name, None)
        else:
            data.setdefault(doc, {})[name] = value

    def value(self, path: str, f: FieldDef, now: Any = None) -> Any:
        """One field's value, asked again until the engine's own check of the field (its
        codec) takes it; a list of line items is asked row by row. ``now`` (what it holds,
        in stored form) is what Enter gives. `_LEFT_EMPTY` when an optional field is left
        empty. Rules across fields are checked on completing."""
        if f.type == "list" and f.fields is not None:
            return self.rows(path, f, f.fields, now)
        codec = codec_for(f)
        held = _typed(now)
        hint = _hint(f) + ("" if f.required or held else ", Enter for none")
        label = f"  {path}" + (f" {f.title}" if f.title else "") + f" [{hint}]"
        while True:
            if held:
                text = str(self.ask(label, default=held))
            else:
                text = str(
                    self.ask(label, default="" if not f.required else None, show_default=False)
                )
            if text == "" and not f.required:
                return _LEFT_EMPTY
            value = parse_value(f, text)
            problems: dict[str, str] = {}
            codec.encode(value, path, problems)
            if not problems:
                return value
            for where, problem in problems.items():
                self.echo(f"  ✗ {where}: {problem}")

    def rows(self, path: str, f: FieldDef, fields: Mapping[str, FieldDef], now: Any = None) -> Any:
        """A list of line items: each row's fields in turn, until no more rows are wanted;
        the rows it holds (``now``) may be kept as they are."""
        title = f" {f.title}" if f.title else ""
        if now and self.ask(
            f"  {path}{title}: keep the {len(now)} row(s) it has? (y/n)",
            type=click.BOOL,
            default="y",
        ):
            return now
        rows: list[dict[str, Any]] = []
        while len(rows) < f.most:
            first = not rows
            wanted = self.ask(
                f"  {path}{title}: {'a' if first else 'another'} row? (y/n)",
                type=click.BOOL,
                default="y" if first and f.required else "n",
            )
            if not wanted:
                break
            row: dict[str, Any] = {}
            for name, sub in fields.items():
                value = self.value(f"{path}[{len(rows)}].{name}", sub)
                if value is not _LEFT_EMPTY:
                    row[name] = value
            rows.append(row)
        return rows if rows or f.required else _LEFT_EMPTY

    def advance(self) -> None:
        """Move the clock by a duration or to a moment, and fire what is due by then."""
        text = str(self.ask("  advance by (2 hours, 3 working days) or to (2026-03-25 17:00)"))
        now = self.clock.now()
        moment = _moment(text.strip())
        if moment is None:
            try:
                spec = deadlines.parse_deadline(text)
            except deadlines.DeadlineSyntaxError:
                spec = None
            if not isinstance(spec, deadlines.Relative):
                self.echo(
                    f"  ✗ '{text}' is neither a duration (2 hours, 3 working days, 3個工作日)"
                    " nor a moment (2026-03-25 17:00)"
                )
                return
            moment = deadlines.due_at(spec, start=now, calendar=self.engine.calendar)
        if moment < now:
            self.echo(f"  ✗ the clock does not go back: it is {now:%Y-%m-%d %H:%M}")
            return
        self.clock.set(moment)
        _save_clock(self.db, self.clock)
        fired = self.engine.tick(moment)
        self.echo(f"  ✓ now {moment:%Y-%m-%d %H:%M}; {len(fired)} event(s) (deadlines, schedules)")
        self.fired(fired)

    def fired(self, events: Sequence[Event]) -> None:
        """What the clock's move did: the tasks gone overdue, reminded, escalated or closed
        by their deadline, and the instances their schedule started."""
        steps: dict[str, dict[int, str]] = {}  # instance -> task number -> step
        for e in events:
            if e.type == "started":
                self.echo(f"    {e.data['process']} started by its schedule ({e.instance_id})")
                continue
            what = _TIMED.get(e.type)
            if what is None or (e.type == "task_completed" and "timer" not in e.data):
                continue
            if e.instance_id not in steps:
                steps[e.instance_id] = {
                    o.data["task"]: o.data["step"]
                    for o in self.engine.history(e.instance_id)
                    if o.type == "task_opened"
                }
            process = self.engine.instance(e.instance_id).process_id
            step = steps[e.instance_id].get(e.data.get("task", -1), "?")
            outcome = f": {e.data['outcome']}" if e.data.get("outcome") else ""
            self.echo(f"    {process} · {step} ({e.instance_id}) {what}{outcome}")

    def history(self) -> None:
        for inst in self.instances():
            self.echo(f"  {inst.id} {inst.process_id}")
            for e in self.engine.history(inst.id):
                detail = {
                    k: v for k, v in e.data.items() if k in ("step", "outcome", "task", "result")
                }
                self.echo(
                    f"    {e.seq:>3} {e.at[:16]} {e.type:<15} {e.by or 'system':<10} {detail}"
                )

    def instances(self, status: str | None = None) -> list[Instance]:
        """The instances of the session's processes (a state file shared with a session
        of another process may hold others, which this one does not run)."""
        found = self.engine.instances(status=status)
        return [i for i in found if i.process_id in self.catalog]
