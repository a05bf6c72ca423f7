"""The sign-off: several actors sign (all of them, any one, n of m, or in turn).

Owns `SignNode` and the ``sign`` `StepKind`: the signers and the rule, where a
signature and a rejection lead; the checks (signers are actors, ``n`` is no
more than the signers, the rejection's target exists: PF302, PF310, PF301);
how it runs (one task per signer role, in turn one at a time; enough
signatures withdraw the rest, a rejection withdraws them and goes back); and
how it is drawn (a bar naming the rule, one box per signer in the signer's
lane, and a closing bar that counts the signatures).

Imports `ir`, `ports`, `context`, `layout`, `kinds.human`, `kinds.protocol`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal, cast

from procflow.errors import ExecutionError
from procflow.flow.context import Context
from procflow.flow.ir import Edge, Flow, HumanNode
from procflow.flow.kinds.human import check_human, held_by, human_fields
from procflow.flow.kinds.protocol import Base, StepKind
from procflow.flow.layout import Placed
from procflow.flow.ports import Canvas, Language, Move, Run
from procflow.language.diagnostics import Diagnostic
from procflow.language.model import SignStep

WORDS: dict[Language, dict[str, str]] = {
    "zh": {
        "all_of": "全部",
        "any_of": "任一",
        "n_of": "{m}人中{n}人",
        "in_turn": "依次",
        "rule": "{rule}簽準",
        "who": "{rule}：{names}",
        "and": "、",
        "count": "{rule}簽準 {n}/{m}",
        "in_turn_count": "依次簽準 {m} 位",
        "title": "會簽",
        "signs": "簽準",
        "nth": "第{i}位簽準",
        "members_all_of": "成員全部",
        "members_any_of": "成員任一",
        "members_n_of": "成員任{n}位",
        "members_in_turn": "成員依次",
        "members_any_order": "成員逐一（不限順序）",
    },
    "en": {
        "all_of": "all",
        "any_of": "any one",
        "n_of": "{n} of {m}",
        "in_turn": "in turn",
        "rule": "{rule} sign",
        "who": "{rule}: {names}",
        "and": ", ",
        "count": "{rule} signed {n}/{m}",
        "in_turn_count": "{m} signed in turn",
        "title": "Sign-off",
        "signs": "signs",
        "nth": "signs {i}th",
        "members_all_of": "every member",
        "members_any_of": "any one member",
        "members_n_of": "{n} members",
        "members_in_turn": "members in turn",
        "members_any_order": "members one at a time",
    },
}
"""How a sign-off is named on its bars and signers' boxes, in each language."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SignNode(HumanNode):
    """A sign-off (``sign:``). ``roles`` are the signers, one task each.

    Attributes:
        rule: ``all_of``, ``any_of``, ``n_of`` or ``in_turn``.
        needed: How many signatures complete it (0: every member, for ``members``).
        members: The members of the one role in ``roles`` sign, one task each, as the
            directory lists them when the sign-off opens (recorded with its first task).
        any_order: With ``in_turn`` over members: one at a time, whoever comes first.
    """

    kind: ClassVar[str] = "sign"

    rule: Literal["all_of", "any_of", "n_of", "in_turn"] = "all_of"
    needed: int = 1
    members: bool = False
    any_order: bool = False

    def out_edges(self) -> Iterator[Edge]:
        if self.skip is not None and self.skip_to is not None:
            yield Edge(self.id, self.skip_to, "skip", condition=self.skip, label=self.skip.text)
        if self.after is not None:
            yield Edge(self.id, self.after, "next", outcome="sign", label="signed")
        if "reject" in self.outcomes:
            target = self.outcomes["reject"]
            yield Edge(self.id, target, "reject", outcome="reject", label="reject")

    def arrive(self, run: Run, token: int, came_from: str) -> Move | None:
        if self.members:
            return self._members_arrive(run, token)
        signers = self.roles[:1] if self.rule == "in_turn" else self.roles
        for i, role in enumerate(signers):
            run.open_task(token, self, [role], enter=i == 0)
        return None

    def _members_arrive(self, run: Run, token: int) -> Move | None:
        """The members of the role, resolved now and recorded (``people``), sign."""
        people = run.members(self.roles, why=f"the sign-off '{self.id}'")
        excluded = run.excluded(self, token) if self.not_by else set()
        people = [p for p in people if p not in excluded]  # four-eyes: they do not sign
        if not people:  # nobody to sign: one task for the role, which says so
            run.open_task(token, self, self.roles, enter=True)
            return None
        if len(people) < self.needed:
            raise ExecutionError(
                f"the sign-off '{self.id}' needs {self.needed} signatures, but only "
                f"{', '.join(people)} of {self.roles[0]} may sign (four-eyes leaves out "
                f"{', '.join(sorted(excluded)) or 'nobody'}); nothing was changed"
            )
        first = people[:1] if self.rule == "in_turn" and not self.any_order else people
        if self.any_order:  # one task at a time, for whoever of them comes first
            run.open_task(token, self, self.roles, candidates=people, enter=True, people=people)
            return None
        for i, person in enumerate(first):
            run.open_task(token, self, self.roles, candidates=[person], enter=i == 0,
                          people=people if i == 0 else ())  # fmt: skip
        return None

    def needs(self, run: Run, token: int) -> int:
        """How many signatures complete it (every member, for all_of or in_turn over them)."""
        return self.needed or len(run.signers(token)) or 1

    def completed(self, run: Run, token: int, outcome: str | None) -> Move | None:
        if outcome == "reject":
            run.withdraw(token, "rejected")
            return (token, self.id, self.outcomes["reject"])
        signed = run.completions(token)
        needed = self.needed or self.needs(run, token)
        if self.rule == "in_turn" and signed < needed:
            if not self.members:
                run.open_task(token, self, [self.roles[signed]], enter=False)
                return None
            people = run.signers(token)
            left = [p for p in people if p not in run.signed_by(token)]
            if left:
                whom = left if self.any_order else left[:1]
                run.open_task(token, self, self.roles, candidates=whom, enter=False)
                return None
        if signed < needed:
            run.recheck(token, self, needed)  # one signature per person: may deadlock
            if run.open_count(token):
                return None
        run.withdraw(token, "signed")
        return (token, self.id, self.after or "")

    @property
    def own_lane(self) -> str | None:
        # the bars belong to the signers, not to whoever hands the work over: the first
        # signer's lane, right above that signer's box
        return self.roles[0] if self.roles else None

    def duties(self) -> tuple[tuple[str, str], ...]:
        return tuple((a, "審批") for a in self.roles)

    def who(self, actor: Callable[[str], str], language: Language = "zh") -> str:
        words = WORDS[language]
        names = words["and"].join(actor(a) for a in self.roles)
        return words["who"].format(rule=self.rule_words(language), names=names)

    def rule_words(self, language: Language = "zh") -> str:
        """``全部簽準``, ``任一簽準``, ``3人中2人簽準``, ``依次簽準``; over the members of
        a role: ``成員全部簽準``, ``成員逐一（不限順序）簽準``."""
        words = WORDS[language]
        if self.members:
            key = "any_order" if self.rule == "in_turn" and self.any_order else self.rule
            rule = words["members_" + key].format(n=self.needed)
            return words["rule"].format(rule=rule)
        rule = words[self.rule].format(n=self.needed, m=len(self.roles))
        return words["rule"].format(rule=rule)

    def count_words(self, language: Language = "zh") -> str:
        """What completes it: ``全部簽準 3/3``, ``任一簽準 1/2``, ``依次簽準 3 位``."""
        words = WORDS[language]
        if self.members:
            return self.rule_words(language)
        m = len(self.roles)
        if self.rule == "in_turn":
            return words["in_turn_count"].format(m=m)
        rule = words[self.rule].format(n=self.needed, m=m)
        return words["count"].format(rule=rule, n=self.needed, m=m)

    def draw(self, canvas: Canvas) -> None:
        words = WORDS[canvas.language]
        who = self.who(canvas.actor, canvas.language)
        n = canvas.box(self, "fork", self.label or words["title"], [who])
        done = f"{n}@signed"
        previous = n
        for i, signer in enumerate(self.roles):
            what = words["nth"].format(i=i + 1) if self.rule == "in_turn" else words["signs"]
            sid = f"{n}@sign.{i + 1}"
            canvas.part(
                self, sid, lane=signer, shape="signer", title=canvas.actor(signer), lines=[what]
            )
            if self.rule == "in_turn":
                canvas.line(previous, sid)
                previous = sid
            else:
                canvas.line(n, sid)
                canvas.line(sid, done)
        if self.rule == "in_turn":
            canvas.line(previous, done)
        canvas.part(self, done, lane="", shape="join", title=self.count_words(canvas.language))
        canvas.leave_from(self, done)


def build(ctx: Context, placed: Placed, base: Base) -> SignNode:
    step = cast(SignStep, placed.step)  # the registry gives each kind its own steps
    outcomes = {"sign": ctx.layout.after(placed)}
    if step.reject is not None:
        dest = ctx.way(step.reject, placed, (*placed.path, "reject"))
        if dest is not None:
            outcomes["reject"] = dest
    return SignNode(
        **base,
        **human_fields(ctx, placed, step),
        roles=tuple(step.sign.signers),
        outcomes=outcomes,
        rule=step.sign.rule,
        needed=step.sign.needed,
        members=step.sign.members is not None,
        any_order=step.sign.members is not None and step.sign.members.order == "any",
    )


def check(ctx: Context, flow: Flow, placed: Placed, node: SignNode) -> Iterator[Diagnostic]:
    step = cast(SignStep, placed.step)
    path = placed.path
    if step.sign.members is not None:
        yield from ctx.actor(step.sign.members.members, (*path, "sign", step.sign.rule, "members"))
    for i, role in enumerate(step.sign.signers if step.sign.members is None else ()):
        yield from ctx.actor(role, (*path, "sign", step.sign.rule, i))
    if step.reject is not None:
        yield from ctx.check_way(step.reject, placed, (*path, "reject"))
    if (
        step.sign.rule == "n_of"
        and step.sign.members is None
        and (step.sign.n or 0) > len(step.sign.signers)
    ):
        yield ctx.diag(
            (*path, "sign", "n"),
            "PF310",
            f"the sign-off asks for {step.sign.n} signatures "
            f"but names {len(step.sign.signers)} signers",
            f"make n at most {len(step.sign.signers)}, or name more signers",
        )
    yield from _one_person_two_roles(ctx, placed, node)
    yield from check_human(ctx, flow, placed, node, step)


def _one_person_two_roles(ctx: Context, placed: Placed, node: SignNode) -> Iterator[Diagnostic]:
    """PF327: by the members the organisation gives, the sign-off may find nobody to sign
    (one person signs once, however many signer roles they hold)."""
    where = (*placed.path, "sign", node.rule)
    held = {role: held_by(ctx, [role]) for role in node.roles}
    if node.members:
        people = held[node.roles[0]]
        if people is not None and len(people) < max(node.needed, 1):
            yield ctx.diag(
                where,
                "PF327",
                f"the sign-off needs {node.needed} signatures, but {node.roles[0]} is held by "
                f"{len(people)} people ({', '.join(sorted(people))})",
                "lower n, or add members of the role in the organisation file",
                warning=True,
            )
        return
    if node.rule == "n_of":
        everyone = [held[r] for r in node.roles]
        people = set().union(*(h for h in everyone if h is not None))
        if all(h is not None for h in everyone) and len(people) < node.needed:
            yield ctx.diag(
                where,
                "PF327",
                f"the sign-off needs {node.needed} signatures, but its roles are held by "
                f"{len(people)} people ({', '.join(sorted(people))}), who sign once each",
                "lower n, or add holders of the roles in the organisation file",
                warning=True,
            )
        return
    if node.rule not in {"all_of", "in_turn"}:
        return
    for role in node.roles:
        only = held[role]
        if only is None or len(only) != 1:
            continue
        (person,) = only
        other = next((r for r in node.roles if r != role and person in (held[r] or ())), None)
        if other is not None:
            yield ctx.diag(
                where,
                "PF327",
                f"{person} holds {other} and {role}, and is the only holder of {role}: "
                f"after signing as {other}, nobody may sign as {role}",
                "add another holder of the role in the organisation file, or give the "
                "sign-off an escalation (deadline: escalate:)",
                warning=True,
            )
            return


KIND = StepKind("sign", build, check)
