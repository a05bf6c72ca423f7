"""Who acts: users, and the directory that says who holds a role.

Owns `User` (an id and the roles the embedding application vouches for),
the `Directory` protocol (needed for "each member of a role", for notifying a
role and for offering an escalated task to a role's members) and
`StaticDirectory`, an in-memory directory.

Authentication is the embedder's job: the engine trusts the `User` it is given
and checks only what that user may do.

Imports `errors` and `values` (what makes a valid id) only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from procflow.errors import InvalidArgument
from procflow.runtime.values import text_problem

__all__ = ["Directory", "StaticDirectory", "User"]


def _role_set(roles: Iterable[str]) -> frozenset[str]:
    if isinstance(roles, str):
        raise InvalidArgument(f"roles must be a collection of role ids, not the string {roles!r}")
    try:
        found = frozenset(roles)
    except TypeError:
        raise InvalidArgument(
            f"roles must be a collection of role ids, not {type(roles).__name__}"
        ) from None
    for role in found:
        if not isinstance(role, str) or not role or text_problem(role):
            raise InvalidArgument(f"a role is a non-empty text id, not {role!r}")
    return found


def check_user_id(value: Any, *, name: str) -> str:
    """``value`` if it is a user id (non-empty text); `InvalidArgument` naming ``name``."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{name} takes a non-empty text user id, not {value!r}")
    why = text_problem(value)
    if why:
        raise InvalidArgument(f"{name} takes a user id that is text; this one {why}")
    return value


@dataclass(frozen=True, slots=True)
class User:
    """Someone acting on the engine.

    Args:
        id: The user id, as the application knows it (``"li"``).
        roles: The roles (process actors) the user holds (``{"market_manager"}``).
    """

    id: str
    roles: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        check_user_id(self.id, name="User(id)")
        object.__setattr__(self, "roles", _role_set(self.roles))


class Directory(Protocol):
    """Who holds a role. The engine asks only this."""

    def members(self, role: str, /) -> Sequence[str]:
        """The user ids holding ``role``, in a stable order (empty when none)."""
        ...


class StaticDirectory:
    """A directory kept in memory.

    Args:
        members: Role id -> user ids holding it.

    Example::

        StaticDirectory({"ka_manager": ["wang", "zhao"], "gm": ["chen"]})
        StaticDirectory.of([User("wang", {"ka_manager"}), User("chen", {"gm"})])
    """

    def __init__(self, members: Mapping[str, Iterable[str]] | None = None) -> None:
        self._members: dict[str, tuple[str, ...]] = {}
        for role, users in (members or {}).items():
            if isinstance(users, str):
                raise InvalidArgument(
                    f"members of {role!r} must be a list of user ids, not a string"
                )
            self._members[role] = tuple(dict.fromkeys(users))

    @classmethod
    def of(cls, users: Iterable[User]) -> StaticDirectory:
        """A directory of these users and the roles they hold (in the order given)."""
        members: dict[str, list[str]] = {}
        for user in users:
            for role in sorted(user.roles):
                members.setdefault(role, []).append(user.id)
        return cls(members)

    def members(self, role: str, /) -> Sequence[str]:
        """The user ids holding ``role``."""
        return self._members.get(role, ())

    def __repr__(self) -> str:
        return f"StaticDirectory({len(self._members)} roles)"
