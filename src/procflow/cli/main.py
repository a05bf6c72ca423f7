"""The ``procflow`` command line.

Owns argument parsing (click), output formats and exit codes:
0 clean, 1 problems found, 2 usage error. Nothing imports this module.
No Python traceback ever reaches the user: unexpected errors are reported
in one line with a request to file a bug.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from procflow.cli.stores import STORE, failures, opened, store_group
from procflow.cli.workers import worker_command
from procflow.language.diagnostics import Diagnostic, Severity
from procflow.writing import atomic_write

if TYPE_CHECKING:
    from procflow.flow.catalog import Catalog
    from procflow.testing.coverage import Coverage
    from procflow.testing.runner import ScenarioResult

F = TypeVar("F", bound=Callable[..., Any])

SCHEMA_KINDS = ["decisions", "organisation", "process", "scenario"]
"""The file kinds `procflow.cli.schemas.SCHEMAS` describes (a test keeps the two equal)."""


def _present(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A path that does not exist is a usage error (exit 2); one that exists but cannot
    be read (unreadable, a FIFO, a link that loops) is reported by the loader (PF101)."""
    for path in value if isinstance(value, tuple) else (value,):
        if path is not None and not os.path.lexists(path):
            raise click.BadParameter(f"'{path}' does not exist", param=param)
    return value


def _path(**kwargs: Any) -> click.Path:
    """click's path type, without its own checks: `_present` and the loader make them."""
    return click.Path(exists=False, readable=False, path_type=Path, **kwargs)


PATHS = click.argument("paths", nargs=-1, required=True, type=_path(), callback=_present)
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
STRICT = click.option("--strict", is_flag=True, help="Warnings fail too.")
LANGUAGE = click.option(
    "--language",
    type=click.Choice(["auto", "zh", "en"]),
    default="auto",
    show_default=True,
    help="The words of the diagrams and pages: auto follows each process's title.",
)


def _guard(func: F) -> F:
    """Turn an unexpected exception into one line and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # the reader went (procflow validate | head): click exits quietly
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None
        except OSError as exc:  # the file system said no (a folder in the way, no permission)
            where = f"{exc.filename}: " if exc.filename is not None else ""
            click.echo(f"procflow: {where}{exc.strerror or exc} (check the path and who may write"
                       " there)", err=True)  # fmt: skip
            raise click.exceptions.Exit(1) from None
        except Exception as exc:  # the last line of defence: no traceback for analysts
            click.echo(f"procflow: internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("procflow: please report this with the file that caused it", err=True)
            raise click.exceptions.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def check_paths(paths: Sequence[Path]) -> tuple[Catalog, list[Diagnostic]]:
    """`procflow.flow.load.check_paths`, imported by the commands that read files only."""
    from procflow.flow.load import check_paths as check  # noqa: PLC0415

    return check(paths)


def _print_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str, *, strict: bool) -> int:
    failing = [d for d in diagnostics if d.is_error or strict]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "ok": not failing,
                    "errors": sum(d.is_error for d in diagnostics),
                    "warnings": sum(not d.is_error for d in diagnostics),
                    "diagnostics": [d.to_dict() for d in diagnostics],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for d in diagnostics:
            colour = "red" if d.is_error else "yellow"
            where = click.style(f"{d.where}:", bold=True)
            sev = click.style(f"{d.severity} {d.code}:", fg=colour, bold=True)
            hint = f" ({d.hint})" if d.hint else ""
            click.echo(f"{where} {sev} {d.message}{hint}")
    return 1 if failing else 0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="procflow")
def main() -> None:
    """procflow: documented business processes as YAML that validates, runs and renders."""


@main.command()
@PATHS
@FORMAT
@STRICT
@_guard
def validate(paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check process files and folders; print every problem as file:line:col, then a count."""
    catalog, diagnostics = check_paths(paths)
    code = _print_diagnostics(diagnostics, fmt, strict=strict)
    if fmt == "text":
        click.echo(summary(len(catalog), diagnostics))
    # Nothing is left to write: at exit, leave the models and the loaded files to the
    # operating system rather than to the collector's last passes over them (gc.freeze
    # takes them out of its sight), which took a sixth of the command's time for one file.
    atexit.unregister(gc.freeze)  # once, however many times validate runs in one process
    atexit.register(gc.freeze)
    raise click.exceptions.Exit(code)


def _count(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def summary(processes: int, diagnostics: Sequence[Diagnostic]) -> str:
    """``29 processes, 0 problems``; warnings are counted apart (``, 1 warning``)."""
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    text = f"{_count(processes, 'process', 'processes')}, {_count(errors, 'problem')}"
    return text + (f", {_count(warnings, 'warning')}" if warnings else "")


def _render(
    catalog: Any, folder: Path, formats: str, *, language: str = "auto", hint: str = ""
) -> int:
    """Draw the valid processes; report where they went or why they could not be drawn."""
    from procflow.errors import RenderError  # noqa: PLC0415 (render is imported when used)
    from procflow.render import write_diagrams  # noqa: PLC0415

    chosen: Any = None if language == "auto" else language
    try:
        written = write_diagrams(catalog, folder, formats=formats, language=chosen)
    except RenderError as exc:
        click.echo(f"procflow: cannot render: {exc}{hint}", err=True)
        return 1
    index = folder / "index.html"
    where = index if index in written else folder
    click.echo(f"procflow: {len(written)} diagram file(s) written to {where}", err=True)
    return 0


@main.command()
@PATHS
@FORMAT
@STRICT
@click.option(
    "--render-to",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/diagrams"),
    show_default=True,
    help="Folder for the diagrams (SVG) and the HTML catalog.",
)
@click.option("--no-render", is_flag=True, help="Validate only; draw no diagrams.")
@LANGUAGE
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    default=None,
    help="Fail when the scenarios walk less than this percentage of a process's paths.",
)
@_guard
def check(
    *,
    paths: tuple[Path, ...],
    fmt: str,
    strict: bool,
    render_to: Path,
    no_render: bool,
    language: str,
    min_coverage: float | None,
) -> None:
    """The main job: validate every process, run its scenarios, then draw the diagrams."""
    catalog, diagnostics = check_paths(paths)
    code = _print_diagnostics(diagnostics, fmt, strict=strict)
    if fmt == "text" and not code:
        warn = sum(d.severity is Severity.WARNING for d in diagnostics)
        valid = _count(len(catalog), "process", "processes") + " valid"
        more = f", {_count(warn, 'warning')}" if warn else ""
        click.echo(f"procflow: {valid}{more}", err=True)
    if code:
        raise click.exceptions.Exit(code)
    from procflow.testing.runner import run_paths  # noqa: PLC0415 (the engine loads only when needed)

    results, _ = run_paths(paths, catalog)
    if results:
        code = max(code, _print_results(results, fmt))
    if min_coverage is not None:
        from procflow.testing.runner import coverage_of  # noqa: PLC0415

        cov = coverage_of(results, catalog)
        code = max(code, _print_coverage(cov, fmt, min_coverage, only_low=True))
    if not no_render and len(catalog):
        hint = "; or pass --no-render"
        try:
            _write_results(results, render_to)
        except OSError as exc:  # the folder cannot be made or written in
            where = exc.filename if exc.filename is not None else render_to
            click.echo(f"procflow: cannot render: cannot write {where}: {exc.strerror}{hint}",
                       err=True)  # fmt: skip
            raise click.exceptions.Exit(1) from None
        code = max(code, _render(catalog, render_to, "svg,html", language=language, hint=hint))
    raise click.exceptions.Exit(code)


def _print_results(results: Sequence[ScenarioResult], fmt: str) -> int:
    """Print a table of scenario results (or JSON); 1 when any failed."""
    failed = [r for r in results if not r.passed]
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
        return 1 if failed else 0
    width = max(len(Path(r.file).name) for r in results)
    for r in results:
        mark = (
            click.style("pass", fg="green")
            if r.passed
            else click.style("FAIL", fg="red", bold=True)
        )
        click.echo(
            f"{mark}  {Path(r.file).name:<{width}}  {r.process_id:<8} {r.acts:>3} acts  {r.name}"
        )
    for r in failed:
        _print_diagnostics(r.problems, "text", strict=False)
    click.echo(f"procflow: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _write_results(results: Sequence[ScenarioResult], folder: Path) -> None:
    """Leave the scenario results where the HTML catalog reads them."""
    by_process: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_process.setdefault(r.process_id, []).append(r.to_dict())
    atomic_write(
        folder / "scenario-results.json", json.dumps(by_process, ensure_ascii=False, indent=1)
    )


@main.command("index")
@click.argument("folder", type=_path(file_okay=False), callback=_present)
@click.option("--write", is_flag=True, help="Write FOLDER/README.md instead of printing it.")
@click.option("--check", "check_only", is_flag=True, help="Exit 1 when FOLDER/README.md is stale.")
@_guard
def index_command(folder: Path, write: bool, check_only: bool) -> None:
    """The Markdown catalog of a process folder (its README.md)."""
    from procflow.render.index import index_markdown  # noqa: PLC0415

    catalog, diagnostics = check_paths([folder])
    if any(d.is_error for d in diagnostics):
        raise click.exceptions.Exit(_print_diagnostics(diagnostics, "text", strict=False))
    text = index_markdown(catalog, folder)
    readme = folder / "README.md"
    if check_only:
        fresh = readme.exists() and readme.read_text(encoding="utf-8") == text
        if not fresh:
            click.echo(
                f"procflow: {readme} is stale; run 'procflow index {folder} --write'", err=True
            )
        raise click.exceptions.Exit(0 if fresh else 1)
    if write:
        atomic_write(readme, text)
        click.echo(str(readme))
        return
    sys.stdout.write(text)


main.add_command(store_group)
main.add_command(worker_command)


def _catalog_or_exit(folder: Path) -> Any:
    """The catalog of ``folder``; its diagnostics and exit code 1 when it has errors."""
    catalog, diagnostics = check_paths([folder])
    if any(d.is_error for d in diagnostics):
        raise click.exceptions.Exit(_print_diagnostics(diagnostics, "text", strict=False))
    return catalog


@main.command("serve")
@click.argument("folder", type=_path(file_okay=False), callback=_present)
@STORE
@click.option(
    "--org",
    "people",
    type=_path(dir_okay=False),
    callback=_present,
    default=None,
    help="The people file: who may sign in, with their roles (docs/web.md).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--demo",
    is_flag=True,
    help="Sign in by picking anyone (the scenarios' users unless --org); localhost only.",
)
@click.option(
    "--user-header",
    metavar="NAME",
    default=None,
    help="Take the user id from this header, set by an authenticating reverse proxy.",
)
@click.option(
    "--test-clock",
    metavar="START",
    default=None,
    help="Tests only: a clock that starts at START and moves by POST /_test/clock.",
)
@click.option(
    "--blobs",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The folder of attachments' bytes (default ./procflow-attachments).",
)
@click.option("--secure-cookies", is_flag=True, help="Mark the session cookie Secure (TLS).")
@_guard
def serve_command(
    folder: Path,
    *,
    store_url: str | None,
    people: Path | None,
    host: str,
    port: int,
    demo: bool,
    user_header: str | None,
    test_clock: str | None,
    blobs: Path | None,
    secure_cookies: bool,
) -> None:
    """Serve the processes of FOLDER in a browser: inbox, tasks, instances, and a JSON API.

    `procflow serve processes/ --demo` opens the customer's processes on http://127.0.0.1:8000/.
    """
    from procflow.cli.serving import serve  # noqa: PLC0415 (the web extra is optional)

    serve(
        folder,
        store_url=store_url,
        people=people,
        host=host,
        port=port,
        demo=demo,
        user_header=user_header,
        test_clock=test_clock,
        blobs=blobs,
        secure_cookies=secure_cookies,
        check=_catalog_or_exit,
    )


@main.command("run")
@click.argument("file", type=_path(dir_okay=False), callback=_present)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The SQLite file for the state (default .procflow/<process id>.db); rerun to resume.",
)
@STORE
@click.option(
    "--member",
    "members",
    multiple=True,
    metavar="ROLE=a,b",
    help="Pretend members of a role, for 'each member' steps (default: one, named after the role).",
)
@_guard
def run_command(
    file: Path, db: Path | None, store_url: str | None, members: tuple[str, ...]
) -> None:
    """Walk a process in the terminal, acting as any of its actors."""
    from procflow.cli.interactive import Session  # noqa: PLC0415 (only this command needs it)
    from procflow.flow.load import Loader  # noqa: PLC0415
    from procflow.store.urls import sqlite_path  # noqa: PLC0415
    from procflow.testing.runner import catalog_for  # noqa: PLC0415

    catalog, diagnostics = catalog_for([file.parent])
    process, _ = Loader().process(file)
    errors = [d for d in diagnostics if d.is_error]
    # a process it hands off to or calls that does not load is an error in this file too
    # (PF312): a problem elsewhere in the folder does not stop this process from running
    own = file.resolve()
    if (
        process is None
        or process.id not in catalog
        or any(Path(d.file).resolve() == own for d in errors)
    ):
        raise click.exceptions.Exit(_print_diagnostics(diagnostics, "text", strict=False))
    if errors:
        click.echo(f"procflow: {_count(len(errors), 'problem')} in other files under {file.parent},"
                   f" which {process.id} does not use ('procflow validate {file.parent}' lists"
                   " them)", err=True)  # fmt: skip
    groups: dict[str, list[str]] = {}
    for spec in members:
        role, _, people = spec.partition("=")
        if not people:
            raise click.BadParameter(f"write ROLE=a,b, not {spec!r}", param_hint="--member")
        groups[role] = [p.strip() for p in people.split(",") if p.strip()]
    if db is not None and store_url is not None:
        raise click.UsageError("give --db or --store, not both")
    home = db or Path(".procflow") / f"{process.id}.db"  # the clock file lives beside it
    store = None
    if store_url is not None:
        if store_url.startswith("sqlite:"):
            with failures("--store"):
                home = sqlite_path(store_url)
        store = opened(store_url, param="--store")
    try:
        with failures("--store"):
            session = Session(catalog, process.id, home, members=groups, store=store)
            try:
                session.loop()
            finally:
                session.close()
    except click.exceptions.Abort:  # Ctrl-C or the end of the input at a prompt
        kept = home if store_url is None or store_url.startswith("sqlite:") else "the store"
        click.echo(f"\nprocflow: stopped; every step completed is kept in {kept}:"
                   " run the same command again to go on", err=True)  # fmt: skip
        raise click.exceptions.Exit(1) from None


@main.command("test")
@PATHS
@FORMAT
@click.option("--coverage", is_flag=True, help="Also print which paths the scenarios walked.")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    default=None,
    help="Fail when a process's coverage is below this percentage.",
)
@_guard
def test_command(
    paths: tuple[Path, ...], fmt: str, coverage: bool, min_coverage: float | None
) -> None:
    """Run the scenarios under PATHS (scenarios/ folders) and print a table."""
    from procflow.testing.runner import catalog_for, coverage_of, run_paths  # noqa: PLC0415

    catalog, diagnostics = catalog_for(paths)
    if any(d.is_error for d in diagnostics):
        raise click.exceptions.Exit(_print_diagnostics(diagnostics, fmt, strict=False))
    results, _ = run_paths(paths, catalog)
    if not results:
        click.echo("procflow: no scenarios found (they live in scenarios/ folders)", err=True)
        raise click.exceptions.Exit(1)
    code = _print_results(results, fmt)
    if coverage or min_coverage is not None:
        code = max(code, _print_coverage(coverage_of(results, catalog), fmt, min_coverage))
    raise click.exceptions.Exit(code)


def _print_coverage(
    cov: dict[str, Coverage], fmt: str, minimum: float | None, *, only_low: bool = False
) -> int:
    """Print coverage per process (only those below ``minimum`` when ``only_low``);
    1 when one is below ``minimum``."""
    low = [c for c in cov.values() if minimum is not None and c.percent < minimum]
    if fmt == "json":
        click.echo(json.dumps([c.to_dict() for c in cov.values()], ensure_ascii=False, indent=2))
        return 1 if low else 0
    for c in cov.values():
        if only_low and c not in low:
            continue
        line = f"{c.process_id:<10} {c.percent:5.1f}%  {c.covered}/{len(c.items)}"
        click.echo(click.style(line, fg="red") if c in low else line)
        for item in c.missing:
            click.echo(f"    missing: {item}")
    total = sum(len(c.items) for c in cov.values())
    done = sum(c.covered for c in cov.values())
    click.echo(f"procflow: coverage {100.0 * done / total if total else 100:.1f}% ({done}/{total})")
    return 1 if low else 0


@main.command()
@PATHS
@click.option(
    "-o",
    "--output",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the diagrams into.",
)
@click.option(
    "--format",
    "formats",
    default="svg",
    show_default=True,
    help="Comma-separated: svg, png, dot, mermaid, html (the catalog).",
)
@LANGUAGE
@_guard
def render(paths: tuple[Path, ...], folder: Path, formats: str, language: str) -> None:
    """Draw swimlane diagrams (and the HTML catalog) of process files and folders."""
    from procflow.render import parse_formats  # noqa: PLC0415 (render is imported when used)

    try:
        parse_formats(formats)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from None
    catalog, diagnostics = check_paths(paths)
    code = _print_diagnostics([d for d in diagnostics if d.is_error], "text", strict=False)
    if len(catalog):
        code = max(code, _render(catalog, folder, formats, language=language))
    raise click.exceptions.Exit(code)


@main.command()
@click.argument("kind", type=click.Choice(SCHEMA_KINDS), default="process")
@click.option(
    "--write",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write every schema into this folder instead of printing one.",
)
@_guard
def schema(kind: str, folder: Path | None) -> None:
    """Print the JSON Schema of process (or organisation) files."""
    if folder is not None:
        from procflow.cli.schemas import write_schemas  # noqa: PLC0415 (only this command needs it)

        for path in write_schemas(folder):
            click.echo(str(path))
        return
    from procflow.cli.schemas import schema_text  # noqa: PLC0415

    sys.stdout.write(schema_text(kind))


@main.command("decide")
@click.argument("file", type=_path(dir_okay=False), callback=_present)
@click.argument("table")
@click.argument("inputs", nargs=-1)
@FORMAT
@_guard
def decide_command(file: Path, table: str, inputs: tuple[str, ...], fmt: str) -> None:
    """Evaluate decision TABLE of FILE with INPUTS as name=value; print outputs and matched rules.

    FILE is a decision file or a process file (its tables and those it lists).
    Example: procflow decide processes/decisions/mbo.yaml MBO-GRADE score=89
    """
    from procflow.cli.decide import decide_file  # noqa: PLC0415 (imported when used)

    decision, diagnostics = decide_file(file, table, inputs)
    if decision is None:
        raise click.exceptions.Exit(_print_diagnostics(diagnostics, fmt, strict=False))
    if fmt == "json":
        click.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(decision.explain())


if __name__ == "__main__":  # pragma: no cover
    main()
