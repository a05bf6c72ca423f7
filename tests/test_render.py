"""Diagrams without the Graphviz binary: the diagram model, DOT and Mermaid text, golden
files, escaping, and the CLI when ``dot`` is missing.

Golden files live in ``tests/golden/``; ``PROCFLOW_UPDATE_GOLDEN=1 pytest tests/test_render.py``
rewrites them after a deliberate change (review the diff before committing).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import procflow
from procflow import render
from procflow.cli.main import main
from procflow.errors import RenderError
from procflow.flow.ir import HumanNode
from procflow.render import dot as dot_mod
from procflow.render import html as html_mod
from procflow.render import mermaid as mermaid_mod
from procflow.render.blocks import node_block
from procflow.render.wrapping import balanced, wrap
from tests.strategies import processes
from tests.test_language_properties import load_text, to_yaml

HERE = Path(__file__).parent
VALID = HERE / "fixtures" / "valid"
GOLDEN = HERE / "golden"
UPDATE = os.environ.get("PROCFLOW_UPDATE_GOLDEN") == "1"

NASTY = "引號\"雙\"與'單' <尖括號> & 反斜線\\N \\l \\ 結尾\\"
LONG = "長" * 100 + "名" * 100
SCRIPT = "<script>alert('x')</script>"


def nasty_process() -> procflow.Process:
    """A process whose every label tries to break some syntax."""
    q = json.dumps  # a JSON string is a YAML double-quoted scalar
    text = f"""
procflow: 1
id: NASTY
title: {q(SCRIPT + " " + NASTY)}
owner: {q("部門 <b>&amp;")}
source: {{document: {q("文件 `#quot;` %% |pipe|")}}}
actors:
  a: {q("角色 " + NASTY)}
  b: {q(LONG)}
documents:
  form:
    title: {q("表單 " + SCRIPT)}
    fields:
      kind: {{type: choice, of: ["x<y", "a\\"b"]}}
steps:
  - id: draft
    title: {q(NASTY)}
    actor: a
    fills: form
    deadline: {{due: 1 hour}}
  - id: check
    title: {q(LONG)}
    actor: b
    reads: form
    when: form.kind == "x<y"
    decide: {{ok: next, back: draft}}
  - id: done
    title: {q(SCRIPT)}
    end: finished
"""
    return procflow.loads(text, name="nasty.yaml")


def fixtures() -> procflow.Catalog:
    return procflow.load_dir(VALID)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with PROCFLOW_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; see module docstring"


@pytest.mark.parametrize("pid", ["APPROVAL", "EVERYTHING", "NEXT"])
def test_golden_dot_and_mermaid(pid: str) -> None:
    catalog = fixtures()
    titles = {k: p.title for k, p in catalog.items()}
    diagram = render.build_diagram(catalog[pid], titles=titles)
    check_golden(f"{pid}.dot", render.dot_source(diagram, link=lambda x: f"{x}.svg"))
    check_golden(f"{pid}.mmd", render.mermaid_source(diagram, link=lambda x: f"{x}.md"))


def test_golden_escaping() -> None:
    diagram = render.build_diagram(nasty_process())
    check_golden("NASTY.dot", render.dot_source(diagram))
    check_golden("NASTY.mmd", render.mermaid_source(diagram))


def test_lanes_follow_the_actors_in_order_of_appearance() -> None:
    catalog = fixtures()
    diagram = render.build_diagram(catalog["EVERYTHING"])
    assert [lane.key for lane in diagram.lanes] == [
        "ka_head",
        "pmm",
        "division_gm",
        "finance",
        "gm",
        "market_manager",
        "ka_manager",
        "customer",
        "cto",
    ]
    assert [lane.external for lane in diagram.lanes].count(True) == 1


def test_everything_is_drawn() -> None:
    catalog = fixtures()
    d = render.build_diagram(catalog["EVERYTHING"], titles={"NEXT": "下一流程"})
    nodes = {n.id: n for n in d.nodes}
    shapes = {n.shape for n in d.nodes}
    assert shapes == {
        "start", "end", "task", "decision", "branch", "fork", "join", "signer",
        "notify", "call", "handoff", "docs", "clock", "also",
    }  # fmt: skip
    # deadlines as clock notes beside their step, in Chinese
    assert nodes["ask@due"].title == "時限 每月26日" and nodes["ask@due"].beside == "ask"
    assert nodes["check@due"].title == "時限 3個工作日內"
    assert any("移交公司總經理" in line for line in nodes["check@due"].lines)
    # sign-offs: fork bar naming the signers and the rule, one node per signer, a join bar
    assert nodes["big"].lines == ["依次簽準：事業部總經理、財務經理、公司總經理"]
    assert nodes["big@signed"].title == "依次簽準 3 位"
    assert nodes["board"].lines[0].startswith("3人中2人簽準：")
    assert nodes["anyone@signed"].title == "任一簽準 1/2"
    assert [n.lane for n in d.nodes if n.id.startswith("board@sign.")] == ["gm", "cto", "ka_head"]
    # the bars of a sign-off sit in its first signer's lane, not in the lane it comes from
    assert nodes["big"].lane == nodes["big@signed"].lane == "division_gm"
    # loops back, rejection back, skip bypass, optional bypass; outcomes in Chinese
    styles = {(e.src, e.dst): (e.style, e.label) for e in d.edges}
    assert styles["check", "ask"] == ("back", "退回")
    assert styles["big@signed", "ask"] == ("back", "駁回（退回）")
    assert styles["check", "stopped"] == ("flow", "終止")
    assert nodes["check@due"].lines[-1] == "到期後2天自動「退回」"
    assert nodes["stopped"].lines == ["結果：已駁回"]
    assert styles["route", "big"][1] == 'request.amount > 2000 && request.kind == "service"'
    assert styles["route", "small"][1] == "否則"
    assert render.Edge("train", "done_check", "bypass", "不需要") in d.edges
    # hand-offs and calls link to the other process
    assert nodes["sub"].link == "NEXT" and "NEXT 下一流程" in nodes["sub"].lines[0]
    assert nodes["sub"].lines[1] == "攜帶：《市場調研策劃書》（如有）"  # titles, not keys
    assert [n.link for n in d.nodes if n.shape == "handoff"] == ["NEXT"]
    # parallel branch with a condition
    assert any(e.label == "大客戶經理\n僅當 request.urgent" for e in d.edges)


def test_skip_rule_is_a_labelled_bypass() -> None:
    catalog = fixtures()
    d = render.build_diagram(catalog["APPROVAL"])
    bypass = [e for e in d.edges if e.style == "bypass"]
    assert bypass == [
        render.Edge(
            "budget_approval@when",
            "countersign",
            "bypass",
            '不符合「proposal.plan_type != "routine"」則跳過',
        )
    ]
    # everything that led to the step now leads to its gate
    assert [e.src for e in d.edges if e.dst == "budget_approval@when"] == ["review"]


LEAVE = """
procflow: 1
id: LV-01
title: 請假申請
owner: 人事部
actors:
  employee: 員工
  clerk: 人事文員
  dept_head: 部門主管
  deputy: 代理主管
  hr_head: 人事主管
  gm: 總經理
documents:
  leave:
    title: 請假單
    fields:
      days: {type: number, title: 請假天數}
      reason: {type: text, title: 事由}
starts_by: [clerk]
labels: {withdraw: 撤回申請, withdrawn: 已撤回}
steps:
  - id: apply
    title: 填寫請假單
    actor: employee
    fills: leave
    decide: {submit: next, withdraw: withdrawn}
  - id: approve
    title: 主管審批
    actor: [dept_head, deputy]
    reads: leave
    not_by: apply
    decide: {approve: next, revise: apply}
    deadline: {due: 2 working days, escalate: {to: hr_head, after: at due, mode: move}}
  - id: route
    title: 天數
    branch:
      - if: leave.days > 3
        title: 三天以上
        goto: gm_approve
      - otherwise: record
        title: 三天以內
  - id: gm_approve
    title: 總經理審批
    actor: gm
    reads: leave
    decide: {approve: next, reject: refused}
  - id: record
    title: 登記假期
    actor: hr_head
    when: leave.days > 0
    when_title: 有請假天數
    reads: leave
  - parallel:
      - title: 通知員工
        steps:
          - {title: 告知員工, notify: employee, message: 假期已登記}
          - {title: 員工確認, actor: employee}
      - title: 通知總經理
        when: leave.days > 3
        when_title: 三天以上
        steps:
          - {title: 登記長假, actor: gm}
  - id: refused
    end: refused
  - id: withdrawn
    end: withdrawn
"""


def leave() -> procflow.Process:
    """LV-01, a leave request: every way a role can act without a step of its own."""
    return procflow.loads(LEAVE, name="leave.yaml")


def test_every_role_that_acts_has_a_lane() -> None:
    d = render.build_diagram(leave())
    lanes = [lane.key for lane in d.lanes]
    # the starter, a second actor of a step, the one a late task moves to: each has a lane
    assert {"clerk", "deputy", "hr_head"} <= set(lanes)
    assert next(n for n in d.nodes if n.id == "@start").lane == "clerk"
    stand_ins = {n.id: n for n in d.nodes if n.shape == "also"}
    assert stand_ins["approve@or.2"].lane == "deputy"
    assert stand_ins["approve@or.2"].lines == ["或由代理主管辦理"]
    assert stand_ins["approve@escalate"].lane == "hr_head"
    assert stand_ins["approve@escalate"].lines == ["逾期移交"]
    assert {s.beside for s in stand_ins.values()} == {"approve"}  # on the step's row


def test_every_role_of_every_process_has_a_lane() -> None:
    """Whoever starts, acts, signs or takes a late task over, in any process drawn."""
    loaded = {**procflow.load_dir(HERE.parent / "processes"), **fixtures(), "LV-01": leave()}
    missing = {}
    for pid, process in loaded.items():
        roles = set(process.starts_by)
        for node in process.flow.nodes.values():
            if isinstance(node, HumanNode):
                roles.update(node.roles)
                if node.deadline is not None and node.deadline.escalate is not None:
                    roles.add(node.deadline.escalate.to)
        lanes = {lane.key for lane in render.build_diagram(process).lanes}
        if roles - lanes:
            missing[pid] = roles - lanes
    assert missing == {}
    assert len(loaded) >= 33


def test_a_notice_sits_with_who_sends_it() -> None:
    d = render.build_diagram(leave())
    lane = {n.id: n.lane for n in d.nodes}
    # first of its branch: sent by who works that branch, not from the fork's lane
    notice = next(n.id for n in d.nodes if n.shape == "notify")
    assert lane[notice] == "employee" != lane[next(n.id for n in d.nodes if n.shape == "fork")]
    catalog = procflow.load_dir(HERE.parent / "processes")
    md04 = {n.id: n.lane for n in render.build_diagram(catalog["MD-04"]).nodes}
    assert md04["to_directors"] == md04["coordinate"] == "production_coordinator"


def test_titles_of_conditions_replace_the_expressions() -> None:
    d = render.build_diagram(leave())
    labels = {(e.src, e.dst): e.label for e in d.edges}
    assert labels["route", "gm_approve"] == "三天以上"
    assert labels["route", "record@when"] == "三天以內"
    assert (
        labels[
            "record@when",
            next(e.dst for e in d.edges if e.src == "record@when" and e.style == "bypass"),
        ]
        == "不符合「有請假天數」則跳過"
    )
    assert any(label == "通知總經理\n僅當 三天以上" for label in labels.values())
    assert not [label for label in labels.values() if "leave.days" in label]


def test_labels_follow_the_process_language() -> None:
    process = leave()
    zh = render.build_diagram(process)
    en = render.build_diagram(process, language="en")
    zh_labels = {(e.src, e.dst): e.label for e in zh.edges}
    en_labels = {(e.src, e.dst): e.label for e in en.edges}
    assert zh_labels["approve", "apply"] == "退回修改"
    assert en_labels["approve", "apply"] == "revise (sent back)"
    assert zh_labels["apply", "withdrawn"] == "撤回申請"  # the process's own word
    ends = {n.id: n.lines for n in zh.nodes if n.shape == "end"}
    assert ends["refused"] == ["結果：已拒絕"] and ends["withdrawn"] == ["結果：已撤回"]
    assert [n.title for n in en.nodes if n.id == "@start"] == ["Start"]
    # an English process is drawn in English without being told
    english = procflow.loads(
        LEAVE.replace("title: 請假申請", "title: Leave request"), name="leave.yaml"
    )
    words = {n.title for n in render.build_diagram(english).nodes}
    assert "Start" in words and "開始" not in words


def test_chinese_diagrams_say_outcomes_and_results_in_chinese() -> None:
    catalog = procflow.load_dir(HERE.parent / "processes")
    for pid, process in catalog.items():
        d = render.build_diagram(process)
        ends = [line for n in d.nodes if n.shape == "end" for line in n.lines]
        edges = [e.label for e in d.edges if e.style in ("flow", "back", "bypass")]
        for text in ends + edges:
            assert not re.search(r"[A-Za-z]{2}", text), (pid, text)


def test_documents_sit_beside_their_step() -> None:
    d = render.build_diagram(fixtures()["EVERYTHING"])
    notes = {n.id: n for n in d.nodes if n.shape == "docs"}
    assert notes["ask@docs"].lines == ["填寫《申請單》"]
    assert notes["service@docs"].lines == ["填寫《記錄單》：signed、rating"]
    assert notes["check@docs"].lines == ["參閱《申請單》"]


def test_dot_escapes_every_label() -> None:
    source = render.dot_source(render.build_diagram(nasty_process()))
    assert "<script>" not in source
    assert "&lt;script&gt;" in source
    # Graphviz expands \N even in HTML labels: every backslash is doubled
    assert "\\\\N" in source and "反斜線\\N" not in source
    assert "&quot;雙&quot;" in source
    # the long name is wrapped, never cut
    assert "".join(re.findall("[長名]", source)).count("長") >= 100


def test_dot_escape_function() -> None:
    assert dot_mod.escape('a"b<c>&d\\N') == "a&quot;b&lt;c&gt;&amp;d\\\\N"
    assert dot_mod.escape("x\x00\x07y") == "xy"


def decode_mermaid(text: str) -> str:
    text = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)
    for name, char in (("quot", '"'), ("lt", "<"), ("gt", ">"), ("amp", "&")):
        text = text.replace(f"#{name};", char)
    return text


def test_mermaid_escapes_every_label() -> None:
    source = render.mermaid_source(render.build_diagram(nasty_process()))
    labels = re.findall(r'"([^"\n]*)"', source)
    assert labels, source
    for line in source.splitlines():
        if re.match(r"\s+n\d+", line) and "-" not in line.split('"')[0]:
            # a node: id, opening shape, one quoted label, closing shape; nothing else
            assert re.fullmatch(r'\s+n\d+[(\[{>/\\]+"[^"]*"[)\]}/\\]+', line), line
    assert "<script" not in source
    text = decode_mermaid(
        "".join(labels).replace("<br/>", "").replace("<small>", "").replace("</small>", "")
    )
    assert SCRIPT in text
    assert NASTY.replace(" ", "") in text.replace(" ", "")
    assert mermaid_mod.escape('#quot; "x"') == "#35;quot; #quot;x#quot;"
    assert mermaid_mod.escape("`md` 100% a|b") == "#96;md#96; 100#37; a#124;b"


def test_mermaid_ids_are_never_text_from_the_file() -> None:
    source = render.mermaid_source(render.build_diagram(fixtures()["EVERYTHING"]))
    ids = set(re.findall(r"^\s+(n\d+)[(\[{>]", source, re.M))
    assert len(ids) == len(render.build_diagram(fixtures()["EVERYTHING"]).nodes)
    assert "subgraph lane1[" in source and source.count("\n  end\n") >= 9
    assert "linkStyle" in source and "-.->" in source and "~~~" in source
    assert "click" not in source  # no link without a linker
    assert "classDef end" not in source  # 'end' closes a subgraph in Mermaid


def test_wrap_keeps_every_character() -> None:
    for text in (LONG, NASTY, "a" * 70, "步驟 1 and some words\nnext line"):
        lines = wrap(text, 24)
        assert all(render.wrapping.width(line) <= 24 for line in lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")


@pytest.mark.parametrize(
    ("text", "columns", "lines"),
    [
        ("提交申請（第1次退回）", 10, ["提交申請", "（第1次退", "回）"]),
        ("考核結果告知被考核者。", 20, ["考核結果告知被考核", "者。"]),
        ("交「市場總監」審批", 8, ["交「市場", "總監」審", "批"]),
        ("送《調研報告》", 6, ["送《調", "研報", "告》"]),
        ("請參閱「表單」", 8, ["請參閱", "「表單」"]),
        ("考核制度 第五篇 市場部目標", 20, ["考核制度 第五篇", "市場部目標"]),  # at a space
        ("第二篇 市場部工作職責", 16, ["第二篇 市場部工", "作職責"]),  # not in the first half
        ("a、、、、、、a", 10, ["a", "、、、、、", "、a"]),  # a run wider than a line: no lone 、
        # a document's title is not parted when it fits on a line
        (
            "攜帶：《項目可行性分析報告》、《調研計劃》",
            24,
            ["攜帶：", "《項目可行性分析報告》、", "《調研計劃》"],
        ),
        ("填寫《月度營銷計劃》", 16, ["填寫", "《月度營銷計劃》"]),
    ],
)
def test_wrap_never_starts_a_line_with_a_closing_mark_and_breaks_at_spaces(
    text: str, columns: int, lines: list[str]
) -> None:
    assert wrap(text, columns) == lines


@given(st.text(alphabet="文字（）「」《》、。ab", max_size=60), st.integers(10, 40))
@pytest.mark.parametrize("wrapping", [wrap, balanced])
def test_wrap_keeps_closing_marks_with_their_text(
    wrapping: Callable[[str, int], list[str]], text: str, columns: int
) -> None:
    lines = wrapping(text, columns)
    assert all(render.wrapping.width(line) <= columns for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    marks = render.wrapping.NO_START
    for before, line in itertools.pairwise(lines):
        if line[:1] in marks and before[-1:] not in (" ", ""):
            # only a unit wider than a line may be parted: the character a run of closing
            # marks follows, with every mark of the run on both sides of the break
            head = before.rstrip("".join(marks))  # the word or character the run follows
            base = re.search(r"(?:[!-~]+|.)?$", head)
            assert base is not None
            unit = before[base.start() :] + line[: len(line) - len(line.lstrip("".join(marks)))]
            assert render.wrapping.width(unit) > columns, lines


@pytest.mark.parametrize(
    ("text", "columns", "lines"),
    [
        ("申訴人是否接受答復", 16, ["申訴人是否", "接受答復"]),
        ("總經理簽批（預算外）", 16, ["總經理簽批", "（預算外）"]),
        ("知會大客戶部經理和市場經理", 24, ["知會大客戶部經", "理和市場經理"]),
        ("調研結果分析、確認", 16, ["調研結果分析、", "確認"]),  # after a pause, if it can
        ("aaaaaaaaaaaa bb", 14, ["aaaaaaaaaaaa", "bb"]),  # a word is never cut to balance
        ("第一行\n短", 4, ["第一", "行", "短"]),  # each paragraph on its own
        ("a《、「》、", 10, ["a", "《、「》、"]),  # a title is not parted to balance
    ],
)
def test_balanced_lines_leave_no_word_alone(text: str, columns: int, lines: list[str]) -> None:
    assert balanced(text, columns) == lines


@given(st.text(alphabet="文字（）「」《》、。ab \n", max_size=80), st.integers(6, 40))
@pytest.mark.parametrize("wrapping", [wrap, balanced])
def test_a_title_that_fits_a_line_is_never_parted(
    wrapping: Callable[[str, int], list[str]], text: str, columns: int
) -> None:
    lines = wrapping(text, columns)
    marks = "".join(render.wrapping.NO_START)
    for found in re.finditer(rf"《[^《》\s]+》[{re.escape(marks)}]*", text):
        if render.wrapping.width(found[0]) <= columns:  # with the marks that follow it
            title = found[0][: found[0].index("》") + 1]
            assert any(title in line for line in lines), (title, lines)


@given(st.text(alphabet="文字（）「」《》、。ab \n", max_size=80), st.integers(6, 40))
def test_balanced_lines_are_no_more_than_wrapped_and_fit(text: str, columns: int) -> None:
    even = balanced(text, columns)
    assert len(even) <= len(wrap(text, columns))
    assert "".join(even).replace(" ", "") == text.replace(" ", "").replace("\n", "")
    assert all(render.wrapping.width(line) <= columns for line in even)


def test_no_title_in_a_diagram_leaves_a_character_alone() -> None:
    catalog = procflow.load_dir(HERE.parent / "processes")
    alone = []
    for pid, process in catalog.items():
        for node in render.build_diagram(process).nodes:
            title = [line.text for line in node_block(node).lines if line.bold]
            if len(title) > 1 and render.wrapping.width(title[-1]) <= 2:
                alone.append((pid, title))
    assert alone == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(processes())
def test_random_valid_processes_render(data: dict[str, object]) -> None:
    process, _ = load_text(to_yaml(data))
    assume(process is not None)  # the strategy's own test checks that every example loads
    assert process is not None
    diagram = render.build_diagram(process)
    ids = {n.id for n in diagram.nodes}
    assert all(e.src in ids and e.dst in ids for e in diagram.edges)
    assert {n.lane for n in diagram.nodes} <= {lane.key for lane in diagram.lanes}
    assert render.dot_source(diagram).startswith("digraph")
    assert render.mermaid_source(diagram).startswith("flowchart TB")


# ---------------------------------------------------------------- files and the CLI


def test_text_formats_work_without_graphviz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert not render.graphviz_available()
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["render", str(VALID), "-o", str(out), "--format", "dot,mermaid"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{pid}.{ext}" for pid in ("APPROVAL", "EVERYTHING", "NEXT") for ext in ("dot", "md", "mmd")
    )
    md = (out / "EVERYTHING.md").read_text(encoding="utf-8")
    assert md.startswith("# EVERYTHING 全部構造\n\n```mermaid\nflowchart TB\n") and md.endswith(
        "```\n"
    )
    assert "click n" in md and 'href "NEXT.md"' in md


@pytest.mark.parametrize("fmt", ["svg", "png", "html", "dot,svg"])
def test_images_without_graphviz_say_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(VALID), "-o", str(out), "--format", fmt])
    assert result.exit_code == 1
    assert "apt-get install graphviz" in result.output
    assert "Traceback" not in result.output
    written = sorted(p.suffix for p in out.iterdir()) if out.exists() else []
    assert written == ([".dot"] * 3 if "dot" in fmt else [])
    with pytest.raises(RenderError, match="apt-get install graphviz"):
        render.render_image(render.build_diagram(fixtures()["NEXT"]), "svg")


def test_check_without_graphviz_fails_and_names_no_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    out = tmp_path / "d"
    result = CliRunner().invoke(main, ["check", str(VALID), "--render-to", str(out)])
    assert result.exit_code == 1 and "--no-render" in result.output
    assert not [p for p in out.iterdir() if p.suffix in (".svg", ".html", ".png")]
    quiet = tmp_path / "quiet"
    result = CliRunner().invoke(
        main, ["check", str(VALID), "--render-to", str(quiet), "--no-render"]
    )
    assert result.exit_code == 0, result.output
    assert not quiet.exists()


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["render", str(VALID), "-o", str(tmp_path), "--format", "gif"]
    )
    assert result.exit_code == 2 and "unknown format gif" in result.output


def test_a_process_with_problems_prints_them_and_draws_nothing(tmp_path: Path) -> None:
    bad = HERE / "fixtures" / "invalid" / "unknown_actor.yaml"
    out = tmp_path / "out"
    out.mkdir()
    good = out / "unknown_actor.dot"
    good.write_text("a good old diagram", encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(bad), "-o", str(out), "--format", "dot"])
    assert result.exit_code == 1
    assert "PF302" in result.output and "unknown_actor.yaml:" in result.output
    assert good.read_text(encoding="utf-8") == "a good old diagram"
    assert [p.name for p in out.iterdir()] == ["unknown_actor.dot"]


def test_atomic_write_never_leaves_half_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "X.svg"
    render.atomic_write(target, "<svg>good</svg>")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        render.atomic_write(target, "<svg>half")
    assert target.read_text(encoding="utf-8") == "<svg>good</svg>"
    assert [p.name for p in tmp_path.iterdir()] == ["X.svg"]


def test_results_file_is_read_defensively(tmp_path: Path) -> None:
    assert render.load_results(tmp_path) == {}
    (tmp_path / render.RESULTS_FILE).write_text("{not json", encoding="utf-8")
    assert render.load_results(tmp_path) == {}
    (tmp_path / render.RESULTS_FILE).write_text(
        json.dumps({"A": [{"name": "ok", "passed": True}, {"name": "bad", "passed": "yes"}, 3]}),
        encoding="utf-8",
    )
    results = render.load_results(tmp_path)
    assert [(r.name, r.passed) for r in results["A"]] == [("ok", True), ("bad", False)]


def test_a_page_shows_a_version_only_when_one_is_set() -> None:
    catalog = fixtures()
    page = html_mod.process_page(catalog["EVERYTHING"], svg="<svg/>", known=catalog, results=None)
    assert "版本：2026-11" in page
    unset = html_mod.process_page(leave(), svg="<svg/>", known={}, results=None)
    assert "版本" not in unset and "Version" not in unset


def test_a_catalog_page_lists_a_choice_with_its_titles() -> None:
    catalog = procflow.load_dir(HERE.parent / "processes")
    page = html_mod.process_page(catalog["MD-04"], svg="<svg/>", known=catalog, results=None)
    assert "可選：簽批 (signed)、附意見簽批 (signed_with_instructions)、簽否 (not_signed)" in page


def test_a_page_speaks_its_process_language() -> None:
    zh = html_mod.process_page(leave(), svg="<svg/>", known={}, results=None)
    en = html_mod.process_page(leave(), svg="<svg/>", known={}, results=None, language="en")
    assert '<html lang="zh-Hant">' in zh and "尚未執行情境測試" in zh
    assert "no scenarios run" not in zh and "退回修改 → 填寫請假單" in zh
    assert '<html lang="en">' in en and "no scenarios run" in en and "尚未" not in en
    assert "revise → 填寫請假單" in en
    assert "不符合「有請假天數」則跳過" in zh  # the skip rule's title, not its expression


def test_the_language_can_be_chosen_on_the_command_line(tmp_path: Path) -> None:
    for language, start in (("en", "Start"), ("auto", "開始")):
        out = tmp_path / language
        args = ["render", str(VALID), "-o", str(out), "--format", "mermaid"]
        result = CliRunner().invoke(main, [*args, "--language", language])
        assert result.exit_code == 0, result.output
        assert f'(["{start}' in (out / "NEXT.mmd").read_text(encoding="utf-8")


LIMITED = """procflow: 1
id: LIM
title: 限次退回
actors: {clerk: 文員, boss: 主管}
documents:
  memo: {title: 報告, fields: {text: text}}
steps:
  - id: draft
    title: 撰寫
    actor: clerk
    fills: memo
  - id: review
    title: 審核
    actor: boss
    reads: memo
    decide:
      approve: next
      revise: {to: draft, at_most: 3, end: refused}
  - id: done
    end: completed
"""


def test_a_loop_limit_is_drawn_in_the_process_language() -> None:
    process = procflow.loads(LIMITED, name="lim.yaml")
    zh = {e.label for e in render.build_diagram(process).edges}
    en = {e.label for e in render.build_diagram(process, language="en").edges}
    assert {"退回修改（至多3次）", "退回修改超過3次"} <= zh
    assert "revise more than 3 times" in en
    assert "revise (sent back, at most 3 times)" in en


def test_balanced_never_parts_a_run_of_marks_that_wrap_keeps() -> None:
    # found by hypothesis: a narrower width broke the run 、、、、、 across two lines
    lines = render.wrapping.balanced("a、、、、、《a、、a", 10)
    assert "、、、、、" in lines, lines
