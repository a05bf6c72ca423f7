"""Load process files: text → document → models → checks → compiled flow.

Owns `load` (one file), `load_dir` (a folder, as a `Catalog`),
`check_paths` (what ``procflow validate`` runs: never raises, returns every
diagnostic) and `find_files` (which files a path given stands for, and what
a folder walk skips). Organisation files are loaded once per path and
shared. A file named alone is checked against what it refers to, never
against every file of its folder (see `_neighbours`).

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
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from procflow.errors import DefinitionError, InvalidArgument
from procflow.flow.build import build_flow
from procflow.flow.catalog import Catalog, Process
from procflow.flow.checks import check_flow
from procflow.flow.context import Context
from procflow.flow.layout import layout
from procflow.flow.links import check_catalog, linked_ids
from procflow.flow.tables import resolve_tables
from procflow.language import source
from procflow.language.diagnostics import Diagnostic, Severity, did_you_mean, merge_repeats
from procflow.language.locate import diagnostics_from
from procflow.language.model import Actor, DocumentDef, Organisation

if TYPE_CHECKING:
    from procflow.decisions.files import TableFiles
    from procflow.decisions.table import DecisionTable
    from procflow.language.expr import Function

SKIP_DIRS = frozenset({"scenarios", ".git", "__pycache__", "build", "node_modules"})
"""Folders under a process folder that do not hold process files."""


def _kind(data: Any) -> str:
    if not isinstance(data, dict):
        return "other"
    if "organisation" in data and "roles" in data and "steps" not in data:
        return "organisation"
    if "tables" in data and "steps" not in data:
        return "decisions"
    if "scenario" in data and "acts" in data and "steps" not in data:
        return "scenario"
    return "process"


class Loader:
    """Loads files, sharing organisation files and decision files between processes."""

    def __init__(self) -> None:
        self.organisations: dict[Path, tuple[Organisation | None, list[Diagnostic], str]] = {}

    @cached_property
    def tables(self) -> TableFiles:
        """The decision files read so far. Made on first use: the decision-table library
        is imported only when a file has tables (most processes have none)."""
        from procflow.decisions.files import TableFiles  # noqa: PLC0415

        return TableFiles()

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
        self, path: Path | str, *, text: str | None = None, stored: bool = False
    ) -> tuple[Process | None, list[Diagnostic]]:
        """Load one process file; the process is None when there is any error.

        ``stored``: the text is a definition a store kept, which says which forms are
        per-person forms itself (`Context.infer_copies`)."""
        p = Path(path)
        with paused_gc():
            if text is None:
                doc, problems = source.load_file(p)
            else:
                doc, problems = source.parse(text, str(path))
            if doc is None:
                return None, problems
            process, problems = self.process_document(doc, p, problems, stored=stored)
            return process, merge_repeats(problems)

    def process_document(
        self, doc: source.Document, p: Path, problems: list[Diagnostic], *, stored: bool = False
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
        without_org = False  # the organisation file cannot be used: its names are unknown
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
                without_org = True
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
                    without_org = True
                else:
                    actors.update(org.roles)
                    documents.update(org.documents)
        actors.update(process.actors)
        documents.update(process.documents)
        tables: dict[str, DecisionTable] = {}
        functions: dict[str, Function] = {}
        if process.decisions or process.tables:
            tables, functions, more = resolve_tables(process, doc, p, self.tables)
            problems += more
        ctx = Context(
            process, doc, layout(process), actors, documents, tables, functions,
            infer_copies=not stored,
        )  # fmt: skip
        flow = build_flow(ctx, file=str(p))
        problems += [d for d in check_flow(ctx, flow) if not (without_org and d.code in _ORG_NAMES)]
        if any(d.is_error for d in problems):
            return None, problems
        for name in ctx.collections:  # the definition says which forms are per-person ones
            if documents[name].copies is None:
                documents[name] = documents[name].model_copy(update={"copies": "per_task"})
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


_ORG_NAMES = frozenset({"PF302", "PF303", "PF402"})
"""Codes of a name not defined (actor, document, a document in a condition): not reported
while the organisation file that would define it cannot be used (PF316 says so once)."""


def _path_argument(path: object, call: str) -> Path:
    """``path`` as a `Path`, or `InvalidArgument` naming ``call`` (not a TypeError deep inside)."""
    if isinstance(path, str | os.PathLike) and isinstance(os.fspath(path), str):
        return Path(path)
    raise InvalidArgument(
        f"{call}() takes a path (text or a pathlib.Path), not {type(path).__name__}"
    )


def load(path: str | Path) -> Process:
    """Load, validate and compile one process file.

    Raises:
        DefinitionError: with every problem found, when there is any error.
        InvalidArgument: ``path`` is not a path.
    """
    process, problems = Loader().process(_path_argument(path, "load"))
    if process is None:
        raise DefinitionError(problems)
    return process


def loads(text: str, *, name: str = "<string>", _stored: bool = False) -> Process:
    """Like `load`, from YAML text (an organisation path is relative to the current folder).

    Raises:
        DefinitionError: with every problem found, when there is any error.
        InvalidArgument: ``text`` is not text (bytes: decode them as UTF-8 first).
    """
    if not isinstance(text, str):
        raise InvalidArgument(
            f"loads() takes YAML text, not {type(text).__name__}"
            + (": decode the bytes first (data.decode('utf-8'))" if isinstance(text, bytes) else "")
        )
    process, problems = Loader().process(Path(name), text=text, stored=_stored)
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
    return loads(text, name=name, _stored=True)


YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Found:
    """What `find_files` found under the paths given."""

    files: list[Path] = field(default_factory=list)
    """The files to load: each path given in turn, the files of a folder sorted, no repeats."""
    named: set[Path] = field(default_factory=set)
    """The files named one by one (resolved): checked against what they refer to, not a folder."""
    problems: list[Diagnostic] = field(default_factory=list)
    """Paths that cannot be walked, entries skipped (warnings), folders with no file."""


def find_files(paths: Iterable[str | Path]) -> Found:
    """The process files under ``paths``: folders recursively, skipping scenarios/ and the like.

    A path that is not a folder is taken as a file, whatever it is (reading it
    reports what is wrong with it). Inside a folder, only ``*.yaml`` and
    ``*.yml`` regular files are taken, and every entry passed over that might
    have held some (a link that loops or leads nowhere, a link to a folder, a
    sub-folder that cannot be read, a FIFO, socket or device) is a PF112
    warning. A folder that cannot be read is PF101, one with no file PF113.
    """
    found = Found()
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        try:
            is_dir = stat.S_ISDIR(os.stat(p).st_mode)
        except OSError:
            is_dir = False  # reading it says why (missing, a loop, a dangling link)
        files = _walk(p, found) if is_dir else [p]
        for f in files:
            key = _resolved(f)
            if key not in seen:
                seen.add(key)
                found.files.append(f)
                if not is_dir:
                    found.named.add(key)
    return found


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The files `find_files` finds (without its problems)."""
    yield from find_files(paths).files


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop: RuntimeError before Python 3.13
        return path.absolute()


def _walk(top: Path, found: Found) -> list[Path]:
    """The YAML files under the folder ``top``, sorted; what is skipped goes to ``found``."""
    files: list[Path] = []
    folders = [top]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            if folder == top:
                found.problems.append(
                    Diagnostic(
                        str(top),
                        0,
                        0,
                        "PF101",
                        f"cannot read the folder: {source.os_reason(exc)}",
                        source.os_hint(exc),
                    )
                )
                return []
            found.problems.append(_skipped(folder, f"the folder cannot be read ({exc.strerror})"))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        folders.append(path)
                    continue
                mode = entry.stat().st_mode  # follows a link
            except OSError as exc:
                found.problems.append(_skipped(path, source.os_reason(exc)))
                continue
            if stat.S_ISDIR(mode):
                found.problems.append(
                    _skipped(path, "a link to a folder is not followed; name the folder itself")
                )
            elif path.suffix in YAML_SUFFIXES:
                if stat.S_ISREG(mode):
                    files.append(path)
                else:
                    found.problems.append(_skipped(path, f"it is {source.kind_of(mode)}"))
    if not files:
        found.problems.append(
            Diagnostic(
                str(top),
                0,
                0,
                "PF113",
                "no process file (*.yaml, *.yml) under this folder",
                "name the folder or the files that hold the processes",
            )
        )
    return sorted(files)


def _skipped(path: Path, why: str) -> Diagnostic:
    return Diagnostic(
        str(path),
        0,
        0,
        "PF112",
        f"skipped: {why}",
        severity=Severity.WARNING,
    )


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
    found = find_files(paths)
    problems: list[Diagnostic] = list(found.problems)
    docs: dict[str, source.Document] = {}
    for f in found.files:
        doc, more = source.load_file(f)
        if doc is None:
            problems += more
            continue
        problems += _load_one(f, doc, more, loader=loader, catalog=catalog, docs=docs)
    known, unchecked = _neighbours(found, catalog, loader)
    problems += check_catalog(catalog, docs, known=known, unchecked=unchecked)
    unique = sorted(set(merge_repeats(problems)), key=lambda d: (d.file, d.line, d.column, d.code))
    catalog.warnings = [d for d in unique if d.severity is Severity.WARNING]
    return catalog, unique


def _load_one(
    f: Path,
    doc: source.Document,
    found: list[Diagnostic],
    *,
    loader: Loader,
    catalog: Catalog,
    docs: dict[str, source.Document],
) -> list[Diagnostic]:
    """Load one parsed file into ``catalog``, by its kind; its problems."""
    problems: list[Diagnostic] = []
    kind = _kind(doc.data)
    if kind == "organisation":
        org, more = loader.organisation(f)[:2]
        problems += found + [d for d in more if d not in found]
        if org is not None:
            catalog.organisations[org.organisation] = org
        return problems
    if kind == "scenario":  # named on its own (folders skip scenarios/): not a process
        return [_skipped(f, "a scenario file; 'procflow test' checks and runs it")]
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
        return problems
    process, more = loader.process_document(doc, f, found)
    problems += more
    if process is not None:
        if process.id in catalog.processes:
            problems.append(
                doc.diag(
                    ("id",),
                    "PF315",
                    f"the process id '{process.id}' is also used by {catalog.files[process.id]}",
                    "give each process its own id",
                )
            )
            return problems
        catalog.processes[process.id] = process
        catalog.files[process.id] = str(f)
        docs[process.id] = doc
    return problems


def _neighbours(
    found: Found, catalog: Catalog, loader: Loader
) -> tuple[dict[str, Process], dict[str, str]]:
    """The processes that files named one by one call or hand off to, read from beside them.

    A file named alone is checked against what it refers to, never against
    every file of its folder (one large or hostile neighbour would slow every
    check of a single file): the process ``B`` it calls or hands off to is
    read from ``B.yaml`` (or ``B.yml``) in the same folder, when that is not
    in the catalog already. Their own problems are not reported here. The
    second mapping says, for each id that could not be found that way, why;
    `check_catalog` reports those as not checked (PF324, a warning).
    """
    known: dict[str, Process] = {}
    unchecked: dict[str, str] = {}
    for pid, file in catalog.files.items():
        if _resolved(Path(file)) not in found.named:
            continue  # part of a folder: the catalog is the whole folder
        folder = Path(file).parent
        for target in linked_ids(catalog.processes[pid]):
            if target in catalog.processes or target in known or target in unchecked:
                continue
            process, why = _beside(folder, target, loader)
            if process is not None:
                known[target] = process
            else:
                unchecked[target] = why
    return known, unchecked


def _beside(folder: Path, pid: str, loader: Loader) -> tuple[Process | None, str]:
    """The process ``pid`` from ``folder/pid.yaml`` (or ``.yml``), or why it is not there."""
    for suffix in YAML_SUFFIXES:
        f = folder / f"{pid}{suffix}"
        if not os.path.lexists(f):
            continue
        doc, found = source.load_file(f)
        if doc is None or _kind(doc.data) != "process":
            return None, f"{f} cannot be read as a process"
        process, _ = loader.process_document(doc, f, found)
        if process is None:
            return None, f"{f} has problems (validate it)"
        if process.id != pid:
            return None, f"{f} holds the process '{process.id}', not '{pid}'"
        return process, ""
    try:
        stems = [n.rpartition(".")[0] for n in os.listdir(folder) if n.endswith(YAML_SUFFIXES)]
    except OSError:
        stems = []
    hint = did_you_mean(pid, stems)
    return None, f"no file {pid}.yaml beside this one" + (f" ({hint})" if hint else "")


def load_dir(path: str | Path) -> Catalog:
    """Load every process under a folder and check the references between them.

    Raises:
        DefinitionError: with every problem found, when there is any error.
        InvalidArgument: ``path`` is not a path.
    """
    catalog, problems = check_paths([_path_argument(path, "load_dir")])
    if any(d.is_error for d in problems):
        raise DefinitionError(problems)
    return catalog
