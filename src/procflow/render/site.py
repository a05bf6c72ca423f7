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
from procflow.render import html
from procflow.render.dot import escape as dot_escape
from procflow.render.dot import run_graphviz
from procflow.render.html import Result, esc, page, table
from procflow.render.words import FONT, actor_title

RESULTS_FILE = "scenario-results.json"
NO_SOURCE = "（未註明來源）"

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


def _group(processes: Mapping[str, Process]) -> dict[str, list[Process]]:
    groups: dict[str, list[Process]] = {}
    for p in processes.values():
        key = p.source.document if p.source is not None else NO_SOURCE
        groups.setdefault(key, []).append(p)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] == NO_SOURCE, kv[0])))


def _summary(results: Sequence[Result] | None) -> str:
    if results is None:
        return '<span class="small">no scenarios run</span>'
    passed = sum(r.passed for r in results)
    cls = "pass" if passed == len(results) else "fail"
    return f'<span class="{cls}">{passed}/{len(results)} 通過</span>'


def index_page(processes: Mapping[str, Process], results: Mapping[str, list[Result]]) -> str:
    body = [f"<h1>流程目錄</h1><p class=meta>{len(processes)} 個流程</p>"]
    for document, members in _group(processes).items():
        body.append(f"<h2>{esc(document)}</h2>")
        rows = [
            [
                f'<a href="process/{esc(p.id)}.html">{esc(p.id)}</a>',
                esc(p.title),
                esc(p.owner),
                str(sum(1 for _ in p.flow.steps())),
                _summary(results.get(p.id)),
            ]
            for p in sorted(members, key=lambda p: p.id)
        ]
        body.append(table(["代號", "流程名稱", "主管部門", "步驟", "情境測試"], rows))
    return page("流程目錄", "\n".join(body))


def links(processes: Mapping[str, Process]) -> list[tuple[str, str, str]]:
    """(from id, to id, "handoff"|"call") for every hand-off and call."""
    out: list[tuple[str, str, str]] = []
    for pid, p in processes.items():
        for node in p.flow.steps():
            out.extend((pid, other, node.kind) for other in node.links)
    return out


def map_source(processes: Mapping[str, Process]) -> str:
    """The DOT text of the process map: processes by source document, with their links."""
    g = graphviz.Digraph(name="process-map")
    g.attr("graph", rankdir="LR", fontname=FONT, nodesep="0.3", ranksep="0.6")
    g.attr("node", fontname=FONT, shape="box", style="rounded,filled", fillcolor="#e8f0fe")
    g.attr("edge", fontname=FONT, fontsize="10")
    for i, (document, members) in enumerate(_group(processes).items()):
        with g.subgraph(name=f"cluster_{i}") as c:
            c.attr(label=f"<<B>{dot_escape(document)}</B>>", style="rounded", color="#bdc1c6")
            for p in members:
                c.node(
                    f"proc.{p.id}",
                    label=f"<<B>{dot_escape(p.id)}</B><BR/>{dot_escape(p.title)}>",
                    URL=f"process/{p.id}.html",
                    target="_top",
                    tooltip=p.id,
                    id=f"map-{p.id}",
                )
    for src, dst, kind in links(processes):
        if dst not in processes:
            g.node(f"proc.{dst}", label=f"<{dot_escape(dst)}>", style="dashed")
        label = "<轉入>" if kind == "handoff" else "<調用>"
        g.edge(
            f"proc.{src}",
            f"proc.{dst}",
            label=label,
            style="solid" if kind == "handoff" else "dashed",
        )
    source: str = g.source
    return source


def map_page(processes: Mapping[str, Process]) -> str:
    svg = run_graphviz(map_source(processes), "svg").decode("utf-8")
    body = (
        "<h1>流程地圖</h1><p class=meta>"
        "實線：轉入下一流程（不等待）；虛線：調用子流程（等待完成）。</p>"
        f'<figure class="diagram" id="diagram">{html.inline_svg(svg)}</figure>'
    )
    return page("流程地圖", body)


def actors_page(processes: Mapping[str, Process]) -> str:
    """The actors × processes matrix: who does, approves or is notified of what."""
    titles: dict[str, str] = {}
    per_process = {pid: html.roles(p) for pid, p in processes.items()}
    for pid, p in processes.items():
        for actor in per_process[pid]:
            titles.setdefault(actor, actor_title(p.flow.actors, actor))
    ids = sorted(processes)
    head = ["角色", *ids]
    rows = []
    for actor in sorted(titles, key=lambda a: (titles[a], a)):
        cells = [f"{esc(titles[actor])}<br><code>{esc(actor)}</code>"]
        for pid in ids:
            mine = per_process[pid].get(actor, {})
            cells.append(
                "<br>".join(
                    f'<span title="{esc("、".join(steps))}">{esc(role)} {len(steps)}</span>'
                    for role, steps in mine.items()
                )
            )
        rows.append(cells)
    legend = (
        "辦理：執行步驟；審批：決定或簽準；知會：收到通知。數字為步驟數，滑鼠停留可見步驟名稱。"
    )
    links_row = " · ".join(
        f'<a href="process/{esc(pid)}.html">{esc(pid)} {esc(processes[pid].title)}</a>'
        for pid in ids
    )
    matrix = f'<div class="matrix">{table(head, rows)}</div>'
    body = f"<h1>角色矩陣</h1><p class=meta>{legend}</p><p class=small>{links_row}</p>{matrix}"
    return page("角色矩陣", body)


def write_catalog(
    processes: Mapping[str, Process],
    folder: Path,
    *,
    svgs: Mapping[str, str],
    write: Writer,
    files: Sequence[str] = (),
) -> list[Path]:
    """Write the catalog pages into ``folder`` with ``write`` (which must be atomic).

    Args:
        svgs: process id -> its diagram as SVG, linking to ``<id>.html``.
        files: extensions of the diagram files written next to the catalog (for links).
    """
    results = load_results(folder)
    pages: dict[Path, str] = {
        folder / "index.html": index_page(processes, results),
        folder / "map.html": map_page(processes),
        folder / "actors.html": actors_page(processes),
    }
    for pid, process in processes.items():
        pages[folder / "process" / f"{pid}.html"] = html.process_page(
            process, svg=svgs[pid], known=processes, results=results.get(pid), files=files
        )
    for path, text in pages.items():
        write(path, text)
    return list(pages)
