"""Diagrams without the Graphviz binary: the diagram model, DOT and Mermaid text, golden
files, escaping, and the CLI when ``dot`` is missing.

Golden files live in ``tests/golden/``; ``PROCFLOW_UPDATE_GOLDEN=1 pytest tests/test_render.py``
rewrites them after a deliberate change (review the diff before committing).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings

import procflow
from procflow import render
from procflow.cli.main import main
from procflow.errors import RenderError
from procflow.render import dot as dot_mod
from procflow.render import mermaid as mermaid_mod
from procflow.render.words import wrap
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
        "notify", "call", "handoff", "docs", "clock",
    }  # fmt: skip
    # deadlines as clock notes beside their step, in Chinese
    assert nodes["ask@due"].title == "時限 每月26日" and nodes["ask@due"].beside == "ask"
    assert nodes["check@due"].title == "時限 3個工作日內"
    assert any("移交公司總經理" in line for line in nodes["check@due"].lines)
    # sign-offs: fork bar naming the signers and the rule, one node per signer, a join bar
    assert nodes["big"].lines == ["依次簽準：事業部總經理、財務經理、公司總經理"]
    assert nodes["big@signed"].title == "依次簽準 3 位"
    assert nodes["board"].lines[0].startswith("2 of 3簽準：")
    assert nodes["anyone@signed"].title == "任一簽準 1/2"
    assert [n.lane for n in d.nodes if n.id.startswith("board@sign.")] == ["gm", "cto", "ka_head"]
    # loops back, rejection back, skip bypass, optional bypass
    styles = {(e.src, e.dst): (e.style, e.label) for e in d.edges}
    assert styles["check", "ask"] == ("back", "back（退回）")
    assert styles["big@signed", "ask"] == ("back", "駁回（退回）")
    assert styles["check", "stopped"] == ("flow", "stop")
    assert styles["route", "big"][1] == 'request.amount > 2000 && request.kind == "service"'
    assert styles["route", "small"][1] == "否則"
    assert render.Edge("train", "done_check", "bypass", "不需要") in d.edges
    # hand-offs and calls link to the other process
    assert nodes["sub"].link == "NEXT" and "NEXT 下一流程" in nodes["sub"].lines[0]
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
        assert all(render.words.width(line) <= 24 for line in lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")


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
