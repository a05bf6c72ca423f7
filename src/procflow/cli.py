"""The ``procflow`` command line.

Owns argument parsing (click), output formats and exit codes:
0 clean, 1 problems found, 2 usage error. Nothing imports this module.
No Python traceback ever reaches the user: unexpected errors are reported
in one line with a request to file a bug.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from procflow.loader import check_paths
from procflow.problems import Diagnostic, Severity
from procflow.schema import SCHEMAS, schema_text, write_schemas

F = TypeVar("F", bound=Callable[..., Any])

PATHS = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
STRICT = click.option("--strict", is_flag=True, help="Warnings fail too.")


def _guard(func: F) -> F:
    """Turn an unexpected exception into one line and exit code 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None
        except Exception as exc:  # the last line of defence: no traceback for analysts
            click.echo(f"procflow: internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("procflow: please report this with the file that caused it", err=True)
            raise click.exceptions.Exit(1) from None

    return wrapper  # type: ignore[return-value]


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
            where = click.style(f"{d.file}:{d.line}:{d.column}:", bold=True)
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
    """Check process files and folders; print every problem as file:line:col."""
    _, diagnostics = check_paths(paths)
    raise click.exceptions.Exit(_print_diagnostics(diagnostics, fmt, strict=strict))


@main.command()
@PATHS
@FORMAT
@STRICT
@_guard
def check(paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """The main job: validate every process (then its scenarios and diagrams)."""
    catalog, diagnostics = check_paths(paths)
    code = _print_diagnostics(diagnostics, fmt, strict=strict)
    if fmt == "text" and not code:
        warn = sum(d.severity is Severity.WARNING for d in diagnostics)
        click.echo(
            f"procflow: {len(catalog)} processes valid" + (f", {warn} warning(s)" if warn else ""),
            err=True,
        )
    raise click.exceptions.Exit(code)


@main.command()
@click.argument("kind", type=click.Choice(sorted(SCHEMAS)), default="process")
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
        for path in write_schemas(folder):
            click.echo(str(path))
        return
    sys.stdout.write(schema_text(kind))


if __name__ == "__main__":  # pragma: no cover
    main()
