"""``procflow serve`` without a browser: the JSON API, its OpenAPI document under
schemathesis, and the safety rules (CSRF, cookies, escaping, size limits, flags)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import procflow
from procflow import Engine, ManualClock, MemoryStore, NotAllowed, User
from procflow.cli.main import main
from procflow.cli.serving import is_loopback
from procflow.runtime import MemoryBlobStore
from procflow.web import DemoSignIn, HeaderSignIn, Staff, create_app
from procflow.web.inbox import InboxQuery, inbox

ROOT = Path(__file__).parent.parent
CATALOG = procflow.load_dir(ROOT / "processes")
STAFF = Staff.from_data(
    {
        "people": {
            "li": {"name": "李明", "roles": ["market_manager"]},
            "wang": ["pmm"],
            "xu": ["market_manager", "pmm"],
            "boss": ["process_admin"],
        }
    }
)
GOOD = {"plan_type": "annual", "content": "c", "method": "m", "budget": "12000.50"}
USER = "X-Remote-User"


def make_engine() -> Engine:
    return Engine(
        CATALOG,
        store=MemoryStore(strict=True),
        clock=ManualClock(datetime(2026, 3, 2, 9, 0)),
        directory=STAFF.directory(),
        administrators=STAFF.administrators,
        blobs=MemoryBlobStore(),
    )


@pytest.fixture
def api() -> Iterator[TestClient]:
    app = create_app(make_engine(), STAFF, sign_in=HeaderSignIn(USER))
    with TestClient(app) as client:
        yield client


def as_(user: str, **headers: str) -> dict[str, str]:
    return {USER: user, **headers}


def start(api: TestClient, user: str = "li", **headers: str) -> dict[str, Any]:
    answer = api.post("/api/processes/SC-001/instances", json={}, headers=as_(user, **headers))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


# -- the API ----------------------------------------------------------------------------------


def test_a_process_through_the_api(api: TestClient) -> None:
    processes = api.get("/api/processes", headers=as_("li")).json()
    sc001 = next(p for p in processes if p["id"] == "SC-001")
    assert sc001["may_start"] is True and sc001["title"] == "市場調研策劃流程"
    inst = start(api)
    [task] = inst["tasks"]
    page = api.get("/api/tasks", headers=as_("li")).json()
    assert page["total"] == 1 and page["items"] == [task] and page["next"] is None
    assert api.get(f"/api/tasks/{task['id']}", headers=as_("li")).json() == task
    form = api.get(f"/api/tasks/{task['id']}/form", headers=as_("li")).json()
    assert form["properties"]["data"]["properties"]["proposal"]["title"] == "市場調研策劃書"
    # every field problem is listed, with its place in the request body
    bad = {"data": {"proposal": {**GOOD, "budget": "12,000", "plan_type": "yearly"}}}
    refused = api.post(f"/api/tasks/{task['id']}/complete", json=bad, headers=as_("li"))
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/invalid-submission") and problem["status"] == 422
    assert {e["field"]: e["type"] for e in problem["errors"]} == {
        "data.proposal.budget": "not_a_number",  # the kind, for a client's own words
        "data.proposal.plan_type": "not_a_choice",
    }
    done = api.post(
        f"/api/tasks/{task['id']}/complete",
        json={"data": {"proposal": GOOD}},
        headers=as_("li", **{"Idempotency-Key": "draft-1"}),
    )
    assert done.status_code == 200 and done.json()["documents"]["proposal"]["budget"] == "12000.50"
    again = api.post(
        f"/api/tasks/{task['id']}/complete",
        json={"data": {"proposal": GOOD}},
        headers=as_("li", **{"Idempotency-Key": "draft-1"}),
    )
    assert again.status_code == 200 and again.json()["version"] == done.json()["version"]
    [review] = done.json()["tasks"]
    not_theirs = api.post(f"/api/tasks/{review['id']}/claim", headers=as_("li"))
    assert not_theirs.status_code == 403 and "needs the role pmm" in not_theirs.json()["detail"]
    assert not_theirs.json()["reason"] == {  # for a client that words it itself
        "kind": "needs_role",
        "values": {"user": "li", "step": "review", "roles": ["pmm"]},
    }
    claimed = api.post(f"/api/tasks/{review['id']}/claim", headers=as_("wang"))
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "wang"
    handed = api.post(f"/api/tasks/{review['id']}/delegate", json={"to": "xu"}, headers=as_("wang"))
    assert handed.json()["assignee"] == "xu"
    history = api.get(f"/api/instances/{inst['id']}/history", headers=as_("li")).json()
    assert [e["type"] for e in history][-2:] == ["task_claimed", "task_delegated"]
    cancelled = api.post(
        f"/api/instances/{inst['id']}/cancel", json={"reason": "重做"}, headers=as_("li")
    )
    assert cancelled.json()["status"] == "cancelled"
    assert api.get(f"/api/instances/{inst['id']}", headers=as_("li")).json()["tasks"] == []


def test_api_errors_are_problem_details(api: TestClient) -> None:
    assert api.get("/api/tasks").status_code == 401
    missing = api.get("/api/tasks/nope.1", headers=as_("li"))
    assert missing.status_code == 404 and missing.json()["type"].endswith("/task-not-open")
    assert api.post("/api/processes/NOPE/instances", json={}, headers=as_("li")).status_code == 404
    wrong = api.post("/api/processes/SC-001/instances", json={}, headers=as_("wang"))
    assert wrong.status_code == 403 and "may not start" in wrong.json()["detail"]
    shape = api.post(
        "/api/processes/SC-001/instances", json={"data": 5, "extra": 1}, headers=as_("li")
    )
    assert shape.status_code == 422
    assert {e["field"] for e in shape.json()["errors"]} == {"data", "extra"}
    paging = api.get("/api/tasks?limit=0&due=late", headers=as_("li"))
    assert {e["field"]: e["type"] for e in paging.json()["errors"]} == {
        "query.limit": "greater_than_equal",  # pydantic's own kinds
        "query.due": "string_pattern_mismatch",
    }
    inst = start(api)
    reused = api.post(
        f"/api/instances/{inst['id']}/cancel",
        json={"reason": "x"},
        headers=as_("li", **{"Idempotency-Key": "k"}),
    )
    assert reused.status_code == 200
    other = start(api)
    clash = api.post(
        f"/api/instances/{other['id']}/cancel",
        json={"reason": "x"},
        headers=as_("li", **{"Idempotency-Key": "k"}),
    )
    assert clash.status_code == 422 and clash.json()["type"].endswith("/idempotency-key-reused")


def test_request_size_is_limited(api: TestClient) -> None:
    big = {"data": {"proposal": {**GOOD, "content": "字" * 2_000_000}}}
    answer = api.post("/api/processes/SC-001/instances", json=big, headers=as_("li"))
    assert answer.status_code == 413 and answer.json()["status"] == 413


def test_openapi_document_declares_problems(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    complete = doc["paths"]["/api/tasks/{task_id}/complete"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in complete["parameters"]}
    for status in ("403", "404", "409", "422"):
        assert complete["responses"][status]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert not any(p.startswith("/tasks") or p == "/_test/clock" for p in doc["paths"])


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation() -> None:
    """Every operation, with requests generated from the OpenAPI document (valid and invalid,
    on real ids half the time): no 5xx, and every answer as the document declares it.

    Schemathesis's ``positive_data_acceptance`` is left out: a body can fit the schema
    (any ``data``) and still not fit a task's documents, which is a 422 by design."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import positive_data_acceptance

    engine = make_engine()
    li = STAFF.user("li")
    real: dict[str, list[str]] = {"task_id": [], "instance_id": [], "process_id": ["SC-001"]}
    for _ in range(6):
        inst = engine.start("SC-001", by=li)
        done = engine.complete(inst.tasks[0].id, by=li, data={"proposal": GOOD})
        real["instance_id"].append(inst.id)
        real["task_id"] += [inst.tasks[0].id, done.tasks[0].id]
    app = create_app(engine, STAFF, sign_in=HeaderSignIn(USER))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)

    @schema.hook
    def map_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> Any:
        for name, ids in real.items():
            if path_parameters and name in path_parameters:
                pick = hash(repr(path_parameters)) % (2 * len(ids))
                if pick < len(ids):
                    path_parameters[name] = ids[pick]
        return path_parameters

    failures: list[str] = []
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            for user in ("li", "wang"):
                try:
                    response = case.call_and_validate(
                        headers={USER: user}, excluded_checks=[positive_data_acceptance]
                    )
                    statuses.add(response.status_code)
                except BaseException as exc:  # every operation's failures, then fail once
                    failures.append(f"{case.path}: {type(exc).__name__}: {exc}"[:800])

        run()
    assert failures == []
    assert {200, 201, 403, 404, 422} <= statuses  # real ids reached real answers too
    assert not any(s >= 500 for s in statuses)


# -- the pages' safety rules ------------------------------------------------------------------


@pytest.fixture
def pages() -> Iterator[TestClient]:
    app = create_app(make_engine(), STAFF, sign_in=DemoSignIn())
    with TestClient(app, follow_redirects=False) as client:
        yield client


def csrf_of(client: TestClient, path: str = "/signin") -> str:
    html = client.get(path).text
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_the_sign_in_page_names_roles_not_ids(pages: TestClient) -> None:
    html = pages.get("/signin").text
    assert "市場經理" in html  # li's role, as the processes name it
    assert "流程管理員" in html and "process_admin" not in html  # boss: no process names it


def test_session_cookie_and_csrf(pages: TestClient) -> None:
    token = csrf_of(pages)
    cookie = pages.get("/signin").headers.get("set-cookie", "") or pages.cookies.jar
    signed = pages.post("/signin", data={"user": "li", "csrf": token})
    assert signed.status_code == 303
    header = signed.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header
    assert cookie is not None
    forged = pages.post("/processes/SC-001/start", data={"csrf": "forged"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    missing = pages.post("/processes/SC-001/start", data={})
    assert missing.status_code == 403
    engine = pages.app.state.site.engine  # type: ignore[attr-defined]
    assert engine.instances() == []  # nothing was started
    ok = pages.post("/processes/SC-001/start", data={"csrf": csrf_of(pages, "/inbox")})
    assert ok.status_code == 303 and len(engine.instances()) == 1
    assert pages.get("/inbox").headers["content-security-policy"].startswith("default-src 'self'")


def test_titles_and_values_are_escaped() -> None:
    hostile = procflow.loads(
        """procflow: 1
id: X
title: "<script>alert('t')</script>"
actors: {clerk: "<b>clerk</b>"}
documents:
  memo: {title: "<i>memo</i>", fields: {note: {type: text, title: "<script>f</script>"}}}
steps:
  - {id: write, title: "<script>s</script>", actor: clerk, fills: memo}
  - {id: read, actor: clerk, reads: memo}
"""
    )
    engine = Engine({"X": hostile}, store=MemoryStore(strict=True))
    staff = Staff.from_data({"people": {"c": ["clerk"]}})
    app = create_app(engine, staff, sign_in=DemoSignIn())
    with TestClient(app) as client:
        client.post("/signin", data={"user": "c", "csrf": csrf_of(client)})
        inst = engine.start("X", by=staff.user("c"))
        task = inst.tasks[0]
        engine.complete(task.id, by=staff.user("c"), data={"memo": {"note": "<script>v</script>"}})
        pages = [
            client.get(path).text
            for path in ("/processes/X", f"/instances/{inst.id}", f"/tasks/{inst.id}.3", "/inbox")
        ]
    for html in pages:
        assert "<script>alert" not in html and "<script>s</script>" not in html
        assert "<script>v</script>" not in html and "<script>f</script>" not in html
        assert "<i>memo</i>" not in html
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in pages[0]
    assert "&lt;script&gt;v&lt;/script&gt;" in pages[1]


def test_the_test_clock_exists_only_when_asked(pages: TestClient) -> None:
    assert pages.post("/_test/clock", json={"days": 1}).status_code == 404
    clock = ManualClock(datetime(2026, 3, 2, 9, 0))
    engine = Engine(CATALOG, store=MemoryStore(strict=True), clock=clock)
    app = create_app(engine, STAFF, sign_in=DemoSignIn(), test_clock=clock)
    with TestClient(app) as client:
        moved = client.post("/_test/clock", json={"days": 2})
    assert moved.json()["now"] == "2026-03-04T09:00:00"


def test_serve_refuses_demo_and_test_clock_off_loopback(tmp_path: Path) -> None:
    runner = CliRunner()
    everywhere = "0.0.0.0"  # noqa: S104 - refused, which is what is tested
    for flags in (["--demo"], ["--user-header", "X-U", "--test-clock", "2026-01-01T00:00"]):
        done = runner.invoke(main, ["serve", str(ROOT / "processes"), "--host", everywhere, *flags])
        assert done.exit_code == 2 and "localhost only" in done.output
    nothing = runner.invoke(main, ["serve", str(ROOT / "processes")])
    assert nothing.exit_code == 2 and "--demo" in nothing.output
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback(everywhere) and not is_loopback("example.org")


@pytest.mark.slow
def test_importing_procflow_loads_no_web_package() -> None:
    code = (
        "import sys, procflow, procflow.runtime, procflow.render, procflow.testing, "
        "procflow.cli.main; procflow.Engine; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'starlette', 'jinja2', 'uvicorn', 'multipart', 'procflow.web'} "
        "or m.startswith('procflow.web'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_inbox_pages_filters_and_counts() -> None:
    engine = make_engine()
    li = STAFF.user("li")
    for _ in range(5):
        engine.start("SC-001", by=li)
    first = inbox(engine, li, InboxQuery(size=2))
    assert (first.total, first.all, len(first.tasks), first.start) == (5, 5, 2, 0)
    assert first.next is not None
    rest = inbox(engine, li, InboxQuery(size=2, after=first.next))
    last = inbox(engine, li, InboxQuery(size=2, after=rest.next))
    ids = [t.id for page in (first, rest, last) for t in page.tasks]
    assert len(set(ids)) == 5 and last.next is None
    assert (rest.start, last.start) == (2, 4)
    by_process = [inbox(engine, li, InboxQuery(size=2, sort="process"))]
    while by_process[-1].next is not None:
        by_process.append(inbox(engine, li, InboxQuery(size=2, sort="process",
                                                       after=by_process[-1].next)))  # fmt: skip
    assert sorted(t.id for page in by_process for t in page.tasks) == sorted(ids)
    assert first.by_process == {"SC-001": 5}
    assert inbox(engine, li, InboxQuery(process_id="SC-002")).total == 0
    assert inbox(engine, li, InboxQuery(due="overdue")).total == 0
    assert inbox(engine, li, InboxQuery(step_id="draft", after="junk")).total == 5


EACH = """
procflow: 1
id: WEB-EACH
title: 每人一份
actors: {lead: 主管, member: 成員}
documents:
  plan: {title: 計劃表, fields: {total: {type: money, title: 金額}}}
steps:
  - {id: ask, title: 發起, actor: lead}
  - {id: draft, title: 各自填寫, actor: member, for_each: member, fills: plan}
  - {id: read, title: 匯總, actor: lead, reads: plan, decide: {approve: next, revise: draft}}
"""


def _each_drafted() -> tuple[Engine, Staff, str]:
    """WEB-EACH with both members' copies drafted (安妮 100, 阿波 250.50): its instance."""
    staff = Staff.from_data(
        {"people": {"boss": {"name": "老闆", "roles": ["lead"]},
                    "ann": {"name": "安妮", "roles": ["member"]},
                    "bo": {"name": "阿波", "roles": ["member"]}}}
    )  # fmt: skip
    engine = Engine(
        {"WEB-EACH": procflow.loads(EACH)},
        clock=ManualClock(datetime(2026, 3, 2, 9, 0)),
        directory=staff.directory(),
    )
    boss, ann, bo = (staff.user(u) for u in ("boss", "ann", "bo"))
    inst = engine.start("WEB-EACH", by=boss)
    engine.complete(engine.tasks(user=boss)[0].id, by=boss)
    engine.complete(engine.tasks(user=ann)[0].id, by=ann, data={"plan": {"total": "100"}})
    engine.complete(engine.tasks(user=bo)[0].id, by=bo, data={"plan": {"total": "250.50"}})
    return engine, staff, inst.id


def test_an_instance_page_shows_each_copy_of_a_per_person_form() -> None:
    engine, staff, inst_id = _each_drafted()
    with TestClient(create_app(engine, staff, sign_in=HeaderSignIn(USER))) as client:
        html = client.get(f"/instances/{inst_id}", headers=as_("boss")).text
    assert "計劃表（安妮的一份" in html and "計劃表（阿波的一份" in html
    assert "100 元" in html and "250.50 元" in html


def test_a_task_page_shows_the_copies_it_reads_and_a_redraft_its_own() -> None:
    engine, staff, _ = _each_drafted()
    boss, ann = staff.user("boss"), staff.user("ann")
    read = engine.tasks(user=boss)[0]
    with TestClient(create_app(engine, staff, sign_in=HeaderSignIn(USER))) as client:
        html = client.get(f"/tasks/{read.id}", headers=as_("boss")).text
        shown = html[html.index('class="context"') :]
        assert "計劃表（安妮的一份，安妮 2026-03-02 09:00）" in shown
        assert "計劃表（阿波的一份，阿波 2026-03-02 09:00）" in shown
        assert "100 元" in shown and "250.50 元" in shown
        engine.complete(read.id, by=boss, outcome="revise")
        redraft = engine.tasks(user=ann)[0]
        html = client.get(f"/tasks/{redraft.id}", headers=as_("ann")).text
    field = html[html.index('id="f-data-plan-total"') - 200 :][:400]
    assert 'value="100"' in field  # ann's own copy, not bo's, not empty


LOOP = """
procflow: 1
id: WEB-LOOP
title: {title}
actors: {{clerk: 文員, boss: 主管}}
documents: {{req: {{title: 申請, fields: {{text: text}}}}}}
steps:
  - {{id: draft, title: {draft}, actor: clerk, fills: req}}
  - id: review
    actor: boss
    decide:
      approve: next
      revise: {{to: draft, at_most: 3, end: refused}}
  - {{id: pay, title: {pay}, actor: boss}}
"""


def _looped(title: str, draft: str, pay: str, rounds: int) -> tuple[TestClient, Engine, Any]:
    """An app over a process whose review sends the draft back ``rounds`` times."""
    staff = Staff.from_data({"people": {"li": ["clerk"], "wang": ["boss"]}})
    source = LOOP.format(title=title, draft=draft, pay=pay)
    engine = Engine({"WEB-LOOP": procflow.loads(source)}, directory=staff.directory())
    li, wang = staff.user("li"), staff.user("wang")
    inst = engine.start("WEB-LOOP", by=li)
    for _ in range(rounds):
        inst = engine.complete(inst.tasks[0].id, by=li, data={"req": {"text": "稿"}})
        inst = engine.complete(inst.tasks[0].id, by=wang, outcome="revise")
    client = TestClient(create_app(engine, staff, sign_in=HeaderSignIn(USER)))
    return client, engine, inst


def test_instance_and_task_pages_count_a_bounded_loop_in_the_process_words() -> None:
    client, engine, inst = _looped("退回最多三次", "起草", "付款", rounds=2)
    with client:
        page = client.get(f"/instances/{inst.id}", headers=as_("li")).text
        task = client.get(f"/tasks/{inst.tasks[0].id}", headers=as_("li")).text
        inst = engine.complete(
            inst.tasks[0].id, by=User("li", {"clerk"}), data={"req": {"text": "x"}}
        )
        inst = engine.complete(inst.tasks[0].id, by=User("wang", {"boss"}), outcome="approve")
        outside = client.get(f"/tasks/{inst.tasks[0].id}", headers=as_("wang")).text
    said = '<ul class="loops"><li>退回修改：已退回2次，至多3次</li></ul>'
    assert inst.tasks[0].step_id == "pay"
    assert said in page and said in task  # the draft is inside the loop, ...
    assert "次數限制" not in outside  # ... paying is not
    assert page.count("退回修改：已退回1次，至多3次") == 1  # the history line of the 1st
    assert ">looped<" not in page


def test_a_loop_count_in_english_and_past_its_limit() -> None:
    client, _, inst = _looped("Sent back at most three times", "write", "pay", rounds=4)
    with client:
        page = client.get(f"/instances/{inst.id}", headers=as_("li")).text
    assert inst.result == "refused"
    assert '<ul class="loops"><li>revise: sent back 3 of at most 3 times</li>' in page
    assert "revise more than 3 times" in page  # the loop_exhausted line
    assert "loop_exhausted" not in page


def test_an_instance_page_says_the_result_in_the_process_words() -> None:
    client, _, inst = _looped("退回最多三次", "起草", "付款", rounds=4)
    with client:
        page = client.get(f"/instances/{inst.id}", headers=as_("li")).text
    assert inst.result == "refused"
    assert "<dt>結果</dt><dd>已拒絕</dd>" in page and "流程結束：已拒絕" in page
    assert "退回修改超過3次" in page  # the loop_exhausted line, in Chinese


def test_a_process_page_names_each_step_kind_in_the_process_words() -> None:
    with TestClient(create_app(make_engine(), STAFF, sign_in=HeaderSignIn(USER))) as client:
        page = client.get("/processes/SC-001", headers=as_("li")).text
    steps = page.split('<ol class="steps">', 1)[1].split("</ol>", 1)[0]
    assert '<span class="small">審批</span>' in steps and '<span class="small">會簽</span>' in steps
    assert "decision" not in steps and "handoff" not in steps


def test_a_choice_is_shown_by_its_title_and_kept_raw_in_the_api(api: TestClient) -> None:
    inst = start(api)
    [task] = inst["tasks"]
    form = api.get(f"/api/tasks/{task['id']}/form", headers=as_("li")).json()
    plan_type = form["properties"]["data"]["properties"]["proposal"]["properties"]["plan_type"]
    assert plan_type["enum"][0] == "annual" and plan_type["x-procflow-titles"]["annual"] == "年度"
    drafting = api.get(f"/tasks/{task['id']}", headers=as_("li")).text
    assert '<option value="annual" >年度</option>' in drafting  # the title, the value posted
    done = api.post(
        f"/api/tasks/{task['id']}/complete", json={"data": {"proposal": GOOD}}, headers=as_("li")
    ).json()
    assert done["documents"]["proposal"]["plan_type"] == "annual"  # the JSON keeps the value
    page = api.get(f"/instances/{inst['id']}", headers=as_("li")).text
    documents = page.split('id="docs-h"', 1)[1].split("</section>", 1)[0]
    history = page.split('id="history-h"', 1)[1].split("</section>", 1)[0]
    for shown in (documents, history):
        assert "<dd>年度</dd>" in shown and "annual" not in shown
    review = api.get(f"/tasks/{done['tasks'][0]['id']}", headers=as_("wang")).text
    context = review.split('<section class="context"', 1)[1].split("</section>", 1)[0]
    assert "<dd>年度</dd>" in context and "annual" not in context


def test_a_number_is_taken_as_people_type_it_in_the_form(pages: TestClient) -> None:
    pages.post("/signin", data={"user": "li", "csrf": csrf_of(pages)})
    engine = pages.app.state.site.engine  # type: ignore[attr-defined]

    def draft(budget: str) -> tuple[int, str, str]:
        known = {i.id for i in engine.instances()}
        pages.post("/processes/SC-001/start", data={"csrf": csrf_of(pages, "/inbox")})
        [inst] = [i for i in engine.instances() if i.id not in known]
        task = inst.tasks[0].id
        fields = {f"data.proposal.{k}": v for k, v in {**GOOD, "budget": budget}.items()}
        done = pages.post(f"/tasks/{task}", data={**fields, "csrf": csrf_of(pages, "/inbox")})
        return done.status_code, done.text, inst.id

    for typed in ("12,000.50", "１２０００.５０", " 12000.50 "):  # separators, full width
        code, _, iid = draft(typed)
        assert code == 303, typed
        assert engine.instance(iid).documents["proposal"]["budget"] == Decimal("12000.50")
    code, html, iid = draft("12,00")  # a decimal comma or a slip: never 1200
    assert code == 422 and "「12,00」不是數字" in html  # the page's language, not the engine's
    assert 'value="12,00" type="text" inputmode="decimal" required' in html  # as typed
    assert engine.instance(iid).tasks[0].step_id == "draft"


def test_a_refusal_is_said_in_chinese_with_the_processs_titles(pages: TestClient) -> None:
    """The engine refuses in English with ids (`NotAllowed`); the page says it in Chinese,
    naming the step and the role by their titles and the person by their name."""
    pages.post("/signin", data={"user": "li", "csrf": csrf_of(pages)})
    engine = pages.app.state.site.engine  # type: ignore[attr-defined]
    pages.post("/processes/SC-001/start", data={"csrf": csrf_of(pages, "/inbox")})
    [inst] = engine.instances()
    fields = {f"data.proposal.{k}": v for k, v in GOOD.items()}
    drafted = pages.post(
        f"/tasks/{inst.tasks[0].id}", data={**fields, "csrf": csrf_of(pages, "/inbox")}
    )
    assert drafted.status_code == 303
    [review] = engine.instance(inst.id).tasks
    with pytest.raises(NotAllowed, match="li may not act on 'review': it needs the role pmm"):
        engine.complete(review.id, by=engine_user(pages, "li"), outcome="approve")
    refused = pages.post(
        f"/tasks/{review.id}", data={"outcome": "approve", "csrf": csrf_of(pages, "/inbox")}
    )
    assert refused.status_code == 403
    name = pages.app.state.site.name("li")  # type: ignore[attr-defined]
    assert f"辦理「方案審批」需要角色 產品市場部經理，{name} 沒有" in refused.text
    assert "may not act" not in refused.text and "pmm" not in refused.text.split("<main", 1)[1]
    empty = pages.post(
        f"/instances/{inst.id}/comments", data={"text": " ", "csrf": csrf_of(pages, "/inbox")}
    )
    assert empty.status_code == 303
    shown = pages.get(empty.headers["location"]).text  # the flash, on the page it goes back to
    assert "無法加入評論：評論是空的" in shown and "is empty" not in shown
    gone = pages.get("/tasks/" + inst.id + ".99")
    assert gone.status_code == 404 and f"任務「{inst.id}.99」已經完成、撤回或不存在" in gone.text
    # wang holds pmm, not the role SC-001 starts with: the process is named by its title
    pages.post("/signin", data={"user": "wang", "csrf": csrf_of(pages)})
    refused_start = pages.post("/processes/SC-001/start", data={"csrf": csrf_of(pages, "/inbox")})
    shown = pages.get(refused_start.headers["location"]).text
    assert "無法發起：市場調研策劃流程 須由角色 市場經理 發起" in shown, shown
    assert "無法完成" not in shown and "may not start" not in shown


def engine_user(pages: TestClient, uid: str) -> Any:
    return pages.app.state.site.staff.user(uid)  # type: ignore[attr-defined]
