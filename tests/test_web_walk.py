"""Every process in processes/ walked to its end through the web pages' HTML forms.

Each scenario that ends a process (``expect: {status: completed}``) is acted
out again, but every start and every step is done the way a person does it in
``procflow serve``: open the task page, read its form (input names, hidden
fields, the CSRF token, the outcome buttons), type the scenario's values into
it as text and press the outcome's button. Acts that a scenario expects to be
refused are left out (they test the engine, not the pages). A process added
later that the web cannot finish fails here.
"""

from __future__ import annotations

from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import procflow
from procflow.testing.runner import _Run
from procflow.testing.scenario import Act, load_scenario
from procflow.web import HeaderSignIn, Staff, create_app

ROOT = Path(__file__).parent.parent
CATALOG = procflow.load_dir(ROOT / "processes")
USER = "X-Remote-User"


class _Form(HTMLParser):
    """The task form of a page: its fields with their values, and its outcome buttons."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: dict[str, str] = {}
        self.outcomes: list[str] = []
        self.plain_submit = False
        self.tables: set[str] = set()
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
            return
        if not self.inside:
            return
        if tag == "table" and "data-name" in a:
            self.tables.add(a["data-name"])  # its 加一行 button adds rows of name.<row>.<column>
        elif tag == "input" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.fields.setdefault(a.get("name", ""), "")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields[a.get("name", "")] = ""
        elif tag == "button" and a.get("type") == "submit":
            if a.get("name") == "outcome":
                self.outcomes.append(a.get("value", ""))
            else:
                self.plain_submit = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.inside:
            self.fields[self._textarea] += data


def _typed(value: Any) -> str:
    """A value as a person types it into a text box."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(_typed(v) for v in value)
    return str(value)


def _fill(form: _Form, data: Mapping[str, Any]) -> dict[str, str]:
    fields = dict(form.fields)
    for doc, values in data.items():
        for name, value in values.items():
            key = f"data.{doc}.{name}"
            if isinstance(value, list) and value and isinstance(value[0], Mapping):
                for r, row in enumerate(value):
                    for column, cell in row.items():
                        cell_key = f"{key}.{r}.{column}"
                        assert key in form.tables, f"the form has no table {key}"
                        fields[cell_key] = _typed(cell)
                continue
            assert key in fields, f"the form has no input {key}: {sorted(fields)}"
            fields[key] = _typed(value)
    return fields


class _WebRun(_Run):
    """A scenario acted out through the pages instead of the engine's methods."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        staff = Staff.from_data({"people": dict(self.scenario.users)})
        self.client = TestClient(create_app(self.engine, staff, sign_in=HeaderSignIn(USER)))

    def _start_form(self, user: str, pid: str) -> dict[str, str]:
        page = self.client.get(f"/processes/{pid}", headers={USER: user})
        assert page.status_code == 200, page.text
        form = _Form(f"/processes/{pid}/start")
        form.feed(page.text)
        assert "csrf" in form.fields, f"{user} sees no button to start {pid}"
        return form.fields

    def command(self, act: Act, base: Any) -> None:
        if act.start is not None and not act.start.data:
            by = act.start.by or ""
            pid = self.scenario.process
            before = {i.id for i in self.engine.instances()}
            answer = self.client.post(
                f"/processes/{pid}/start", data=self._start_form(by, pid), headers={USER: by}
            )
            assert answer.status_code < 400, answer.text
            started = [i for i in self.engine.instances() if i.id not in before]
            assert started, f"{by} could not start {pid} from its page"
            self.root = self.root or started[0].id
        elif act.do is not None:
            by = act.by or ""
            task = self.task_at(act, act.do, (*base, "do"))
            action = f"/tasks/{task.id}"
            page = self.client.get(action, headers={USER: by})
            assert page.status_code == 200, page.text
            form = _Form(action)
            form.feed(page.text)
            fields = _fill(form, act.data or {})
            if act.outcome is not None:
                assert act.outcome in form.outcomes, f"no button for {act.outcome}"
                fields["outcome"] = act.outcome
            elif "sign" in form.outcomes:
                fields["outcome"] = "sign"  # a sign-off's own button
            else:
                assert form.plain_submit, f"{task.step_id}: no button to finish it {form.outcomes}"
            answer = self.client.post(action, data=fields, headers={USER: by})
            assert answer.status_code < 400, f"{task.step_id} by {by}: {answer.text[:3000]}"
            assert "Traceback" not in answer.text
            if "outcome" in fields:  # the page says what was chosen in words, not its id
                assert "已完成「" in answer.text and f"（{fields['outcome']}）" not in answer.text
            still = [t for t in self.engine.instance(task.instance_id).tasks if t.id == task.id]
            assert not still or still[0].signatures, f"{task.step_id} by {by} stayed open"
        else:
            super().command(act, base)


def _finishing() -> list[Path]:
    found = []
    for path in sorted((ROOT / "processes" / "scenarios").glob("*.yaml")):
        scenario, _, _ = load_scenario(path)
        if scenario and scenario.expect and scenario.expect.status == "completed":
            found.append(path)
    return found


def test_every_process_has_a_scenario_that_finishes_it() -> None:
    walked = {load_scenario(p)[0].process for p in _finishing()}  # type: ignore[union-attr]
    assert walked == set(CATALOG)


def _walk(path: Path) -> None:
    scenario, doc, problems = load_scenario(path)
    assert scenario is not None and doc is not None, problems
    run = _WebRun(scenario, doc, CATALOG)
    for i, act in enumerate(scenario.acts):
        if act.expect is None and act.error is None:  # refusals test the engine
            run.act(i, act)
    root = run.engine.instance(run.root or "")
    assert root.status == "completed", (root.status, [t.step_id for t in root.tasks])


@pytest.mark.slow
@pytest.mark.parametrize("path", _finishing(), ids=lambda p: p.stem)
def test_the_web_finishes_it(path: Path) -> None:
    _walk(path)


def test_an_optional_step_is_done_through_its_page() -> None:
    """SC-002's optional training is done (not skipped) with 完成."""
    _walk(ROOT / "processes" / "scenarios" / "SC-002.research-with-training.yaml")


def test_five_signers_in_turn_and_the_outcome_in_words() -> None:
    """CIN-05's five sign-offs; each page after says 已完成「…」 with the outcome's words."""
    _walk(ROOT / "processes" / "scenarios" / "CIN-05.exactly-2000-five-approvers.yaml")
