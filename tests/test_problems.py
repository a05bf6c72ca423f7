"""Diagnostic codes are documented, and diagnostics print like gcc or ruff."""

from __future__ import annotations

import re
from pathlib import Path

from procflow.language import source
from procflow.language.diagnostics import CODES, Diagnostic, Severity, did_you_mean
from procflow.language.expr import issues

DOCS = Path(__file__).parent.parent / "docs" / "diagnostics.md"


def test_every_code_is_documented_and_no_other() -> None:
    documented = set(re.findall(r"^\| (PF\d{3}) \|", DOCS.read_text(encoding="utf-8"), re.M))
    assert documented == set(CODES)


def test_codes_are_in_families() -> None:
    for code in CODES:
        assert re.fullmatch(r"PF[1-6]\d\d", code), code


def test_text_form() -> None:
    d = Diagnostic(
        "p.yaml", 3, 7, "PF301", "step 'aprove' is not defined", "did you mean 'approve'?"
    )
    assert (
        str(d) == "p.yaml:3:7: error PF301: step 'aprove' is not defined (did you mean 'approve'?)"
    )
    w = Diagnostic("p.yaml", 1, 1, "PF313", "unused", severity=Severity.WARNING)
    assert str(w) == "p.yaml:1:1: warning PF313: unused"
    assert w.to_dict()["severity"] == "warning"
    whole = Diagnostic("sub", 0, 0, "PF101", "cannot read the folder: Permission denied")
    assert str(whole) == "sub: error PF101: cannot read the folder: Permission denied"


def test_did_you_mean() -> None:
    assert did_you_mean("aprove", ["approve", "reject"]) == "did you mean 'approve'?"
    assert did_you_mean("zzz", ["approve"]) == ""


def test_the_documented_limits_are_the_ones_in_force() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line.split("|")[2]
        for line in text[text.index("## Limits") : text.index("## PF1xx")].splitlines()
        if line.startswith("| ") and not line.startswith("| limit")
    }
    assert str(source.MAX_BYTES) in rows["file size"].replace(",", "")
    assert f"{source.MAX_NODES:,}" in rows[next(k for k in rows if k.startswith("values in"))]
    assert f"{source.MAX_ALIASES:,}" in rows["alias uses (`*name`) in a file"]
    assert f"{source.MAX_NODES:,}" in rows["values after expanding aliases"]
    assert f"{source.MAX_DEPTH} levels" in rows["nesting of mappings and lists"]
    expression = rows["one expression"]
    assert f"{issues.MAX_LENGTH:,} characters, {issues.MAX_TOKENS} tokens" in expression
    assert f"{issues.MAX_DEPTH} levels deep, numbers of {issues.MAX_DIGITS} digits" in expression
