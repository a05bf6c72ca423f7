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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from procflow.decisions.table import DecisionTable
from procflow.errors import ExecutionError
from procflow.flow.ir import STARTER, Condition, Node
from procflow.flow.layout import Layout, Placed
from procflow.language import expr
from procflow.language.diagnostics import Diagnostic, did_you_mean
from procflow.language.expr.evaluator import Scope
from procflow.language.model import Actor, DocumentDef, FieldDef, Process
from procflow.language.source import Document, Path_, pointer

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


def environment(documents: Mapping[str, DocumentDef]) -> dict[str, expr.Type]:
    """The names an expression may use: one record per document."""
    return {
        name: expr.RecordType(name, tuple((k, field_type(f)) for k, f in d.fields.items()))
        for name, d in documents.items()
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

    def __post_init__(self) -> None:
        if not self.env:
            self.env = environment(self.documents)

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

    def condition(self, path: Path_, text: str) -> Condition:
        """A yes/no condition (``when``, ``if``, ``requires``), compiled."""
        return Condition(text, self.expression(path, text) or UNCOMPILED)

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
