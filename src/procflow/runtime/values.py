"""Document values: checking what people submit, and the two forms a value takes.

Owns the field codecs and the limits on what is submitted. A value is
*stored* JSON-ready (money, numbers and percents as decimal text, dates as
ISO text) in events and snapshots, and *read* as Python values (``Decimal``,
``date``, ``datetime``, tuples) by conditions and by `Instance.documents`.
Submissions are checked field by field against the documents' types: every
problem is collected, keyed by its path (``proposal.budget``,
``request.items[2].price``), so `InvalidSubmission` can list them all.

What is accepted is strict, so that every store keeps the same values:

- numbers are exact: a ``Decimal``, an ``int``, or text in the plain form
  ``-?[0-9]+(.[0-9]+)?`` (no blanks, ``_``, exponent or other digits than
  ASCII); floats are refused, for money is exact or it is wrong;
- a number has at most `FieldDef.places` decimals (money: 2, the yuan's)
  unless the field declares a ``rounding``, and is smaller than
  `MAGNITUDE` unless ``min``/``max`` allow more;
- text is at most `FieldDef.longest` characters, and a list at most
  `FieldDef.most` items; text (and a user id) must be text that UTF-8 can
  carry: a lone surrogate such as ``"\\ud800"`` is refused;
- a whole submission, stored, is at most `MAX_SUBMISSION` bytes.

Imports `model`, `diagnostics`, `written` (the plain number), `reasons`, `state` (`Copy`),
and `store.base` (its JSON encoder).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
)
from typing import Any

from procflow.language.diagnostics import did_you_mean
from procflow.language.model import COPY_FIELDS, MAGNITUDE, NUMERIC, DocumentDef, FieldDef
from procflow.language.written import PLAIN_NUMBER
from procflow.runtime.reasons import Reason
from procflow.runtime.state import Copy
from procflow.store.base import dumps

__all__ = [
    "BAD",
    "MAX_SUBMISSION",
    "Codec",
    "DocCodecs",
    "Values",
    "codecs_for",
    "decode_docs",
    "default_docs",
    "encode_submission",
    "missing_required",
    "shown",
    "text_problem",
]

MAX_SUBMISSION = 1024 * 1024
"""Most bytes a submission (the data of one start or completion) takes, stored as JSON."""
USER_ID_LENGTH = 200
"""Most characters of a user id given as a value of a ``user`` field."""

_NUMBER_TEXT = 100
"""Longer text is not read as a number at all."""


_ROUNDING = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
}

BAD: Any = object()
"""Returned by an encoder that recorded a problem."""
_MISSING: Any = object()

Problems = dict[str, str]
Encoder = Callable[[Any, str, Problems], Any]
Decoder = Callable[[Any], Any]


class Codec:
    """How one field is checked, stored and read back."""

    __slots__ = ("decode", "encode", "field")

    def __init__(self, field: FieldDef, encode: Encoder, decode: Decoder | None) -> None:
        self.field = field
        self.encode = encode
        self.decode = decode
        """None when the stored form is already the read form (text, yes/no, choices)."""


DocCodecs = dict[str, dict[str, Codec]]


def shown(text: str) -> str:
    """``text`` as it can be printed: a lone surrogate is written as its escape (``\\ud800``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def text_problem(text: str) -> Reason | None:
    """Why ``text`` is not text that every store can keep (None when it is)."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return Reason("lone_surrogate", char=shown(text[exc.start]), at=exc.start)
    return None


def _what(value: Any) -> str:
    return f"'{_quoted(value)}'" if isinstance(value, str) else f"a {type(value).__name__}"


def _quoted(text: str) -> str:
    """Submitted text as a problem quotes it: printable, and at most 40 characters."""
    return shown(text[:40])


def _decimal(value: Any, path: str, problems: Problems) -> Decimal | None:
    """A submitted number as a finite `Decimal`, or None with the problem recorded."""
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int) and not isinstance(value, bool):
        d = Decimal(value)
    elif isinstance(value, str):
        if len(value) > _NUMBER_TEXT or not PLAIN_NUMBER.fullmatch(value):
            problems[path] = Reason("not_a_number", text=_quoted(value))
            return None
        d = Decimal(value)
    elif isinstance(value, float):
        problems[path] = Reason("float")
        return None
    else:
        problems[path] = Reason("should_be_number", value=_what(value))
        return None
    if not d.is_finite():
        problems[path] = Reason("not_finite", value=str(d))
        return None
    return d


def _range_problem(f: FieldDef, d: Decimal) -> Reason | None:
    """Why ``d`` is out of the field's range (None when it is in)."""
    if f.min is not None and d < f.min:
        return Reason("at_least", limit=str(f.min))
    if f.max is not None and d > f.max:
        return Reason("at_most", limit=str(f.max))
    if (f.min is None and d <= -MAGNITUDE) or (f.max is None and d >= MAGNITUDE):
        return Reason("too_large", limit=f"{MAGNITUDE:,}")
    return None


def _number(f: FieldDef) -> Encoder:
    places = f.places
    step = Decimal(1).scaleb(-places)
    rounding = _ROUNDING[f.rounding] if f.rounding is not None else None

    def encode(value: Any, path: str, problems: Problems) -> Any:
        d = _decimal(value, path, problems)
        if d is None:
            return BAD
        why = _range_problem(f, d)
        if why is not None:
            problems[path] = why
            return BAD
        exponent = d.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -places:
            context = Context(prec=max(28, d.adjusted() + places + 2))
            exact = d.quantize(step, context=context)
            if exact != d:
                if rounding is None:
                    problems[path] = Reason("too_many_decimals", value=str(d), places=places)
                    return BAD
                exact = d.quantize(step, rounding=rounding, context=context)
            d = exact
        return str(d)

    return encode


def _date_encoder(kind: type[date]) -> Encoder:
    name = "date" if kind is date else "datetime"

    def encode(value: Any, path: str, problems: Problems) -> Any:
        if isinstance(value, str):
            try:
                value = kind.fromisoformat(value.strip())
            except ValueError:
                problems[path] = Reason(f"not_a_{name}", text=_quoted(value))
                return BAD
        if not isinstance(value, kind) or (kind is date and isinstance(value, datetime)):
            problems[path] = Reason(f"should_be_{name}", value=_what(value))
            return BAD
        return value.isoformat()

    return encode


def _simple(kind: type, name: str) -> Encoder:
    def encode(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, kind):
            problems[path] = Reason(f"should_be_{name}", value=_what(value))
            return BAD
        return value

    return encode


def _text(f: FieldDef) -> Encoder:
    longest = f.longest

    def encode(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, str):
            problems[path] = Reason("should_be_text", value=_what(value))
            return BAD
        if len(value) > longest:
            problems[path] = Reason("too_long", count=len(value), limit=longest)
            return BAD
        why = text_problem(value)
        if why:
            problems[path] = why
            return BAD
        return value

    return encode


def _user(value: Any, path: str, problems: Problems) -> Any:
    value = getattr(value, "id", value)  # a User is accepted for its id
    if not isinstance(value, str) or not value:
        problems[path] = Reason("should_be_user", value=_what(value))
        return BAD
    if len(value) > USER_ID_LENGTH:
        problems[path] = Reason("user_too_long", limit=USER_ID_LENGTH)
        return BAD
    why = text_problem(value)
    if why:
        problems[path] = Reason("user_lone_surrogate", **why.values)
        return BAD
    return value


def _choice(f: FieldDef) -> Encoder:
    allowed = tuple(f.of or ()) if isinstance(f.of, list) else ()

    def encode(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, str) or value not in allowed:
            hint = did_you_mean(value, allowed) if isinstance(value, str) else None
            problems[path] = Reason(
                "not_a_choice",
                allowed=", ".join(allowed),
                value=_what(value),
                hint=f" ({hint})" if hint else "",
            )
            return BAD
        return value

    return encode


def _record(fields: Mapping[str, Codec]) -> tuple[Encoder, Decoder]:
    def encode(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, Mapping):
            problems[path] = Reason(
                "should_be_record", fields=", ".join(fields), value=_what(value)
            )
            return BAD
        out: dict[str, Any] = {}
        bad = False
        for key, item in value.items():
            codec = fields.get(key)
            if codec is None:
                problems[f"{path}.{shown(str(key))}"] = _unknown_field(key, fields)
                bad = True
            elif item is not None:
                out[key] = codec.encode(item, f"{path}.{key}", problems)
                bad = bad or out[key] is BAD
        for key, codec in fields.items():
            if codec.field.required and out.get(key) is None and f"{path}.{key}" not in problems:
                problems[f"{path}.{key}"] = Reason("required")
                bad = True
        return BAD if bad else out

    def decode(value: Any) -> Any:
        return {
            k: (v if (c := fields.get(k)) is None or c.decode is None else c.decode(v))
            for k, v in value.items()
        }

    return encode, decode


def _list(
    f: FieldDef, item_encode: Encoder, item_decode: Decoder | None
) -> tuple[Encoder, Decoder]:
    most = f.most

    def encode(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, list | tuple):
            problems[path] = Reason("should_be_list", value=_what(value))
            return BAD
        if len(value) > most:
            problems[path] = Reason("too_many_items", count=len(value), limit=most)
            return BAD
        out = [item_encode(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        return BAD if any(v is BAD for v in out) else out

    def decode(value: Any) -> Any:
        return tuple(value) if item_decode is None else tuple(item_decode(v) for v in value)

    return encode, decode


def codec_for(f: FieldDef) -> Codec:
    """The codec of one field."""
    kind = f.type
    if kind in NUMERIC:
        return Codec(f, _number(f), Decimal)
    if kind == "date":
        return Codec(f, _date_encoder(date), date.fromisoformat)
    if kind == "datetime":
        return Codec(f, _date_encoder(datetime), datetime.fromisoformat)
    if kind == "choice":
        return Codec(f, _choice(f), None)
    if kind == "yesno":
        return Codec(f, _simple(bool, "yesno"), None)
    if kind == "user":
        return Codec(f, _user, None)
    if kind == "list":
        if f.fields is not None:
            item_enc, item_dec = _record({k: codec_for(v) for k, v in f.fields.items()})
            enc, dec = _list(f, item_enc, item_dec)
        else:
            bounds = f.model_dump(include={"min", "max", "decimals", "rounding", "max_length"})
            item = codec_for(FieldDef(type=f.item_type, **bounds))
            enc, dec = _list(f, item.encode, item.decode)
        return Codec(f, enc, dec)
    return Codec(f, _text(f), None)


def codecs_for(documents: Mapping[str, DocumentDef]) -> DocCodecs:
    """Codecs of every field of every document."""
    return {
        name: {fname: codec_for(f) for fname, f in doc.fields.items()}
        for name, doc in documents.items()
    }


def _unknown_field(name: str, fields: Mapping[str, Any]) -> Reason:
    name = shown(name)
    hint = did_you_mean(name, fields) or f"the fields are: {', '.join(fields) or 'none'}"
    return Reason("no_field", name=name, hint=hint)


def _encode_fields(
    doc: str,
    fields: Mapping[Any, Any],
    doc_codecs: Mapping[str, Any],
    allowed: tuple[str, ...],
    problems: Problems,
) -> dict[str, Any]:
    """The stored form of one document's submitted fields; problems go into ``problems``."""
    encoded: dict[str, Any] = {}
    for name, value in fields.items():
        plain = type(name) is str and name.isascii()
        path = f"{doc}.{name}" if plain else f"{doc}.{shown(str(name))}"
        codec = doc_codecs.get(name)
        if codec is None:
            problems[path] = _unknown_field(str(name), doc_codecs)
        elif name not in allowed:
            problems[path] = Reason("not_filled_here", fields=", ".join(allowed))
        elif value is None:
            encoded[name] = None
        else:
            encoded[name] = codec.encode(value, path, problems)
    return encoded


def encode_submission(
    data: Any, codecs: DocCodecs, fills: Mapping[str, tuple[str, ...]] | None
) -> tuple[dict[str, dict[str, Any]], Problems]:
    """Check and encode ``{document: {field: value}}``.

    Args:
        data: What was submitted (None for nothing).
        codecs: The process's documents.
        fills: Document -> the fields this step may fill; None allows every
            field of every document (data given when an instance starts).

    Returns:
        The stored form of the data, and every problem found (empty when valid).
    """
    out: dict[str, dict[str, Any]] = {}
    problems: Problems = {}
    if data is None:
        return out, problems
    if not isinstance(data, Mapping):
        problems["data"] = Reason("data_not_mapping")
        return out, problems
    for doc, fields in data.items():
        doc_codecs = codecs.get(doc) if isinstance(doc, str) else None
        if doc_codecs is None:
            name = shown(str(doc))
            hint = did_you_mean(name, codecs) or f"the documents are: {', '.join(codecs)}"
            problems[name] = Reason("no_document", name=name, hint=hint)
            continue
        allowed = fills.get(doc) if fills is not None else tuple(doc_codecs)
        if allowed is None:
            documents = tuple(fills or ())
            kind = "document_not_filled_here" if documents else "fills_no_documents"
            problems[doc] = Reason(kind, document=doc, documents=documents)
            continue
        if not isinstance(fields, Mapping):
            problems[doc] = Reason("document_not_mapping", value=_what(fields))
            continue
        out[doc] = _encode_fields(doc, fields, doc_codecs, allowed, problems)
    if not problems:
        size = len(dumps(out, what="the submission").encode("utf-8"))
        if size > MAX_SUBMISSION:
            problems["data"] = Reason("submission_too_big", size=size, limit=MAX_SUBMISSION)
    return out, problems


def missing_required(
    docs: Mapping[str, Mapping[str, Any]],
    codecs: DocCodecs,
    fills: Mapping[str, tuple[str, ...]],
    problems: Problems,
) -> None:
    """Record in ``problems`` every required field this step fills that has no value."""
    for doc, fields in fills.items():
        values = docs.get(doc) or {}
        doc_codecs = codecs.get(doc, {})
        for name in fields:
            codec = doc_codecs.get(name)
            path = f"{doc}.{name}"
            if (
                codec is not None
                and codec.field.required
                and values.get(name) is None
                and path not in problems
            ):
                problems[path] = Reason("required")


def default_docs(codecs: DocCodecs) -> dict[str, dict[str, Any]]:
    """The documents as they start: every field with a default, in stored form."""
    out: dict[str, dict[str, Any]] = {}
    for doc, fields in codecs.items():
        values = {}
        for name, codec in fields.items():
            default = codec.field.default
            if default is not None:
                value = codec.encode(default, name, {})
                if value is not BAD:
                    values[name] = value
        if values:
            out[doc] = values
    return out


def decode_docs(
    docs: Mapping[str, Mapping[str, Any]], codecs: DocCodecs
) -> dict[str, dict[str, Any]]:
    """Every stored document value in its read form."""
    out: dict[str, dict[str, Any]] = {}
    for doc, values in docs.items():
        doc_codecs = codecs.get(doc, {})
        out[doc] = {
            k: (
                v
                if v is None or (c := doc_codecs.get(k)) is None or c.decode is None
                else c.decode(v)
            )
            for k, v in values.items()
        }
    return out


class _DocView(Mapping[str, Any]):
    """One stored document, decoded field by field as conditions read it."""

    __slots__ = ("_codecs", "_raw")

    def __init__(self, raw: Mapping[str, Any], codecs: Mapping[str, Codec]) -> None:
        self._raw = raw
        self._codecs = codecs

    def get(self, key: str, default: Any = None) -> Any:
        value = self._raw.get(key)
        if value is None:
            return default
        codec = self._codecs.get(key)
        return value if codec is None or codec.decode is None else codec.decode(value)

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class _CopyView(_DocView):
    """One copy of a per-person form, as conditions see it: its fields, decoded, and
    ``filled_by`` and ``filled_at``."""

    __slots__ = ("_copy",)

    def __init__(self, copy: Copy, codecs: Mapping[str, Codec]) -> None:
        _DocView.__init__(self, copy.values, codecs)
        self._copy = copy

    def get(self, key: str, default: Any = None) -> Any:
        if key == "filled_by":
            return self._copy.by if self._copy.by is not None else default
        if key == "filled_at":
            return datetime.fromisoformat(self._copy.at)
        return _DocView.get(self, key, default)

    def __iter__(self) -> Iterator[str]:
        yield from self._raw
        yield from COPY_FIELDS

    def __len__(self) -> int:
        return len(self._raw) + len(COPY_FIELDS)


NO_COPIES: Mapping[str, tuple[Copy, ...]] = {}


class Values(Mapping[str, Any]):
    """The documents of an instance as conditions see them (decoded lazily).

    A per-person form (one of ``collections``) that ``docs`` does not hold is read
    as the tuple of its copies; one that ``docs`` holds is the copy a step is
    filling (its ``requires`` read it as one form).
    """

    __slots__ = ("_codecs", "_collections", "_copies", "_docs")

    def __init__(
        self,
        docs: Mapping[str, Mapping[str, Any]],
        codecs: DocCodecs,
        copies: Mapping[str, tuple[Copy, ...]] = NO_COPIES,
        collections: frozenset[str] = frozenset(),
    ) -> None:
        self._docs = docs
        self._codecs = codecs
        self._copies = copies
        self._collections = collections

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._docs.get(key)
        if raw is None:
            if key in self._collections:
                codecs = self._codecs.get(key, {})
                return tuple(_CopyView(c, codecs) for c in self._copies.get(key, ()))
            return default
        return _DocView(raw, self._codecs.get(key, {}))

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        yield from self._docs
        yield from (c for c in self._collections if c not in self._docs)

    def __len__(self) -> int:
        return len(self._docs) + sum(c not in self._docs for c in self._collections)
