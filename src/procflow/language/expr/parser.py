"""The parser: tokens → syntax tree, by recursive descent with CEL precedence.

Precedence, loosest first (as in CEL): ``?:`` (right-associative), ``||``,
``&&``, the relations ``== != < <= > >= in``, ``+ -``, ``* / %``, the prefix
operators ``! -``, then member access ``.f``, calls ``f(...)``, ``x.m(...)``
and indexing ``x[i]``. Nesting (parentheses, brackets, calls, ternaries,
prefix operators) is limited to `MAX_DEPTH`, checked before recursing, so
the parser never comes near Python's recursion limit.

Owns the grammar only; names and types are checked in `checker`. Imports
`lexer`, `nodes` and `issues`.
"""

from __future__ import annotations

from decimal import Decimal

from procflow.language.expr.issues import MAX_DEPTH, fail
from procflow.language.expr.lexer import Token, tokenize
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

_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"||"}),
    frozenset({"&&"}),
    frozenset({"==", "!=", "<", "<=", ">", ">=", "in"}),
    frozenset({"+", "-"}),
    frozenset({"*", "/", "%"}),
)

# Words that are CEL reserved words, Python keywords or Python spellings of
# CEL things: never a name in an expression. Each maps to a hint.
_RESERVED: dict[str, str] = {
    "and": "write && instead of 'and'",
    "or": "write || instead of 'or'",
    "not": "write ! instead of 'not'",
    "if": "write condition ? value_if_yes : value_if_no",
    "else": "write condition ? value_if_yes : value_if_no",
    "True": "write true in lower case",
    "False": "write false in lower case",
    "null": "there is no null; test whether a field has a value with has(document.field)",
    "None": "there is no null; test whether a field has a value with has(document.field)",
    "for": "list comprehensions are not part of the expression language",
    "is": "write == to compare",
    **dict.fromkeys(
        (
            "as",
            "assert",
            "async",
            "await",
            "break",
            "class",
            "const",
            "continue",
            "def",
            "del",
            "except",
            "finally",
            "from",
            "function",
            "global",
            "import",
            "lambda",
            "let",
            "loop",
            "namespace",
            "nonlocal",
            "package",
            "pass",
            "raise",
            "return",
            "try",
            "var",
            "void",
            "while",
            "with",
            "yield",
        ),
        "",
    ),
}

RESERVED_WORDS: frozenset[str] = frozenset(_RESERVED) | {"true", "false", "in"}
"""Words that can never name a document, field or variable in an expression."""


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    return f"the text {token.text}" if token.kind == "str" else f"'{token.text}'"


def _too_deep(token: Token) -> Exception:
    return fail(
        "PF405",
        f"the expression nests more than {MAX_DEPTH} levels deep",
        token.start,
        token.end,
        "split it into simpler conditions",
    )


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    # -- token helpers --------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "end":
            self.pos += 1
        return token

    def at(self, op: str) -> bool:
        token = self.token
        return token.kind == "op" and token.text == op

    def expect(self, op: str, opener: Token | None = None) -> Token:
        if self.at(op):
            return self.advance()
        token = self.token
        hint = f"add '{op}' to close the '{opener.text}'" if opener else ""
        raise fail(
            "PF401",
            f"expected '{op}' but found {_describe(token)}",
            token.start,
            max(token.end, token.start),
            hint or _RESERVED.get(token.text, ""),
        )

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _too_deep(token)

    def unexpected(self) -> Exception:
        token = self.token
        if token.kind == "end":
            if token.start == 0 or all(t.kind == "end" for t in self.tokens):
                return fail("PF401", "the expression is empty", 0, 0)
            return fail(
                "PF401",
                "the expression ends too early",
                token.start,
                token.end,
                "something is missing after the last operator",
            )
        if token.kind == "ident" and token.text in _RESERVED:
            return fail(
                "PF407",
                f"'{token.text}' is not part of the expression language",
                token.start,
                token.end,
                _RESERVED[token.text],
            )
        before, after = self.tokens[self.pos - 1 : self.pos], self.tokens[self.pos + 1 :][:1]
        if (  # 2,000: where a comma cannot be, a thousands separator
            token.text == ","
            and before[:1] and before[0].kind == "num" and "." not in before[0].text
            and after[:1] and after[0].kind == "num" and len(after[0].text.split(".")[0]) == 3
            and after[0].start == token.end
        ):  # fmt: skip
            whole = before[0].text + after[0].text
            return fail(
                "PF401",
                f"'{before[0].text},{after[0].text}' has a thousands separator",
                before[0].start,
                after[0].end,
                f"write {whole}, without the comma",
            )
        return fail(
            "PF401",
            f"unexpected {_describe(token)}",
            token.start,
            token.end,
            _RESERVED.get(token.text, ""),
        )

    # -- grammar ----------------------------------------------------------
    def parse(self) -> Node:
        node = self.expression()
        if self.token.kind != "end":
            raise self.unexpected()
        return node

    def expression(self) -> Node:
        condition = self.binary(0)
        if not self.at("?"):
            return condition
        question = self.advance()
        self.enter(question)
        then = self.expression()
        self.expect(":")
        otherwise = self.expression()
        self.depth -= 1
        return Ternary(condition.start, otherwise.end, condition, then, otherwise)

    def binary(self, level: int) -> Node:
        nxt = level + 1
        left = self.binary(nxt) if nxt < len(_LEVELS) else self.unary()
        ops = _LEVELS[level]
        while self.token.kind in ("op", "ident") and self.token.text in ops:
            op = self.advance()
            right = self.binary(nxt) if nxt < len(_LEVELS) else self.unary()
            left = Binary(left.start, right.end, op.text, left, right, op.start, op.end)
        return left

    def unary(self) -> Node:
        # Prefix operators are collected in a loop, not by recursion, so a
        # long run of them costs no stack.
        prefix: list[Token] = []
        while self.at("!") or self.at("-"):
            prefix.append(self.advance())
            if len(prefix) + self.depth > MAX_DEPTH:
                raise _too_deep(prefix[-1])
        self.depth += len(prefix)
        node = self.postfix()
        self.depth -= len(prefix)
        for op in reversed(prefix):
            if op.text == "-" and isinstance(node, Literal) and isinstance(node.value, Decimal):
                node = Literal(op.start, node.end, -node.value)
            else:
                node = Unary(op.start, node.end, op.text, node)
        return node

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.at("."):
                self.advance()
                name = self.token
                if name.kind != "ident":
                    raise fail(
                        "PF401",
                        f"expected a field name after '.', found {_describe(name)}",
                        name.start,
                        name.end,
                    )
                self.advance()
                if self.at("("):
                    args, end = self.arguments()
                    node = Call(node.start, end, name.text, args, node, name.start, name.end)
                else:
                    node = Select(node.start, name.end, node, name.text, name.start, name.end)
            elif self.at("["):
                opener = self.advance()
                self.enter(opener)
                index = self.expression()
                close = self.expect("]", opener)
                self.depth -= 1
                node = Index(node.start, close.end, node, index)
            else:
                return node

    def arguments(self) -> tuple[tuple[Node, ...], int]:
        opener = self.advance()
        self.enter(opener)
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.expression())
            while self.at(","):
                self.advance()
                args.append(self.expression())
        close = self.expect(")", opener)
        self.depth -= 1
        return tuple(args), close.end

    def primary(self) -> Node:
        token = self.token
        if token.kind in ("num", "str"):
            self.advance()
            return Literal(token.start, token.end, token.value)
        if token.kind == "ident":
            if token.text in ("true", "false"):
                self.advance()
                return Literal(token.start, token.end, token.text == "true")
            if token.text in _RESERVED or token.text == "in":
                raise self.unexpected()
            self.advance()
            if self.at("("):
                args, end = self.arguments()
                return Call(token.start, end, token.text, args, None, token.start, token.end)
            return Name(token.start, token.end, token.text)
        if self.at("("):
            self.advance()
            self.enter(token)
            inner = self.expression()
            self.expect(")", token)
            self.depth -= 1
            return inner
        if self.at("["):
            return self.list_literal()
        raise self.unexpected()

    def list_literal(self) -> Node:
        opener = self.advance()
        self.enter(opener)
        items: list[Node] = []
        while not self.at("]"):
            items.append(self.expression())
            if not self.at(","):
                break
            self.advance()
        close = self.expect("]", opener)
        self.depth -= 1
        return ListLit(opener.start, close.end, tuple(items))


def parse(text: str) -> Node:
    """Tokenize and parse ``text``.

    Raises:
        ExprFailure: at the first syntax problem or limit.
    """
    return _Parser(tokenize(text)).parse()
