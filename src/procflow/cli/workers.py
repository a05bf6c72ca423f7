"""``procflow worker --store URL PROCESSES…``: fire deadlines and scheduled starts.

Owns the command: it loads the processes (every problem printed as
``file:line:col``, exit 1), opens the store (a bad URL is a usage error,
exit 2; a store that cannot be opened is exit 1), and runs
`procflow.runtime.worker.Worker` until SIGTERM or SIGINT, logging on stderr
what it fires. On a signal the tick in hand finishes the command it is
storing, gives back what it claimed, and the command exits with 0.

Imports `cli.stores`, and when it runs `runtime.worker`, `runtime.engine` and `flow.load`;
only `cli.main` imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType

import click

from procflow.cli.stores import opened


@click.command("worker")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    required=True,
    help="The store to work on: memory:, sqlite:///path or postgresql://...",
)
@click.option(
    "--every",
    type=click.FloatRange(min=0.05),
    default=30.0,
    show_default=True,
    help="Seconds between ticks.",
)
@click.option("--once", is_flag=True, help="Tick once and exit (to run from cron).")
def worker_command(paths: tuple[Path, ...], store_url: str, every: float, once: bool) -> None:
    """Fire the deadlines and scheduled starts of the processes under PATHS, every few
    seconds, until SIGTERM or SIGINT. Run two or more for availability: they share the work."""
    # imported here: `procflow --help` and the other commands do not load the engine, nor
    # logging and signal (`procflow validate` starts faster without them)
    import logging  # noqa: PLC0415
    import signal  # noqa: PLC0415

    from procflow.flow.load import check_paths  # noqa: PLC0415
    from procflow.runtime.engine import Engine  # noqa: PLC0415
    from procflow.runtime.worker import Worker  # noqa: PLC0415

    catalog, diagnostics = check_paths(paths)
    errors = [d for d in diagnostics if d.is_error]
    for d in errors:
        click.echo(str(d), err=True)
    if errors:
        raise click.exceptions.Exit(1)
    if not catalog:
        click.echo(f"procflow: no process under {', '.join(map(str, paths))}", err=True)
        raise click.exceptions.Exit(1)
    store = opened(store_url, param="--store")
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    worker = Worker(Engine(catalog, store=store), every=every)

    def stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("procflow.worker").info(
            "%s: stopping after the command in hand", signal.Signals(signum).name
        )
        worker.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if once:
            worker.tick()
        else:
            worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
