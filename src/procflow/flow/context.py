"""One process being compiled: what building its flow and checking it share.

Owns `Context`: the process model and its YAML document, the layout of its
steps, the actors and documents it can name, the expression environment and
the decision-table functions; the problems found so far; and the helpers that
every step kind's build and checks use to compile an expression (located
inside its scalar) and to check that an actor, a document, a field or a
target exists (PF301-PF304, PF311, with did-you-mean). It also notes which
actors and documents are used, for the unused-name warnings.

Imports the language layer, `decisions.table` (types), `layout` and `ir`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from procflow.errors import ExecutionError
from procflow.flow.ir import STARTER, Collection, Condition, Limit, Node, Per
from procflow.flow.layout import Layout, Placed
from procflow.language import expr
from procflow.language.diagnostics import Diagnostic, did_you_mean
from procflow.language.expr.evaluator import Scope
from procflow.language.model import (
    Actor,
    DocumentDef,
    FieldDef,
    Process,
    TaskStep,
    Way,
    target_of,
)
from procflow.language.source import Document, Path_, pointer

if TYPE_CHECKING:
    from procflow.decisions.table import DecisionTable

_SCALAR_TYPES: dict[str, expr.Type] = {
    "text": expr.TEXT,
    "number": expr.NUMBER,
    "money": expr.MONEY,
    "percent": expr.PERCENT,
    "date": expr.DATE,
    "datetime": expr.DATETIME,
    "yesno": expr.BOOL,
    "user": expr.TEXT,
}
USERS = (expr.TEXT, expr.ListType(expr.TEXT))
"""What an expression naming people may give: a user, or a list of users."""
DATES = (expr.DATE, expr.DATETIME)
"""What ``due_on`` may give: a date (due at its end) or a date and time."""
_FIELD_PATH = re.compile(r"\s*([A-Za-z]\w*)\.([A-Za-z]\w*)\s*")


def field_type(f: FieldDef) -> expr.Type:
    """The expression type of a document field."""
    if f.type == "choice":
        return expr.ChoiceType(tuple(f.of or ()))
    if f.type == "list":
        if f.fields is not None:
            item: expr.Type = expr.RecordType(
                "item", tuple((k, field_type(v)) for k, v in f.fields.items())
            )
        else:
            item = _SCALAR_TYPES.get(str(f.of), expr.TEXT)
        return expr.ListType(item)
    return _SCALAR_TYPES[f.type]


def environment(
    documents: Mapping[str, DocumentDef], collections: Mapping[str, Collection] | None = None
) -> dict[str, expr.Type]:
    """The names an expression may use: one record per document, and the copies of each
    per-person form (each a record with ``filled_by`` and ``filled_at`` too)."""
    env: dict[str, expr.Type] = {}
    for name, d in documents.items():
        record = expr.RecordType(name, tuple((k, field_type(f)) for k, f in d.fields.items()))
        if collections and name in collections:
            extra = (("filled_by", expr.TEXT), ("filled_at", expr.DATETIME))
            record = expr.RecordType(name, (*record.fields.items(), *extra))
            env[name] = expr.CollectionType(record)
        else:
            env[name] = record
    return env


def find_collections(
    layout: Layout, documents: Mapping[str, DocumentDef], *, infer: bool = True
) -> dict[str, Collection]:
    """The per-person forms: forms with ``copies:`` and, when ``infer``, what a ``for_each``
    step fills (a stored definition says it itself: one stored before per-person forms
    keeps its shared forms)."""
    per: dict[str, Per] = {n: "submission" for n, d in documents.items() if d.copies == "each"}
    for p in layout.placed:
        if p.step.kind != "task":
            continue
        step = cast(TaskStep, p.step)  # the kind says so
        if step.for_each is not None:
            kind: Per = "item"
            if step.for_each == "member":
                kind = "member"
            else:
                doc, name = step.for_each.split(".", 1)
                f = documents[doc].fields.get(name) if doc in documents else None
                kind = "member" if f is not None and f.of == "user" else "item"
            for doc in step.fills:
                if infer or (doc in documents and documents[doc].copies is not None):
                    per.setdefault(doc, kind)
    for name, d in documents.items():
        if d.copies == "per_task":
            per.setdefault(name, "member")
    return {
        doc: Collection(
            doc, kind, tuple(p.id for p in layout.placed if doc in getattr(p.step, "fills", {}))
        )
        for doc, kind in per.items()
        if doc in documents
    }


def _uncompiled(scope: Scope) -> bool:
    raise ExecutionError("a condition of this process did not compile")


UNCOMPILED = expr.Expression("", expr.BOOL, frozenset(), _uncompiled)
"""Stands for an expression with problems; a flow with problems is never run."""


@dataclass
class Context:
    """Everything building and checking one process's flow needs, and the problems found."""

    process: Process
    doc: Document
    layout: Layout
    actors: Mapping[str, Actor]
    documents: Mapping[str, DocumentDef]
    tables: Mapping[str, DecisionTable] = field(default_factory=dict)
    """Decision tables the process can see (its files and inline tables), by id."""
    functions: Mapping[str, expr.Function] = field(default_factory=dict)
    """One function per table, callable in conditions: ``mbo_grade(score, ...)``."""
    env: dict[str, expr.Type] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    used_actors: set[str] = field(default_factory=set)
    used_documents: set[str] = field(default_factory=set)
    remembered: frozenset[str] = frozenset()
    """Steps whose doers a later rule names (four-eyes, a deadline counted from them)."""
    built: dict[int, Node] = field(default_factory=dict)
    """``id()`` of each placed step -> the node built from it (duplicates' too)."""
    collections: dict[str, Collection] = field(default_factory=dict)
    """The per-person forms (`find_collections`)."""
    infer_copies: bool = True
    """Whether a form a for-each step fills is a per-person form without saying so (not
    for a stored definition, which says so itself)."""
    limits: dict[tuple[str, str], list[Limit]] = field(default_factory=dict)
    """The limited ways found while building, by (source, target) (`way`)."""
    ends: dict[str, tuple[str, Path_]] = field(default_factory=dict)
    """End nodes a limit's ``end:`` adds: node id -> (result, where it is written)."""

    def __post_init__(self) -> None:
        self.collections = find_collections(self.layout, self.documents, infer=self.infer_copies)
        if not self.env:
            self.env = environment(self.documents, self.collections)

    @contextmanager
    def this_copy(self, documents: Iterable[str]) -> Iterator[None]:
        """Compile expressions with these per-person forms read as one copy: the one the
        step being completed fills (its ``requires`` and ``apply:`` inputs)."""
        saved = self.env
        self.env = {**saved, **{d: environment({d: self.documents[d]})[d] for d in documents}}
        try:
            yield
        finally:
            self.env = saved

    def diag(
        self,
        path: Path_,
        code: str,
        message: str,
        hint: str = "",
        *,
        at_key: bool = False,
        warning: bool = False,
    ) -> Diagnostic:
        return self.doc.diag(path, code, message, hint, at_key=at_key, warning=warning)

    # -- expressions ----------------------------------------------------------------------

    def expression(
        self, path: Path_, text: str, *, expect: expr.Type | None = expr.BOOL
    ) -> expr.Expression | None:
        """Compile the expression at ``path``; its problems, placed inside the scalar, are
        added to `problems`. None when it does not compile."""
        compiled, issues = expr.compile_expression(
            text, self.env, expect=expect, functions=self.functions
        )
        for issue in issues:
            line, col = self.doc.positions.in_scalar(path, issue.start, text)
            self.problems.append(
                Diagnostic(
                    self.doc.file,
                    line,
                    col,
                    issue.code,
                    issue.message,
                    issue.hint,
                    pointer=pointer(path),
                )
            )
        if compiled is not None:
            for name in compiled.names:
                self.used_documents.add(name.split(".", 1)[0])
        return compiled

    def condition(self, path: Path_, text: str, title: str = "") -> Condition:
        """A yes/no condition (``when``, ``if``, ``requires``), compiled; ``title`` is the
        analyst's words for it."""
        return Condition(text, self.expression(path, text) or UNCOMPILED, title)

    def typed(
        self, path: Path_, text: str, allowed: tuple[expr.Type, ...]
    ) -> expr.Expression | None:
        """An expression whose value must be one of ``allowed`` (`USERS` or `DATES`)."""
        before = len(self.problems)
        compiled = self.expression(path, text, expect=None)
        if compiled is None or len(self.problems) > before:
            return None
        want = "a user or a list of users" if allowed is USERS else "a date or a date and time"
        if compiled.type not in allowed:
            message = f"'{text}' gives {compiled.type}, not {want}"
            self.problems.append(self.diag(path, "PF403", message, "name a field of that type"))
            return None
        m = _FIELD_PATH.fullmatch(text)
        d = self.documents.get(m[1]) if m and allowed is USERS else None
        f = d.fields.get(m[2]) if d is not None and m else None
        if f is not None and f.type != "user" and not (f.type == "list" and f.of == "user"):
            self.problems.append(
                self.diag(
                    path,
                    "PF403",
                    f"'{text.strip()}' is a {f.type} field, not a user",
                    "give the field type: user (or a list of: user)",
                )
            )
            return None
        return compiled

    # -- names ----------------------------------------------------------------------------

    def use_starter(self) -> None:
        """The process names `STARTER` as an actor: give it a title for diagrams."""
        if STARTER not in self.actors:
            self.actors = {**self.actors, STARTER: Actor(title="發起人")}

    def actor(self, name: str, path: Path_) -> Iterator[Diagnostic]:
        """PF302 unless ``name`` is an actor (or `STARTER`); marks it used."""
        self.used_actors.add(name)
        if name not in self.actors and name != STARTER:
            hint = (
                did_you_mean(name, self.actors)
                or "add it under 'actors:' or to the organisation file"
            )
            yield self.diag(path, "PF302", f"the actor '{name}' is not defined", hint)

    def document(self, name: str, path: Path_) -> Iterator[Diagnostic]:
        """PF303 unless ``name`` is a document; marks it used."""
        self.used_documents.add(name)
        if name not in self.documents:
            hint = did_you_mean(name, self.documents) or "add it under 'documents:'"
            yield self.diag(path, "PF303", f"the document '{name}' is not defined", hint)

    def field(self, doc: str, name: str, path: Path_) -> Iterator[Diagnostic]:
        """PF304 when the document exists and has no field ``name``."""
        d = self.documents.get(doc)
        if d is not None and name not in d.fields:
            hint = (
                did_you_mean(name, d.fields)
                or f"the fields of '{doc}' are: {', '.join(d.fields) or 'none'}"
            )
            yield self.diag(path, "PF304", f"the document '{doc}' has no field '{name}'", hint)

    def way(self, way: Way, at: Placed, path: Path_, *, source: str | None = None) -> str | None:
        """The node a way from ``at`` goes to (None when it does not exist: its check says
        so); a `Loop` is noted as a `Limit` of the way from ``source`` (``at`` itself)."""
        dest = self.layout.resolve(target_of(way), at)
        if dest is None or isinstance(way, str):
            return dest
        if way.then is not None:
            then = self.layout.resolve(way.then, at)
            if then is None:
                return dest  # PF301, reported by `check_way`
        else:
            then = f"{at.id}@{way.end}"
            self.ends[then] = (str(way.end), (*path, "end"))
        src = source or at.id
        limit = Limit(src, dest, way.at_most, then, path)
        self.limits.setdefault((src, dest), []).append(limit)
        return dest

    def check_way(self, way: Way, at: Placed, path: Path_) -> Iterator[Diagnostic]:
        """PF301 or PF311 unless the way's target (and a limit's ``then:``) exist."""
        if isinstance(way, str):
            yield from self.target(way, at, path)
            return
        yield from self.target(way.to, at, (*path, "to"))
        if way.then is not None:
            yield from self.target(way.then, at, (*path, "then"))

    def one_form(self, name: str, path: Path_, why: str) -> Diagnostic:
        """PF325: the per-person form ``name`` is used where one form is needed."""
        kept = self.collections[name]
        return self.diag(
            path,
            "PF325",
            f"'{name}' is a per-person form ({kept.words}, filled at "
            f"{', '.join(kept.steps)}), but {why}",
            "use a form that one step fills (a consolidated one), or read the copies "
            "in a condition",
        )

    def target(self, target: str, at: Placed, path: Path_) -> Iterator[Diagnostic]:
        """PF301 or PF311 unless ``target`` is ``next`` or a step ``at`` can go to."""
        if target == "next" or self.layout.resolve(target, at) is not None:
            return
        found = self.layout.by_id.get(target)
        if found is not None:
            inside = any(s[0] == at.id for s in found.scope)
            if inside or at.scope[: len(found.scope)] != found.scope:
                yield self.diag(
                    path,
                    "PF311",
                    f"'{target}' is inside a parallel branch that this step is not in",
                    "a step can only go to steps of its own branch (or 'next')",
                )
            else:
                yield self.diag(
                    path,
                    "PF311",
                    f"going to '{target}' leaves the parallel branch, so it never joins",
                    "finish the branch and put the step after the parallel step",
                )
            return
        hint = did_you_mean(target, [*self.layout.ids_in_scope(at.scope), "next"])
        yield self.diag(
            path,
            "PF301",
            f"the step '{target}' is not defined",
            hint or "use a step id of this process or 'next'",
        )
