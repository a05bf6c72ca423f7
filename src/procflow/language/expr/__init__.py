"""The condition language: a typed subset of CEL, checked at load time.

Used by process YAML (``when: proposal.plan_type != "routine"``) and by
decision tables. Hand-written tokenizer and recursive-descent parser; never
``eval``/``exec``/``compile`` or the ``ast`` module. Stages, each its own
module, importing only the ones before it: `issues` → `typing_` → `lexer` →
`nodes` → `parser` → `evaluator` → `functions` → `calls` → `checker` →
`compiler`.
Imports `procflow.language.diagnostics` and `procflow.errors`, nothing else from procflow.

Syntax (CEL's): literals ``12``, ``1.5``, ``"text"``/``'text'`` with CEL
escapes, ``true``, ``false``, lists ``[1, 2]``; names ``doc.field`` and
``variable``; ``?:``, ``||``, ``&&``, ``== != < <= > >= in``, ``+ -``,
``* / %``, ``! -`` (loosest to tightest), ``x[i]``; functions ``size int
string today now day_of_month month year days_between min max abs first
last``, the macro ``has(doc.field)`` and the list macros ``all exists count
sum`` (``all(plans, p, p.total > 0)``, ``plans.all(p, ...)``, or short,
``all(plans, p.total > 0)``); text methods ``startsWith endsWith
contains``; plus the caller's `Function` values. No null (use ``has``), no
maps, no ``**``, no names starting with ``_``.

Type rules:

- Numbers: ``number``, ``money`` and ``percent`` are one family. A plain
  number mixes with either (``budget > 2000``, ``budget * 2``); money and
  percent never mix. ``+ -`` keep the kind (money + number → money);
  ``*`` needs a plain number on one side (money × money is an error);
  ``/`` by a plain number keeps the kind, money / money → number;
  ``%`` keeps the dividend's kind. Number literals are plain numbers.
- Text: ``+`` concatenates; choices are text with a fixed set of values.
  Comparing a choice with a text literal (``==``, ``!=``, ordering, ``in``
  a list literal) checks the literal is allowed (PF404, did-you-mean).
- Per-person forms (`CollectionType`): the copies of a form, each a record
  with ``filled_by`` and ``filled_at``; read with ``size``, ``x[i]``,
  ``first``, ``last`` and the list macros, never as one form (``plans.total``
  is PF408, naming the form).
- Lists: ``+`` concatenates lists of one kind; ``x in list`` needs ``x``
  comparable with the items; ``list[i]`` needs a plain number.
- ``== !=`` need two values of one kind (as above); ``< <= > >=`` also need
  an ordered kind (numbers, text, dates, date-times). Dates and date-times
  never mix. Yes/no values are only compared with ``==``/``!=``.
- ``&& || !`` and the condition of ``?:`` take yes/no only (PF403); the two
  branches of ``?:`` must join into one kind.
- The whole expression must fit ``expect`` (PF406 when a yes/no condition is
  expected, PF403 otherwise). Unknown names and fields are PF402 with
  did-you-mean; unknown functions and methods, reserved words and ``_``
  names are PF407; syntax is PF401; limits are PF405.

Limits (PF405): 2,000 characters (checked before tokenizing), 500 tokens,
nesting 32 levels (parentheses, brackets, calls, ``?:``, prefix operators),
a syntax tree 100 levels high, 30 digits per number; arithmetic uses a
decimal context of 34 digits with exponents within ±10⁶ and traps overflow,
so every evaluation is bounded.

At run time (see `evaluator`): exact decimals (``0.1 + 0.2 == 0.3``);
a missing document or field raises `EvaluationError` naming it, never false;
``has(doc.field)`` is the guard (false when the document or the field is
missing or None) and ``&&``/``||``/``?:`` short-circuit;
division by zero raises `EvaluationError`.
"""

from procflow.language.expr.evaluator import Expression
from procflow.language.expr.frontend import compile_expression, parse_literal
from procflow.language.expr.functions import Function
from procflow.language.expr.issues import ExprIssue, offset_to_line_col
from procflow.language.expr.parser import RESERVED_WORDS
from procflow.language.expr.typing_ import (
    ANY,
    BOOL,
    DATE,
    DATETIME,
    MONEY,
    NUMBER,
    PERCENT,
    TEXT,
    ChoiceType,
    CollectionType,
    ListType,
    RecordType,
    Type,
)

__all__ = [
    "ANY",
    "BOOL",
    "DATE",
    "DATETIME",
    "MONEY",
    "NUMBER",
    "PERCENT",
    "RESERVED_WORDS",
    "TEXT",
    "ChoiceType",
    "CollectionType",
    "ExprIssue",
    "Expression",
    "Function",
    "ListType",
    "RecordType",
    "Type",
    "compile_expression",
    "offset_to_line_col",
    "parse_literal",
]
