"""Typed table columns: what values fit an input or output, and how they are shown.

Owns `InputColumn` and `OutputColumn`: the declared type (number, money,
percent, choice, yesno, date, text), the expression-language type it maps
to, the check of a value given at evaluation (exact: `Decimal` or `int`,
never `float`), the parsing of ``key=value`` text for the command line, and
the way a value is written in explanations (``85%``, ``2026-01-05``).

Ordered columns (numbers and dates) are compared through a `Decimal` key:
the number itself, or the day number of a date.

Imports `procflow.language.expr` (types, decimal context), `diagnostics`, `written`,
`intervals`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any, Final

from procflow.decisions.intervals import NEG_INF, POS_INF, Interval
from procflow.language import expr
from procflow.language.diagnostics import choices_hint, did_you_mean
from procflow.language.written import YES_NO, typed_number

NUMERIC_KINDS: Final = frozenset({"number", "money", "percent"})
ORDERED_KINDS: Final = NUMERIC_KINDS | {"date"}
_SCALARS: dict[str, expr.Type] = {
    "number": expr.NUMBER,
    "money": expr.MONEY,
    "percent": expr.PERCENT,
    "yesno": expr.BOOL,
    "date": expr.DATE,
    "text": expr.TEXT,
}


class _Missing:
    """The default of an input that has none."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def expr_type(kind: str, choices: tuple[str, ...] = ()) -> expr.Type:
    """The expression-language type of a column."""
    if kind == "choice":
        return expr.ChoiceType(choices)
    return _SCALARS[kind]


_SHOWN_DIGITS = 40
"""A number with more digits before or after its point than this is shown with an exponent."""
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
"""A number as written on paper (``85``, ``-1500.50``): no exponent, no ``inf`` or ``nan``."""


def show_number(value: Decimal) -> str:
    """A number as people write it: ``40`` for ``40.0``, ``1.5`` for ``1.50``, never ``4E+1``
    (but ``1E+99999``, not a page of zeros, for a number far beyond any written one)."""
    if not value:
        return "0"
    if not value.is_finite():
        return "-inf" if value < 0 else "inf"
    if not -_SHOWN_DIGITS < value.adjusted() < _SHOWN_DIGITS:
        return format(value, "E")  # normalize() would overflow the context, "f" fill pages
    return format(value.normalize(Context(prec=max(28, len(value.as_tuple().digits)))), "f")


def show_value(kind: str, value: Any) -> str:
    """How a value of a column of ``kind`` is written in explanations."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        text = show_number(Decimal(value))
        return text + "%" if kind == "percent" else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(show_value(kind, v) for v in value) + "]"
    return str(value)


def _what(value: object) -> str:
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, float):
        return f"the float {value!r}; pass Decimal('{value!r}'), floats are not exact"
    return f"a {type(value).__name__}"


def parse_date(text: str) -> date | None:
    """An ISO date (``2026-01-31``), or None."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True, eq=False)
class InputColumn:
    """One input of a table: its type, domain and default."""

    name: str
    kind: str
    title: str = ""
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    """Lowest allowed key (a number, or a day number for dates)."""
    maximum: Decimal | None = None
    integer: bool = False
    default: Any = MISSING
    etype: expr.Type = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "etype", expr_type(self.kind, self.choices))

    @property
    def ordered(self) -> bool:
        return self.kind in ORDERED_KINDS

    @property
    def whole(self) -> bool:
        """Whether only whole keys exist (``integer: true`` inputs and dates)."""
        return self.integer or self.kind == "date"

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING

    @property
    def label(self) -> str:
        return f"{self.name} ({self.title})" if self.title else self.name

    def key(self, value: Any) -> Decimal:
        """The `Decimal` an ordered value is compared by."""
        if isinstance(value, date):
            return Decimal(value.toordinal())
        return value if isinstance(value, Decimal) else Decimal(value)

    def show(self, value: Any) -> str:
        return show_value(self.kind, value)

    def show_key(self, key: Decimal) -> str:
        if self.kind == "date" and key.is_finite():
            return date.fromordinal(int(key)).isoformat()
        return show_value(self.kind, key)

    def domain(self) -> Interval:
        """Every key the input may take (before `intervals.to_whole`)."""
        lo = NEG_INF if self.minimum is None else self.minimum
        hi = POS_INF if self.maximum is None else self.maximum
        return Interval(lo, hi, self.minimum is not None, self.maximum is not None)

    def check(self, value: Any) -> Any:
        """The value, normalised (`int` → `Decimal`).

        Raises:
            ValueError: saying why the value does not fit this input.
        """
        if self.kind in NUMERIC_KINDS:
            if isinstance(value, bool) or not isinstance(value, int | Decimal):
                raise ValueError(f"should be a number, but is {_what(value)}")
            number = Decimal(value)
            if not number.is_finite():
                raise ValueError(f"is {number}, not a finite number")
            if self.integer and number != number.to_integral_value():
                raise ValueError(f"should be a whole number, but is {show_number(number)}")
            self._in_range(number)
            return number
        if self.kind == "date":
            if not isinstance(value, date) or isinstance(value, datetime):
                raise ValueError(f"should be a date, but is {_what(value)}")
            self._in_range(self.key(value))
            return value
        if self.kind == "yesno":
            if not isinstance(value, bool):
                raise ValueError(f"should be true or false, but is {_what(value)}")
            return value
        if not isinstance(value, str):
            raise ValueError(f"should be text, but is {_what(value)}")
        if self.kind == "choice" and value not in self.choices:
            hint = did_you_mean(value, self.choices)
            allowed = ", ".join(self.choices)
            raise ValueError(f"is '{value}', not one of {allowed}" + (f" ({hint})" if hint else ""))
        return value

    def _in_range(self, key: Decimal) -> None:
        if self.minimum is not None and key < self.minimum:
            raise ValueError(
                f"is {self.show_key(key)}, below the lowest allowed {self.show_key(self.minimum)}"
            )
        if self.maximum is not None and key > self.maximum:
            raise ValueError(
                f"is {self.show_key(key)}, above the highest allowed {self.show_key(self.maximum)}"
            )

    def parse_text(self, text: str) -> Any:
        """A value written on the command line (``85``, ``85%``, ``true``, ``2026-01-05``), checked.

        Raises:
            ValueError: saying why the text does not fit this input.
        """
        raw = text.strip()
        if self.kind in NUMERIC_KINDS:
            # as a person types it: 1,200.50, 85% and full-width digits too (`typed_number`)
            number_text = typed_number(raw, percent=self.kind == "percent")
            if len(number_text) > 100 or not _PLAIN_NUMBER.fullmatch(number_text):
                raise ValueError(
                    f"is '{text[:40]}', not a number written with digits, like 85 or 1500.50"
                )
            return self.check(Decimal(number_text))
        if self.kind == "date":
            day = parse_date(raw)
            if day is None:
                raise ValueError(f"is '{text}', not a date such as 2026-01-31")
            return self.check(day)
        if self.kind == "yesno":
            if raw.lower() not in YES_NO:
                raise ValueError(f"is '{text}', not true or false (or yes/no, 是/否)")
            return YES_NO[raw.lower()]
        return self.check(text)


@dataclass(frozen=True, eq=False)
class OutputColumn:
    """One output of a table."""

    name: str
    kind: str
    title: str = ""
    choices: tuple[str, ...] = ()
    round: int | None = None
    etype: expr.Type = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "etype", expr_type(self.kind, self.choices))

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def finish(self, value: Any) -> Any:
        """The value as given out: rounded half up when the output says ``round:``."""
        if self.round is not None and isinstance(value, Decimal):
            return value.quantize(Decimal(1).scaleb(-self.round), rounding=ROUND_HALF_UP)
        return value

    def show(self, value: Any) -> str:
        return show_value(self.kind, value)


def fits(kind: str, t: expr.Type) -> bool:
    """Whether a formula of type ``t`` may give an output of ``kind``.

    A ``number`` output takes any number: points computed from a percentage
    or from money are plain points. Money and percent outputs take their own
    kind or a plain number.
    """
    if t is expr.ANY:
        return True
    if kind == "number":
        return t in (expr.NUMBER, expr.MONEY, expr.PERCENT)
    if kind in ("money", "percent"):
        return t in (expr.NUMBER, _SCALARS[kind])
    if kind == "choice":
        return isinstance(t, expr.ChoiceType)
    if kind == "text":
        return t is expr.TEXT or isinstance(t, expr.ChoiceType)
    return t is _SCALARS[kind]


def literal_value(out: OutputColumn | InputColumn, raw: Any) -> Any:
    """A constant output value, checked against its column.

    Raises:
        ValueError: why it does not fit.
    """
    kind, name = out.kind, out.name
    if raw is None:
        raise ValueError(f"the value of '{name}' is empty")
    if kind in ("number", "money", "percent"):
        if isinstance(raw, bool):
            raise ValueError(f"'{name}' is {kind}, not true/false")
        if isinstance(raw, int | Decimal):
            return Decimal(raw)
        text = str(raw).strip()
        text = text[:-1] if kind == "percent" and text.endswith("%") else text
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError(f"'{raw}' is not a number, and '{name}' is {kind}") from None
    if kind == "yesno":
        if not isinstance(raw, bool):
            raise ValueError(f"'{name}' is yes/no, so its value is true or false")
        return raw
    if kind == "date":
        day = parse_date(raw) if isinstance(raw, str) else None
        if day is None:
            raise ValueError(f"'{raw}' is not a date, and '{name}' is a date")
        return day
    if isinstance(raw, bool | list | dict):
        raise ValueError(f"'{name}' is {kind}, so its value is text")
    value = show_number(Decimal(raw)) if isinstance(raw, int | Decimal) else str(raw)
    if kind == "choice" and value not in out.choices:
        hint = did_you_mean(value, out.choices)
        raise ValueError(
            f"'{value}' is not an allowed value of '{name}'" + (f" ({hint})" if hint else "")
        )
    return value


def literal_hint(out: OutputColumn | InputColumn) -> str:
    if out.kind == "choice":
        return choices_hint(out.choices)
    if out.kind in ("number", "money", "percent"):
        return "write a number, or a formula starting with '='"
    return ""
