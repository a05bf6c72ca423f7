"""The notification: tell the holders of roles, or people named by data, something.

Owns `NotifyNode` and the ``notify`` `StepKind`: whom it tells (roles, and
``notify_users``, an expression giving a user or a list of users) and what;
the checks (roles are actors, documents read exist: PF302, PF303); how it
runs (it does not wait: ``notified`` is recorded, and the embedder's hook is
called after the command) and how it is drawn (a dashed box).

Imports `ir`, `ports`, `context`, `layout`, `kinds.protocol`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from procflow.flow.context import USERS, Context
from procflow.flow.ir import Flow, Node
from procflow.flow.kinds.protocol import Base, StepKind
from procflow.flow.layout import Placed
from procflow.flow.ports import Canvas, Language, Move, Run
from procflow.language.diagnostics import Diagnostic
from procflow.language.expr import Expression
from procflow.language.model import NotifyStep

WORDS: dict[Language, dict[str, str]] = {
    "zh": {"title": "知會", "tells": "知會：{who}", "and": "、"},
    "en": {"title": "Notice", "tells": "tells {who}", "and": ", "},
}
"""The words of a notification, in each language."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyNode(Node):
    """A notification (``notify:`` roles and/or ``notify_users:`` people)."""

    kind: ClassVar[str] = "notify"
    roles: tuple[str, ...] = ()
    users: Expression | None = None
    """``notify_users``: the people it tells, from data."""
    message: str = ""
    reads: tuple[str, ...] = ()

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        data: dict[str, Any] = {"step": self.id, "roles": list(self.roles), "message": self.message}
        users: list[str] = []
        if self.users is not None:
            value = run.evaluate(self.users)  # a missing value raises: nothing changes
            found = value if isinstance(value, list | tuple) else [value]
            users = list(dict.fromkeys(u for u in found if isinstance(u, str) and u))
            data["users"] = users
        run.emit("notified", data)
        run.notice("notify", self, tuple(users))
        return (token, self.id, self.after or "")

    def duties(self) -> tuple[tuple[str, str], ...]:
        return tuple((a, "知會") for a in self.roles)

    def who(self, actor: Callable[[str], str], language: Language = "zh") -> str:
        users = self.users.text if self.users is not None else None
        return self._told([actor(a) for a in self.roles], users, language)

    def _told(self, told: list[str], users: str | None, language: Language) -> str:
        words = WORDS[language]
        return words["tells"].format(who=words["and"].join([*told, *([users] if users else [])]))

    def draw(self, canvas: Canvas) -> None:
        users = canvas.value(self.users.text) if self.users is not None else None
        told = self._told([canvas.actor(a) for a in self.roles], users, canvas.language)
        lines = [told] + ([self.message] if self.message else [])
        canvas.box(self, "notify", self.label or WORDS[canvas.language]["title"], lines)


def build(ctx: Context, placed: Placed, base: Base) -> NotifyNode:
    step = cast(NotifyStep, placed.step)  # the registry gives each kind its own steps
    users = None
    if step.notify_users is not None:
        users = ctx.typed((*placed.path, "notify_users"), step.notify_users, USERS)
    return NotifyNode(
        **base, roles=tuple(step.notify), users=users, message=step.message, reads=tuple(step.reads)
    )


def check(ctx: Context, flow: Flow, placed: Placed, node: NotifyNode) -> Iterator[Diagnostic]:
    for i, role in enumerate(node.roles):
        yield from ctx.actor(role, (*placed.path, "notify", i))
    for i, doc in enumerate(node.reads):
        yield from ctx.document(doc, (*placed.path, "reads", i))


KIND = StepKind("notify", build, check)
