"""Run scenario files: act them out on an engine and check every expectation.

Owns `run_scenario` and `run_paths` (what ``procflow test`` runs). Each
scenario gets its own engine: a `MemoryStore`, a `ManualClock` set to the
scenario's ``clock``, a calendar (China's holidays, or weekends only) and a
directory built from the scenario's ``users``. A failed expectation or an
unexpected error is a PF602 diagnostic located at the act or key that
failed, with what was expected and what was found.

Imports `testing.scenario`, `runtime`, `flow.load`, `deadlines`; never `cli`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from procflow import errors
from procflow.flow.catalog import Catalog
from procflow.flow.load import check_paths
from procflow.language import deadlines
from procflow.language.diagnostics import Diagnostic
from procflow.language.source import Document, Path_
from procflow.language.workcalendar import Calendar, SimpleCalendar, WorkingCalendar
from procflow.runtime import Engine, Instance, ManualClock, StaticDirectory, Task, User
from procflow.testing.coverage import Coverage, measure
from procflow.testing.scenario import Act, Expect, Scenario, check_scenario, load_scenario

SCENARIO_DIR = "scenarios"
SEEN = ("skipped", "overdue", "reminded", "escalated", "expired", "notified", "started")
"""What `expect:` can check from the history."""


@dataclass
class ScenarioResult:
    """How one scenario went."""

    file: str
    name: str
    process_id: str
    passed: bool
    problems: list[Diagnostic] = field(default_factory=list)
    acts: int = 0
    """How many acts ran (all of them when it passed)."""
    seconds: float = 0.0
    histories: dict[str, list[list[Any]]] = field(default_factory=dict)
    """Process id -> the event history of each instance the scenario ran (for coverage)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "process": self.process_id,
            "passed": self.passed,
            "acts": self.acts,
            "seconds": round(self.seconds, 4),
            "message": "; ".join(p.message for p in self.problems),
            "problems": [p.to_dict() for p in self.problems],
        }


class _Failed(Exception):
    """Stops a scenario at the first failed act or expectation."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _calendar(name: str) -> Calendar:
    return WorkingCalendar() if name == "CN" else SimpleCalendar()


def _to_datetime(text: str) -> datetime:
    return datetime.fromisoformat(
        text.replace(" ", "T") if "T" not in text and " " in text else text
    )


def _same(expected: Any, actual: Any) -> bool:
    """Compare a YAML value with a stored one: money exactly, dates by their text."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return expected is actual
    if isinstance(actual, Decimal):
        try:
            return Decimal(str(expected)) == actual
        except InvalidOperation:
            return False
    if isinstance(actual, date | datetime):
        return str(expected).replace(" ", "T") == actual.isoformat()
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(map(_same, expected, actual))
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        return set(actual) == set(expected) and all(_same(expected[k], actual[k]) for k in expected)
    return bool(expected == actual)


def _show(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
        return "[" + ", ".join(_show(v) for v in items) + "]"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


class _Run:
    """One scenario being acted out."""

    def __init__(self, scenario: Scenario, doc: Document, catalog: Catalog) -> None:
        self.scenario = scenario
        self.doc = doc
        self.catalog = catalog
        self.clock = ManualClock(_to_datetime(scenario.clock))
        self.calendar = _calendar(scenario.calendar)
        self.users = {uid: User(uid, roles=frozenset(rs)) for uid, rs in scenario.users.items()}
        self.engine = Engine(
            catalog,
            clock=self.clock,
            calendar=self.calendar,
            directory=StaticDirectory.of(self.users.values()),
        )
        self.root: str | None = None

    # -- helpers -------------------------------------------------------------

    def fail(self, path: Path_, message: str, hint: str = "") -> _Failed:
        return _Failed(self.doc.diag(path, "PF602", message, hint))

    def user(self, uid: str | None) -> User:
        return self.users[uid or ""]

    def instance_of(self, process_id: str | None, path: Path_) -> Instance:
        if self.root is None:
            raise self.fail(path, "nothing was started yet", "begin with '- start: {by: USER}'")
        if process_id is None or process_id == self.scenario.process:
            return self.engine.instance(self.root)
        every = self.engine.instances()
        found = [i for i in every if i.process_id == process_id]
        # prefer the root's own chain over instances a schedule started meanwhile
        parents = {i.id: i.parent_id for i in every}

        def in_chain(iid: str | None) -> bool:
            while iid is not None and iid != self.root:
                iid = parents.get(iid)
            return iid is not None

        found = [i for i in found if in_chain(i.id)] or found
        if not found:
            started = sorted({i.process_id for i in self.engine.instances()})
            raise self.fail(
                path,
                f"no instance of '{process_id}' was started",
                f"started so far: {', '.join(started)}",
            )
        running = [i for i in found if i.status == "running"]
        return (running or found)[-1]

    def task_at(self, act: Act, step: str, path: Path_) -> Task:
        inst = self.instance_of(act.process, path)
        open_here = [t for t in inst.tasks if t.step_id == step]
        if not open_here and act.error == "TaskNotOpen":
            raise errors.TaskNotOpen(f"no open task at the step '{step}'")
        if not open_here:
            steps = sorted({t.step_id for t in inst.tasks})
            raise self.fail(
                path,
                f"no open task at the step '{step}'",
                f"open steps: {', '.join(steps) or 'none'} (status {inst.status})",
            )
        if act.item is not None:
            if act.item >= len(open_here):
                raise self.fail(
                    (*path[:-1], "item"), f"only {len(open_here)} open task(s) at '{step}'"
                )
            return open_here[act.item]
        if act.by is not None:
            mine = {t.id for t in self.engine.tasks(user=self.user(act.by), instance_id=inst.id)}
            for t in open_here:
                if t.id in mine:
                    return t
        return open_here[0]

    # -- acts ----------------------------------------------------------------

    def act(self, index: int, act: Act) -> None:
        base: Path_ = ("acts", index)
        kind = act.kind
        if act.expect is not None:
            self.expect(act.expect, (*base, "expect"))
            return
        if act.advance is not None:
            self.advance(act.advance, (*base, "advance"))
            return
        before = self._versions()
        try:
            self.command(act, base)
        except errors.ProcflowError as exc:
            name = type(exc).__name__
            if act.error is None:
                what = f"{kind} '{getattr(act, kind)}'"
                raise self.fail((*base, kind), f"{what} failed: {name}: {exc}") from None
            if not any(c.__name__ == act.error for c in type(exc).__mro__):
                message = f"expected {act.error}, got {name}: {exc}"
                raise self.fail((*base, "error"), message) from None
            if self._versions() != before:
                raise self.fail(
                    (*base, "error"), f"the failed {kind} changed the instance"
                ) from None
            return
        if act.error is not None:
            raise self.fail((*base, "error"), f"expected {act.error}, but '{kind}' succeeded")

    def _versions(self) -> dict[str, int]:
        return {i.id: i.version for i in self.engine.instances()} if self.root else {}

    def command(self, act: Act, base: Path_) -> None:
        if act.start is not None:
            start = act.start
            inst = self.engine.start(
                self.scenario.process, by=self.user(start.by), data=start.data or None
            )
            self.root = self.root or inst.id
        elif act.do is not None:
            task = self.task_at(act, act.do, (*base, "do"))
            self.engine.complete(
                task.id, by=self.user(act.by), outcome=act.outcome, data=act.data or None
            )
        elif act.claim is not None:
            task = self.task_at(act, act.claim, (*base, "claim"))
            self.engine.claim(task.id, by=self.user(act.by))
        elif act.delegate is not None:
            task = self.task_at(act, act.delegate, (*base, "delegate"))
            to = act.to or ""
            target = self.users.get(to) or User(to, roles=frozenset())
            self.engine.delegate(task.id, by=self.user(act.by), to=target)
        elif act.cancel is not None:
            inst = self.instance_of(act.process, (*base, "cancel"))
            self.engine.cancel(inst.id, by=self.user(act.by), reason=act.reason or "cancelled")

    def advance(self, text: str, path: Path_) -> None:
        try:
            spec = deadlines.parse_deadline(text)
        except deadlines.DeadlineSyntaxError as exc:
            raise self.fail(path, exc.message, exc.hint) from None
        if not isinstance(spec, deadlines.Relative):
            raise self.fail(path, f"'{text}' is not a duration", "write it like '3 working days'")
        moment = deadlines.due_at(spec, start=self.clock.now(), calendar=self.calendar)
        self.clock.set(moment)
        self.engine.tick(moment)

    # -- expectations --------------------------------------------------------

    def expect(self, exp: Expect, path: Path_) -> None:
        inst = self.instance_of(exp.process, (*path, "process"))
        checks: list[tuple[str, Any, Any]] = []
        if exp.status is not None:
            checks.append(("status", exp.status, inst.status))
        if exp.result is not None:
            checks.append(("result", exp.result, inst.result))
        for key, want, got in checks:
            if want != got:
                raise self.fail((*path, key), f"expected {key} {want}, found {got}")
        if exp.tasks is not None:
            self.expect_tasks(exp, inst, (*path, "tasks"))
        if exp.documents is not None:
            self.expect_documents(exp.documents, inst, (*path, "documents"))
        if exp.copies is not None:
            self.expect_copies(exp.copies, inst, (*path, "copies"))
        seen = self.seen(inst)
        for key in SEEN:
            want = getattr(exp, key)
            if want is None:
                continue
            got = seen[key]
            same = list(want) == got if key == "started" else set(want) == set(got)
            if not same:
                raise self.fail((*path, key), f"expected {key} {_show(want)}, found {_show(got)}")

    def expect_documents(
        self, documents: Mapping[str, Mapping[str, Any]], inst: Instance, path: Path_
    ) -> None:
        docs = inst.documents
        for dname, fields in documents.items():
            if isinstance(docs.get(dname), tuple):
                raise self.fail(
                    (*path, dname),
                    f"'{dname}' is a per-person form, kept as copies",
                    f"expect its copies with copies: {{{dname}: [...]}}",
                )
            for fname, want in fields.items():
                got = docs.get(dname, {}).get(fname)
                if not _same(want, got):
                    raise self.fail(
                        (*path, dname, fname),
                        f"expected {dname}.{fname} = {_show(want)}, found {_show(got)}",
                    )

    def expect_copies(
        self, expected: dict[str, list[dict[str, Any]]], inst: Instance, path: Path_
    ) -> None:
        docs = inst.documents
        for dname, wanted in expected.items():
            kept = docs.get(dname)
            if not isinstance(kept, tuple):
                raise self.fail(
                    (*path, dname),
                    f"'{dname}' is not a per-person form",
                    "expect its fields with documents:",
                )
            if len(kept) != len(wanted):
                who = [c.of if c.of is not None else c.by for c in kept]
                raise self.fail(
                    (*path, dname),
                    f"expected {len(wanted)} copies of {dname}, found {len(kept)}",
                    f"copies for: {_show(who)}",
                )
            for i, (want, copy) in enumerate(zip(wanted, kept, strict=True)):
                meta = {"of": copy.of, "filled_by": copy.by}
                for key, value in want.items():
                    got = meta[key] if key in meta else copy.values.get(key)
                    if not _same(value, got):
                        raise self.fail(
                            (*path, dname, i, key),
                            f"expected copy {i + 1} of {dname}: {key} = {_show(value)}, "
                            f"found {_show(got)}",
                        )

    def expect_tasks(self, exp: Expect, inst: Instance, path: Path_) -> None:
        expected = exp.tasks or []
        open_steps = sorted({t.step_id for t in inst.tasks})
        wanted = sorted({t.step for t in expected})
        if wanted != open_steps:
            raise self.fail(path, f"expected open tasks {_show(wanted)}, found {_show(open_steps)}")
        for i, te in enumerate(expected):
            at = [t for t in inst.tasks if t.step_id == te.step]
            if te.actor is not None and not any(te.actor in t.actor for t in at):
                found = sorted({a for t in at for a in t.actor})
                raise self.fail(
                    (*path, i), f"expected '{te.step}' offered to {te.actor}, found {_show(found)}"
                )
            if te.users is not None:
                may = sorted(
                    uid
                    for uid, user in self.users.items()
                    if any(
                        t.step_id == te.step
                        for t in self.engine.tasks(user=user, instance_id=inst.id)
                    )
                )
                if sorted(te.users) != may:
                    raise self.fail(
                        (*path, i),
                        f"expected {_show(te.users)} to be able to act on "
                        f"'{te.step}', found {_show(may)}",
                    )

    def seen(self, inst: Instance) -> dict[str, list[str]]:
        """What the history says so far: skipped steps, deadline actions, notices, children."""
        out: dict[str, list[str]] = {k: [] for k in SEEN}
        step_of: dict[str, str] = {}
        for event in self.engine.history(inst.id):
            data = event.data
            if event.type == "task_opened":
                step_of[str(data["task"])] = str(data["step"])
            elif event.type == "step_skipped":
                out["skipped"].append(str(data["step"]))
            elif event.type in ("overdue", "reminded", "escalated"):
                out[str(event.type)].append(step_of.get(str(data["task"]), "?"))
            elif event.type == "task_completed" and event.by is None and data.get("timer"):
                out["expired"].append(step_of.get(str(data["task"]), "?"))
            elif event.type == "notified":
                roles = [str(r) for r in data.get("roles", ())]
                out["notified"] += [r for r in roles if r not in out["notified"]]
            elif event.type in ("handed_off", "called"):
                child = self.engine.instance(str(data["child"]))
                out["started"].append(child.process_id)
        return out


def run_scenario(path: Path, catalog: Catalog) -> ScenarioResult:
    """Load, check and act out one scenario file."""
    started = time.perf_counter()
    scenario, doc, problems = load_scenario(path)
    if scenario is None or doc is None:
        return ScenarioResult(str(path), path.stem, "", False, problems)
    problems += check_scenario(scenario, doc, catalog)
    result = ScenarioResult(str(path), scenario.scenario, scenario.process, False, problems)
    if any(p.is_error for p in problems):
        return result
    run = _Run(scenario, doc, catalog)
    try:
        for i, act in enumerate(scenario.acts):
            run.act(i, act)
            result.acts = i + 1
        if scenario.expect is not None:
            run.expect(scenario.expect, ("expect",))
    except _Failed as failed:
        result.problems.append(failed.diagnostic)
    except errors.ProcflowError as exc:  # an engine error outside a command (a bug to report)
        result.problems.append(doc.diag(("acts",), "PF602", f"{type(exc).__name__}: {exc}"))
    for inst in run.engine.instances():
        result.histories.setdefault(inst.process_id, []).append(run.engine.history(inst.id))
    result.passed = not any(p.is_error for p in result.problems)
    result.seconds = time.perf_counter() - started
    return result


def coverage_of(results: Iterable[ScenarioResult], catalog: Catalog) -> dict[str, Coverage]:
    """How much of each process the scenarios walked (see `procflow.testing.coverage`)."""
    histories: dict[str, list[list[Any]]] = {}
    for r in results:
        for pid, runs in r.histories.items():
            histories.setdefault(pid, []).extend(runs)
    return measure(catalog, histories)


def scenario_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The scenario files named, and every YAML file in `scenarios/` under the folders named."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir() and p.name == SCENARIO_DIR:
            yield from sorted(p.rglob("*.y*ml"))
        elif p.is_dir():
            yield from sorted(
                f for f in p.rglob("*.y*ml") if SCENARIO_DIR in f.relative_to(p).parts[:-1]
            )
        elif SCENARIO_DIR in p.parts:
            yield p


def run_paths(
    paths: Iterable[str | Path], catalog: Catalog | None = None
) -> tuple[list[ScenarioResult], list[Diagnostic]]:
    """Run every scenario under ``paths`` against the processes there.

    Returns the results and the diagnostics of the processes (when they do
    not load, no scenario runs).
    """
    paths = list(paths)
    problems: list[Diagnostic] = []
    if catalog is None:
        catalog, problems = catalog_for(paths)
        if any(p.is_error for p in problems):
            return [], problems
    return [run_scenario(f, catalog) for f in scenario_files(paths)], problems


def catalog_for(paths: Iterable[str | Path]) -> tuple[Catalog, list[Diagnostic]]:
    """The processes scenarios under ``paths`` run against: the folders named, or the
    folder above the ``scenarios/`` folder of a scenario file named."""
    named = [Path(p) for p in paths]
    roots = [p.parent if p.name == SCENARIO_DIR else p for p in named if p.is_dir()]
    for p in named:
        if not p.is_dir():
            above = next((q for q in p.parents if q.name == SCENARIO_DIR), p)
            roots.append(above.parent)
    return check_paths(dict.fromkeys(roots))
