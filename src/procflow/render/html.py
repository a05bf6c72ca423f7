"""HTML pages of the catalog: the page shell, and the page of one process.

Owns the markup and its escaping: every text from a process file goes through
`esc` (``html.escape`` with quotes); diagrams come in as SVG that Graphviz wrote
from labels we had already escaped, and are inlined without their XML prolog.
The pages have inline CSS and no script at all, so they open from ``file://``.

Imports the flow layer, `model` and `render.words`; never `runtime` or `cli`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from procflow.flow.catalog import Process
from procflow.flow.ir import HumanNode, Node
from procflow.language.model import DocumentDef, FieldDef
from procflow.render import words

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans CJK TC","Noto Sans",sans-serif;margin:0;
color:#202124;background:#fff;line-height:1.5}
header{background:#1a56b0;color:#fff;padding:.6rem 1.2rem}
header a{color:#fff;margin-right:1.2rem;text-decoration:none;font-weight:600}
main{padding:1rem 1.5rem;max-width:110rem}
h1{font-size:1.5rem;margin:.2rem 0 .6rem}h2{font-size:1.15rem;margin-top:1.6rem;
border-bottom:1px solid #dadce0}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #dadce0;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f3f4}td.c{text-align:center}
.meta{color:#5f6368}.pass{color:#188038;font-weight:600}.fail{color:#d93025;font-weight:600}
.diagram{overflow:auto;border:1px solid #dadce0;padding:.5rem;background:#fff}
.diagram svg{max-width:100%;height:auto}
.small{font-size:.8rem;color:#5f6368}code{background:#f1f3f4;padding:0 .2rem}
.matrix{overflow:auto}.matrix td{white-space:nowrap}
"""

KIND_WORDS = {
    "task": "工作",
    "decision": "審批",
    "sign": "會簽",
    "branch": "自動分支",
    "parallel": "並行",
    "notify": "知會",
    "call": "調用",
    "handoff": "轉入",
    "end": "結束",
}


def esc(text: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape(words.clean(str(text)), quote=True)


def page(title: str, body: str, *, root: str = "") -> str:
    """A whole HTML page; ``root`` is the relative path to the catalog's top folder."""
    nav = (
        f'<a href="{root}index.html">流程目錄</a><a href="{root}map.html">流程地圖</a>'
        f'<a href="{root}actors.html">角色矩陣</a>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-Hant">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<header>{nav}</header>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)


def inline_svg(svg: str) -> str:
    """An SVG document as an element to put inside HTML (prolog and doctype removed)."""
    return _PROLOG.sub("", svg, count=1)


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table; ``head`` is escaped here, ``rows`` hold markup already escaped."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True)
class Result:
    """One scenario's last result."""

    name: str
    passed: bool
    message: str = ""


def roles(process: Process) -> dict[str, dict[str, list[str]]]:
    """Actor -> {"辦理"|"審批"|"知會": [step titles]} for one process."""
    out: dict[str, dict[str, list[str]]] = {}
    for node in process.flow.steps():
        for actor, duty in node.duties():
            out.setdefault(actor, {}).setdefault(duty, []).append(node.title)
    return out


def _field(name: str, f: FieldDef) -> list[str]:
    detail = []
    if isinstance(f.of, list):
        detail.append("可選：" + "、".join(f.of))
    elif f.of is not None:
        detail.append(f"項目：{f.of}")
    if f.fields:
        detail.append("欄位：" + "、".join(f.fields))
    if f.min is not None:
        detail.append(f"最小 {f.min}")
    if f.max is not None:
        detail.append(f"最大 {f.max}")
    if f.default is not None:
        detail.append(f"預設 {f.default}")
    detail.extend(f.notes)
    return [
        f"<code>{esc(name)}</code>",
        esc(f.title),
        esc(f.type),
        "是" if f.required else "否",
        esc("；".join(detail)),
    ]


def _documents(documents: Mapping[str, DocumentDef], used: list[str]) -> str:
    if not used:
        return "<p>（無）</p>"
    parts = []
    for key in used:
        doc = documents.get(key)
        if doc is None:
            continue
        parts.append(f"<h3>《{esc(doc.title)}》 <code>{esc(key)}</code></h3>")
        rows = [_field(name, f) for name, f in doc.fields.items()]
        parts.append(table(["欄位", "名稱", "類型", "必填", "說明"], rows))
    return "".join(parts)


def _link(pid: str, known: Mapping[str, Process]) -> str:
    if pid in known:
        return f'<a href="{esc(pid)}.html">{esc(pid)} {esc(known[pid].title)}</a>'
    return esc(pid)


def process_page(
    process: Process,
    *,
    svg: str,
    known: Mapping[str, Process],
    results: Sequence[Result] | None,
    files: Sequence[str] = (),
) -> str:
    """The page of one process (it lives in ``process/`` under the catalog)."""
    flow = process.flow
    actors, documents = flow.actors, flow.documents
    titles = {n.id: n.title for n in flow.nodes.values()}
    meta = [f"主管部門：{process.owner}"] if process.owner else []
    if process.source is not None:
        src = process.source
        meta.append(
            "來源："
            + " ".join(x for x in (src.document, src.section, src.lines and f"{src.lines}行") if x)
        )
    meta.append(f"版本：{process.version}")
    body = [f"<h1>{esc(process.id)} {esc(process.title)}</h1>"]
    body.append(f'<p class="meta">{esc(" · ".join(meta))}</p>')
    body.extend(f'<p class="small">{esc(n)}</p>' for n in process.notes)
    links = " · ".join(f'<a href="../{esc(process.id)}.{ext}">{ext.upper()}</a>' for ext in files)
    body.append("<h2>流程圖</h2>" + (f'<p class="small">下載：{links}</p>' if links else ""))
    body.append(f'<figure class="diagram" id="diagram">{inline_svg(svg)}</figure>')

    rows = []
    used_docs: list[str] = list(process.documents)
    deadlines = []

    def actor(a: str) -> str:
        return words.actor_title(actors, a)

    for i, node in enumerate(flow.steps(), 1):
        forms: list[str] = []
        due = ""
        if isinstance(node, HumanNode):
            forms = words.document_lines(node.fills_written, node.reads, documents)
            used_docs += [d for d in [*node.fills, *node.reads] if d not in used_docs]
            if node.deadline is not None:
                lines = words.deadline_lines(node.deadline, actors, titles)
                due = "；".join(lines)
                deadlines.append(
                    [
                        esc(node.title),
                        esc(node.deadline.due_text),
                        esc(lines[0]),
                        esc("；".join(lines[1:])),
                    ]
                )
        forms += [("調用 " if node.kind == "call" else "轉入 ") + other for other in node.links]
        nexts = []
        for edge in flow.outgoing(node.id):
            label = words.FIXED_LABELS.get(edge.label, edge.label)
            if edge.kind == "skip":
                label = f"不符合「{edge.label}」則跳過"
            target = titles.get(edge.target, edge.target)
            nexts.append(f"{label} → {target}" if label else f"→ {target}")
        indent = "　" * len(node.scope)
        rows.append(
            [
                str(i),
                f"{indent}{esc(node.title)} <span class=small>{esc(node.id)}</span>",
                esc(KIND_WORDS.get(node.display_kind, node.display_kind)),
                esc(node.who(actor)),
                "<br>".join(esc(x) for x in forms),
                esc(due),
                "<br>".join(esc(x) for x in nexts),
                esc(node.skip.text if node.skip is not None else ""),
            ]
        )
    body.append("<h2>步驟</h2>")
    head = ["#", "步驟", "類型", "執行對象", "規範標準", "時限", "去向", "執行條件"]
    body.append(table(head, rows))

    body.append("<h2>角色</h2>")
    mine = roles(process)
    actor_rows = [
        [
            f"<code>{esc(a)}</code>",
            esc(words.actor_title(actors, a))
            + (" （外部）" if actors.get(a) and actors[a].external else ""),
            esc("；".join(f"{r}：{'、'.join(s)}" for r, s in mine[a].items())),
        ]
        for a in mine
    ]
    body.append(table(["角色", "名稱", "在本流程中"], actor_rows))
    body.append("<h2>表單</h2>" + _documents(documents, used_docs))
    body.append("<h2>時限</h2>")
    body.append(
        table(["步驟", "原文", "時限", "起算、提醒與逾期"], deadlines)
        if deadlines
        else "<p>（無）</p>"
    )
    tables = list(process.decisions) + [t.table for n in flow.human_steps() for t in n.tables]
    body.append("<h2>決策表</h2>")
    body.append(
        "<ul>" + "".join(f"<li><code>{esc(t)}</code></li>" for t in dict.fromkeys(tables)) + "</ul>"
        if tables
        else "<p>（無）</p>"
    )

    def verb(node: Node) -> str:
        return "調用" if node.kind == "call" else "轉入"

    out_links = [(verb(n), other) for n in flow.steps() for other in n.links]
    incoming = [
        (other, verb(n))
        for other in known.values()
        for n in other.flow.steps()
        if process.id in n.links
    ]
    items = [f"<li>{what} {_link(pid, known)}</li>" for what, pid in out_links] + [
        f"<li>被 {_link(o.id, known)} {what}</li>" for o, what in incoming
    ]
    body.append(
        "<h2>相關流程</h2>" + ("<ul>" + "".join(items) + "</ul>" if items else "<p>（無）</p>")
    )
    body.append("<h2>情境測試結果</h2>")
    if results is None:
        body.append('<p id="scenarios">no scenarios run（尚未執行情境測試）</p>')
    else:
        rows = [
            [
                esc(r.name),
                '<span class="pass">通過</span>' if r.passed else '<span class="fail">失敗</span>',
                esc(r.message),
            ]
            for r in results
        ]
        body.append(f'<div id="scenarios">{table(["情境", "結果", "說明"], rows)}</div>')
    return page(f"{process.id} {process.title}", "\n".join(body), root="../")
