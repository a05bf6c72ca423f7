"""The checker: syntax tree → (type, closure), collecting every issue.

One pass over the tree resolves names against the environment, applies the
type rules of `typing_`, checks choice literals, and picks the closure from
`evaluator`/`functions` for each node, so evaluation never looks at types.
After an error the node's type becomes ANY, which fits everywhere, so one
mistake is reported once, not again by every enclosing operator.

Function calls are checked in `calls`. Imports `issues`, `nodes`,
`typing_`, `evaluator`, `functions`, `calls`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from procflow.language.expr import evaluator as ev
from procflow.language.expr.calls import check_call
from procflow.language.expr.functions import BUILTINS, ERROR, Function, Typed
from procflow.language.expr.issues import MAX_HEIGHT, ExprIssue, fail, suggest
from procflow.language.expr.nodes import (
    Binary,
    Call,
    Index,
    ListLit,
    Literal,
    Name,
    Node,
    Select,
    Ternary,
    Unary,
)
from procflow.language.expr.typing_ import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    NUMBER,
    TEXT,
    ChoiceType,
    CollectionType,
    ListType,
    RecordType,
    Type,
    arithmetic,
    equality_problem,
    is_numeric,
    is_text,
    join,
    ordering_problem,
)

_ORDERING = frozenset({"<", "<=", ">", ">="})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})


def _mismatch_hint(a: Type, b: Type) -> str:
    kinds = {a, b}
    if kinds == {DATE, DATETIME}:
        return "today() gives a date and now() a date and time; compare like with like"
    if any(is_text(t) for t in kinds) and any(is_numeric(t) for t in kinds):
        return "convert with string(...) or int(...), or compare with a value of the same kind"
    if any(t.label == "percent" for t in kinds) and any(t.label == "money" for t in kinds):
        return "money and percent do not mix; compare each with a plain number"
    return ""


class Checker:
    """Checks one expression; read ``issues`` and ``names`` after `check`."""

    def __init__(
        self, text: str, env: Mapping[str, Type], functions: Mapping[str, Function]
    ) -> None:
        self.text = text
        self.env = env
        self.functions = functions
        self.issues: list[ExprIssue] = []
        self.names: set[str] = set()
        self.bound: dict[str, Type] = {}
        """The item names of the list macros around the node being checked (``p`` in
        ``all(plans, p, p.total > 0)``), innermost last."""
        self._handlers: dict[type[Node], Callable[[Any, int], Typed]] = {
            Literal: self._literal,
            Name: self._name,
            Select: self._select,
            Index: self._index,
            Call: self._call,
            Unary: self._unary,
            Binary: self._binary,
            Ternary: self._ternary,
            ListLit: self._list,
        }

    def report(self, code: str, message: str, start: int, end: int, hint: str = "") -> Typed:
        self.issues.append(ExprIssue(code, message, hint, start, end))
        return ERROR

    def source(self, node: Node) -> str:
        return self.text[node.start : node.end]

    def check(self, node: Node, depth: int = 0) -> Typed:
        if depth > MAX_HEIGHT:
            raise fail(
                "PF405",
                f"the expression nests more than {MAX_HEIGHT} operators deep",
                node.start,
                node.end,
                "split it into simpler conditions",
            )
        return self._handlers[type(node)](node, depth + 1)

    def choice_literal(self, choice: Type, node: Node, other: Node) -> bool:
        """Report a text literal that is not among ``choice``'s values; True if it was bad."""
        if isinstance(choice, ListType):
            choice = choice.item
        if not (
            isinstance(choice, ChoiceType)
            and isinstance(node, Literal)
            and isinstance(node.value, str)
            and node.value not in choice.values
        ):
            return False
        self.report(
            "PF404",
            f"'{node.value}' is not an allowed value of {self.source(other)}",
            node.start,
            node.end,
            suggest(node.value, choice.values),
        )
        return True

    def naming(self, problem: str, *sides: tuple[Node, Type]) -> str:
        """``problem`` preceded by what the fields and names in it are: the analyst sees
        which field has which type (``proposal.budget is money, "1000" is text: ...``)."""
        if not any(isinstance(n, Name | Select) for n, _ in sides):
            return problem
        return ", ".join(f"{self.source(n)} is {t.label}" for n, t in sides) + f": {problem}"

    def as_bool(self, node: Node, typed: Typed, role: str) -> ev.Thunk:
        t, thunk = typed
        if t is BOOL:
            return thunk
        if t is ANY:
            return ev.checked(thunk, ev.check_for(BOOL), self.source(node))
        self.report(
            "PF403",
            f"{role} must be yes/no, but this is {t.label}",
            node.start,
            node.end,
            "compare it, e.g. with == or >",
        )
        return thunk

    # -- leaves -------------------------------------------------------------------
    def _literal(self, node: Literal, depth: int) -> Typed:
        value = node.value
        t = BOOL if isinstance(value, bool) else NUMBER if isinstance(value, Decimal) else TEXT
        return t, ev.constant(value)

    def _name(self, node: Name, depth: int) -> Typed:
        t = self.bound.get(node.name)
        if t is not None:  # an item of a list macro: read from the scope, not a document
            return t, ev.read_name(node.name, ev.check_for(t))
        t = self.env.get(node.name)
        if t is None:
            return self.unknown_name(node)
        self.names.add(node.name)
        return t, ev.read_name(node.name, ev.check_for(t))

    def with_item(self, name: str, t: Type, node: Node, depth: int) -> Typed:
        """Check ``node`` with ``name`` standing for one item of type ``t``."""
        outer = self.bound.get(name)
        self.bound[name] = t
        try:
            return self.check(node, depth)
        finally:
            if outer is None:
                del self.bound[name]
            else:
                self.bound[name] = outer

    def one_copy(self, name: str, t: CollectionType, node: Node) -> None:
        """PF408: a per-person form read as if it were one form."""
        field = node.field if isinstance(node, Select) else "field"
        self.report(
            "PF408",
            f"'{name}' is a per-person form with one copy per member or item; "
            "say which copy, or read them all",
            node.start,
            node.end,
            f"count them with size({name}), test every copy with "
            f"all({name}, p, p.{field} ...), or take one: last({name}).{field}",
        )

    def unknown_name(self, node: Name) -> Typed:
        if node.name in BUILTINS or node.name in self.functions:
            hint = f"call the function: {node.name}(...)"
        else:
            hint = suggest(node.name, self.env)
        return self.report(
            "PF402", f"'{node.name}' is not a document or variable here", node.start, node.end, hint
        )

    def field(self, record: RecordType, node: Select) -> Type | None:
        t = record.fields.get(node.field)
        if t is None:
            self.report(
                "PF402",
                f"{record.label} has no field '{node.field}'",
                node.field_start,
                node.field_end,
                suggest(node.field, record.fields),
            )
        return t

    def record_operand(self, node: Select, depth: int) -> tuple[RecordType, ev.Thunk | str] | None:
        """The record a select reads from, and the document name or a closure giving it."""
        operand = node.operand
        if isinstance(operand, Name) and operand.name not in self.bound:
            t = self.env.get(operand.name)
            if t is None:
                self.unknown_name(operand)
                return None
            if isinstance(t, RecordType):
                return t, operand.name
            if isinstance(t, CollectionType):
                self.names.add(operand.name)
                self.one_copy(operand.name, t, node)
                return None
        t, thunk = self.check(operand, depth)
        if isinstance(t, RecordType):
            return t, thunk
        if t is not ANY:
            self.report(
                "PF403",
                f"{self.source(operand)} is {t.label}, which has no fields",
                node.field_start,
                node.field_end,
            )
        return None

    def _select(self, node: Select, depth: int) -> Typed:
        found = self.record_operand(node, depth)
        t = None if found is None else self.field(found[0], node)
        if found is None or t is None:
            return ERROR
        source = found[1]
        if isinstance(source, str):
            self.names.add(f"{source}.{node.field}")
            return t, ev.read_field(source, node.field, ev.check_for(t))
        return t, ev.select(source, node.field, ev.check_for(t), self.source(node))

    def _index(self, node: Index, depth: int) -> Typed:
        seq_t, seq = self.check(node.operand, depth)
        if isinstance(seq_t, RecordType):
            return self.report(
                "PF403",
                f"{self.source(node.operand)} is a document; read a field with a dot, "
                f"like {self.source(node.operand)}.field",
                node.start,
                node.end,
            )
        pos_t, pos = self.check(node.index, depth)
        if pos_t is ANY:
            pos = ev.checked(pos, ev.check_for(NUMBER), self.source(node.index))
        elif pos_t is not NUMBER:
            self.report(
                "PF403",
                f"a list position must be a number, not {pos_t.label}",
                node.index.start,
                node.index.end,
            )
        if isinstance(seq_t, ListType | CollectionType):
            return seq_t.item, ev.index(seq, pos, self.source(node))
        if seq_t is not ANY:
            self.report(
                "PF403",
                f"only lists can be indexed, not {seq_t.label}",
                node.operand.start,
                node.operand.end,
            )
        return ERROR

    # -- operators ----------------------------------------------------------------
    def _unary(self, node: Unary, depth: int) -> Typed:
        typed = self.check(node.operand, depth)
        if node.op == "!":
            return BOOL, ev.negate(self.as_bool(node.operand, typed, "the operand of '!'"))
        t, thunk = typed
        if is_numeric(t) or t is ANY:
            return t, ev.minus(thunk)
        return self.report("PF403", f"'-' needs a number, not {t.label}", node.start, node.end)

    def _binary(self, node: Binary, depth: int) -> Typed:
        left = self.check(node.left, depth)
        right = self.check(node.right, depth)
        if node.op in ("&&", "||"):
            role = f"each side of '{node.op}'"
            a = self.as_bool(node.left, left, role)
            b = self.as_bool(node.right, right, role)
            return BOOL, ev.both(a, b) if node.op == "&&" else ev.either(a, b)
        (lt, lf), (rt, rf) = left, right
        if node.op in _ARITHMETIC:
            result = arithmetic(node.op, lt, rt)
            if isinstance(result, str):
                hint = _mismatch_hint(lt, rt) if node.op == "+" else ""
                return self.report("PF403", result, node.start, node.end, hint)
            return result, ev.arithmetic(node.op, result, lf, rf)
        if node.op == "in":
            return self._in(node, lt, rt, lf, rf)
        bad = self.choice_literal(lt, node.right, node.left) | self.choice_literal(
            rt, node.left, node.right
        )
        problem = (ordering_problem if node.op in _ORDERING else equality_problem)(lt, rt)
        if problem and not bad:
            problem = self.naming(problem, (node.left, lt), (node.right, rt))
            hint = _mismatch_hint(lt, rt)
            if (
                lt is BOOL
                and node.op in _ORDERING
                and isinstance(node.left, Binary)
                and node.left.op in _ORDERING
            ):
                hint = "to test a range write: low < x && x < high"
            return self.report("PF403", problem, node.start, node.end, hint)
        return BOOL, ev.compare(node.op, lf, rf)

    def _in(self, node: Binary, lt: Type, rt: Type, lf: ev.Thunk, rf: ev.Thunk) -> Typed:
        if not isinstance(rt, ListType):
            if rt is ANY:
                return BOOL, ev.compare("in", lf, rf)
            hint = "to look inside text use text.contains(part)" if is_text(rt) else ""
            return self.report(
                "PF403",
                f"'in' needs a list on its right, not {rt.label}",
                node.right.start,
                node.right.end,
                hint,
            )
        bad = False
        if isinstance(node.right, ListLit):
            for item in node.right.items:
                bad = self.choice_literal(lt, item, node.left) or bad
        bad = self.choice_literal(rt, node.left, node.right) or bad
        problem = equality_problem(lt, rt.item)
        if problem and not bad:
            problem = self.naming(problem, (node.left, lt), (node.right, rt))
            return self.report("PF403", problem, node.start, node.end, _mismatch_hint(lt, rt.item))
        return BOOL, ev.compare("in", lf, rf)

    def _ternary(self, node: Ternary, depth: int) -> Typed:
        condition = self.as_bool(
            node.condition, self.check(node.condition, depth), "the condition before '?'"
        )
        then_t, then = self.check(node.then, depth)
        else_t, otherwise = self.check(node.otherwise, depth)
        common = join(then_t, else_t)
        if common is None:
            return self.report(
                "PF403",
                f"the two branches give different kinds of value: {then_t.label} "
                f"and {else_t.label}",
                node.then.start,
                node.otherwise.end,
            )
        return common, ev.choose(condition, then, otherwise)

    def _list(self, node: ListLit, depth: int) -> Typed:
        item: Type = ANY
        thunks: list[ev.Thunk] = []
        for child in node.items:
            t, thunk = self.check(child, depth)
            thunks.append(thunk)
            common = join(item, t)
            if common is None:
                self.report(
                    "PF403",
                    f"list items must be of one kind: {item.label} and {t.label}",
                    child.start,
                    child.end,
                )
            else:
                item = common
        literals = [child.value for child in node.items if isinstance(child, Literal)]
        if len(literals) == len(node.items):
            return ListType(item), ev.constant(tuple(literals))
        items = tuple(thunks)
        return ListType(item), lambda scope: tuple(t(scope) for t in items)

    def _call(self, node: Call, depth: int) -> Typed:
        return check_call(self, node, depth)
