"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, run it
as an unprivileged user, stop it and remove the folder at the end.

PostgreSQL refuses to run as root. Run as root (as CI is), the cluster runs as the
system user ``postgres`` (Debian's package makes it), or else as ``procflow-pg``,
created here. It listens on a free port on 127.0.0.1 and on a unix socket in its
folder; every client connects as the superuser ``postgres`` without a password
(``trust``, for this cluster only). ``fsync`` is off: the tests crash processes,
never the machine, and the page cache outlives a crashed server.

When ``PROCFLOW_TEST_POSTGRES`` holds a DSN, the tests use that server instead
(`ExternalServer`); it needs a role that may create databases. Nothing here ever
skips: without binaries and without a DSN, the fixture fails with a message
saying how to get either.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

ENV = "PROCFLOW_TEST_POSTGRES"


def binaries() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: Debian's newest, else the PATH's."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    raise RuntimeError(
        "the PostgreSQL tests need a server: run 'scripts/setup --dev' (it installs"
        f" Debian's postgresql), or set {ENV} to the DSN of one where you may create databases"
    )


def _server_user() -> str | None:
    """Whom the server runs as: None for ourselves, else an unprivileged system user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "procflow-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "procflow-pg"],
        check=True,
    )
    return "procflow-pg"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    """One throwaway cluster. `start` runs initdb and the server; `stop` removes it all."""

    TESTING = "-c fsync=off -c full_page_writes=off -c max_connections=200"
    """Server settings for tests: nothing needs to survive a power loss."""

    def __init__(self, settings: str = TESTING) -> None:
        self.settings = settings
        self.bin = binaries()
        self.user = _server_user()
        self.folder = Path(tempfile.mkdtemp(prefix="procflow-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = _free_port()
        self.started = False
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.folder, info.pw_uid, info.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        options: dict[str, Any] = {}
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            options = {"user": info.pw_uid, "group": info.pw_gid, "extra_groups": []}
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=self.folder,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            check=False,
            **options,
        )
        if check and result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stderr}{result.stdout}\n{log}"
            )
        return result

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
            )  # fmt: skip
        self._pg_ctl("start")
        self.started = True

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.folder} {self.settings}"
        )
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", "120", "-o", options, *extra)  # fmt: skip

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server comes back."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", check=False)
            self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        """A URL that connects through the unix socket in the cluster's folder."""
        return f"postgresql://postgres@/{dbname}?host={self.folder}&port={self.port}"


class Server:
    """Where the tests keep their stores: one database of a `Cluster` of ours, or of an
    external server, with a fresh schema for each store (`new_url`)."""

    def __init__(self, admin_dsn: str, cluster: Cluster | None) -> None:
        self.admin_dsn = admin_dsn
        self.cluster = cluster
        self.database = f"procflow_test_{secrets.token_hex(4)}"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        self.params = {**conninfo_to_dict(admin_dsn), "dbname": self.database}

    def url(self, **params: str) -> str:
        """A ``postgresql://`` URL to the test database (every parameter in the query)."""
        return "postgresql://?" + urlencode({**self.params, **params})

    def new_url(self) -> str:
        """The URL of a store of its own: a new schema, first in its ``search_path``."""
        schema = f"s_{secrets.token_hex(6)}"
        self.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        return self.url(options=f"-csearch_path={schema}")

    def execute(self, statement: Any, params: Any = None, *, url: str | None = None) -> list[Any]:
        """Run one statement on the test database (or at ``url``); its rows, if any."""
        with psycopg.connect(url or self.url(), autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def close(self) -> None:
        try:
            with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.database)
                    )
                )
        finally:
            if self.cluster is not None:
                self.cluster.stop()


def start_server() -> Server:
    """The external server of ``PROCFLOW_TEST_POSTGRES``, else a cluster of our own."""
    external = os.environ.get(ENV)
    if external:
        return Server(external, None)
    cluster = Cluster()
    try:
        cluster.start()
        return Server(cluster.dsn(), cluster)
    except BaseException:
        cluster.stop()
        raise
