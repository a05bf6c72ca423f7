"""What every request of a server shares: the engine, the people, the sign-in, the words.

Owns `Site` (one per app: the `Engine`, the `Staff`, the `SignIn`, the
optional test clock, the scenario folders and their results, the role and
step titles pages show) and the Jinja2 environment with its filters. Text
from the YAML and from documents reaches pages only through Jinja2's
autoescaping; the one piece of markup passed through as it is, the diagram,
is SVG that `procflow.render` escapes as it draws.

Imports the runtime, the testing layer's runner, `web.staff` and `web.auth`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request

from procflow.runtime.clock import ManualClock
from procflow.runtime.engine import Engine
from procflow.testing.runner import ScenarioResult, run_paths
from procflow.web.auth import SignIn
from procflow.web.formdata import show
from procflow.web.staff import Staff

__all__ = ["ADMINISTRATOR", "Site", "site_of", "templates"]

ADMINISTRATOR = "流程管理員"
"""How the pages name an administrators role that no process names as an actor."""


def _when(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M")


def templates() -> Environment:
    """The pages' Jinja2 environment: autoescaping on for every template."""
    env = Environment(
        loader=PackageLoader("procflow.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = show
    env.filters["when"] = _when
    return env


@dataclass
class Site:
    """One server's shared state (see the module docstring)."""

    engine: Engine
    staff: Staff
    sign_in: SignIn
    folders: list[Path] = field(default_factory=list)
    test_clock: ManualClock | None = None
    env: Environment = field(default_factory=templates)
    _results: list[ScenarioResult] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.roles: dict[str, str] = {}
        for process in self.engine.catalog.values():
            for role, actor in process.flow.actors.items():
                self.roles.setdefault(role, actor.title)
        for role in self.staff.administrators:  # a role no process names: say what it may do
            self.roles.setdefault(role, ADMINISTRATOR)
        self.env.globals["site"] = self

    def role(self, role: str) -> str:
        return self.roles.get(role, role)

    def name(self, user_id: str | None) -> str:
        return self.staff.name(user_id)

    def scenario_results(self) -> list[ScenarioResult]:
        """The scenarios of the folders, run once (on first use) against the catalog."""
        with self._lock:
            if self._results is None:
                catalog: Any = self.engine.catalog
                self._results = run_paths(self.folders, catalog)[0] if self.folders else []
            return self._results

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)


def site_of(request: Request) -> Site:
    """The `Site` the app serving ``request`` was made with (`web.app.create_app`)."""
    site: Site = request.app.state.site
    return site
