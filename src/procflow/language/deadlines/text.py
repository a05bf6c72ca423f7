"""Reading deadline texts (English and Chinese) and writing short labels for diagrams.

Imports `deadlines.spec` and `diagnostics`.
"""

from __future__ import annotations

import re
from functools import cached_property

from procflow.language.deadlines.spec import (
    AT_DUE,
    HINT,
    MAX_AMOUNT,
    MAX_TEXT,
    MONTHS,
    OFFSET_HINT,
    UNITS,
    Deadline,
    DeadlineSyntaxError,
    MonthlyDay,
    Offset,
    Relative,
    Unit,
    Window,
    YearlyDate,
    _max_day,
)
from procflow.language.diagnostics import did_you_mean

# Length-preserving folding, so that match positions are positions in the text:
# full-width ASCII, ASCII capitals, dashes and tildes, traditional characters.
_FOLD = str.maketrans(
    {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
    | {chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}
    | dict.fromkeys("\u3000\u00a0", " ")
    | dict.fromkeys("‐‑‒–—―−~〜～", "-")
    | dict(zip("時個週內鐘號兩後禮頭於鍾當", "时个周内钟号两后礼头于钟当", strict=True))
)
_ZH_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_WORDS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_MONTH_NAMES = {m.lower(): i for i, m in enumerate(MONTHS, 1)}
_MONTH_NAMES |= {m[:3].lower(): i for i, m in enumerate(MONTHS, 1)} | {"sept": 9}
# unit: (English pattern, Chinese pattern, English label, Chinese label)
_UNIT_TABLE: dict[Unit, tuple[str, str, str, str]] = {
    "minutes": (r"minutes?|mins?", r"分钟", "minute", "分鐘"),
    "hours": (r"hours?|hrs?", r"个?(?:小时|钟头)", "hour", "小時"),
    "working_days": (
        r"(?:working|business|work)\s*days?|workdays?",
        r"个?工作(?:日|天)",
        "working day",
        "個工作日",
    ),
    # A bare "26日" is a day of the month; "3日内" is three days.
    "days": (r"(?:calendar\s+)?days?", r"天|日(?=\s*(?:之|以)?内)", "day", "天"),
    "weeks": (r"weeks?|wks?", r"个?(?:星期|礼拜)|周", "week", "週"),
    "months": (r"months?", r"个(?:自然)?月", "month", "個月"),
}
_N = r"[-+]?\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_D = r"[-+]?\d+"  # days of the month: figures only in English
_ZN = r"[-+]?\d+|[〇零一二三四五六七八九十两]+"
_UNIT = "|".join(f"(?P<u_{k}>{v[0]})" for k, v in _UNIT_TABLE.items())
_ZUNIT = "|".join(f"(?P<u_{k}>{v[1]})" for k, v in _UNIT_TABLE.items())
_ZUNIT_OFFSET = _ZUNIT.replace(_UNIT_TABLE["days"][1], "天|日")
_ORD = r"(?:st|nd|rd|th)?"
_DASH = r"(?:\s*-\s*|\s+(?:to|until|till|through|and)\s+)"
_EACH_YEAR = r"(?:\s+(?:of\s+)?(?:each|every)\s+year|\s+annually|\s+yearly)?"
_DAY_ZH = r"\s*(?:日|号)"
# 之前, 以前 and 前 after a day include it (每月25日之前: the 25th itself is on time);
# only "零時前" (before 00:00 of the day) leaves the day out.
_BEFORE_ZH = r"(?:(?P<b>(?:零|0)\s*(?:时|点|點)\s*)?(?:之前|以前|前))?"


class _Form:
    """The pattern of one written form, compiled when first tried: most texts match one of
    the first forms, and compiling all sixteen took a fiftieth of `procflow validate`."""

    def __init__(self, body: str) -> None:
        self.source = r"\s*" + body + r"\s*[.。]?\s*"

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        # ASCII: \d must not match other scripts' digits (full-width ones are folded).
        return re.compile(self.source, re.ASCII)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.pattern.fullmatch(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self.pattern.match(text)


_RELATIVE = _Form(rf"(?:(?:within|in)\s+)?(?P<n>{_N})\s*(?:{_UNIT})")
_RELATIVE_ZH = _Form(rf"(?:在)?(?P<n>{_ZN})\s*(?:{_ZUNIT})\s*(?:之|以)?内?")
_MONTHLY = _Form(
    r"(?P<pre>(?:each|every)\s+month,?\s+)?"
    r"(?:(?P<kw>before|by|on|due(?:\s+(?:by|on|before))?|no\s+later\s+than)\s+)?"
    rf"(?:the\s+)?(?P<d>{_D}){_ORD}"
    r"(?P<suf>\s+(?:day\s+)?of\s+(?:each|every|the)\s+month|\s+(?:each|every)\s+month|\s+monthly)?"
)
# 當月 and 本月 ("this month's") name the same day as 每月: the seed's 當月7日之前公布
_MONTHLY_ZH = _Form(rf"(?:于|在)?(?:每个?月|当月|本月)的?\s*(?P<d>{_ZN}){_DAY_ZH}{_BEFORE_ZH}")
_KW = r"(?:(?P<kw>before|by|on|due(?:\s+(?:by|on|before))?|no\s+later\s+than)\s+)?"
_YEARLY = (
    _Form(rf"{_KW}(?:the\s+)?(?P<d>{_D}){_ORD}\s+(?:of\s+)?(?P<m>[a-z]+)\.?{_EACH_YEAR}"),
    _Form(rf"{_KW}(?P<m>[a-z]+)\.?\s+(?:the\s+)?(?P<d>{_D}){_ORD},?{_EACH_YEAR}"),
)
_YEARLY_ZH = _Form(rf"(?:每年)?\s*(?P<m>{_ZN})\s*月\s*(?P<d>{_ZN}){_DAY_ZH}{_BEFORE_ZH}")
_WINDOW = (
    _Form(
        rf"(?:from\s+|between\s+)?(?P<d>{_D}){_ORD}{_DASH}(?P<d2>{_D}){_ORD}\s+(?:of\s+)?(?P<m>[a-z]+)\.?{_EACH_YEAR}"
    ),
    _Form(
        rf"(?:from\s+|between\s+)?(?P<m>[a-z]+)\.?\s+(?P<d>{_D}){_ORD}{_DASH}(?P<d2>{_D}){_ORD}{_EACH_YEAR}"
    ),
)
_WINDOW_ZH = _Form(
    rf"(?:每年)?\s*(?P<m>{_ZN})\s*月\s*(?P<d>{_ZN})\s*(?:日|号)?\s*(?:-|至|到)\s*"
    rf"(?:(?P<m2>{_ZN})\s*月\s*)?(?P<d2>{_ZN}){_DAY_ZH}(?:之|以)?内?"  # 1日-15日內: the seed's
)
_BARE_DAY_ZH = _Form(rf"(?P<d>{_ZN})\s*(?:日|号)(?:之|以)?前?")
_UNKNOWN_UNIT = _Form(rf"(?:(?:within|in)\s+)?(?P<n>{_D})\s*(?P<w>[a-z][a-z ]*?)")
_OFFSET_AT = _Form(
    r"(?:(?:at|on|when)\s+(?:the\s+)?)?(?:due|deadline)(?:\s+(?:date|time|moment))?|到期时?|截止时?"
)
_OFFSET = _Form(
    rf"(?P<n>{_N})\s*(?:{_UNIT})\s+(?P<dir>before|after)(?:\s+(?:the\s+)?(?:due(?:\s+date)?|deadline))?"
)
_OFFSET_ZH = (
    _Form(
        rf"(?:(?:到期|截止)(?P<dir>前|后)|(?P<adv>提前|逾期))\s*(?P<n>{_ZN})\s*(?:{_ZUNIT_OFFSET})"
    ),
    _Form(rf"(?P<n>{_ZN})\s*(?:{_ZUNIT_OFFSET})\s*(?P<dir>前|后)"),
)


_Pos = int | None


class _Text:
    """The text being parsed, for numbers and errors with positions."""

    def __init__(self, text: str, hint: str) -> None:
        self.raw, self.hint = text, hint
        if not text.strip():
            raise DeadlineSyntaxError("the deadline is empty", hint=hint, text=text)
        if len(text) > MAX_TEXT:
            raise self.error(f"the text is longer than {MAX_TEXT} characters", MAX_TEXT, len(text))
        self.folded = text.translate(_FOLD)

    def error(self, message: str, start: _Pos = None, end: _Pos = None) -> DeadlineSyntaxError:
        return DeadlineSyntaxError(message, hint=self.hint, start=start, end=end, text=self.raw)

    def number(
        self, m: re.Match[str], group: str, what: str, *, low: int = 1, high: int = MAX_AMOUNT
    ) -> int:
        token, (start, end) = m[group], m.span(group)
        if token in _WORDS:
            value: int | None = _WORDS[token]
        elif token.lstrip("+-").isdecimal():
            value = int(token)
        else:
            value = _zh_number(token)
        if value is None:
            raise self.error(f"'{self.raw[start:end]}' is not a number", start, end)
        if not low <= value <= high:
            if what == "amount":
                message = f"the amount must be between {low} and {high}, not {value}"
            else:
                message = f"there is no {what} {value}" + (" in a month" if what == "day" else "")
            raise self.error(message, start, end)
        return value

    def month(self, m: re.Match[str]) -> int | None:
        word, (start, end) = m["m"], m.span("m")
        if word.isdecimal() or word[0] in _ZH_DIGITS or word[0] in "十+-":
            return self.number(m, "m", "month", high=12)
        if word in _MONTH_NAMES:
            return _MONTH_NAMES[word]
        if hint := did_you_mean(word.capitalize(), MONTHS):
            message = f"unknown month '{self.raw[start:end]}'"
            raise DeadlineSyntaxError(message, hint=hint, start=start, end=end, text=self.raw)
        return None  # not meant as a month: let the next pattern try


def _zh_number(token: str) -> int | None:
    if "十" not in token:
        digits = [_ZH_DIGITS.get(c) for c in token]
        if len(digits) != 1 or digits[0] is None:
            return None
        return digits[0]
    tens, _, units = token.partition("十")
    high = _ZH_DIGITS.get(tens, -1) if tens else 1
    low = _ZH_DIGITS.get(units, -1) if units else 0
    return None if high < 1 or low < 0 else high * 10 + low


def _unit(m: re.Match[str]) -> Unit:
    return next(u for u in UNITS if m.group(f"u_{u}"))


def _day_check(t: _Text, m: re.Match[str], month: int, group: str) -> int:
    day = t.number(m, group, "day", high=31)
    if day > _max_day(month):
        start, end = m.span(group)
        raise t.error(f"{MONTHS[month - 1]} has no day {day}", start, end)
    return day


def parse_deadline(text: str) -> Deadline:
    """Read a deadline written in English or Chinese.

    A day in Chinese is included: 每月25日, 每月25日前 and 每月25日之前 are all due
    at the end of the 25th (前 and 之前 mean "on or before"); 每月25日零時前 is due
    when the 25th begins. In English, "by the 25th" includes the day and "before
    the 25th" does not.

    Raises:
        DeadlineSyntaxError: empty, too long, a zero/negative/huge amount, an
            impossible day or month, a misspelled month, or not a deadline form.
    """
    t = _Text(text, HINT)
    s = t.folded
    for rx in (_RELATIVE, _RELATIVE_ZH):
        if m := rx.fullmatch(s):
            return Relative(t.number(m, "n", "amount"), _unit(m))
    for rx in (_MONTHLY, _MONTHLY_ZH):
        m = rx.fullmatch(s)
        if m and (rx is _MONTHLY_ZH or m["kw"] or m["pre"] or m["suf"]):
            before = bool(m["b"]) if rx is _MONTHLY_ZH else (m["kw"] or "").endswith("before")
            return MonthlyDay(t.number(m, "d", "day", high=31), before)
    for rx in (*_WINDOW, _WINDOW_ZH):
        if (m := rx.fullmatch(s)) and (month := t.month(m)) is not None:
            if rx is _WINDOW_ZH and m["m2"] and t.number(m, "m2", "month", high=12) != month:
                raise t.error("a window must start and end in the same month", *m.span("m2"))
            first, last = _day_check(t, m, month, "d"), _day_check(t, m, month, "d2")
            if first > last:
                message = f"the window ends (day {last}) before it starts (day {first})"
                raise t.error(message, m.start("d"), m.end("d2"))
            return Window(month, first, last)
    for rx in (*_YEARLY, _YEARLY_ZH):
        if (m := rx.fullmatch(s)) and (month := t.month(m)) is not None:
            day = _day_check(t, m, month, "d")
            before = bool(m["b"]) if rx is _YEARLY_ZH else (m["kw"] or "").endswith("before")
            return YearlyDate(month, day, before)
    raise _why_not(t, text)


def _why_not(t: _Text, text: str) -> DeadlineSyntaxError:
    """The error for a text that is no deadline form: as precise as what it resembles."""
    s = t.folded
    if (m := _RELATIVE.match(s)) and m.end() < len(s) and s[m.end() - 1].isspace():
        extra = text[m.end() :].strip()
        message = f"unexpected '{extra}': a relative deadline counts from when the task opens"
        return t.error(message, m.end(), len(s))
    if m := _UNKNOWN_UNIT.fullmatch(s):
        units = [u.replace("_", " ") for u in UNITS]
        hint = did_you_mean(m["w"], units) or f"use one of: {', '.join(units)}"
        message, (start, end) = f"unknown unit '{text[slice(*m.span('w'))]}'", m.span("w")
        return DeadlineSyntaxError(message, hint=hint, start=start, end=end, text=text)
    if m := _BARE_DAY_ZH.fullmatch(s):
        hint = f"write 每月{m['d']}日 for every month, or {m['d']}天內 for a number of days"
        message = f"'{text.strip()}' names a day but not which month"
        return DeadlineSyntaxError(message, hint=hint, text=text)
    return t.error(f"cannot read '{text.strip()}' as a deadline")


def parse_offset(text: str) -> Offset:
    """Read an action offset: "2 days before", "1 working day after", "at due", "到期前2天".

    Raises:
        DeadlineSyntaxError: as for `parse_deadline`; a zero amount must be written "at due".
    """
    t = _Text(text, OFFSET_HINT)
    if _OFFSET_AT.fullmatch(t.folded):
        return AT_DUE
    for rx in (_OFFSET, *_OFFSET_ZH):
        if m := rx.fullmatch(t.folded):
            if (amount := t.number(m, "n", "amount", low=0)) == 0:
                raise t.error("a zero offset is written 'at due'", *m.span("n"))
            after = m["dir"] in ("after", "后") or m.groupdict().get("adv") == "逾期"
            return Offset(amount, _unit(m), "after" if after else "before")
    raise t.error(f"cannot read '{text.strip()}' as an offset")


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _amount(amount: int, unit: Unit) -> str:
    return f"{amount} {_UNIT_TABLE[unit][2]}{'' if amount == 1 else 's'}"


def describe(spec: Deadline | Offset) -> str:
    """A short English label: "3 working days", "before the 25th of each month", "1–15 January"."""
    if isinstance(spec, Relative):
        return _amount(spec.amount, spec.unit)
    if isinstance(spec, MonthlyDay):
        return f"{'before' if spec.before else 'by'} the {_ordinal(spec.day)} of each month"
    if isinstance(spec, YearlyDate):
        return f"{'before' if spec.before else 'by'} {spec.day} {MONTHS[spec.month - 1]}"
    if isinstance(spec, Window):
        return f"{spec.first_day}–{spec.last_day} {MONTHS[spec.month - 1]}"
    if spec.amount == 0:
        return "at due"
    return f"{_amount(spec.amount, spec.unit)} {spec.direction}"


def describe_zh(spec: Deadline | Offset) -> str:
    """A short Chinese label: "3個工作日內", "每月25日" (by the end of the 25th), "每月25日零時前"
    (before the 25th begins), "12月30日", "1月1日至15日"."""
    if isinstance(spec, Relative):
        return f"{spec.amount}{_UNIT_TABLE[spec.unit][3]}內"
    if isinstance(spec, MonthlyDay):
        return f"每月{spec.day}日{'零時前' if spec.before else ''}"
    if isinstance(spec, YearlyDate):
        return f"{spec.month}月{spec.day}日{'零時前' if spec.before else ''}"
    if isinstance(spec, Window):
        return f"{spec.month}月{spec.first_day}日至{spec.last_day}日"
    if spec.amount == 0:
        return "到期時"
    word = "前" if spec.direction == "before" else "後"
    return f"到期{word}{spec.amount}{_UNIT_TABLE[spec.unit][3]}"
