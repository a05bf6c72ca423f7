"""``procflow serve``: the web inbox and JSON API over a folder of processes.

Owns putting a server together from the command line: the catalog, the
store (SQLite ``./procflow.db`` by default), the people (``--org``, or the
scenarios' users with ``--demo``), how people sign in, and the safety rules
that keep the demo sign-in and the test clock off a network: both need
their explicit flag, and both are refused unless the server listens on a
loopback address. The web extra's packages are imported only here.

Imports `web`, `runtime`, `store` and `errors`; only `cli.main` imports it.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from procflow.cli.stores import failures, opened
from procflow.errors import InvalidArgument

__all__ = ["is_loopback", "serve"]

DEFAULT_STORE = "sqlite:///procflow.db"
SECRET_ENV = "PROCFLOW_SECRET_KEY"  # noqa: S105 - the name of a variable, not a secret


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _web() -> Any:
    try:
        from procflow import web  # noqa: PLC0415 - the web extra is optional
    except ImportError as exc:
        raise click.ClickException(
            f"procflow serve needs the web extra ({exc.name} is missing): "
            "pip install 'procflow[web]'"
        ) from None
    return web


def serve(
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
    check: Any,
) -> None:
    """Build the app and run it with uvicorn until interrupted (see the module docstring).

    ``check`` loads the folder and exits with its diagnostics when it has errors.
    """
    if not demo and user_header is None:
        raise click.UsageError(
            "say how people sign in: --demo (pick anyone; for trying processes out on this "
            "machine) or --user-header NAME (a reverse proxy authenticates and sets it)"
        )
    if demo and user_header is not None:
        raise click.UsageError("give --demo or --user-header, not both")
    if not is_loopback(host) and (demo or test_clock is not None):
        raise click.UsageError(
            f"--demo and --test-clock let anyone act as anyone or move time: they serve on "
            f"localhost only, not on {host} (use --user-header behind your sign-in proxy)"
        )
    web = _web()
    import uvicorn  # noqa: PLC0415 - part of the web extra

    from procflow.runtime import Engine, FileBlobStore, ManualClock  # noqa: PLC0415

    catalog = check(folder)
    try:
        staff = web.Staff.read(people) if people is not None else None
    except InvalidArgument as exc:
        raise click.BadParameter(str(exc), param_hint="--org") from None
    if staff is None:
        if not demo:
            raise click.UsageError("--user-header needs --org FILE: the people and their roles")
        staff = web.Staff.demo(catalog, [folder])
    clock = None
    if test_clock is not None:
        try:
            clock = ManualClock(datetime.fromisoformat(test_clock))
        except ValueError:
            raise click.BadParameter(
                f"{test_clock!r} is not an ISO date-time such as 2026-03-02T09:00",
                param_hint="--test-clock",
            ) from None
    url = store_url or DEFAULT_STORE
    store = opened(url, param="--store")
    with failures("--store"):
        engine = Engine(
            catalog,
            store=store,
            clock=clock,
            directory=staff.directory(),
            administrators=staff.administrators,
            blobs=FileBlobStore(blobs or Path("procflow-attachments")),
        )
    sign_in = web.DemoSignIn() if demo else web.HeaderSignIn(user_header)
    app = web.create_app(
        engine,
        staff,
        sign_in=sign_in,
        secret_key=os.environ.get(SECRET_ENV),
        folders=[folder],
        test_clock=clock,
        https_only=secure_cookies,
    )
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"procflow: serving {len(catalog)} processes from {folder} on http://{shown}:{port}/ "
        f"(store {url}; {'demo sign-in' if demo else f'users from the {user_header} header'}"
        f"{'; test clock' if clock is not None else ''})",
        err=True,
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
    finally:
        engine.close()
