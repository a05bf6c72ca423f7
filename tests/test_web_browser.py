"""``procflow serve`` used as people use it: Debian's chromium, driven by Playwright.

One server (the real command, in a child process) over a copy of
``processes/`` with one more process whose titles hold ``<script>``, a
people file, the demo sign-in and the test clock. Each person works in a
browser context of their own. Screenshots of every page go to
``build/screenshots/web/``, and axe-core (from node_modules, installed by
``scripts/setup --dev``) checks every page for accessibility problems; what
it finds is written to ``build/screenshots/web/axe.json``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.needs import missing
from tests.test_render_browser import ARGS, CHROMIUM, MEASURE, _playwright, clashes

pytestmark = [pytest.mark.slow, pytest.mark.graphviz]

ROOT = Path(__file__).parent.parent
SHOTS = ROOT / "build" / "screenshots" / "web"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PEOPLE = """
people:
  li: {name: 李明, roles: [market_manager]}
  wang: {name: 王芳, roles: [pmm]}
  zhao: {name: 趙強, roles: [division_gm]}
  chen: {name: 陳總, roles: [gm]}
  sun: {name: 孫工, roles: [cto]}
  zhou: {name: 周經理, roles: [ka_head]}
  xu: {name: 許兼, roles: [market_manager, pmm]}
  ding: {name: 丁文員, roles: [clerk]}
  admin: {name: 管理員, roles: [process_admin]}
administrators: [process_admin]
"""
HOSTILE = """procflow: 1
id: WEB-1
title: "備忘<script>alert('title')</script>"
actors: {clerk: "文員<script>alert('actor')</script>"}
documents:
  memo:
    title: "備忘錄<img src=x onerror=alert('doc')>"
    fields:
      note: {type: text, title: "內容<script>alert('field')</script>"}
steps:
  - id: write
    title: "撰寫<b>備忘</b>"
    actor: clerk
    fills: memo
    deadline: {due: 1 day}
  - id: read
    title: 閱讀
    actor: clerk
    reads: memo
"""
EACH = """procflow: 1
id: WEB-2
title: 每人計劃（最多退回兩次）
actors: {market_manager: 市場經理, pmm: 產品市場部經理}
documents:
  plan:
    title: 個人計劃
    fields:
      kind: {type: choice, title: 計劃類別, of: [annual, monthly], titles: {monthly: 月度計劃}}
      total: {type: money, title: 金額}
steps:
  - {id: ask, title: 發起計劃, actor: pmm}
  - {id: draft, title: 各自填寫計劃, actor: market_manager, for_each: member, fills: plan}
  - id: review
    title: 審核計劃
    actor: pmm
    reads: plan
    decide:
      approve: next
      revise: {to: draft, at_most: 2, end: refused}
"""
PROPOSAL = {
    "plan_type": "annual",
    "content": "2026年度軌道信號產品市場調研",
    "method": "問卷調查與客戶走訪",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("dot") is None:
        missing("the Graphviz binary 'dot'")
    home = tmp_path_factory.mktemp("serve")
    folder = home / "processes"
    shutil.copytree(ROOT / "processes", folder)
    (folder / "WEB-1.yaml").write_text(HOSTILE, encoding="utf-8")
    (folder / "WEB-2.yaml").write_text(EACH, encoding="utf-8")
    (home / "people.yaml").write_text(PEOPLE, encoding="utf-8")
    port = _free_port()
    argv = [
        sys.executable, "-m", "procflow.cli.main", "serve", str(folder), "--org", "people.yaml",
        "--demo", "--test-clock", "2026-03-02T09:00:00", "--port", str(port),
        "--store", f"sqlite:///{home / 'web.db'}", "--blobs", str(home / "blobs"),
    ]  # fmt: skip
    log = (home / "serve.log").open("w")
    child = subprocess.Popen(argv, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/signin", timeout=2) as answer:  # noqa: S310
                    assert answer.status == 200
                break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "procflow serve did not start:\n" + (home / "serve.log").read_text()
                    )
                time.sleep(0.3)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=20)
        log.close()


class People:
    """A browser, and one context (cookies, session) per person."""

    def __init__(self, browser: Any, url: str) -> None:
        self.browser = browser
        self.url = url
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.statuses: list[tuple[int, str]] = []
        self.axe: dict[str, list[dict[str, Any]]] = {}

    def page(self, user: str) -> Any:
        context = self.browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="zh-TW", bypass_csp=True
        )
        page = context.new_page()
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: self.statuses.append((r.status, r.url)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.sign_in(page, user)
        return page

    def sign_in(self, page: Any, user: str) -> None:
        page.goto(self.url + "/signin")
        page.click(f"button.person[value='{user}']")
        page.wait_for_url("**/inbox")

    def shot(self, page: Any, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        # a diagram on a page (a process, an instance's way) keeps its text apart
        assert clashes(page.evaluate(MEASURE)) == [], name
        page.add_script_tag(path=str(AXE))
        found = page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']}))
                 .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"""
        )
        self.axe[name] = found


@pytest.fixture(scope="module")
def people(server: str) -> Iterator[People]:
    sync = _playwright()
    if not AXE.exists():
        missing("axe-core (scripts/setup --dev runs npm install)")
    with sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        crowd = People(browser, server)
        yield crowd
        browser.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "axe.json").write_text(json.dumps(crowd.axe, ensure_ascii=False, indent=1))
    assert crowd.dialogs == [], "a script from a title or a document ran"
    # the pages answer 403 and 422 on purpose (a refusal, a bad amount), and the browser
    # logs those; anything else logged, or any other failed load, is a fault
    refused = {(s, u) for s, u in crowd.statuses if s >= 400}
    assert {s for s, _ in refused} <= {403, 422}, refused
    logged = [e for e in crowd.errors if "status of 403" not in e and "status of 422" not in e]
    assert logged == []
    grave = {
        page: [v for v in found if v["impact"] in ("critical", "serious")]
        for page, found in crowd.axe.items()
    }
    assert {k: v for k, v in grave.items() if v} == {}, "axe-core: critical or serious violations"


def open_task(page: Any, title: str) -> None:
    page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/inbox")
    page.get_by_role("link", name=title, exact=True).first.click()
    page.wait_for_url("**/tasks/**")


def choose(page: Any, outcome: str) -> None:
    page.click(f"button.outcome[value='{outcome}']")
    page.wait_for_url("**/instances/**")


def fill_proposal(page: Any, budget: str) -> None:
    page.select_option("#f-data-proposal-plan_type", PROPOSAL["plan_type"])
    page.fill("#f-data-proposal-content", PROPOSAL["content"])
    page.fill("#f-data-proposal-method", PROPOSAL["method"])
    page.fill("#f-data-proposal-budget", budget)


def draft_with_a_bad_amount_first(people: People, li: Any) -> str:
    """SC-001 started and drafted by ``li``, whose first amount is refused beside its
    field with every value kept; the instance page's URL."""
    people.shot(li, "inbox-empty")
    li.goto(people.url + "/processes")
    people.shot(li, "processes")
    li.goto(people.url + "/processes/SC-001")
    people.shot(li, "process")
    li.click("form.start button")
    li.wait_for_url("**/tasks/**")
    assert li.locator("h1").inner_text() == "制定調研計劃"
    # a bad amount comes back beside its field, with every value kept
    fill_proposal(li, "12,000元")
    li.click("button.outcome")
    error = li.locator("#f-data-proposal-budget-error")
    assert "「12,000元」不是數字" in error.inner_text()
    assert li.locator("#f-data-proposal-budget").input_value() == "12,000元"
    assert li.locator("#f-data-proposal-content").input_value() == PROPOSAL["content"]
    assert li.locator("#f-data-proposal-plan_type").input_value() == "annual"
    people.shot(li, "task-bad-amount")
    li.fill("#f-data-proposal-budget", "86000.50")
    li.click("button.outcome")
    li.wait_for_url("**/instances/**")
    assert "已完成「制定調研計劃」" in li.locator(".flash.ok").inner_text()
    return str(li.url)


def test_sc001_end_to_end_across_people(people: People) -> None:
    li, wang, chen = people.page("li"), people.page("wang"), people.page("chen")
    instance_url = draft_with_a_bad_amount_first(people, li)

    # the reviewer sends it back once, with a comment
    wang.goto(people.url + "/inbox")
    assert wang.locator("table.tasks tbody tr").count() == 1
    assert "方案審批" in wang.locator("table.tasks").inner_text()
    people.shot(wang, "inbox")
    open_task(wang, "方案審批")
    assert "86,000.50 元" in wang.locator("section.context").inner_text()  # read-only context
    people.shot(wang, "task-review")
    choose(wang, "revise")
    # sent back: the drafter's step is current again (docs/images/serve-instance.png)
    assert "draft" in (wang.locator("#diagram g.pf-current title").first.text_content() or "")
    wang.set_viewport_size({"width": 1400, "height": 960})
    wang.locator("h1").scroll_into_view_if_needed()
    wang.screenshot(path=str(SHOTS / "readme.png"))
    wang.set_viewport_size({"width": 1280, "height": 900})
    wang.fill("#comment-text", "請補充調研對象")
    wang.click("form.comment button")
    open_task(li, "制定調研計劃")
    assert li.locator("#f-data-proposal-budget").input_value() == "86000.50"  # kept from before
    li.click("button.outcome")
    li.wait_for_url("**/instances/**")
    open_task(wang, "方案審批")
    choose(wang, "approve")

    others = people.page("zhao")
    open_task(others, "預算審批")
    choose(others, "approve")
    open_task(chen, "總經理審核並簽署意見")
    choose(chen, "approve")

    # the diagram marks where it is now: the joint sign-off
    chen.goto(instance_url)
    current = chen.locator("#diagram g.node.pf-current")
    assert current.count() >= 1
    assert "countersign" in (current.first.locator("title").text_content() or "")
    assert chen.locator("#diagram g.edge.pf-taken").count() >= 5
    people.shot(chen, "instance-countersign")
    countersign_to_the_end(people, li, wang, chen, instance_url)


def countersign_to_the_end(people: People, li: Any, wang: Any, chen: Any, url: str) -> None:
    """The four heads sign; the finished instance's timeline tells who did what."""
    others = people.page("zhao")
    open_task(wang, "各部門簽準")
    choose(wang, "sign")
    open_task(chen, "各部門簽準")
    choose(chen, "sign")
    for signer in ("sun", "zhou"):
        people.sign_in(others, signer)
        open_task(others, "各部門簽準")
        choose(others, "sign")
    li.goto(url)
    assert li.locator("h1 .status").inner_text() == "已完成"
    timeline = li.locator("ol.timeline").inner_text()
    # the outcome in the process's words, as its diagram says it; never the raw id
    assert "退回修改" in timeline and "revise" not in timeline
    assert "請補充調研對象" in timeline and "王芳" in timeline
    assert "86,000.50 元" in timeline  # the data each step changed
    people.shot(li, "instance-completed")


def test_four_eyes_refusal_on_the_page(people: People) -> None:
    xu = people.page("xu")  # holds both the drafter's and the reviewer's role
    xu.goto(people.url + "/processes/SC-001")
    xu.click("form.start button")
    xu.wait_for_url("**/tasks/**")
    fill_proposal(xu, "100")
    xu.click("button.outcome")
    xu.wait_for_url("**/instances/**")
    instance_url = xu.url
    history = xu.locator("ol.timeline li").count()
    xu.goto(people.url + "/inbox")
    assert xu.get_by_role("link", name="方案審批").count() == 0  # not offered in the inbox
    xu.goto(instance_url)
    xu.locator("ul.open a", has_text="方案審批").click()
    assert "不在你的收件箱" in xu.locator(".flash.warn").inner_text()
    xu.click("button.outcome[value='approve']")
    refusal = xu.locator("#refusal")
    assert "四眼原則" in refusal.inner_text()
    people.shot(xu, "task-four-eyes")
    xu.goto(instance_url)
    assert xu.locator("ol.timeline li").count() == history  # nothing changed


def test_overdue_after_the_clock_moves(people: People) -> None:
    ding = people.page("ding")
    ding.goto(people.url + "/processes/WEB-1")
    ding.click("form.start button")
    ding.wait_for_url("**/tasks/**")
    ding.goto(people.url + "/inbox?due=overdue")
    assert ding.locator("table.tasks").count() == 0
    moved = ding.request.post(people.url + "/_test/clock", data={"days": 3})
    assert moved.ok and moved.json()["fired"] >= 1
    ding.goto(people.url + "/inbox?due=overdue")
    row = ding.locator("table.tasks tbody tr.overdue")
    assert row.count() == 1 and "逾期" in row.inner_text()
    assert ding.locator(".tabs .count.warn").inner_text() == "1"
    people.shot(ding, "inbox-overdue")


def test_per_person_copies_and_a_loop_count_on_the_pages(people: People) -> None:
    wang, li, xu = people.page("wang"), people.page("li"), people.page("xu")
    wang.goto(people.url + "/processes/WEB-2")
    wang.click("form.start button")
    wang.wait_for_url("**/tasks/**")
    wang.click("button.outcome")
    wang.wait_for_url("**/instances/**")
    url = wang.url
    for round_, (who, total) in enumerate([(li, "1200"), (xu, "800.50")] * 2):
        open_task(who, "各自填寫計劃")
        if round_ == 2:  # sent back once: the task page counts the loop it is inside
            assert "退回修改：已退回1次，至多2次" in who.locator("ul.loops").inner_text()
            assert who.locator("dl.facts dd").last.inner_text() == "李明"  # whose: a name
            # the redraft opens with li's own copy from the first round
            assert who.input_value("#f-data-plan-total") == "1200"
            people.shot(who, "task-in-a-loop")
        who.select_option("#f-data-plan-kind", "monthly")
        who.fill("#f-data-plan-total", total)
        who.click("button.outcome")
        who.wait_for_url("**/instances/**")
        if round_ == 1:
            open_task(wang, "審核計劃")
            read = " ".join(wang.locator("section.context").all_inner_texts())
            assert "個人計劃（李明的一份" in read and "個人計劃（許兼的一份" in read
            assert "1,200 元" in read and "800.50 元" in read
            people.shot(wang, "task-reading-copies")
            choose(wang, "revise")
    wang.goto(url)
    assert "退回修改：已退回1次，至多2次" in wang.locator("ul.loops").inner_text()
    documents = wang.locator("section[aria-labelledby='docs-h']").inner_text()
    assert "個人計劃（李明的一份" in documents and "個人計劃（許兼的一份" in documents
    assert "1,200 元" in documents and "800.50 元" in documents
    assert documents.count("月度計劃") == 2 and "monthly" not in documents  # choice titles
    people.shot(wang, "instance-copies-and-loops")


def test_titles_and_values_stay_text(people: People) -> None:
    ding = people.page("ding")
    ding.goto(people.url + "/processes/WEB-1")
    people.shot(ding, "process-hostile-titles")
    assert "<script>alert('title')</script>" in ding.locator("h1").inner_text()
    ding.click("form.start button")
    ding.wait_for_url("**/tasks/**")
    ding.fill("#f-data-memo-note", "<script>alert('value')</script><img src=x onerror=alert(1)>")
    ding.click("button.outcome")
    ding.wait_for_url("**/instances/**")
    assert "<script>alert('value')</script>" in ding.locator("section#history").inner_text()
    people.shot(ding, "instance-hostile-values")
    assert people.dialogs == []


def test_scenario_results_page(people: People) -> None:
    page = people.page("admin")
    page.goto(people.url + "/scenarios")
    assert "0 個失敗" in page.locator(".summary").inner_text()
    assert page.locator("table.results tbody tr.pass").count() >= 100
    people.shot(page, "scenarios")
    people.sign_in(page, "li")
    page.goto(people.url + "/signin")
    people.shot(page, "signin")
