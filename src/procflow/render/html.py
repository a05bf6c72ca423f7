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
from procflow.flow.ir import Flow, HumanNode, Node
from procflow.flow.ports import Language
from procflow.language.model import DocumentDef, FieldDef
from procflow.render import words
from procflow.render.wrapping import clean

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
.diagram{overflow:auto;border:1px solid #dadce0;padding:.5rem;background:#fff;margin:0}
.diagram svg{display:block;max-width:none;height:auto}
@media print{.diagram{overflow:visible;border:0}.diagram svg{max-width:100%}}
.small{font-size:.8rem;color:#5f6368}code{background:#f1f3f4;padding:0 .2rem}
.matrix{overflow:auto}.matrix td{white-space:nowrap}
"""


def esc(text: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape(clean(str(text)), quote=True)


def page(title: str, body: str, *, root: str = "", language: Language = "zh") -> str:
    """A whole HTML page; ``root`` is the relative path to the catalog's top folder."""
    say = words.Words(language).say
    nav = (
        f'<a href="{root}index.html">{say("nav_index")}</a>'
        f'<a href="{root}map.html">{say("nav_map")}</a>'
        f'<a href="{root}actors.html">{say("nav_actors")}</a>'
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{say("html_lang")}">\n<head>\n<meta charset="utf-8">\n'
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


def _field(name: str, f: FieldDef, w: words.Words) -> list[str]:
    say = w.say
    detail = []
    if isinstance(f.of, list):
        named = [f"{f.titles[v]} ({v})" if v in f.titles else v for v in f.of]
        detail.append(say("choices", values=say("and").join(named)))
    elif f.of is not None:
        detail.append(say("items", type=say(f.of)))
    if f.fields:
        detail.append(say("subfields", names=say("and").join(f.fields)))
    for key in ("min", "max", "default"):
        value = getattr(f, key)
        if value is not None:
            detail.append(say(key, value=value))
    detail.extend(f.notes)
    return [
        f"<code>{esc(name)}</code>",
        esc(f.title),
        esc(say(f.type)),
        say("yes") if f.required else say("no"),
        esc(say("list_sep").join(detail)),
    ]


def _documents(documents: Mapping[str, DocumentDef], used: list[str], w: words.Words) -> str:
    if not used:
        return f"<p>{w.say('none')}</p>"
    parts = []
    for key in used:
        doc = documents.get(key)
        if doc is None:
            continue
        parts.append(f"<h3>{esc(w.document(key))} <code>{esc(key)}</code></h3>")
        rows = [_field(name, f, w) for name, f in doc.fields.items()]
        parts.append(table(w.say("fields_head").split("|"), rows))
    return "".join(parts)


def _link(pid: str, known: Mapping[str, Process]) -> str:
    if pid in known:
        return f'<a href="{esc(pid)}.html">{esc(pid)} {esc(known[pid].title)}</a>'
    return esc(pid)


def _or_none(html_text: str, w: words.Words) -> str:
    return html_text or f"<p>{w.say('none')}</p>"


def _step_rows(
    flow: Flow, w: words.Words, used_docs: list[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """The rows of the steps table and of the deadlines table; the documents the steps
    fill or read are added to ``used_docs``."""
    titles = {n.id: n.title for n in flow.nodes.values()}
    say = w.say
    rows: list[list[str]] = []
    deadlines: list[list[str]] = []
    for i, node in enumerate(flow.steps(), 1):
        forms: list[str] = []
        due = ""
        if isinstance(node, HumanNode):
            forms = w.document_lines(node.fills_written, node.reads)
            used_docs += [d for d in [*node.fills, *node.reads] if d not in used_docs]
            if node.deadline is not None:
                lines = w.deadline_lines(node.deadline, titles)
                due = say("list_sep").join(lines)
                deadlines.append(
                    [
                        esc(node.title),
                        esc(node.deadline.due_text),
                        esc(lines[0]),
                        esc(say("list_sep").join(lines[1:])),
                    ]
                )
        doing = {"call": say("calls"), "handoff": say("hands_off")}.get(node.kind, "")
        forms += [f"{doing} {other}" for other in node.links]
        nexts = []
        for edge in flow.outgoing(node.id):
            target = titles.get(edge.target, edge.target)
            label = w.skip(edge) if edge.kind == "skip" else w.edge(edge, between=" ")
            nexts.append(
                say("goes", label=label, target=target) if label else say("goes_on", target=target)
            )
        indent = "　" * len(node.scope)
        rows.append(
            [
                str(i),
                f"{indent}{esc(node.title)} <span class=small>{esc(node.id)}</span>",
                esc(say(node.display_kind)),
                esc(node.who(w.actor, w.language)),
                "<br>".join(esc(x) for x in forms),
                esc(due),
                "<br>".join(esc(x) for x in nexts),
                esc(node.skip.words if node.skip is not None else ""),
            ]
        )
    return rows, deadlines


def _scenarios(results: Sequence[Result] | None, w: words.Words) -> str:
    """The scenario results of a process page, or a line saying none were run."""
    say = w.say
    if results is None:
        return f'<p id="scenarios">{say("no_scenarios")}</p>'
    rows = [
        [
            esc(r.name),
            f'<span class="pass">{say("passed")}</span>'
            if r.passed
            else f'<span class="fail">{say("failed")}</span>',
            esc(r.message),
        ]
        for r in results
    ]
    return f'<div id="scenarios">{table(say("scenarios_head").split("|"), rows)}</div>'


def process_page(
    process: Process,
    *,
    svg: str,
    known: Mapping[str, Process],
    results: Sequence[Result] | None,
    files: Sequence[str] = (),
    language: Language | None = None,
) -> str:
    """The page of one process (it lives in ``process/`` under the catalog), in
    ``language`` (by default the language of the process's title)."""
    flow = process.flow
    actors, documents = flow.actors, flow.documents
    w = words.Words.of(process, language)
    say = w.say
    meta = [say("owner", owner=process.owner)] if process.owner else []
    if process.source is not None:
        src = process.source
        at = src.lines and say("lines", lines=src.lines)
        meta.append(say("source", where=" ".join(x for x in (src.document, src.section, at) if x)))
    if "version" in process.model_fields_set:  # the default "1" is no version at all
        meta.append(say("version", version=process.version))
    body = [f"<h1>{esc(process.id)} {esc(process.title)}</h1>"]
    if meta:
        body.append(f'<p class="meta">{esc(" · ".join(meta))}</p>')
    body.extend(f'<p class="small">{esc(n)}</p>' for n in process.notes)
    links = " · ".join(f'<a href="../{esc(process.id)}.{ext}">{ext.upper()}</a>' for ext in files)
    download = f'<p class="small">{say("download", links=links)}</p>' if links else ""
    body.append(f"<h2>{say('diagram')}</h2>{download}")
    body.append(f'<figure class="diagram" id="diagram">{inline_svg(svg)}</figure>')

    used_docs: list[str] = list(process.documents)
    rows, deadlines = _step_rows(flow, w, used_docs)
    body.append(f"<h2>{say('steps')}</h2>")
    body.append(table(say("steps_head").split("|"), rows))

    body.append(f"<h2>{say('actors')}</h2>")
    mine = roles(process)
    actor_rows = [
        [
            f"<code>{esc(a)}</code>",
            esc(w.actor(a))
            + (f" {say('external')}" if actors.get(a) and actors[a].external else ""),
            esc(
                say("list_sep").join(
                    say("duty", duty=say(r), steps=say("and").join(s)) for r, s in mine[a].items()
                )
            ),
        ]
        for a in mine
    ]
    body.append(table(say("actors_head").split("|"), actor_rows))
    body.append(f"<h2>{say('documents')}</h2>" + _documents(documents, used_docs, w))
    body.append(f"<h2>{say('deadlines')}</h2>")
    body.append(
        _or_none(table(say("deadlines_head").split("|"), deadlines) if deadlines else "", w)
    )
    tables = list(process.decisions) + [t.table for n in flow.human_steps() for t in n.tables]
    body.append(f"<h2>{say('tables')}</h2>")
    items = "".join(f"<li><code>{esc(t)}</code></li>" for t in dict.fromkeys(tables))
    body.append(_or_none(f"<ul>{items}</ul>" if tables else "", w))

    def verb(node: Node) -> str:
        return say("calls") if node.kind == "call" else say("hands_off")

    out_links = [(verb(n), other) for n in flow.steps() for other in n.links]
    incoming = [
        (other, verb(n))
        for other in known.values()
        for n in other.flow.steps()
        if process.id in n.links
    ]
    related = [f"<li>{what} {_link(pid, known)}</li>" for what, pid in out_links] + [
        f"<li>{say('called_by', process=_link(o.id, known), verb=what)}</li>"
        for o, what in incoming
    ]
    body.append(f"<h2>{say('related')}</h2>")
    body.append(_or_none("<ul>" + "".join(related) + "</ul>" if related else "", w))
    body.append(f"<h2>{say('scenarios')}</h2>")
    body.append(_scenarios(results, w))
    title = f"{process.id} {process.title}"
    return page(title, "\n".join(body), root="../", language=w.language)
