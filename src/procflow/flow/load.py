"""Load process files: text → document → models → checks → compiled flow.

Owns `load` (one file), `load_dir` (a folder, as a `Catalog`) and
`check_paths` (what ``procflow validate`` runs: never raises, returns every
diagnostic). Organisation files are loaded once per path and shared.

A file is a process when its top level has ``id:`` and ``steps:``, an
organisation file when it has ``organisation:`` and ``roles:``, a decision
file when it has ``tables:`` and no ``steps:`` (checked by
`procflow.decisions.files`, loaded once per path and shared, wherever they
are: ``processes/decisions/`` is the usual place). Scenario files live in
``scenarios/`` folders and are not processes.

Imports the pipeline stages; never `runtime` or `cli`.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from procflow.decisions.files import TableFiles
from procflow.decisions.table import DecisionTable
from procflow.errors import DefinitionError
from procflow.flow.build import build_flow
from procflow.flow.catalog import Catalog, Process
from procflow.flow.checks import check_flow
from procflow.flow.context import Context
from procflow.flow.layout import layout
from procflow.flow.links import check_catalog
from procflow.flow.tables import resolve_tables
from procflow.language import source
from procflow.language.diagnostics import Diagnostic, Severity
from procflow.language.locate import diagnostics_from
from procflow.language.model import Actor, DocumentDef, Organisation

SKIP_DIRS = frozenset({"scenarios", ".git", "__pycache__", "build", "node_modules"})
"""Folders under a process folder that do not hold process files."""


def _kind(data: Any) -> str:
    if not isinstance(data, dict):
        return "other"
    if "organisation" in data and "roles" in data and "steps" not in data:
        return "organisation"
    if "tables" in data and "steps" not in data:
        return "decisions"
    return "process"


class Loader:
    """Loads files, sharing organisation files between processes."""

    def __init__(self) -> None:
        self.organisations: dict[Path, tuple[Organisation | None, list[Diagnostic], str]] = {}
        self.tables = TableFiles()

    def organisation(self, path: Path) -> tuple[Organisation | None, list[Diagnostic], str]:
        key = path.resolve()
        if key not in self.organisations:
            doc, problems = source.load_file(path)
            org: Organisation | None = None
            text = doc.text if doc else ""
            if doc is not None:
                org, more = _validate_model(doc, Organisation)
                problems += more
            self.organisations[key] = (org, problems, text)
        return self.organisations[key]

    def process(
        self, path: Path | str, *, text: str | None = None
    ) -> tuple[Process | None, list[Diagnostic]]:
        """Load one process file; the process is None when there is any error."""
        p = Path(path)
        with paused_gc():
            if text is None:
                doc, problems = source.load_file(p)
            else:
                doc, problems = source.parse(text, str(path))
            if doc is None:
                return None, problems
            return self.process_document(doc, p, problems)

    def process_document(
        self, doc: source.Document, p: Path, problems: list[Diagnostic]
    ) -> tuple[Process | None, list[Diagnostic]]:
        if not isinstance(doc.data, dict):
            kind = type(doc.data).__name__ if doc.data is not None else "nothing"
            problems.append(
                doc.diag(
                    (),
                    "PF204",
                    f"the top level is {_noun(kind)}, not a mapping",
                    "a process file starts with 'procflow: 1', 'id:' and 'title:'",
                )
            )
            return None, problems
        process, more = _validate_model(doc, Process)
        problems += more
        if process is None:
            return None, problems
        actors: dict[str, Actor] = {}
        documents: dict[str, DocumentDef] = {}
        if process.organisation is not None:
            org_path = (p.parent / process.organisation) if p.name else Path(process.organisation)
            if not org_path.is_file():
                problems.append(
                    doc.diag(
                        ("organisation",),
                        "PF316",
                        f"the organisation file '{process.organisation}' does not exist",
                        "give its path relative to this file",
                    )
                )
            else:
                org, org_problems, _ = self.organisation(org_path)
                problems += org_problems
                if org is None:
                    problems.append(
                        doc.diag(
                            ("organisation",),
                            "PF316",
                            f"the organisation file '{process.organisation}' has problems",
                            "see the problems reported for that file",
                        )
                    )
                else:
                    actors.update(org.roles)
                    documents.update(org.documents)
        actors.update(process.actors)
        documents.update(process.documents)
        tables, functions, more = resolve_tables(process, doc, p, self.tables)
        problems += more
        ctx = Context(process, doc, layout(process), actors, documents, tables, functions)
        flow = build_flow(ctx, file=str(p))
        problems += check_flow(ctx, flow)
        if any(d.is_error for d in problems):
            return None, problems
        definition = definition_data(process, actors, documents, tables)
        digest = hashlib.sha256(
            json.dumps(definition, sort_keys=True, ensure_ascii=False, default=str).encode()
        ).hexdigest()
        process._flow = replace(
            flow,
            definition=definition,
            definition_hash=digest,
            used_actors=frozenset(ctx.used_actors),
            used_documents=frozenset(ctx.used_documents),
        )
        return process, problems


def definition_data(
    process: Process,
    actors: Mapping[str, Actor],
    documents: Mapping[str, DocumentDef],
    tables: Mapping[str, DecisionTable] | None = None,
) -> dict[str, Any]:
    """The process with its organisation and decision tables inlined, as plain JSON-ready data."""
    data = process.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data.pop("organisation", None)
    data.pop("decisions", None)
    if tables:
        data["tables"] = {k: t.definition for k, t in tables.items()}
    data["actors"] = {
        k: v.model_dump(mode="json", exclude_defaults=True) for k, v in actors.items()
    }
    data["documents"] = {
        k: v.model_dump(mode="json", exclude_defaults=True) for k, v in documents.items()
    }
    return data


def _noun(kind: str) -> str:
    return {"list": "a list", "str": "plain text", "nothing": "empty"}.get(kind, f"a {kind}")


def _validate_model(doc: source.Document, model: type[Any]) -> tuple[Any, list[Diagnostic]]:
    if not isinstance(doc.data, dict):
        return None, [
            doc.diag(
                (), "PF204", "the top level is not a mapping", "start the file with 'procflow: 1'"
            )
        ]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        return None, list(diagnostics_from(exc, doc, model))


def load(path: str | Path) -> Process:
    """Load, validate and compile one process file.

    Raises:
        DefinitionError: with every problem found, when there is any error.
    """
    process, problems = Loader().process(path)
    if process is None:
        raise DefinitionError(problems)
    return process


def loads(text: str, *, name: str = "<string>") -> Process:
    """Like `load`, from YAML text (an organisation path is relative to the current folder)."""
    process, problems = Loader().process(Path(name), text=text)
    if process is None:
        raise DefinitionError(problems)
    return process


def load_definition(definition: Mapping[str, Any] | str, *, name: str = "<definition>") -> Process:
    """Rebuild a process from its flow's ``definition`` (or its JSON text, as a store keeps it).

    The definition has its organisation inlined, so no other file is read; the
    rebuilt process has the same ``flow.definition_hash``.

    Raises:
        DefinitionError: with every problem found, when there is any error.
    """
    text = (
        definition
        if isinstance(definition, str)
        else json.dumps(definition, sort_keys=True, ensure_ascii=False, default=str)
    )
    return loads(text, name=name)


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """YAML files under ``paths``, sorted: folders recursively, skipping scenarios/ and the like."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.suffix in (".yaml", ".yml")
                and f.is_file()
                and not (set(f.relative_to(p).parts[:-1]) & SKIP_DIRS)
            )
            yield from found
        else:
            yield p


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a definition loads.

    Loading makes many small objects and no garbage cycles; with the collector
    running, its full passes over them made loading 10,000 steps take twenty
    times as long as 1,000. Reference counting still frees everything; the
    collector is switched back on (if it was on) as soon as loading ends.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def check_paths(paths: Iterable[str | Path]) -> tuple[Catalog, list[Diagnostic]]:
    """Load every process under ``paths``; return the catalog of good ones and all diagnostics."""
    with paused_gc():
        return _check_paths(paths)


def _check_paths(paths: Iterable[str | Path]) -> tuple[Catalog, list[Diagnostic]]:
    loader = Loader()
    catalog = Catalog()
    problems: list[Diagnostic] = []
    docs: dict[str, source.Document] = {}
    for f in iter_files(paths):
        doc, found = source.load_file(f)
        if doc is None:
            problems += found
            continue
        kind = _kind(doc.data)
        if kind == "organisation":
            org, more = loader.organisation(f)[:2]
            problems += found + [d for d in more if d not in found]
            if org is not None:
                catalog.organisations[org.organisation] = org
            continue
        if kind == "decisions":
            tables, more = loader.tables.load_document(doc, f, found)
            problems += more
            for tid, table in (tables or {}).items():
                if tid in catalog.tables:
                    problems.append(
                        doc.diag(
                            ("tables", tid),
                            "PF513",
                            f"the table id '{tid}' is also used in {catalog.tables[tid].file}",
                            "give each table its own id",
                            at_key=True,
                        )
                    )
                    continue
                catalog.tables[tid] = table
            continue
        process, more = loader.process_document(doc, f, found)
        problems += more
        if process is not None:
            if process.id in catalog.processes:
                problems.append(
                    doc.diag(
                        ("id",),
                        "PF315",
                        f"the process id '{process.id}' is also used by "
                        f"{catalog.files[process.id]}",
                        "give each process its own id",
                    )
                )
                continue
            catalog.processes[process.id] = process
            catalog.files[process.id] = str(f)
            docs[process.id] = doc
    problems += check_catalog(catalog, docs, known=_neighbours(paths, catalog, loader))
    unique = sorted(set(problems), key=lambda d: (d.file, d.line, d.column, d.code))
    catalog.warnings = [d for d in unique if d.severity is Severity.WARNING]
    return catalog, unique


def _neighbours(
    paths: Iterable[str | Path], catalog: Catalog, loader: Loader
) -> dict[str, Process]:
    """Processes beside the files named one by one, so that validating one file can
    check its hand-offs and calls against the others in its folder (their own
    problems are not reported here)."""
    named = {Path(f).resolve() for f in catalog.files.values()}
    folders = {Path(p).parent for p in paths if not Path(p).is_dir()}
    known: dict[str, Process] = {}
    for f in iter_files(folders):
        if f.resolve() in named:
            continue
        doc, found = source.load_file(f)
        if doc is None or _kind(doc.data) != "process":
            continue
        process, _ = loader.process_document(doc, f, found)
        if process is not None and process.id not in catalog.processes:
            known.setdefault(process.id, process)
    return known


def load_dir(path: str | Path) -> Catalog:
    """Load every process under a folder and check the references between them.

    Raises:
        DefinitionError: with every problem found, when there is any error.
    """
    catalog, problems = check_paths([path])
    if any(d.is_error for d in problems):
        raise DefinitionError(problems)
    return catalog
