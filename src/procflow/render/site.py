"""The browsable catalog: index by source document, process map, actors matrix.

Owns the layout of the catalog folder::

    index.html            processes grouped by the document they come from
    map.html              hand-offs and calls between processes (Graphviz SVG)
    actors.html           who does, approves or is notified of what, per process
    process/<id>.html     one page per process (see `render.html`)

and reading the last scenario results from ``scenario-results.json`` in the
same folder (``{"ID": [{"name": ..., "passed": bool, "message": ...}]}``);
a missing or unreadable file means "no scenarios run".

Imports `render.html`, `render.dot`, `flow.load`, `model`; never `runtime` or `cli`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import graphviz

from procflow.flow.catalog import Process
from procflow.flow.ports import Language
from procflow.render import html
from procflow.render.blocks import Block, Line
from procflow.render.dot import escape as dot_escape
from procflow.render.dot import run_graphviz
from procflow.render.dot import table as label_table
from procflow.render.html import Result, esc, page, table
from procflow.render.words import FONT, Words, actor_title, language_of

RESULTS_FILE = "scenario-results.json"

Writer = Callable[[Path, str | bytes], None]


def load_results(folder: Path) -> dict[str, list[Result]]:
    """The scenario results kept in ``folder``; empty when there are none or they are unreadable."""
    try:
        data = json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, list[Result]] = {}
    if not isinstance(data, dict):
        return out
    for pid, items in data.items():
        if not isinstance(items, list):
            continue
        out[str(pid)] = [
            Result(str(r.get("name", "")), r.get("passed") is True, str(r.get("message") or ""))
            for r in items
            if isinstance(r, dict)
        ]
    return out


def catalog_language(processes: Mapping[str, Process]) -> Language:
    """The language of a catalog's own pages: Chinese when most processes are written in it."""
    chinese = sum(language_of(p.title) == "zh" for p in processes.values())
    return "zh" if chinese * 2 >= len(processes) else "en"


def _group(processes: Mapping[str, Process], w: Words) -> dict[str, list[Process]]:
    none = w.say("no_source")
    groups: dict[str, list[Process]] = {}
    for p in processes.values():
        key = p.source.document if p.source is not None else none
        groups.setdefault(key, []).append(p)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] == none, kv[0])))


def _summary(results: Sequence[Result] | None, w: Words) -> str:
    if results is None:
        return f'<span class="small">{w.say("no_scenarios")}</span>'
    passed = sum(r.passed for r in results)
    cls = "pass" if passed == len(results) else "fail"
    return f'<span class="{cls}">{w.say("passed_of", passed=passed, n=len(results))}</span>'


def index_page(
    processes: Mapping[str, Process],
    results: Mapping[str, list[Result]],
    language: Language = "zh",
) -> str:
    w = Words(language)
    body = [f"<h1>{w.say('nav_index')}</h1><p class=meta>{w.say('count', n=len(processes))}</p>"]
    for document, members in _group(processes, w).items():
        body.append(f"<h2>{esc(document)}</h2>")
        rows = [
            [
                f'<a href="process/{esc(p.id)}.html">{esc(p.id)}</a>',
                esc(p.title),
                esc(p.owner),
                str(sum(1 for _ in p.flow.steps())),
                _summary(results.get(p.id), w),
            ]
            for p in sorted(members, key=lambda p: p.id)
        ]
        body.append(table(w.say("index_head").split("|"), rows))
    return page(w.say("nav_index"), "\n".join(body), language=language)


def links(processes: Mapping[str, Process]) -> list[tuple[str, str, str]]:
    """(from id, to id, "handoff"|"call") for every hand-off and call."""
    out: list[tuple[str, str, str]] = []
    for pid, p in processes.items():
        for node in p.flow.steps():
            out.extend((pid, other, node.kind) for other in node.links)
    return out


def map_source(processes: Mapping[str, Process], language: Language = "zh") -> str:
    """The DOT text of the process map: processes by source document, with their links."""
    w = Words(language)
    g = graphviz.Digraph(name="process-map")
    g.attr("graph", rankdir="LR", fontname=FONT, nodesep="0.3", ranksep="0.6")
    g.attr("node", fontname=FONT, shape="box", style="rounded,filled", fillcolor="#e8f0fe")
    g.attr("edge", fontname=FONT, fontsize="10")
    for i, (document, members) in enumerate(_group(processes, w).items()):
        with g.subgraph(name=f"cluster_{i}") as c:
            c.attr(  # at the left, where a wide map is read from (and scrolled to)
                label=f"<<B>{dot_escape(document)}</B>>",
                labeljust="l",
                style="rounded",
                color="#bdc1c6",
            )
            for p in members:
                lines = (Line(p.id, 12, bold=True), Line(p.title, 12))
                c.node(
                    f"proc.{p.id}",
                    label=label_table(Block(lines)),
                    URL=f"process/{p.id}.html",
                    target="_top",
                    tooltip=p.id,
                    id=f"map-{p.id}",
                )
    for src, dst, kind in links(processes):
        if dst not in processes:
            g.node(f"proc.{dst}", label=f"<{dot_escape(dst)}>", style="dashed")
        label = f"<{w.say('hands_off' if kind == 'handoff' else 'calls')}>"
        g.edge(
            f"proc.{src}",
            f"proc.{dst}",
            label=label,
            style="solid" if kind == "handoff" else "dashed",
        )
    source: str = g.source
    return source


def map_page(processes: Mapping[str, Process], language: Language = "zh") -> str:
    w = Words(language)
    svg = run_graphviz(map_source(processes, language), "svg").decode("utf-8")
    body = (
        f"<h1>{w.say('nav_map')}</h1><p class=meta>{w.say('map_legend')}</p>"
        f'<figure class="diagram" id="diagram">{html.inline_svg(svg)}</figure>'
    )
    return page(w.say("nav_map"), body, language=language)


def actors_page(processes: Mapping[str, Process], language: Language = "zh") -> str:
    """The actors × processes matrix: who does, approves or is notified of what."""
    w = Words(language)
    titles: dict[str, str] = {}
    per_process = {pid: html.roles(p) for pid, p in processes.items()}
    for pid, p in processes.items():
        for actor in per_process[pid]:
            titles.setdefault(actor, actor_title(p.flow.actors, actor))
    ids = sorted(processes)
    head = [w.say("actor_col"), *ids]
    rows = []
    for actor in sorted(titles, key=lambda a: (titles[a], a)):
        cells = [f"{esc(titles[actor])}<br><code>{esc(actor)}</code>"]
        for pid in ids:
            mine = per_process[pid].get(actor, {})
            cells.append(
                "<br>".join(
                    f'<span title="{esc(w.say("and").join(steps))}">'
                    f"{esc(w.say(role))} {len(steps)}</span>"
                    for role, steps in mine.items()
                )
            )
        rows.append(cells)
    legend = w.say("actors_legend")
    links_row = " · ".join(
        f'<a href="process/{esc(pid)}.html">{esc(pid)} {esc(processes[pid].title)}</a>'
        for pid in ids
    )
    matrix = f'<div class="matrix">{table(head, rows)}</div>'
    title = w.say("nav_actors")
    body = f"<h1>{title}</h1><p class=meta>{legend}</p><p class=small>{links_row}</p>{matrix}"
    return page(title, body, language=language)


def write_catalog(
    processes: Mapping[str, Process],
    folder: Path,
    *,
    svgs: Mapping[str, str],
    write: Writer,
    files: Sequence[str] = (),
    language: Language | None = None,
) -> list[Path]:
    """Write the catalog pages into ``folder`` with ``write`` (which must be atomic).

    Args:
        svgs: process id -> its diagram as SVG, linking to ``<id>.html``.
        files: extensions of the diagram files written next to the catalog (for links).
        language: the language of every page; by default each process's page is in
            its own language and the other pages in that of most processes.
    """
    results = load_results(folder)
    common = language or catalog_language(processes)
    pages: dict[Path, str] = {
        folder / "index.html": index_page(processes, results, common),
        folder / "map.html": map_page(processes, common),
        folder / "actors.html": actors_page(processes, common),
    }
    for pid, process in processes.items():
        pages[folder / "process" / f"{pid}.html"] = html.process_page(
            process,
            svg=svgs[pid],
            known=processes,
            results=results.get(pid),
            files=files,
            language=language,
        )
    for path, text in pages.items():
        write(path, text)
    return list(pages)
