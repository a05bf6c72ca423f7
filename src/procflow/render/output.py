"""Writing diagram files: every format, atomically, for many processes at once.

Owns `write_diagrams` (what ``procflow render`` and ``procflow check`` call).
Every file goes through `procflow.writing.atomic_write`: a temporary file in
the same folder, renamed over the old one, so a failure never leaves half a
diagram where a good one was. DOT and Mermaid need nothing; SVG, PNG and the
HTML catalog need the Graphviz binary and fail with a `RenderError` that
says how to install it (after the text formats are written).

Imports `render.*`, `model`, `errors`; never `runtime` or `cli`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from procflow.errors import RenderError
from procflow.flow.catalog import Process
from procflow.flow.ports import Language
from procflow.render.diagram import Diagram, build_diagram
from procflow.render.dot import (
    INSTALL_HINT,
    ImageFormat,
    Linker,
    dot_source,
    graphviz_available,
    render_images,
)
from procflow.render.mermaid import markdown, mermaid_source
from procflow.render.site import write_catalog
from procflow.writing import atomic_write

FORMATS = ("svg", "png", "dot", "mermaid", "html")
"""Every output format; ``mermaid`` writes ``<id>.mmd`` and ``<id>.md``."""

_SVG_LINK = re.compile(r'xlink:href="([A-Za-z][A-Za-z0-9_.-]*)\.svg"')


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"svg,png"`` or ``["svg", "png"]`` as known formats, in a fixed order.

    Raises:
        ValueError: naming an unknown format and listing the known ones.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    wanted = {x.strip().lower() for x in items if x.strip()}
    unknown = sorted(wanted - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format {', '.join(unknown)}; use some of {', '.join(FORMATS)}")
    if not wanted:
        raise ValueError(f"name at least one format: {', '.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in wanted)


def write_diagrams(
    processes: Mapping[str, Process],
    folder: str | Path,
    *,
    formats: str | Iterable[str] = ("svg",),
    language: Language | None = None,
) -> list[Path]:
    """Draw every process in every format into ``folder``; return the files written.

    Hand-offs and calls link to the other process's file (``<id>.svg``, ``<id>.md``,
    the catalog page) when that process is among ``processes``. Each diagram and page
    is in the language of its process's title unless ``language`` (``zh`` or ``en``)
    says otherwise.

    Raises:
        RenderError: when an image format is asked for and Graphviz is missing or
            fails (the text formats are written first), or a file cannot be written.
        ValueError: for an unknown format.
    """
    wanted = parse_formats(formats)
    try:
        return _write_all(processes, Path(folder), wanted, language)
    except OSError as exc:  # a folder that cannot be made or written in, a full disk
        where = exc.filename if exc.filename is not None else folder
        raise RenderError(f"cannot write {where}: {exc.strerror or exc}") from exc


def _write_all(
    processes: Mapping[str, Process],
    out: Path,
    wanted: tuple[str, ...],
    language: Language | None,
) -> list[Path]:
    titles = {pid: p.title for pid, p in processes.items()}
    diagrams = {
        pid: build_diagram(p, titles=titles, language=language) for pid, p in processes.items()
    }
    written: list[Path] = []

    def link(ext: str) -> Linker:
        return lambda pid: f"{pid}.{ext}" if pid in processes else None

    for pid, d in diagrams.items():
        if "dot" in wanted:
            written.append(_write(out / f"{pid}.dot", dot_source(d, link=link("svg"))))
        if "mermaid" in wanted:
            source = mermaid_source(d, link=link("md"))
            written.append(_write(out / f"{pid}.mmd", source))
            written.append(_write(out / f"{pid}.md", markdown(d, source)))
    images = [f for f in wanted if f in ("svg", "png", "html")]
    if not images:
        return written
    if not graphviz_available():
        raise RenderError(INSTALL_HINT, written=written)
    svgs = _images(diagrams, wanted, out, written, link("svg"))
    if "html" in wanted:
        pages = {pid: _SVG_LINK.sub(r'xlink:href="\1.html"', svg) for pid, svg in svgs.items()}
        files = [
            f
            for f in ("svg", "png", "dot", "md")
            if f in wanted or (f == "md" and "mermaid" in wanted)
        ]
        written += write_catalog(
            processes, out, svgs=pages, write=atomic_write, files=files, language=language
        )
    return written


def _write(path: Path, data: str | bytes) -> Path:
    atomic_write(path, data)
    return path


def _images(
    diagrams: Mapping[str, Diagram],
    wanted: tuple[str, ...],
    out: Path,
    written: list[Path],
    link: Linker,
) -> dict[str, str]:
    """Draw SVG (also for the catalog) and PNG, a few Graphviz runs at a time; a process
    drawn in both is laid out once."""

    formats: list[ImageFormat] = ["svg"] if {"svg", "html"} & set(wanted) else []
    formats += ["png"] if "png" in wanted else []

    def one(pid: str) -> tuple[str, bytes | None, bytes | None]:
        drawn = render_images(diagrams[pid], formats, link=link)  # one layout for both
        return pid, drawn.get("svg"), drawn.get("png")

    svgs: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        for pid, svg, png in pool.map(one, diagrams):
            if svg is not None:
                svgs[pid] = svg.decode("utf-8")
                if "svg" in wanted:
                    written.append(_write(out / f"{pid}.svg", svg))
            if png is not None:
                written.append(_write(out / f"{pid}.png", png))
    return svgs
