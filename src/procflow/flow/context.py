"""What the checks of one process share: the process, its document, its flow and names.

Owns `Context` (everything a check over one process reads, and where it
compiles expressions and marks the actors and documents in use) and the
expression environment of a process's documents (`environment`,
`field_type`). The checks themselves are in `checks`, `held` and `tables`,
which all import this module and nothing of each other.

Imports the language layer and `build`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx

from procflow.decisions.table import DecisionTable
from procflow.flow.build import Layout
from procflow.language import expr
from procflow.language.diagnostics import Diagnostic
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


def environment(documents: dict[str, DocumentDef]) -> dict[str, expr.Type]:
    """The names an expression may use: one record per document."""
    return {
        name: expr.RecordType(name, tuple((k, field_type(f)) for k, f in d.fields.items()))
        for name, d in documents.items()
    }


@dataclass
class Context:
    """Everything the checks need about one process."""

    process: Process
    doc: Document
    layout: Layout
    graph: nx.DiGraph[str]
    actors: dict[str, Actor]
    documents: dict[str, DocumentDef]
    env: dict[str, expr.Type] = field(default_factory=dict)
    expressions: dict[Path_, expr.Expression] = field(default_factory=dict)
    used_actors: set[str] = field(default_factory=set)
    used_documents: set[str] = field(default_factory=set)
    tables: dict[str, DecisionTable] = field(default_factory=dict)
    """Decision tables the process can see (its files and inline tables), by id."""
    functions: dict[str, expr.Function] = field(default_factory=dict)
    """One function per table, callable in conditions: ``mbo_grade(score, ...)``."""

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

    def compile_expr(
        self,
        path: Path_,
        text: str,
        *,
        expect: expr.Type | None = expr.BOOL,
        env: dict[str, expr.Type] | None = None,
    ) -> Iterator[Diagnostic]:
        """Compile the expression at ``path``; yield its problems placed inside the scalar."""
        compiled, issues = expr.compile_expression(
            text, env if env is not None else self.env, expect=expect, functions=self.functions
        )
        for issue in issues:
            line, col = self.doc.positions.in_scalar(path, issue.start, text)
            yield Diagnostic(
                self.doc.file,
                line,
                col,
                issue.code,
                issue.message,
                issue.hint,
                pointer=_pointer(path),
            )
        if compiled is not None:
            self.expressions[path] = compiled
            for name in compiled.names:
                self.used_documents.add(name.split(".", 1)[0])


def _pointer(path: Path_) -> str:
    return pointer(path)
