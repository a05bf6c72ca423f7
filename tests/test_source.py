"""The YAML layer: positions, limits and the traps it refuses."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from procflow.language import source


def codes(text: str) -> list[str]:
    _, problems = source.parse(text, "t.yaml")
    return [p.code for p in problems]


def test_values_are_plain_and_exact() -> None:
    doc, problems = source.parse("a: 1500.50\nb: [1, x, true]\nc: 2026-01-01\nd: ~\n", "t.yaml")
    assert problems == []
    assert doc is not None
    assert doc.data == {"a": Decimal("1500.50"), "b": [1, "x", True], "c": "2026-01-01", "d": None}
    assert isinstance(doc.data["a"], Decimal)


def test_positions_of_keys_and_values() -> None:
    doc, _ = source.parse("top:\n  inner:\n    - x\n    - {k: v}\n", "t.yaml")
    assert doc is not None
    pos = doc.positions
    assert pos.key(("top", "inner")) == (2, 3)
    assert pos.value(("top", "inner", 1, "k")) == (4, 11)
    # an unknown deeper path falls back to the nearest known ancestor
    assert pos.value(("top", "inner", 1, "k", "missing")) == (4, 11)


def test_position_inside_a_quoted_scalar() -> None:
    text = 'when: "a.b > 1"\n'
    doc, _ = source.parse(text, "t.yaml")
    assert doc is not None
    # offset 2 inside the expression is the 'b', one past the quote
    assert doc.positions.in_scalar(("when",), 2, "a.b > 1") == (1, 10)


def test_all_duplicate_keys_are_reported() -> None:
    _, problems = source.parse("a: 1\nb: 2\na: 3\nb: 4\n", "t.yaml")
    assert [(p.line, p.column, p.code) for p in problems] == [(3, 1, "PF104"), (4, 1, "PF104")]
    assert "line 1" in problems[0].hint


def test_norway_problem_in_values_and_keys() -> None:
    _, problems = source.parse("of: [se, no, 'no']\nyes: 1\n", "t.yaml")
    assert [(p.line, p.column, p.code) for p in problems] == [(1, 10, "PF108"), (2, 1, "PF108")]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "PF107"),
        ("# just a comment\n", "PF107"),
        ("a:\n\tb: 1\n", "PF109"),
        ('a: "open\nb: 1\n', "PF103"),
        ("a: 1\n---\nb: 2\n", "PF110"),
        ("a: !!python/object:os.system x\n", "PF111"),
        ("a: !custom x\n", "PF111"),
        ("[" * 10_000 + "]" * 10_000, "PF106"),
        ("<<: {a: 1}\n", "PF111"),
    ],
)
def test_refused_inputs(text: str, code: str) -> None:
    assert code in codes(text)


@pytest.mark.parametrize(
    "text",
    [
        "steps:\n  - id: a\n    actor: b\n   title: c\n",  # a key indented one space short
        "steps:\n- id: a\n  actor: b\n - id: c\n",  # a list item out of line
        "a: 1\n  b: 2\n",  # a key indented under a value
    ],
)
def test_bad_indentation_gets_the_indentation_hint(text: str) -> None:
    _, problems = source.parse(text, "t.yaml")
    assert [p.code for p in problems] == ["PF103"]
    assert problems[0].hint.startswith("check the indentation")


def test_deep_block_nesting_is_refused() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "x: 1\n"
    assert codes(text) == ["PF106"]


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    assert codes("\n".join(lines) + "\n") == ["PF105"]


def test_size_limit_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # a 50 MB file (sparse)
    doc, problems = source.load_file(big)
    assert doc is None
    assert [p.code for p in problems] == ["PF102"]


def test_encoding_problems(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("title: café\n".encode("latin-1"))
    _, problems = source.load_file(latin)
    assert [(p.line, p.column, p.code) for p in problems] == [(1, 11, "PF101")]
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"a: 1\n\x00\x01\x02")
    _, problems = source.load_file(binary)
    assert [p.code for p in problems] == ["PF101"]


@pytest.mark.parametrize(
    ("encoding", "named"),
    [
        ("gb18030", "GBK or Big5"),  # Notepad's ANSI on a mainland Chinese Windows
        ("big5", "GBK or Big5"),  # ... on a Taiwan or Hong Kong one
        ("utf-16", "UTF-16"),
        ("latin-1", "another encoding, or not text"),
    ],
)
def test_a_file_not_in_utf8_is_told_which_encoding_it_looks_like(
    tmp_path: Path, encoding: str, named: str
) -> None:
    file = tmp_path / "p.yaml"
    file.write_bytes("procflow: 1\nid: X\ntitle: 市場部計劃審批 café\n".encode(encoding, "replace"))
    _, [problem] = source.load_file(file)
    assert problem.code == "PF101" and problem.message == "the file is not UTF-8 text"
    assert named in problem.hint and "save it as UTF-8" in problem.hint


FULL_WIDTH = "id: X\nsteps:\n  - id: a\n    title: 審批\n    decide: {ok: next, back: a}\n"


@pytest.mark.parametrize(
    ("typed", "where", "named"),
    [
        (("    title: 審批", "    title：審批"), (4, 10), "'：' where YAML needs ':'"),
        (("    title: 審批", "\u3000\u3000title: 審批"), (4, 1), "indented with a full-width"),
        (("ok: next, back", "ok: next，back"), (5, 22), "'，' where YAML needs ','"),
        (("  - id: a", "  － id: a"), (3, 3), "'－' where YAML needs '-'"),
        (("{ok", "｛ok"), (5, 13), "'｛' where YAML needs '{'"),
    ],
)
def test_a_full_width_character_where_yaml_needs_its_own_is_named_where_it_is(
    typed: tuple[str, str], where: tuple[int, int], named: str
) -> None:
    _, [problem] = source.parse(FULL_WIDTH.replace(*typed), "p.yaml")
    assert problem.code == "PF103"
    assert (problem.line, problem.column) == where
    assert named in problem.hint


def test_full_width_characters_in_text_are_text() -> None:
    text = FULL_WIDTH.replace("title: 審批", "title: 注：審批，簽字［附件］")
    doc, problems = source.parse(text, "p.yaml")
    assert doc is not None and not problems
    broken = text.replace("［附件］", "［附件］\n   bad: x")  # another mistake, next to them
    _, [problem] = source.parse(broken, "p.yaml")
    assert "full-width" not in problem.hint


def test_missing_file(tmp_path: Path) -> None:
    _, problems = source.load_file(tmp_path / "nope.yaml")
    assert [p.code for p in problems] == ["PF101"]


def test_pointer_escapes() -> None:
    assert source.pointer(("steps", 0, "a/b", "c~d")) == "/steps/0/a~1b/c~0d"


def test_brackets_inside_quotes_and_comments_do_not_count_as_nesting() -> None:
    rows = "\n".join(f"  - ['[{i}..{i + 1})', x]  # [[[" for i in range(200))
    text = "rules:\n" + rows + '\nnote: "[[[[[["\n'
    doc, problems = source.parse(text, "t.yaml")
    assert problems == []
    assert doc is not None
    assert doc.data["rules"][199] == ["[199..200)", "x"]
