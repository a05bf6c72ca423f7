"""``procflow store info|migrate|copy``: report on a store, upgrade it, copy it.

Owns the store commands and the ``--store URL`` option the other commands
share (`STORE`). Stores are named by URL (`procflow.store.urls`). Every
failure is one line on stderr and exit code 1; a bad URL is a usage error (2).

Imports `store` (when a command opens one: ``procflow validate`` does not pay
for it) and `errors`; only `cli.main` imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from procflow.errors import StoreError, StoreURLError

if TYPE_CHECKING:
    from procflow.store import Store


class _StoreOption(click.Option):
    """``--store``, whose help names the URL forms when it is shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from procflow.store.urls import FORMS  # noqa: PLC0415 - imported when help is shown

        self.help = f"Where instances are kept: {FORMS}."
        return super().get_help_record(ctx)


STORE = click.option("--store", "store_url", cls=_StoreOption, metavar="URL", default=None)


@contextmanager
def failures(param: str = "URL") -> Iterator[None]:
    """A bad URL is a usage error naming ``param``; a failing store is exit code 1."""
    try:
        yield
    except StoreURLError as exc:
        raise click.BadParameter(str(exc), param_hint=param) from None
    except StoreError as exc:
        click.echo(f"procflow: {exc}", err=True)
        raise click.exceptions.Exit(1) from None


def opened(url: str, *, param: str = "URL", upgrade: bool = True) -> Store:
    """Open the store at ``url`` for a command (errors as `failures` reports them)."""
    from procflow.store import open_store  # noqa: PLC0415 - the stores load when one opens

    with failures(param):
        return open_store(url, upgrade=upgrade) if url != "memory:" else open_store(url)


@click.group("store")
def store_group() -> None:
    """Report on a store, upgrade its schema, or copy it into another."""


@store_group.command("info")
@click.argument("url")
def info(url: str) -> None:
    """What the store at URL holds, and its schema version."""
    from procflow.store.urls import schema_status  # noqa: PLC0415 - see `opened`

    with failures():
        status = schema_status(url)
    click.echo(f"store:       {status.where}")
    if status.version < status.latest:
        click.echo(f"schema:      {status.version} (this procflow writes {status.latest}:"
                   f" run 'procflow store migrate {url}')")  # fmt: skip
        return
    click.echo(f"schema:      {status.version}")
    with opened(url, upgrade=False) as store, failures():
        counts = store.counts()
    by_status = sorted((k.partition(".")[2], n) for k, n in counts.items() if "." in k)
    detail = ", ".join(f"{status} {n}" for status, n in by_status)
    click.echo(f"instances:   {counts['instances']}" + (f" ({detail})" if detail else ""))
    for key, label in (("events", "events"), ("tasks", "open tasks"), ("timers", "timers"),
                       ("commands", "commands"), ("definitions", "definitions")):  # fmt: skip
        click.echo(f"{label + ':':<12} {counts[key]}")


@store_group.command("migrate")
@click.argument("url")
def migrate(url: str) -> None:
    """Bring the store at URL to this procflow's schema (one transaction)."""
    from procflow.store.urls import schema_status  # noqa: PLC0415 - see `opened`

    with failures():
        before = schema_status(url)
        if before.version == before.latest:
            click.echo(f"procflow: {before.where} is at schema {before.latest}; nothing to do")
            return
    opened(url).close()
    click.echo(f"procflow: {before.where} migrated from schema {before.version} to {before.latest}")


@store_group.command("copy")
@click.argument("source")
@click.argument("target")
@click.option("--batch", default=200, show_default=True, help="Instances per transaction.")
def copy(source: str, target: str, batch: int) -> None:
    """Copy every instance, event, definition and command result from SOURCE into the
    empty store TARGET (say SQLite into PostgreSQL), then check the copy."""
    from procflow.store.transfer import copy_store  # noqa: PLC0415 - see `opened`
    from procflow.store.urls import schema_status  # noqa: PLC0415 - see `opened`

    def progress(done: int, total: int) -> None:
        click.echo(f"procflow: {done}/{total} instances copied", err=True)

    if source != "memory:":  # a source is read, never made: a mistyped file is no empty store
        with failures("SOURCE"):
            schema_status(source)
    with (
        opened(source, param="SOURCE", upgrade=False) as src,
        opened(target, param="TARGET") as dst,
        failures(),
    ):
        report = copy_store(src, dst, batch=batch, progress=progress)
    click.echo(
        f"procflow: copied and checked {report.instances} instances, {report.events} events,"
        f" {report.definitions} definitions and {report.commands} command results"
    )
