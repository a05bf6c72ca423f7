"""`procflow.writing.atomic_write`: whole files or none, with the permissions of any new file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from procflow import writing
from procflow.render import write_diagrams
from procflow.writing import atomic_write
from tests.test_render import fixtures


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "want"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
@pytest.mark.usefixtures("umask")
def test_a_new_file_gets_what_the_umask_allows(tmp_path: Path, mask: int, want: int) -> None:
    os.umask(mask)
    atomic_write(tmp_path / "new.svg", "<svg/>")
    assert mode(tmp_path / "new.svg") == want


@pytest.mark.usefixtures("umask")
def test_a_replaced_file_gets_the_same(tmp_path: Path) -> None:
    target = tmp_path / "old.svg"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o600)  # as the writer of 0.1 left it
    atomic_write(target, "<svg/>")
    assert mode(target) == 0o644 and target.read_text(encoding="utf-8") == "<svg/>"
    assert [p.name for p in tmp_path.iterdir()] == ["old.svg"]


@pytest.mark.usefixtures("umask")
def test_diagrams_are_readable_by_others(tmp_path: Path) -> None:
    written = write_diagrams(fixtures(), tmp_path, formats="dot,mermaid")
    assert written
    assert {mode(p) for p in written} == {0o644}


def test_a_folder_that_refuses_the_file_is_named_not_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(folder: Path, name: str) -> tuple[int, Path]:
        raise PermissionError(13, "Permission denied", str(folder / f".{name}.1234.tmp"))

    monkeypatch.setattr(writing, "_temporary", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "README.md", "text")
    assert info.value.filename == str(tmp_path / "README.md")  # was .README.md.1234.tmp
