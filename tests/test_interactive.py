"""procflow run: an interactive walk through a process that resumes after quitting."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from procflow.cli.main import main
from procflow.runtime.codec import decode
from procflow.store import SQLiteStore

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


def walk_form(tmp_path: Path, keys: str) -> tuple[str, dict[str, object]]:
    """``procflow run`` of `FORM` with these keys: the output and the plan stored."""
    process, db = tmp_path / "p.yaml", tmp_path / "s.db"
    process.write_text(FORM, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(process), "--db", str(db)], input=keys)
    assert result.exit_code == 0, result.output
    with SQLiteStore(db) as store:
        [row] = store.instances()
        return result.output, decode(store.load(row.instance_id)[1]).documents.get("plan", {})


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
    process, db = tmp_path / "e.yaml", tmp_path / "s.db"
    process.write_text(EACH, encoding="utf-8")
    args = ["run", str(process), "--db", str(db), "--member", "ka=wu,zheng"]
    # each member's task names that member, not a role: it was taken as a role and
    # 'act as' had nobody to offer (an IndexError's traceback)
    result = CliRunner().invoke(main, args, input="s\n\n1\n1\n1\nq\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("✓ done") == 3
    assert "— mm" in result.output  # the market manager's task is open


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
    process, db = tmp_path / "o.yaml", tmp_path / "s.db"
    process.write_text(OPTIONAL, encoding="utf-8")
    # Enter at each outcome: 'done' for the optional step (its only outcome is 'skip',
    # which was the one choice, so it could never be done), 'sign' for each signer
    keys = "s\n1\n\n新招牌\n1\n\n1\n\nq\n"
    result = CliRunner().invoke(main, ["run", str(process), "--db", str(db)], input=keys)
    assert result.exit_code == 0, result.output
    assert "outcome (done, skip) [done]" in result.output
    assert "outcome (sign) [sign]" in result.output
    assert result.output.count("✓ done") == 3
    assert "O 可選  completed" in result.output
    with SQLiteStore(db) as store:
        [row] = store.instances()
        assert decode(store.load(row.instance_id)[1]).documents["plan"] == {"content": "新招牌"}


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
    process, db = tmp_path / "r.yaml", tmp_path / "s.db"
    process.write_text(REDRAFT, encoding="utf-8")
    draft = "1\n競品調研\n\ny\nACME\nn\n"  # Enter takes urgent's default (it was refused)
    redraft = "1\n\nyes\n\n"  # Enter keeps the content and the rows; urgent changes
    keys = f"s\n{draft}1\nrevise\n{redraft}1\napprove\nq\n"
    result = CliRunner().invoke(main, ["run", str(process), "--db", str(db)], input=keys)
    assert result.exit_code == 0, result.output
    assert "plan.urgent [yes/no] [no]:" in result.output
    assert "plan.content [text] [競品調研]:" in result.output
    assert "keep the 1 row(s) it has? (y/n) [y]:" in result.output
    assert "R 重擬  completed" in result.output
    with SQLiteStore(db) as store:
        [row] = store.instances()
        plan = decode(store.load(row.instance_id)[1]).documents["plan"]
    assert plan == {"content": "競品調研", "urgent": True, "items": [{"customer": "ACME"}]}


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
    process, db = tmp_path / "h.yaml", tmp_path / "s.db"
    process.write_text(RULE, encoding="utf-8")
    # 10 + 5 breaks the rule: the form is asked again with 10 and 5 offered (Enter
    # keeps months_a); it was dropped, and the task left with nothing said
    keys = "s\n1\n10\n5\ny\n\n2\n1\nq\n"
    result = CliRunner().invoke(main, ["run", str(process), "--db", str(db)], input=keys)
    assert result.exit_code == 0, result.output
    assert "✗ A、B月數合計不能超過12個月" in result.output
    assert "appraisal.months_a [number] [10]:" in result.output
    assert result.output.count("✓ done") == 2
    with SQLiteStore(db) as store:
        [row] = store.instances()
        assert decode(store.load(row.instance_id)[1]).documents["appraisal"] == {
            "months_a": "10",
            "months_b": "2",
        }


def test_a_rule_that_cannot_be_met_leaves_the_task_open_and_says_so(tmp_path: Path) -> None:
    process, db = tmp_path / "h.yaml", tmp_path / "s.db"
    process.write_text(RULE, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["run", str(process), "--db", str(db)], input="s\n1\n10\n5\nn\nq\n"
    )
    assert result.exit_code == 0, result.output
    assert "the task stays open" in result.output
    assert "歷史記錄 (history)" in result.output.rsplit("✗", 1)[1]  # listed again, open


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
    process, db = tmp_path / "a.yaml", tmp_path / "s.db"
    process.write_text(ASSIGNED, encoding="utf-8")
    # xiaozhang and xiaoma are named on the form, not pretend members of a role: their
    # tasks stopped procflow run with an internal error (KeyError)
    keys = "s\n1\nxiaozhang\nxiaoma\n1\n1\nq\n"
    result = CliRunner().invoke(main, ["run", str(process), "--db", str(db)], input=keys)
    assert result.exit_code == 0, result.output
    assert "自評 (own) — xiaozhang" in result.output  # whose task it is
    assert "A 指派  completed" in result.output


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
    process, db = tmp_path / "t.yaml", tmp_path / "s.db"
    process.write_text(TYPES, encoding="utf-8")
    # 'true' was refused by a message asking for true/false; 張三，李四 (a Chinese comma)
    # was one user id; a list of yes/no took no yes/no at all
    typed = "2026/3/5\n2026-03-05\n2026-03-05 09:30\ntrue\n85%\n張三，李四、王五\nyes, 否\n\n"
    result = CliRunner().invoke(
        main, ["run", str(process), "--db", str(db)], input=f"s\n1\n{typed}q\n"
    )
    assert result.exit_code == 0, result.output
    for shown in (
        "form.day [date YYYY-MM-DD]",
        "form.at [date and time YYYY-MM-DD HH:MM]",
        "form.signed [yes/no]",
        "form.done [percent, 85 for 85%]",
        "form.attendees [user id, several separated by commas]",
        "form.note [text, Enter for none]",
    ):
        assert shown in result.output
    assert "✗ form.day: '2026/3/5' is not a date (YYYY-MM-DD)" in result.output
    with SQLiteStore(db) as store:
        [row] = store.instances()
        form = decode(store.load(row.instance_id)[1]).documents["form"]
    assert form == {
        "day": "2026-03-05",
        "at": "2026-03-05T09:30:00",
        "signed": True,
        "done": "85",
        "attendees": ["張三", "李四", "王五"],
        "checks": [True, False],
    }
