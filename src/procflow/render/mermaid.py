"""Swimlane diagrams as Mermaid flowcharts, for Markdown that GitHub renders.

Owns the translation of a `Diagram` into Mermaid and its escaping. Every label
is a quoted string; inside it Mermaid decodes ``#name;`` and ``#123;`` entity
codes, so ``#`` itself is written first as ``#35;``, then quotes, angle
brackets, ampersands, backticks (which would start a Markdown string) and
``%`` become codes too. Node ids are ours (``n1``, ``n2``...), never text
from the file, so no keyword (``end``, ``graph``) or arrow-like id can break
the chart. Lanes are subgraphs; edges that go back are dotted and red.

Imports `render.diagram` and `render.words`; never `runtime` or `cli`.
"""

from __future__ import annotations

from collections.abc import Callable

from procflow.render.diagram import Diagram, Shape
from procflow.render.wrapping import clean, wrap

_CODES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
    "%": "#37;",
    "|": "#124;",
    "\\": "#92;",
}

_SHAPES: dict[Shape, tuple[str, str]] = {
    "start": ("([", "])"),
    "end": ("(((", ")))"),
    "task": ("(", ")"),
    "decision": ("{", "}"),
    "branch": ("{", "}"),
    "fork": ("[[", "]]"),
    "join": ("[[", "]]"),
    "signer": ("([", "])"),
    "notify": (">", "]"),
    "call": ("[[", "]]"),
    "handoff": ("[/", "/]"),
    "docs": ("[/", "\\]"),
    "clock": ("[\\", "/]"),
    "gate": ("((", "))"),
    "also": ("(", ")"),
}
_CLASSES = {
    "task": "fill:#e8f0fe,stroke:#1a56b0",
    "decision": "fill:#fff4d6,stroke:#b07d00",
    "branch": "fill:#f1f3f4,stroke:#5f6368,stroke-dasharray:4 3",
    "fork": "fill:#202124,stroke:#202124,color:#ffffff",
    "join": "fill:#202124,stroke:#202124,color:#ffffff",
    "signer": "fill:#e6f4ea,stroke:#188038",
    "call": "fill:#f3e8fd,stroke:#7627bb",
    "handoff": "fill:#f3e8fd,stroke:#7627bb",
    "docs": "fill:#fffbe6,stroke:#b07d00",
    "clock": "fill:#fdeee0,stroke:#c5570a",
    "end": "fill:#e6e6e6,stroke:#3c4043",
    "also": "fill:#f1f3f4,stroke:#1a56b0,stroke-dasharray:4 3",
}


def escape(text: str) -> str:
    """``text`` for the inside of a quoted Mermaid label (no line breaks)."""
    return "".join(_CODES.get(c, c) for c in clean(text))


def label(title: str, lines: list[str], columns: int = 24) -> str:
    """A quoted Mermaid label: the title, then the detail lines, wrapped."""
    parts = [escape(x) for x in wrap(title, columns)] if title else []
    for line in lines:
        parts.extend(f"<small>{escape(x)}</small>" for x in wrap(line, columns + 6))
    return '"' + "<br/>".join(parts or [" "]) + '"'


def _edges(diagram: Diagram, ids: dict[str, str]) -> list[str]:
    """The lines of the diagram's arrows; ways back drawn red."""
    out: list[str] = []
    back: list[int] = []
    for count, edge in enumerate(diagram.edges):
        src, dst = ids[edge.src], ids[edge.dst]
        text = f'|"{"<br/>".join(escape(x) for x in wrap(edge.label, 30))}"|' if edge.label else ""
        if edge.style == "order":
            out.append(f"  {src} ~~~ {dst}")
        elif edge.style == "note":
            out.append(f"  {src} -.- {dst}")
        elif edge.style in ("back", "bypass"):
            out.append(f"  {src} -.->{text} {dst}")
            if edge.style == "back":
                back.append(count)
        else:
            out.append(f"  {src} -->{text} {dst}")
    if back:
        out.append(f"  linkStyle {','.join(map(str, back))} stroke:#d93025,color:#d93025")
    return out


def mermaid_source(diagram: Diagram, *, link: Callable[[str], str | None] | None = None) -> str:
    """The Mermaid flowchart of a swimlane diagram.

    Args:
        diagram: from `build_diagram`.
        link: process id -> URL for hand-off and call nodes (None: no link).
    """
    ids = {node.id: f"n{i + 1}" for i, node in enumerate(diagram.nodes)}
    title = escape(" ".join(f"{diagram.id} {diagram.title}".split()))
    out = ["flowchart TB", f"  %% {title}"]
    for i, lane in enumerate(diagram.lanes):
        name = lane.title + lane.note
        out.append(f"  subgraph lane{i + 1}[{label(name, [])}]")
        out.append("    direction TB")
        for node in diagram.in_lane(lane.key):
            left, right = _SHAPES[node.shape]
            out.append(f"    {ids[node.id]}{left}{label(node.title, node.lines)}{right}")
        out.append("  end")
    out.extend(_edges(diagram, ids))
    for shape, style in _CLASSES.items():
        members = [ids[n.id] for n in diagram.nodes if n.shape == shape]
        if members:
            # class names get a prefix: "end" is a Mermaid keyword
            out.append(f"  classDef pf_{shape} {style}")
            out.append(f"  class {','.join(members)} pf_{shape}")
    for node in diagram.nodes:
        url = link(node.link) if link is not None and node.link is not None else None
        if url is not None:
            out.append(f'  click {ids[node.id]} href "{escape(url)}"')
    return "\n".join(out) + "\n"


def markdown(diagram: Diagram, source: str) -> str:
    """A Markdown page holding the Mermaid chart (GitHub draws it)."""
    heading = " ".join(clean(f"{diagram.id} {diagram.title}").split())
    safe = heading.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"# {safe}\n\n```mermaid\n{source}```\n"
