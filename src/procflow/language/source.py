"""Safe YAML loading that remembers where every value came from.

Owns reading a file's bytes, the limits (size, aliases, depth), decoding, and
turning ruamel.yaml's node graph into plain Python values (dict, list, str,
int, Decimal, bool, None) plus a `Positions` table that maps every path inside
the document to its line and column.

We compose nodes with ruamel.yaml and construct the values ourselves, so that:

- duplicate keys are all reported (PF104), not just the first;
- aliases are counted and their expansion bounded (PF105: billion laughs);
- YAML 1.1 boolean words (``no``, ``on``, ``yes``, ``off``) left unquoted are
  reported (PF108) instead of silently meaning different things in different
  tools (the Norway problem);
- decimals such as ``1500.50`` become ``Decimal`` without passing through
  ``float``;
- mapping keys are always text;
- no tag can ever build a Python object (PF111).

Must not import anything from procflow but `diagnostics`.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from procflow.language.diagnostics import Diagnostic, Severity

MAX_BYTES = 2 * 1024 * 1024
"""Files larger than this are rejected before parsing (PF102)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted (PF106)."""
MAX_ALIASES = 100
"""Most alias uses (``*name``) accepted in one file (PF105)."""
MAX_NODES = 200_000
"""Most values a file may hold (PF102), aliases counted each time they are used (PF105)."""

Path_ = tuple[str | int, ...]
"""A path inside a document: mapping keys and sequence indexes."""

_BOOL_WORDS = frozenset({"yes", "no", "on", "off"})
_SAFE_TAGS = frozenset(
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)


@dataclass(frozen=True, slots=True)
class Span:
    """Where one value sits in the text. Lines and columns are 1-based."""

    line: int
    column: int
    end_line: int
    end_column: int
    key_line: int = 0
    key_column: int = 0
    style: str = ""
    """For scalars: "" plain, "'" or '"' quoted, "|" or ">" block."""


@dataclass
class Positions:
    """Spans by path, with lookups that fall back to the nearest known ancestor."""

    spans: dict[Path_, Span] = field(default_factory=dict)

    def span(self, path: Path_) -> Span | None:
        """The span of the closest path that is known, walking up from ``path``."""
        probe = tuple(path)
        while True:
            found = self.spans.get(probe)
            if found is not None:
                return found
            if not probe:
                return None
            probe = probe[:-1]

    def value(self, path: Path_) -> tuple[int, int]:
        """Line and column of the value at ``path`` (or its nearest ancestor)."""
        s = self.span(path)
        return (s.line, s.column) if s else (1, 1)

    def key(self, path: Path_) -> tuple[int, int]:
        """Line and column of the key of ``path``; its value's place for list items."""
        s = self.spans.get(tuple(path))
        if s is not None and s.key_line:
            return s.key_line, s.key_column
        return self.value(path)

    def in_scalar(self, path: Path_, offset: int, text: str) -> tuple[int, int]:
        """Line and column of character ``offset`` inside the scalar at ``path``.

        Exact for plain and quoted one-line scalars; for block scalars it
        counts lines from the line after the indicator.
        """
        s = self.spans.get(tuple(path))
        if s is None:
            return self.value(path)
        before = text[:offset]
        newlines = before.count("\n")
        if s.style in ("|", ">"):
            col_in_line = len(before) - (before.rfind("\n") + 1)
            return s.line + 1 + newlines, s.column + 2 + col_in_line
        if newlines:
            return s.line + newlines, len(before) - before.rfind("\n")
        shift = 1 if s.style in ("'", '"') else 0
        return s.line, s.column + shift + offset


@dataclass
class Document:
    """A loaded YAML file: its plain data and where each piece came from."""

    file: str
    text: str
    data: Any
    positions: Positions

    def diag(
        self,
        path: Path_,
        code: str,
        message: str,
        hint: str = "",
        *,
        at_key: bool = False,
        warning: bool = False,
    ) -> Diagnostic:
        """A diagnostic at ``path`` (its key when ``at_key``); an error unless ``warning``."""
        line, col = self.positions.key(path) if at_key else self.positions.value(path)
        return Diagnostic(
            file=self.file,
            line=line,
            column=col,
            code=code,
            message=message,
            hint=hint,
            severity=Severity.WARNING if warning else Severity.ERROR,
            pointer=pointer(path),
        )


def pointer(path: Path_) -> str:
    """The JSON Pointer (RFC 6901) of ``path``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class _Resolver(VersionedResolver):
    """Always YAML 1.2, resolved without ruamel's two slow paths.

    ruamel looks the version up for every scalar (through a caught AttributeError when
    libyaml parses), and its ``resolve`` appends to the shared list of resolvers on every
    call (``resolvers += ...``), so each scalar costs more than the one before: loading
    10,000 steps took 20 times as long as 1,000.
    """

    @property
    def processing_version(self) -> Any:
        return (1, 2)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            table = self.versioned_resolver
            first = table.get(value[0] if value else "", [])
            for tag, regexp in [*first, *table.get(None, [])]:
                if regexp.match(value):
                    return Tag(suffix=tag)
            implicit = (False, implicit[1])
        return super().resolve(kind, value, implicit)


class _Abort(Exception):
    """Stops construction early; the diagnostic is already recorded."""


class _Builder:
    """Turns a node graph into plain values, spans and diagnostics."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.spans: dict[Path_, Span] = {}
        self.problems: list[Diagnostic] = []
        self.aliases = 0
        self.nodes = 0
        self.seen: set[int] = set()

    def problem(
        self, node: Node, code: str, message: str, hint: str = "", path: Path_ = ()
    ) -> None:
        mark = node.start_mark
        self.problems.append(
            Diagnostic(
                self.file,
                mark.line + 1,
                mark.column + 1,
                code,
                message,
                hint,
                pointer=pointer(path),
            )
        )

    def build(self, node: Node, path: Path_, depth: int, key: Node | None = None) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.aliases:
                self.problem(
                    node,
                    "PF105",
                    f"the document expands to more than {MAX_NODES:,} values through "
                    f"{self.aliases:,} aliases (*name)",
                    "remove aliases that repeat large parts",
                    path,
                )
            else:
                self.problem(
                    node,
                    "PF102",
                    f"the file holds more than {MAX_NODES:,} values, the limit for one file "
                    f"(reached at {pointer(path) or 'the top'})",
                    "split it into processes that hand off to each other",
                    path,
                )
            raise _Abort
        if depth > MAX_DEPTH:
            self.problem(
                node,
                "PF106",
                f"the document nests more than {MAX_DEPTH} levels deep",
                "flatten the structure",
                path,
            )
            raise _Abort
        if id(node) in self.seen:
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                self.problem(
                    node,
                    "PF105",
                    f"more than {MAX_ALIASES} aliases (*name) in one file",
                    "write the values out instead of repeating them with aliases",
                    path,
                )
                raise _Abort
        self.seen.add(id(node))
        start, end = node.start_mark, node.end_mark
        style = ""
        if isinstance(node, ScalarNode):
            style = node.style or ""
        self.spans[path] = Span(
            start.line + 1,
            start.column + 1,
            end.line + 1,
            end.column + 1,
            key.start_mark.line + 1 if key is not None else 0,
            key.start_mark.column + 1 if key is not None else 0,
            style,
        )
        tag = str(node.tag)
        if tag not in _SAFE_TAGS:
            self.problem(
                node,
                "PF111",
                f"the YAML tag '{tag}' is not allowed",
                "remove the tag; procflow files hold plain text, numbers and lists",
                path,
            )
            return None
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        return None

    def mapping(self, node: MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, Node] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, ScalarNode):
                self.problem(
                    knode,
                    "PF111",
                    "a mapping key must be a plain word, not a list or mapping",
                    "",
                    path,
                )
                continue
            if str(knode.tag) == "tag:yaml.org,2002:merge" or knode.value == "<<":
                self.problem(
                    knode, "PF111", "merge keys (<<) are not supported", "write the keys out", path
                )
                continue
            name = str(knode.value)
            if not knode.style and name.lower() in _BOOL_WORDS:
                self.problem(
                    knode,
                    "PF108",
                    f"'{name}' is a yes/no word in older YAML",
                    f"put it in quotes: '{name}'",
                    (*path, name),
                )
            if name in first:
                prev = first[name].start_mark
                self.problem(
                    knode,
                    "PF104",
                    f"the key '{name}' appears twice in this mapping",
                    f"the first one is on line {prev.line + 1}; remove or rename one",
                    (*path, name),
                )
                continue
            first[name] = knode
            out[name] = self.build(vnode, (*path, name), depth + 1, key=knode)
        return out

    def scalar(self, node: ScalarNode, path: Path_) -> Any:
        text = str(node.value)
        if node.style:  # quoted or block: always text
            return text
        tag = str(node.tag)
        if text.lower() in _BOOL_WORDS:
            self.problem(
                node,
                "PF108",
                f"'{text}' is a yes/no word in older YAML",
                f"write true or false for yes/no, or put text in quotes: '{text}'",
                path,
            )
            return text
        if tag.endswith(":bool"):
            return text.lower() == "true"
        if tag.endswith(":null"):
            return None
        if tag.endswith(":int"):
            try:
                return int(text.replace("_", ""), 0)
            except ValueError:
                return text
        if tag.endswith(":float"):
            try:
                value = Decimal(text.replace("_", ""))
            except InvalidOperation:
                return text
            return value if value.is_finite() else text
        return text


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
"""Opening a FIFO for reading would wait for a writer; with this flag it never waits."""
_NOCTTY = getattr(os, "O_NOCTTY", 0)


def kind_of(mode: int) -> str:
    """What a path that is not a regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _unreadable(file: str, reason: str, hint: str = "") -> tuple[None, list[Diagnostic]]:
    """PF101 for the path as a whole: line 0, printed as the path alone."""
    return None, [Diagnostic(file, 0, 0, "PF101", f"cannot read the file: {reason}", hint)]


def os_hint(exc: OSError) -> str:
    """What to do about a path that could not be opened ("" when there is nothing to say)."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "let the user who runs procflow read it with chmod, or leave it out"
    if exc.errno == errno.ELOOP or (
        exc.errno == errno.ENOENT and exc.filename is not None and os.path.islink(exc.filename)
    ):
        return "point the link at a file that exists, or remove it"
    return ""


def os_reason(exc: OSError) -> str:
    """Why a path could not be opened, in words (a looping or dangling link is named so)."""
    if exc.errno == errno.ELOOP:
        return "a symbolic link that loops"
    if exc.errno == errno.ENOENT and exc.filename is not None and os.path.islink(exc.filename):
        return f"a symbolic link to '{os.readlink(exc.filename)}', which does not exist"
    return exc.strerror or str(exc)


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> tuple[str | None, list[Diagnostic]]:
    """Read a file as UTF-8 text within the size limit, never raising and never blocking.

    Only regular files are read: a FIFO, socket, device or folder is refused
    (PF101) from its ``stat`` alone, without being opened. The file is then
    opened without blocking and checked again, so a path swapped for a FIFO
    in between is refused too, and at most ``max_bytes + 1`` bytes are read.
    """
    file = str(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return _unreadable(file, os_reason(exc), os_hint(exc))
    if not stat.S_ISREG(mode):
        return _unreadable(file, f"it is {kind_of(mode)}", "procflow reads only regular files")
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _NOCTTY)
    except OSError as exc:
        return _unreadable(file, os_reason(exc), os_hint(exc))
    with os.fdopen(fd, "rb") as f:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return _unreadable(
                    file, f"it is {kind_of(info.st_mode)}", "procflow reads only regular files"
                )
            if info.st_size > max_bytes:
                return None, [_too_big(file, info.st_size, max_bytes)]
            raw = f.read(max_bytes + 1)
        except OSError as exc:
            return _unreadable(file, os_reason(exc), os_hint(exc))
    return decode(raw, file, max_bytes=max_bytes)


def _too_big(file: str, size: int, max_bytes: int) -> Diagnostic:
    return Diagnostic(
        file,
        1,
        1,
        "PF102",
        f"the file is {size:,} bytes, over the limit of {max_bytes:,}",
        "split it into smaller files",
    )


def decode(
    raw: bytes, file: str, *, max_bytes: int = MAX_BYTES
) -> tuple[str | None, list[Diagnostic]]:
    """Bytes to text: UTF-8 only, no NUL bytes, within the size limit."""
    if len(raw) > max_bytes:
        return None, [_too_big(file, len(raw), max_bytes)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Diagnostic(file, line, col, "PF101", "the file is not UTF-8 text", _encoding_hint(raw))
        ]
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        return None, [
            Diagnostic(
                file,
                line,
                1,
                "PF101",
                "the file contains NUL bytes; it looks binary",
                "procflow files are YAML text",
            )
        ]
    return text, []


_SAVE_AS = "save it as UTF-8; in Notepad: File, Save As, Encoding UTF-8"


def _encoding_hint(raw: bytes) -> str:
    """How to fix a file that is not UTF-8, naming the encoding it is most likely in:
    UTF-16 (a byte-order mark), or one of the Chinese Windows encodings, GBK (GB18030)
    and Big5, which an editor on a Chinese Windows saves in by default. The two share
    their byte ranges, so the hint names both."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"it is UTF-16 text: {_SAVE_AS}"
    if b"\x00" not in raw:
        for encoding in ("gb18030", "big5"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            if any("\u4e00" <= ch <= "\u9fff" for ch in text):
                return f"it looks like GBK or Big5, the Chinese Windows encodings: {_SAVE_AS}"
    return f"it is in another encoding, or not text: {_SAVE_AS}"


_INTERESTING = re.compile(r"[\[\]{}'\"#\\]")


def _bracket_depth(text: str) -> tuple[int, int]:
    """Deepest flow-bracket nesting and where it is, skipping quoted text and comments.

    A cheap guard that runs before the parser, so that ``[[[[...`` ten thousand
    deep never reaches it. A quote opens only where a YAML scalar can start.
    Only the characters that matter are visited.
    """
    depth = best = where = 0
    quote = ""
    skip_to = 0
    for m in _INTERESTING.finditer(text):
        i = m.start()
        if i < skip_to:
            continue
        c = m.group()
        if quote:
            if c == "\\" and quote == '"':
                skip_to = i + 2
            elif c == quote:
                if quote == "'" and text[i + 1 : i + 2] == "'":
                    skip_to = i + 2
                else:
                    quote = ""
        elif c in "'\"" and (i == 0 or text[i - 1] in " \t\n[{,:-"):
            quote = c
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n"):
            nl = text.find("\n", i)
            skip_to = len(text) if nl < 0 else nl
        elif c in "[{":
            depth += 1
            if depth > best:
                best, where = depth, i
        elif c in "]}":
            depth = max(0, depth - 1)
    return best, where


def _tab_indent(text: str) -> int:
    """1-based line of the first line indented with a tab, or 0."""
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t") and stripped.strip():
            return n
    return 0


def _before_parsing(text: str, file: str) -> list[Diagnostic]:
    """What is wrong with the text as a whole (empty, nested too deep, tabs), before YAML."""
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return [
            Diagnostic(
                file, 1, 1, "PF107", "the file is empty", "start with 'procflow: 1' and an 'id:'"
            )
        ]
    depth, where = _bracket_depth(text)
    if depth > MAX_DEPTH:
        line = text.count("\n", 0, where) + 1
        return [
            Diagnostic(
                file,
                line,
                1,
                "PF106",
                f"the document nests more than {MAX_DEPTH} levels deep",
                "flatten the structure",
            )
        ]
    tab_line = _tab_indent(text)
    if tab_line:
        return [
            Diagnostic(
                file,
                tab_line,
                1,
                "PF109",
                "a tab is used for indentation",
                "indent with spaces; YAML does not allow tabs there",
            )
        ]
    return []


def parse(text: str, file: str = "<string>") -> tuple[Document | None, list[Diagnostic]]:
    """Parse YAML text into a `Document`. Returns all problems found; never raises."""
    early = _before_parsing(text, file)
    if early:
        return None, early
    # Only nodes are composed, never objects, so this is safe; libyaml's parser
    # (through ruamel.yaml.clib) is five times faster than the pure-Python one
    # and reports the same marks. Round-trip mode is used where files are written.
    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = _Resolver
    try:
        nodes = list(yaml.compose_all(io.StringIO(text)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed quote: point at where it opened
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (exc.problem or "the YAML does not parse").strip()
        if exc.context:
            message = f"{exc.context.strip()}: {message}"
        full_width = _full_width_at(text, line)
        if full_width is not None:  # point at the character to retype
            line, col, hint = full_width
        else:
            hint = _yaml_hint(message)
        return None, [Diagnostic(file, line, col, "PF103", message, hint)]
    except RecursionError:
        return None, [
            Diagnostic(
                file, 1, 1, "PF106", "the document nests too deeply", "flatten the structure"
            )
        ]
    except YAMLError as exc:
        return None, [Diagnostic(file, 1, 1, "PF103", f"the YAML does not parse: {exc}")]
    if not nodes:
        return None, [
            Diagnostic(
                file, 1, 1, "PF107", "the file is empty", "start with 'procflow: 1' and an 'id:'"
            )
        ]
    builder = _Builder(file)
    extra = [n for n in nodes[1:] if n is not None]
    for node in extra:
        builder.problem(
            node,
            "PF110",
            "the file holds more than one YAML document (---)",
            "put each process in its own file",
        )
    try:
        data = builder.build(nodes[0], (), 0)
    except _Abort:
        return None, builder.problems
    except RecursionError:
        return None, [
            Diagnostic(
                file, 1, 1, "PF106", "the document nests too deeply", "flatten the structure"
            )
        ]
    return Document(file, text, data, Positions(builder.spans)), builder.problems


def _full_width_at(text: str, line: int) -> tuple[int, int, str] | None:
    """When YAML does not parse, a full-width character a Chinese input method typed where
    YAML needs its ASCII twin, on the line of the error or the one before: a full-width
    space indenting the line, a '－' item dash, a '：' after a key (before any ':'), a '，'
    between the items of a {...} or [...], or a full-width bracket. Text values may hold
    all of these; only where they stand in for YAML's own characters are they named.
    Returns its line, column and the hint, or None."""
    lines = text.splitlines()
    for n in (line, line - 1):
        if not 1 <= n <= len(lines):
            continue
        body = lines[n - 1].lstrip(" ")
        indent = len(lines[n - 1]) - len(body)
        if body.startswith("\u3000"):
            return n, indent + 1, "the line is indented with a full-width space: use ASCII spaces"
        colon = body.find(":")
        value = body[colon + 1 :].lstrip(" ") if colon >= 0 else body
        found = None
        if body.startswith("\uff0d"):  # －
            found = "\uff0d"
        elif value.startswith(("\uff5b", "\uff3b")):  # ｛ ［ where a value starts
            found = value[0]
        elif "\uff1a" in (body if colon < 0 else body[:colon]):  # ： after a key
            found = "\uff1a"
        elif "{" in body or "[" in body:  # ， ｝ ］ within a flow collection
            found = next((c for c in body if c in "\uff0c\uff5d\uff3d"), None)
        if found is not None:
            ascii_twin = chr(ord(found) - 0xFEE0)
            space = " followed by a space" if ascii_twin in ":,-" else ""
            hint = f"a full-width '{found}' where YAML needs '{ascii_twin}': "
            hint += f"type the ASCII one{space}"
            return n, indent + body.index(found) + 1, hint
    return None


def _yaml_hint(message: str) -> str:
    if "quote" in message or "scalar" in message:
        return "check for an unclosed quote, or quote a value that contains ': '"
    if (
        "indent" in message
        or "mapping values are not allowed" in message
        or message.startswith("while parsing a block")
    ):
        return "check the indentation and that each 'key: value' has a space after ':'"
    return ""


def load_file(
    path: Path | str, *, max_bytes: int = MAX_BYTES
) -> tuple[Document | None, list[Diagnostic]]:
    """Read and parse one file. Returns the document (or None) and every problem found."""
    p = Path(path)
    text, problems = read_text(p, max_bytes=max_bytes)
    if text is None:
        return None, problems
    return parse(text, str(path))


def walk(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) pair in plain data, parents before children."""
    yield path, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from walk(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from walk(v, (*path, i))
