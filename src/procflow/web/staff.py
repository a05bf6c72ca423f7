"""Who works here: the people a server knows, with their names and roles.

Owns `Staff` (person id -> `Person`; the `User` the engine gets for each,
the `Directory` of role members, who the administrators are) and reading it:

- from a people file (``procflow serve --org people.yaml``)::

      people:
        li: {name: 李明, roles: [market_manager]}
        wang: [pmm]                 # roles only; the name is the id
      administrators: [process_admin]   # roles that may reassign any task

- or, for ``--demo``, from the ``users:`` of the scenario files beside the
  processes (the people the analysts' own scenarios act as), plus one person
  per role nobody holds, named after it, and ``admin`` holding the
  administrators role.

The file is read with ruamel.yaml's safe loader: no tags, nothing executed.

Imports the runtime's `User` and `StaticDirectory`, the testing layer's
scenario reader, and `errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from procflow.errors import InvalidArgument
from procflow.flow.catalog import Process
from procflow.runtime.people import StaticDirectory, User
from procflow.testing.runner import scenario_files
from procflow.testing.scenario import load_scenario

__all__ = ["DEFAULT_ADMIN_ROLE", "Person", "Staff"]

DEFAULT_ADMIN_ROLE = "process_admin"
"""The administrators role of ``--demo`` and of a people file that names none."""
_MAX_FILE = 1024 * 1024


@dataclass(frozen=True)
class Person:
    """Someone who may sign in: an id, a display name, roles."""

    id: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def user(self) -> User:
        return User(self.id, self.roles)


class Staff:
    """The people a server knows (see the module docstring)."""

    def __init__(self, people: Iterable[Person], *, administrators: Iterable[str] = ()) -> None:
        self.people: dict[str, Person] = {p.id: p for p in people}
        self.administrators = frozenset(administrators)

    def user(self, person_id: str) -> User:
        """The `User` of a person; someone the file does not list holds no role."""
        person = self.people.get(person_id)
        return person.user if person is not None else User(person_id)

    def name(self, person_id: str | None) -> str:
        if person_id is None:
            return "系統"
        person = self.people.get(person_id)
        return person.name if person is not None else person_id

    def directory(self) -> StaticDirectory:
        return StaticDirectory.of(p.user for p in self.people.values())

    def holders(self, role: str) -> list[Person]:
        return [p for p in self.people.values() if role in p.roles]

    @classmethod
    def read(cls, path: Path) -> Staff:
        """Read a people file.

        Raises:
            InvalidArgument: It cannot be read, or is not of the form above; the
                message names the file and the entry.
        """
        try:
            with path.open("rb") as f:
                text = f.read(_MAX_FILE + 1)
        except OSError as exc:
            raise InvalidArgument(f"{path}: cannot read the people file ({exc.strerror})") from None
        if len(text) > _MAX_FILE:
            raise InvalidArgument(f"{path}: a people file is at most {_MAX_FILE:,} bytes")
        try:
            data = YAML(typ="safe", pure=True).load(text)
        except YAMLError as exc:
            raise InvalidArgument(f"{path}: not YAML: {exc}") from None
        return cls.from_data(data, where=str(path))

    @classmethod
    def from_data(cls, data: Any, *, where: str = "people") -> Staff:
        """Staff from the data of a people file (see the module docstring)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("people"), Mapping):
            raise InvalidArgument(f"{where}: write 'people:' mapping each person id to roles")
        unknown = set(data) - {"people", "administrators"}
        if unknown:
            raise InvalidArgument(
                f"{where}: unknown key {sorted(map(str, unknown))[0]!r} "
                "(a people file has 'people:' and 'administrators:')"
            )
        people = []
        for pid, entry in data["people"].items():
            name, roles = str(pid), entry
            if isinstance(entry, Mapping):
                name, roles = str(entry.get("name") or pid), entry.get("roles", [])
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise InvalidArgument(
                    f"{where}: people.{pid}: give a list of role ids, or {{name:, roles: [...]}}"
                )
            try:
                people.append(Person(User(str(pid)).id, name, frozenset(roles)))
            except InvalidArgument as exc:
                raise InvalidArgument(f"{where}: people.{pid}: {exc}") from None
        admins = data.get("administrators", [DEFAULT_ADMIN_ROLE])
        if not isinstance(admins, list) or not all(isinstance(r, str) for r in admins):
            raise InvalidArgument(f"{where}: administrators: give a list of role ids")
        return cls(people, administrators=admins)

    @classmethod
    def demo(cls, catalog: Mapping[str, Process], folders: Iterable[Path]) -> Staff:
        """The people of ``--demo``: the scenarios' users, one per role nobody holds, an admin."""
        roles: dict[str, set[str]] = {}
        for path in scenario_files(folders):
            scenario, _, _ = load_scenario(path)
            if scenario is not None:
                for user, held in scenario.users.items():
                    roles.setdefault(user, set()).update(held)
        taken = {r for rs in roles.values() for r in rs}
        for process in catalog.values():
            for role in sorted(process.flow.used_actors - taken):
                roles.setdefault(role, {role})
                taken.add(role)
        roles["admin"] = {DEFAULT_ADMIN_ROLE}
        return cls(
            (Person(pid, pid, frozenset(rs)) for pid, rs in sorted(roles.items())),
            administrators=[DEFAULT_ADMIN_ROLE],
        )
