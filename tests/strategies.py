"""Hypothesis strategies: random valid processes, as plain data ready to dump to YAML.

`processes()` draws a process that must load with no errors: actors and typed
documents, then a sequence of steps of every kind whose targets only go
forward (``next``, or a later step when the step in between stays reachable)
or back to an earlier step from a decision that also has a way forward, so
every step is reachable, every loop has an exit and an end is reachable.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from procflow.language.expr import RESERVED_WORDS

IDENT = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    # reserved words cannot name documents or fields (PF207); yes/no words need quotes (PF108)
    lambda name: name not in RESERVED_WORDS and name not in {"yes", "no", "on", "off"}
)
TITLE = st.text(alphabet="市場經理審批計劃預算簽準流程abcXYZ 0123-", min_size=1, max_size=12)
FIELD_TYPES = ("text", "number", "money", "percent", "date", "choice", "yesno")


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(IDENT, min_size=1, max_size=3, unique=True))
    docs: dict[str, Any] = {}
    for name in names:
        fields: dict[str, Any] = {}
        for fname in draw(st.lists(IDENT, min_size=1, max_size=4, unique=True)):
            ftype = draw(st.sampled_from(FIELD_TYPES))
            spec: dict[str, Any] = {"type": ftype, "title": draw(TITLE)}
            if ftype == "choice":
                spec["of"] = draw(st.lists(IDENT, min_size=2, max_size=4, unique=True))
            if draw(st.booleans()):
                spec["required"] = False
            fields[fname] = spec
        docs[name] = {"title": draw(TITLE), "fields": fields}
    return docs


def _condition(draw: st.DrawFn, docs: dict[str, Any]) -> str:
    doc = draw(st.sampled_from(sorted(docs)))
    fname = draw(st.sampled_from(sorted(docs[doc]["fields"])))
    spec = docs[doc]["fields"][fname]
    path = f"{doc}.{fname}"
    ftype = spec["type"]
    if ftype in ("number", "money", "percent"):
        op = draw(st.sampled_from([">", ">=", "<", "<=", "==", "!="]))
        return f"{path} {op} {draw(st.integers(0, 5000))}"
    if ftype == "choice":
        value = draw(st.sampled_from(spec["of"]))
        return f'{path} {draw(st.sampled_from(["==", "!="]))} "{value}"'
    if ftype == "yesno":
        return draw(st.sampled_from([path, f"!{path}"]))
    if ftype == "date":
        return f"has({path})"
    return f"size({path}) > {draw(st.integers(0, 5))}"


def _simple_task(
    draw: st.DrawFn, sid: str, actors: list[str], docs: dict[str, Any]
) -> dict[str, Any]:
    step: dict[str, Any] = {"id": sid, "title": draw(TITLE), "actor": draw(st.sampled_from(actors))}
    if draw(st.booleans()):
        step["fills"] = draw(st.sampled_from(sorted(docs)))
    if draw(st.integers(0, 3)) == 0:
        step["when"] = _condition(draw, docs)
    return step


def _sign_step(draw: st.DrawFn, sid: str, actors: list[str], back: list[str]) -> dict[str, Any]:
    """A sign-off by some of ``actors``; a rejection goes to one of ``back``."""
    signers = draw(st.lists(st.sampled_from(actors), min_size=1, max_size=len(actors), unique=True))
    rule = draw(st.sampled_from(["all_of", "any_of", "in_turn", "n_of"]))
    sign: dict[str, Any] = {rule: signers}
    if rule == "n_of":
        sign["n"] = draw(st.integers(1, len(signers)))
    step = {"id": sid, "title": draw(TITLE), "sign": sign}
    if draw(st.booleans()):
        step["reject"] = draw(st.sampled_from(back))
    return step


def _parallel_step(draw: st.DrawFn, sid: str, actors: list[str], docs: Any) -> dict[str, Any]:
    """Two or three branches of one or two tasks, some with a `when`."""
    branches = []
    for b in range(draw(st.integers(2, 3))):
        inner = [
            _simple_task(draw, f"{sid}_{b}_{j}", actors, docs)
            for j in range(draw(st.integers(1, 2)))
        ]
        branch: dict[str, Any] = {"steps": inner}
        if draw(st.booleans()):
            branch["when"] = _condition(draw, docs)
        branches.append(branch)
    return {"id": sid, "parallel": branches, "join": draw(st.sampled_from(["all", "any"]))}


@st.composite
def processes(draw: st.DrawFn) -> dict[str, Any]:
    """A random process (plain data) that must load without errors."""
    actors = draw(st.lists(IDENT, min_size=1, max_size=4, unique=True))
    docs = draw(documents())
    count = draw(st.integers(1, 8))
    ids = [f"s{i}" for i in range(count)]
    steps: list[dict[str, Any]] = []
    for i, sid in enumerate(ids):
        kind = draw(
            st.sampled_from(["task", "task", "decide", "sign", "branch", "parallel", "notify"])
        )
        later = ids[i + 2 :]  # jumping over ids[i+1] keeps it reachable through 'next'
        if kind == "decide":
            step = _simple_task(draw, sid, actors, docs)
            step["decide"] = {"approve": "next", "revise": draw(st.sampled_from(ids[: i + 1]))}
        elif kind == "sign":
            step = _sign_step(draw, sid, actors, ids[: i + 1])
        elif kind == "branch" and later:
            arms: list[dict[str, Any]] = [
                {"if": _condition(draw, docs), "goto": draw(st.sampled_from(later))}
                for _ in range(draw(st.integers(1, 2)))
            ]
            arms.append({"otherwise": "next"})
            step = {"id": sid, "branch": arms}
        elif kind == "parallel":
            step = _parallel_step(draw, sid, actors, docs)
        elif kind == "notify":
            step = {"id": sid, "notify": draw(st.sampled_from(actors)), "message": draw(TITLE)}
        else:
            step = _simple_task(draw, sid, actors, docs)
        steps.append(step)
    if draw(st.booleans()):
        steps.append(
            {"id": "finish", "end": draw(st.sampled_from(["approved", "rejected", "done"]))}
        )
    out: dict[str, Any] = {
        "procflow": 1,
        "id": draw(st.from_regex(r"[A-Z]{2,3}-[0-9]{3}", fullmatch=True)),
        "title": draw(TITLE),
        "actors": {a: draw(TITLE) for a in actors},
        "documents": docs,
        "steps": steps,
    }
    if draw(st.integers(0, 3)) == 0:
        out["schedule"] = draw(_schedule(actors))
    return out


@st.composite
def _schedule(draw: st.DrawFn, actors: list[str]) -> dict[str, Any]:
    """A ``schedule:`` in one of its forms, on behalf of one of the actors."""
    every = draw(st.sampled_from(["month", "year", "working day", "每月20日", "1 December"]))
    out: dict[str, Any] = {"every": every, "by": draw(st.sampled_from(actors))}
    if every == "month":
        out["day"] = draw(st.integers(1, 31))
    elif every == "year":
        out["month"], out["day"] = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    if every != "working day" and draw(st.booleans()):
        out["holidays"] = "postpone"
    return out
