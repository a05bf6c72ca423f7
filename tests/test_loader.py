"""Loading: organisation files, catalogs and the definition kept for each version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import procflow
from procflow.flow.load import check_paths
from procflow.language import source
from procflow.language.diagnostics import Severity

VALID = Path(__file__).parent / "fixtures" / "valid"

PROCESS = """\
procflow: 1
id: P-1
title: t
organisation: org.yaml
steps:
  - id: a
    actor: clerk
"""


def test_organisation_roles_are_shared() -> None:
    catalog = procflow.load_dir(VALID)
    approval = catalog["APPROVAL"]
    assert "pmm" in approval.flow.actors
    assert "proposal" in approval.flow.documents
    assert set(catalog) >= {"APPROVAL", "NEXT", "EVERYTHING"}
    assert "acme" in catalog.organisations


def test_broken_organisation_is_reported_in_both_files(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(
        "procflow: 1\norganisation: x\ntitle: t\nroles: {clerk: []}\n"
    )
    (tmp_path / "p.yaml").write_text(PROCESS)
    _, problems = check_paths([tmp_path / "p.yaml"])
    where = {(Path(d.file).name, d.code) for d in problems}
    assert ("org.yaml", "PF203") in where
    assert ("p.yaml", "PF316") in where


def test_missing_organisation_file(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PROCESS)
    with pytest.raises(procflow.DefinitionError) as info:
        procflow.load(tmp_path / "p.yaml")
    first = info.value.diagnostics[0]
    assert (first.line, first.column, first.code) == (4, 15, "PF316")


@pytest.mark.parametrize(
    "org", [None, "procflow: 1\norganisation: x\ntitle: t\nroles: {clerk: []}\n"]
)
def test_an_organisation_that_cannot_be_used_is_one_problem_not_one_per_name(
    org: str | None, tmp_path: Path
) -> None:
    if org is not None:
        (tmp_path / "org.yaml").write_text(org)
    (tmp_path / "p.yaml").write_text(
        PROCESS + "    fills: form\n    when: form.x > 1\n  - {id: b, actor: boss, next: c}\n"
    )
    _, problems = check_paths([tmp_path / "p.yaml"])
    mine = [(d.line, d.code) for d in problems if Path(d.file).name == "p.yaml"]
    # the unknown actors clerk and boss, the document form and its use in a condition
    # were four more errors; a step that is not there is still one
    assert mine == [(4, "PF316"), (10, "PF301")]


def test_duplicate_process_ids_in_a_folder(tmp_path: Path) -> None:
    body = "procflow: 1\nid: SAME\ntitle: t\nactors: {a: x}\nsteps: [{actor: a}]\n"
    (tmp_path / "one.yaml").write_text(body)
    (tmp_path / "two.yaml").write_text(body)
    _, problems = check_paths([tmp_path])
    assert [(Path(d.file).name, d.code) for d in problems] == [("two.yaml", "PF315")]


def test_definition_hash_changes_with_the_content(tmp_path: Path) -> None:
    body = "procflow: 1\nid: H\ntitle: t\nactors: {a: x}\nsteps: [{actor: a}]\n"
    first = procflow.loads(body)
    same = procflow.loads("# a comment changes nothing\n" + body)
    other = procflow.loads(body.replace("title: t", "title: u"))
    assert first.flow.definition_hash == same.flow.definition_hash
    assert first.flow.definition_hash != other.flow.definition_hash
    assert first.flow.definition["actors"] == {"a": {"title": "x"}}


def test_definition_error_carries_every_diagnostic() -> None:
    with pytest.raises(procflow.DefinitionError) as info:
        procflow.load(VALID.parent / "invalid" / "loop_no_exit.yaml")
    assert [d.code for d in info.value.diagnostics] == ["PF307", "PF308", "PF306"]
    assert isinstance(info.value, ValueError)


def test_one_file_is_checked_against_what_it_refers_to(tmp_path: Path) -> None:
    body = "procflow: 1\nid: {id}\ntitle: t\nactors: {{a: x}}\nsteps:\n  - actor: a\n{extra}"
    (tmp_path / "A.yaml").write_text(body.format(id="A", extra="  - handoff: B\n"))
    (tmp_path / "B.yaml").write_text(body.format(id="B", extra="  - handoff: C\n"))
    catalog, problems = check_paths([tmp_path / "A.yaml"])
    assert list(catalog) == ["A"]  # only the file named is in the catalog
    assert problems == []  # B is read from B.yaml; B's own broken hand-off is not reported here
    _, problems = check_paths([tmp_path / "B.yaml"])
    assert [(d.code, d.severity) for d in problems] == [("PF324", Severity.WARNING)]
    assert "the handoff to 'C' is not checked: no file C.yaml beside this one" in str(problems[0])
    _, problems = check_paths([tmp_path])  # the whole folder: C is missing for certain
    assert [(d.code, d.severity) for d in problems] == [("PF312", Severity.ERROR)]


def test_one_file_reads_nothing_it_does_not_refer_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "procflow: 1\nid: {id}\ntitle: t\nactors: {{a: x}}\nsteps:\n  - actor: a\n{extra}"
    (tmp_path / "one.yaml").write_text(body.format(id="ONE", extra="  - handoff: TWO\n"))
    (tmp_path / "TWO.yaml").write_text(body.format(id="TWO", extra=""))
    for i in range(3):  # neighbours that nothing refers to, slow to check
        (tmp_path / f"big{i}.yaml").write_text(body.format(id=f"BIG{i}", extra="  - actor: a\n"))
    read: list[str] = []
    real = source.load_file

    def spy(path: Path | str, **kwargs: Any) -> Any:
        read.append(Path(path).name)
        return real(path, **kwargs)

    monkeypatch.setattr(source, "load_file", spy)
    _, problems = check_paths([tmp_path / "one.yaml"])
    assert problems == []
    assert read == ["one.yaml", "TWO.yaml"]


def test_a_reference_to_a_file_of_another_name_says_it_is_not_checked(tmp_path: Path) -> None:
    body = "procflow: 1\nid: {id}\ntitle: t\nactors: {{a: x}}\nsteps:\n  - actor: a\n{extra}"
    (tmp_path / "one.yaml").write_text(body.format(id="ONE", extra="  - call: SC-002\n"))
    (tmp_path / "SC-002.yaml").write_text(body.format(id="SC-003", extra=""))
    (tmp_path / "broken.yaml").write_text(body.format(id="SC-002", extra="  - actor: nobody\n"))
    _, problems = check_paths([tmp_path / "one.yaml"])
    assert [d.code for d in problems] == ["PF324"]
    assert "holds the process 'SC-003', not 'SC-002'" in problems[0].message
    (tmp_path / "SC-002.yaml").unlink()
    (tmp_path / "broken.yaml").rename(tmp_path / "SC-002.yml")
    _, problems = check_paths([tmp_path / "one.yaml"])
    assert [d.code for d in problems] == ["PF324"]
    assert "SC-002.yml has problems" in problems[0].message


CHOICE = """procflow: 1
id: CH
title: 選項
actors: {{clerk: 文員}}
documents:
  req:
    title: 申請
    fields:
      kind: {{type: {type}, of: [annual, monthly], titles: {{annual: 年度, {other}: 月度}}}}
steps:
  - {{id: fill, actor: clerk, fills: req}}
"""


def test_a_choice_names_its_values_titles() -> None:
    process = procflow.loads(CHOICE.format(type="choice", other="monthly"))
    field = process.flow.documents["req"].fields["kind"]
    assert field.titles == {"annual": "年度", "monthly": "月度"}
    with pytest.raises(procflow.DefinitionError) as info:
        procflow.loads(CHOICE.format(type="choice", other="yearly"), name="ch.yaml")
    [problem] = info.value.diagnostics
    assert "'titles:' names yearly, which 'of:' does not allow" in problem.message
    assert problem.line == 9  # the field that says it
    with pytest.raises(procflow.DefinitionError, match="'titles:' only applies to choice"):
        procflow.loads(
            CHOICE.format(type="text", other="monthly").replace("of: [annual, monthly], ", "")
        )


@pytest.mark.parametrize(
    ("call", "value", "message"),
    [
        (procflow.load, 5, r"load\(\) takes a path \(text or a pathlib.Path\), not int"),
        (procflow.load_dir, None, r"load_dir\(\) takes a path .*, not NoneType"),
        (procflow.loads, b"procflow: 1", r"loads\(\) takes YAML text, not bytes: decode"),
    ],
)
def test_loading_something_that_is_not_a_path_or_text_is_named(
    call: object, value: object, message: str
) -> None:
    with pytest.raises(procflow.InvalidArgument, match=message):  # was TypeError, AttributeError
        call(value)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "the value is empty; it should be text (write the value after the ':', or"),
        ("123", "123 should be text (put it in quotes to keep it as text: '123')"),
        ("true", "true should be text (put it in quotes to keep it as text: 'true')"),
        ("1.50", "1.50 should be text (put it in quotes to keep it as text: '1.50')"),
    ],
)
def test_a_value_of_the_wrong_type_is_shown_as_written_in_yaml(title: str, message: str) -> None:
    text = f"procflow: 1\nid: P\ntitle: {title}\nsteps:\n  - {{id: a, actor: clerk}}\n"
    with pytest.raises(procflow.DefinitionError) as info:  # was "None should be text"
        procflow.loads(text, name="p.yaml")
    assert f"p.yaml:3:{8 if title else 7}: error PF203: {message}" in str(info.value)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            "{id: a, actr: clerk}",
            "p.yaml:5:13: error PF201: unknown key 'actr' (did you mean 'actor'?)",
        ),
        (
            "{id: a, sing: {all_of: [clerk]}}",
            "error PF201: unknown key 'sing' (did you mean 'sign'?)",
        ),
        # no misspelt kind, only keys that steps have: the step has no kind
        ("{id: a, not_by: b}", "error PF205: a step needs exactly one kind"),
        ("{id: a, actor: clerk, end: done}", "error PF205: a step needs exactly one kind"),
    ],
)
def test_a_misspelt_kind_key_is_named_with_what_it_was_meant_to_be(
    step: str, expected: str
) -> None:
    text = f"procflow: 1\nid: P\ntitle: t\nsteps:\n  - {step}\n"
    with pytest.raises(procflow.DefinitionError) as info:  # was PF205 for a typo too
        procflow.loads(text, name="p.yaml")
    assert expected in str(info.value)
