"""Property tests of the language: random valid processes load, compile and round-trip;
random bytes and mutated files only ever produce diagnostics."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from procflow.flow.load import Loader
from procflow.language.diagnostics import Diagnostic
from procflow.language.dump import dump
from procflow.language.model import Process
from tests.strategies import processes

VALID = sorted((Path(__file__).parent / "fixtures" / "valid").glob("*.yaml"))


def to_yaml(data: object) -> str:
    out = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.allow_unicode = True
    yaml.dump(data, out)
    return out.getvalue()


def load_text(text: str, name: str = "random.yaml") -> tuple[Process | None, list[Diagnostic]]:
    return Loader().process(Path(name), text=text)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(processes())
def test_random_valid_processes_load_compile_and_round_trip(data: dict[str, object]) -> None:
    process, problems = load_text(to_yaml(data))
    assert process is not None, [str(p) for p in problems]
    assert not [p for p in problems if p.is_error]
    graph = process.graph
    # every step is a node, plus start and end, plus one join per parallel step
    assert {"@start", "@end"} <= set(graph.nodes)
    for node in graph.nodes:
        assert node == "@start" or graph.in_degree(node) > 0 or node == "@end"
    # compiling twice gives the same graph, in the same order
    again, _ = load_text(to_yaml(data))
    assert again is not None
    assert list(again.graph.nodes) == list(graph.nodes)
    assert list(again.graph.edges(data="kind")) == list(graph.edges(data="kind"))
    # dump back to YAML and load an equal model
    back, problems = load_text(dump(process))
    assert back is not None, [str(p) for p in problems]
    assert back.model_dump() == process.model_dump()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_give_only_diagnostics(raw: bytes) -> None:
    from procflow.language import source

    text, problems = source.decode(raw, "bytes.yaml")
    if text is None:
        assert problems and all(isinstance(p, Diagnostic) for p in problems)
        return
    process, problems = load_text(text)
    assert process is not None or problems


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(["del", "ins", "dup"]),
            st.sampled_from(list(":-[]{}'\"\n #&*!|>\t")),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_valid_files_give_only_diagnostics(
    path: Path, edits: list[tuple[int, str, str]]
) -> None:
    text = path.read_text(encoding="utf-8")
    for pos, op, char in edits:
        i = pos % (len(text) + 1)
        if op == "del":
            text = text[:i] + text[i + 1 :]
        elif op == "ins":
            text = text[:i] + char + text[i:]
        else:
            text = text[:i] + text[i : i + 20] + text[i:]
    process, problems = Loader().process(path, text=text)
    assert process is not None or any(p.is_error for p in problems)
    for p in problems:
        assert p.line >= 0 and p.column >= 0 and p.code.startswith("PF")
