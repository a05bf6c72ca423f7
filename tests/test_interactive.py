"""procflow run: an interactive walk through a process that resumes after quitting."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from procflow.cli.main import main
from procflow.runtime.codec import decode
from procflow.store import SQLiteStore
from procflow.testing.scenario import Act, Scenario, load_scenario

PROCESS = Path(__file__).parent / "fixtures" / "valid" / "approval.yaml"


def run(db: Path, keys: str) -> str:
    result = CliRunner().invoke(main, ["run", str(PROCESS), "--db", str(db)], input=keys)
    assert result.exit_code == 0, result.output
    return result.output


def test_walk_validate_and_resume(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    # start, draft with a bad budget (asked again), then review
    out = run(db, "s\n1\nannual\nabc\n1200.50\n\n1\napprove\nh\nq\n")
    assert "✓ started" in out
    assert "✗ proposal.budget" in out  # 'abc' is not money: the field is asked again
    assert out.count("✓ done") == 2
    assert "task_completed" in out  # the history screen
    # quitting and running again resumes: the next task is the budget approval
    again = run(db, "q\n")
    assert "預算審批 (budget_approval)" in again
    assert "制定計劃 (draft)" not in again


def test_clock_advances_and_persists(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    out = run(db, "a\n2 hours\nq\n")
    assert "✓ now" in out
    moved = out.split("✓ now ")[1][:16]
    again = run(db, "q\n")
    assert f"── {moved} ──" in again


def test_end_of_input_stops_cleanly_and_keeps_the_state(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    args = ["run", str(PROCESS), "--db", str(db)]
    cut = CliRunner().invoke(main, args, input="s\n1\nannual\n")  # input ends mid-form
    assert cut.exit_code == 1
    assert "Aborted!" not in cut.output
    assert f"every step completed is kept in {db}" in cut.output
    assert "制定計劃 (draft)" in run(db, "q\n")  # the instance started before is there


def test_a_damaged_state_file_is_one_line_not_an_internal_error(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_text("not a database")
    result = CliRunner().invoke(main, ["run", str(PROCESS), "--db", str(db)], input="q\n")
    assert result.exit_code == 1
    assert "file is not a database" in result.output
    assert "internal error" not in result.output


def test_a_broken_file_beside_the_process_does_not_stop_it(tmp_path: Path) -> None:
    folder = tmp_path / "processes"
    shutil.copytree(PROCESS.parent, folder, ignore=shutil.ignore_patterns("scenarios"))
    (folder / "broken.yaml").write_text('procflow: 1\nid: "X\n', encoding="utf-8")
    args = ["run", str(folder / PROCESS.name), "--db", str(tmp_path / "state.db")]
    result = CliRunner().invoke(main, args, input="s\nq\n")
    assert result.exit_code == 0, result.output  # was 1, with broken.yaml's PF103
    assert "✓ started" in result.output
    assert f"1 problem in other files under {folder}, which APPROVAL does not use" in result.output
    (folder / PROCESS.name).write_text("procflow: 1\nid: APPROVAL\n", encoding="utf-8")
    assert CliRunner().invoke(main, args, input="q\n").exit_code == 1  # its own problems stop it


FORM = """procflow: 1
id: P
title: 計劃
actors: {mm: 市場經理, pmm: 產品經理}
documents:
  plan:
    title: 計劃
    fields:
      kind: {type: choice, of: [annual, monthly], titles: {annual: 年度}}
      items:
        type: list
        fields:
          customer: text
          amount: {type: money, min: 0}
steps:
  - {id: draft, title: 制定, actor: mm, fills: plan}
  - {id: read, title: 閱, actor: pmm}
"""


def walk(
    tmp_path: Path, text: str, keys: str, *args: str, clock: str = ""
) -> tuple[str, dict[str, Any]]:
    """``procflow run`` of the process ``text`` with these keys (and ``args``), from
    ``clock`` when given: the output, and the documents of the instance it started first."""
    process, db = tmp_path / "p.yaml", tmp_path / "s.db"
    process.write_text(text, encoding="utf-8")
    if clock:
        db.with_name("s.db.clock.json").write_text(json.dumps({"now": clock}))
    result = CliRunner().invoke(main, ["run", str(process), "--db", str(db), *args], input=keys)
    assert result.exit_code == 0, result.output
    with SQLiteStore(db) as store:
        first = min(store.instances(), key=lambda row: row.started_at, default=None)
        if first is None:
            return result.output, {}
        return result.output, dict(decode(store.load(first.instance_id)[1]).documents)


def walk_form(tmp_path: Path, keys: str) -> tuple[str, dict[str, object]]:
    """``procflow run`` of `FORM` with these keys: the output and the plan stored."""
    out, documents = walk(tmp_path, FORM, keys)
    return out, documents.get("plan", {})


def test_a_field_is_checked_as_it_is_typed_and_a_choice_takes_its_title(tmp_path: Path) -> None:
    # a wrong choice is refused before the next field is asked; 年度 stands for annual
    out, plan = walk_form(tmp_path, "s\n1\nyearly\n年度\nn\nq\n")
    assert "[annual 年度/monthly]" in out
    assert "✗ plan.kind: should be one of annual, monthly, not 'yearly'" in out
    assert out.index("✗ plan.kind") < out.index("plan.items")
    assert plan == {"kind": "annual", "items": []}


def test_line_items_are_asked_row_by_row(tmp_path: Path) -> None:
    rows = "y\nACME\nabc\n1200\ny\nBeta\n-5\n50\nn\n"
    out, plan = walk_form(tmp_path, f"s\n1\nmonthly\n{rows}q\n")
    assert "✗ plan.items[0].amount: 'abc' is not a number" in out
    assert "✗ plan.items[1].amount: must be at least 0" in out
    assert plan == {
        "kind": "monthly",
        "items": [{"customer": "ACME", "amount": "1200"}, {"customer": "Beta", "amount": "50"}],
    }


EACH = """procflow: 1
id: E
title: 各自
actors: {ka: 大客戶經理, mm: 市場經理}
steps:
  - {id: collect, title: 收集, actor: ka, for_each: member}
  - {id: sum, title: 匯總, actor: mm}
"""


def test_a_for_each_member_task_is_acted_on_by_its_member(tmp_path: Path) -> None:
    # each member's task names that member, not a role: it was taken as a role and
    # 'act as' had nobody to offer (an IndexError's traceback)
    out, _ = walk(tmp_path, EACH, "s\n\n1\n1\n1\nq\n", "--member", "ka=wu,zheng")
    assert out.count("✓ done") == 3
    assert "— mm" in out  # the market manager's task is open


OPTIONAL = """procflow: 1
id: O
title: 可選
actors: {mm: 市場經理, pmm: 產品經理, gm: 總經理}
documents:
  plan: {title: 計劃, fields: {content: text}}
steps:
  - {id: report, title: 上報, actor: mm, optional: true, fills: plan}
  - {id: approve, title: 會簽, sign: {all_of: [pmm, gm]}}
"""


def test_an_optional_step_can_be_done_and_a_sign_off_offers_sign(tmp_path: Path) -> None:
    # Enter at each outcome: 'done' for the optional step (its only outcome is 'skip',
    # which was the one choice, so it could never be done), 'sign' for each signer
    out, documents = walk(tmp_path, OPTIONAL, "s\n1\n\n新招牌\n1\n\n1\n\nq\n")
    assert "outcome (done, skip) [done]" in out
    assert "outcome (sign) [sign]" in out
    assert out.count("✓ done") == 3
    assert "O 可選  completed" in out
    assert documents["plan"] == {"content": "新招牌"}


REDRAFT = """procflow: 1
id: R
title: 重擬
actors: {mm: 市場經理, pmm: 產品經理}
documents:
  plan:
    title: 計劃
    fields:
      content: text
      urgent: {type: yesno, default: false}
      items: {type: list, fields: {customer: text}}
steps:
  - {id: draft, title: 制定, actor: mm, fills: plan}
  - {id: review, title: 審, actor: pmm, decide: {approve: next, revise: draft}}
"""


def test_a_field_offers_its_default_and_a_redraft_what_it_holds(tmp_path: Path) -> None:
    draft = "1\n競品調研\n\ny\nACME\nn\n"  # Enter takes urgent's default (it was refused)
    redraft = "1\n\nyes\n\n"  # Enter keeps the content and the rows; urgent changes
    out, documents = walk(tmp_path, REDRAFT, f"s\n{draft}1\nrevise\n{redraft}1\napprove\nq\n")
    assert "plan.urgent [yes/no] [no]:" in out
    assert "plan.content [text] [競品調研]:" in out
    assert "keep the 1 row(s) it has? (y/n) [y]:" in out
    assert "R 重擬  completed" in out
    assert documents["plan"] == {
        "content": "競品調研",
        "urgent": True,
        "items": [{"customer": "ACME"}],
    }


RULE = """procflow: 1
id: H
title: 年終
actors: {hr: 人事部, gm: 總經理}
documents:
  appraisal: {title: 考評, fields: {months_a: number, months_b: number}}
steps:
  - id: history
    title: 歷史記錄
    actor: hr
    fills: appraisal
    requires:
      - that: appraisal.months_a + appraisal.months_b <= 12
        message: A、B月數合計不能超過12個月
  - {id: sign, title: 簽字, actor: gm}
"""


def test_a_rule_across_fields_asks_the_answers_again(tmp_path: Path) -> None:
    # 10 + 5 breaks the rule: the form is asked again with 10 and 5 offered (Enter
    # keeps months_a); it was dropped, and the task left with nothing said
    out, documents = walk(tmp_path, RULE, "s\n1\n10\n5\ny\n\n2\n1\nq\n")
    assert "✗ A、B月數合計不能超過12個月" in out
    assert "appraisal.months_a [number] [10]:" in out
    assert out.count("✓ done") == 2
    assert documents["appraisal"] == {"months_a": "10", "months_b": "2"}


def test_a_rule_that_cannot_be_met_leaves_the_task_open_and_says_so(tmp_path: Path) -> None:
    out, _ = walk(tmp_path, RULE, "s\n1\n10\n5\nn\nq\n")
    assert "the task stays open" in out
    assert "歷史記錄 (history)" in out.rsplit("✗", 1)[1]  # listed again, open


ASSIGNED = """procflow: 1
id: A
title: 指派
actors: {hr: 人事部, employee: 員工, mm: 市場經理}
documents:
  appraisal: {title: 考核表, fields: {employee: user, trainees: {type: list, of: user}}}
steps:
  - {id: name, title: 指定, actor: hr, fills: appraisal}
  - {id: own, title: 自評, actor: employee, assignee: appraisal.employee}
  - {id: survey, title: 調查, actor: mm, for_each: appraisal.trainees}
"""


def test_a_person_a_form_names_acts_on_the_task_for_them(tmp_path: Path) -> None:
    # xiaozhang and xiaoma are named on the form, not pretend members of a role: their
    # tasks stopped procflow run with an internal error (KeyError)
    out, _ = walk(tmp_path, ASSIGNED, "s\n1\nxiaozhang\nxiaoma\n1\n1\nq\n")
    assert "自評 (own) — xiaozhang" in out  # whose task it is
    assert "A 指派  completed" in out


TYPES = """procflow: 1
id: T
title: 類型
actors: {mm: 市場經理}
documents:
  form:
    title: 表
    fields:
      day: date
      at: datetime
      signed: yesno
      done: percent
      attendees: {type: list, of: user}
      checks: {type: list, of: yesno}
      note: {type: text, required: false}
steps:
  - {id: fill, title: 填, actor: mm, fills: form}
"""


def test_each_prompt_says_what_to_type_and_takes_it(tmp_path: Path) -> None:
    # 'true' was refused by a message asking for true/false; 張三，李四 (a Chinese comma)
    # was one user id; a list of yes/no took no yes/no at all
    typed = "2026/3/5\n2026-03-05\n2026-03-05 09:30\ntrue\n85%\n張三，李四、王五\nyes, 否\n\n"
    out, documents = walk(tmp_path, TYPES, f"s\n1\n{typed}q\n")
    for shown in (
        "form.day [date YYYY-MM-DD]",
        "form.at [date and time YYYY-MM-DD HH:MM]",
        "form.signed [yes/no]",
        "form.done [percent, 85 for 85%]",
        "form.attendees [user id, several separated by commas]",
        "form.note [text, Enter for none]",
    ):
        assert shown in out
    assert "✗ form.day: '2026/3/5' is not a date (YYYY-MM-DD)" in out
    assert documents["form"] == {
        "day": "2026-03-05",
        "at": "2026-03-05T09:30:00",
        "signed": True,
        "done": "85",
        "attendees": ["張三", "李四", "王五"],
        "checks": [True, False],
    }


READS = """procflow: 1
id: RD
title: 審批
actors: {mm: 市場經理, pmm: 產品經理, ka: 大客戶經理}
documents:
  plan:
    title: 計劃
    fields:
      kind: {type: choice, of: [annual, monthly], titles: {annual: 年度}}
      budget: {type: money, title: 預算}
      items: {type: list, title: 明細, fields: {customer: {type: text, title: 客戶}, note: text}}
  findings: {title: 調研資料, fields: {needs: {type: text, title: 需求}}}
steps:
  - {id: draft, title: 制定, actor: mm, fills: plan}
  - {id: research, title: 調研, actor: ka, for_each: member, fills: findings}
  - id: review
    title: 審
    actor: pmm
    reads: [plan, findings]
    decide: {approve: next, revise: draft}
"""


def test_a_task_shows_the_documents_it_reads(tmp_path: Path) -> None:
    keys = "s\n1\n年度\n1200.50\ny\nACME\n急\nn\n1\n價格\n1\n售後\n1\napprove\nq\n"
    out, _ = walk(tmp_path, READS, keys, "--member", "ka=wu,zheng")
    # the approver saw nothing of what they approve
    shown = out.rsplit("(review) — pmm", 1)[1].split("outcome", 1)[0]
    for line in ("《計劃》", "kind: annual 年度", "預算: 1200.50", "明細:", "- 客戶 ACME, note 急"):
        assert line in shown
    assert "《調研資料》" in shown
    assert shown.index("· wu") < shown.index("需求: 價格") < shown.index("· zheng")
    assert shown.index("需求: 售後") > shown.index("· zheng")


TIMED = """procflow: 1
id: D
title: 期限
actors: {hr: 人事部, employee: 員工}
steps:
  - {id: publish, title: 公布, actor: hr}
  - id: respond
    title: 確認或申訴
    actor: employee
    decide: {accept: next, appeal: next}
    deadline: {due: 2 days, expire: accept}
"""


def test_the_clock_moves_to_a_moment_and_says_what_its_deadlines_did(tmp_path: Path) -> None:
    # a moment was refused with a hint about deadlines ('before the 25th of each month'),
    # which the prompt refused in turn; and the respond task went without a word
    keys = "s\n1\na\ntomorrow\na\n2026-03-01\na\n2026-03-05 09:00\nq\n"
    out, _ = walk(tmp_path, TIMED, keys, clock="2026-03-02T09:00:00")
    assert "✗ 'tomorrow' is neither a duration" in out
    assert "✗ the clock does not go back: it is 2026-03-02 09:00" in out
    assert "✓ now 2026-03-05 09:00" in out
    assert "D · respond (" in out
    assert ") is overdue" in out
    assert ") was closed by its deadline: accept" in out
    assert "D 期限  completed" in out


def test_a_session_runs_its_process_and_those_it_hands_off_to_only(tmp_path: Path) -> None:
    folder = tmp_path / "processes"
    folder.mkdir()
    (folder / "P.yaml").write_text(
        "procflow: 1\nid: P\ntitle: 起\nactors: {mm: 市場經理}\nsteps:\n"
        "  - {id: draft, title: 擬, actor: mm}\n  - handoff: Q\n",
        encoding="utf-8",
    )
    (folder / "Q.yaml").write_text(
        "procflow: 1\nid: Q\ntitle: 續\nactors: {mm: 市場經理}\n"
        "schedule: {every: month, day: 1, by: mm}\nsteps:\n  - {id: go, title: 辦, actor: mm}\n",
        encoding="utf-8",
    )
    (folder / "S.yaml").write_text(
        "procflow: 1\nid: S\ntitle: 月報\nactors: {hr: 人事部}\n"
        "schedule: {every: month, day: 1, by: hr}\n"
        "steps:\n  - {id: report, title: 報, actor: hr}\n",
        encoding="utf-8",
    )
    db = tmp_path / "s.db"
    db.with_name("s.db.clock.json").write_text('{"now": "2026-03-02T09:00:00"}')
    args = ["run", str(folder / "P.yaml"), "--db", str(db)]
    result = CliRunner().invoke(main, args, input="s\n1\na\n2026-04-01 09:00\nq\n")
    assert result.exit_code == 0, result.output
    assert "Q 續  running" in result.output  # the hand-off
    assert "Q started by its schedule" in result.output  # its own schedule runs
    # S, elsewhere in the folder, started on the 1st: its tasks among P's
    assert "S 月報" not in result.output
    # an S started in the same state file is S's session's: P's does not list it (acting
    # on its task in P's session stopped with an internal error, S's roles unknown there)
    s_run = CliRunner().invoke(
        main, ["run", str(folder / "S.yaml"), "--db", str(db)], input="s\nq\n"
    )
    assert "S · 報 (report)" in s_run.output
    again = CliRunner().invoke(main, args, input="1\nq\n")
    assert again.exit_code == 0, again.output
    assert "S 月報" not in again.output


# -- every process of processes/, walked by an analyst who follows its scenarios ---------

PROCESSES = Path(__file__).parent.parent / "processes"


def _as_typed(value: object) -> str:
    """A scenario's value as an analyst types it at a prompt."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(_as_typed(item) for item in value)
    return str(value)


class Stuck(Exception):
    """The analyst cannot answer: a prompt the scenario gives no answer to, or asked again
    and again."""


class Analyst:
    """Answers `procflow run`'s prompts (in click.prompt's place) as a scenario acts: its
    starts, steps (as its users, with its outcomes and data) and clock moves; acts that
    must fail are left out, and so are a start's documents, which `procflow run` does not
    ask for. Every screen's tasks are read from what the session shows."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.acts = [a for a in scenario.acts if a.error is None and (a.start or a.do or a.advance)]
        self.act: Act | None = None
        self.queued: list[str] = []
        self.rows: dict[str, int] = {}
        self.asked = 0
        self.screen: list[str] = []

    def prompt(self, text: str, default: object = None, type: object = None, **_: object) -> object:
        self.asked += 1
        if self.asked > 2000:
            raise Stuck(f"over 2000 prompts; the last: {text!r}")
        answer = self.answer(text.strip())
        click.echo(f"{text}: {answer}")
        if answer == "":
            if default is None:
                raise Stuck(f"{text!r} needs an answer the scenario does not give")
            answer = str(default)
        try:
            return click.types.convert_type(type, default).convert(answer, None, None)
        except click.BadParameter as exc:
            raise Stuck(f"{text!r} refused {answer!r}: {exc}") from exc

    def answer(self, text: str) -> str:
        if self.queued:
            return self.queued.pop(0)
        if text.startswith("task number"):  # the screen above it: what click.echo wrote
            sys.stdout.flush()
            shown = sys.stdout.buffer.getvalue().decode()  # CliRunner's output: a BytesIO
            self.screen = shown.rsplit("\n── ", 1)[-1].splitlines()
            return self.next_act()
        act = self.act
        assert act is not None, text
        if text.startswith("act as"):
            return act.by or (act.start.by if act.start else "")
        if text == "outcome":
            return act.outcome or ""
        data = act.data if act.do else {}
        path = text.split(" ", maxsplit=1)[0].rstrip(":")
        doc, _, name = path.partition(".")
        if "row(s) it has?" in text:
            return "no"  # the scenario gives every row again
        if "row?" in text:  # one more row while the scenario's rows last
            done = self.rows[path] = self.rows.get(path, -1) + 1
            return "yes" if done < len(data.get(doc, {}).get(name) or []) else "no"
        if "[" in name:
            name, _, rest = name.partition("[")
            index, _, item = rest.partition("].")
            return _as_typed(data.get(doc, {}).get(name)[int(index)].get(item))
        return _as_typed(data.get(doc, {}).get(name))

    def next_act(self) -> str:
        while self.acts:
            act = self.act = self.acts.pop(0)
            self.rows = {}
            if act.start:
                return "s"
            if act.advance:
                self.queued.append(act.advance)
                return "a"
            return self.task_number(act)
        return "q"

    def task_number(self, act: Act) -> str:
        """The number the screen shows for the act's task: its step and process, for the
        act's user (a member named on it, or one holding its role), the act's item-th."""
        process = act.process or self.scenario.process
        roles = set(self.scenario.users.get(act.by or "", []))
        lines = [line for line in self.screen if f" {process} · " in line]
        lines = [line for line in lines if f"({act.do}) — " in line]
        if act.item is not None:  # the item-th task of the step
            found = lines[act.item :]
        else:  # the act's user's: named on it, else holding its role
            whose = [line.split(" — ")[1].split("  ")[0].split(", ") for line in lines]
            found = [ln for ln, who in zip(lines, whose, strict=True) if act.by in who]
            found = found or [ln for ln, who in zip(lines, whose, strict=True) if roles & set(who)]
        if not found:
            raise Stuck(f"no open task for {process} {act.do} on the screen")
        return found[0].split("]")[0].strip(" [")


def _ending(process: Path) -> list[Path]:
    """The scenarios of ``process`` whose instance ends completed."""
    found = []
    for path in sorted((process.parent / "scenarios").glob(f"{process.stem}.*.yaml")):
        scenario = load_scenario(path)[0]
        if scenario and scenario.expect and scenario.expect.status == "completed":
            found.append(path)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("process", sorted(PROCESSES.glob("*.yaml")), ids=lambda p: p.stem)
def test_procflow_run_walks_every_process_to_its_end(
    process: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each scenario of the process that ends completed, acted out at `procflow run`'s
    prompts (its own users as --member, its clock as the saved clock), ends so there."""
    scenarios = _ending(process)
    assert scenarios, f"{process.name} has no scenario that ends completed to walk it by"
    for path in scenarios:
        scenario = load_scenario(path)[0]
        assert scenario is not None
        analyst = Analyst(scenario)
        monkeypatch.setattr(click, "prompt", analyst.prompt)
        # the memory store (the walk is one run), the clock file where it then lives
        monkeypatch.chdir(tmp_path)
        clock = tmp_path / ".procflow" / f"{scenario.process}.db.clock.json"
        clock.parent.mkdir(exist_ok=True)
        start = datetime.fromisoformat(scenario.clock)
        clock.write_text(json.dumps({"now": start.isoformat()}))
        members: dict[str, list[str]] = {}
        for user, roles in scenario.users.items():
            for role in roles:
                members.setdefault(role, []).append(user)
        args = ["run", str(process), "--store", "memory:"]
        args += [f"--member={role}={','.join(users)}" for role, users in members.items()]
        result = CliRunner().invoke(main, args)
        tail = result.output[-4000:]
        assert result.exception is None, f"{path.name}: {result.exception!r}\n{tail}"
        assert result.exit_code == 0, f"{path.name}\n{tail}"
        started = result.output.split("✓ started ", 1)[1].split()[0]
        last = result.output.rsplit("\n── ", 1)[1]  # the screen the walk ends on
        [shown] = [line for line in last.splitlines() if f"instance {started} " in line]
        assert shown.split("  ")[-1].startswith("completed"), f"{path.name}: {shown}\n{tail}"


def test_a_number_is_read_as_people_type_it_and_never_misread(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    # 12,00 (a decimal comma, or a slip) is refused, not read as 1200; 1,200.50 is 1200.50
    out = run(db, "s\n1\nannual\n12,00\n１,２００.５０\n\nq\n")
    assert "✗ proposal.budget: '12,00' is not a number" in out
    with SQLiteStore(db) as store:
        [row] = store.instances()
        proposal = decode(store.load(row.instance_id)[1]).documents["proposal"]
    assert str(proposal["budget"]) == "1200.50"
