"""What bench_runtime.py compares procflow with: SpiffWorkflow 3.2 and the disk's commit bound.

- `spiff_drivers`: the approval process of ``../shared/anchors/approval.bpmn`` run with
  the canonical SpiffWorkflow driver of ``spiffworkflow-baseline.md`` (one user action at
  a time, then ``do_engine_steps``), in three deployments: the workflow kept in memory;
  kept in memory with its JSON written to SQLite after every task; and a stateless one
  that reads the JSON from SQLite, runs one task and writes it back for every command.
  SQLite runs as procflow's durable store does: WAL, ``synchronous=FULL``.
- `spiff_parse_seconds`: SpiffWorkflow parsing a chain of N user tasks (as the anchor's
  chain case), beside procflow's validate-and-compile of the same chain.
- `commit_rate`: one-row commits per second of SQLite in WAL with ``synchronous=FULL``,
  on the disk procflow's durable store writes to: the bound of one durable client, which
  waits for its commit to be on disk before the next. With ``pages``, commits that write
  as many pages as a procflow command does (`wal_frames` counts them); and
  `commit_rate_processes`, the same one-row commits from several processes at once.

Each driver returns the completions (user tasks run) of one instance, like
``bench_runtime.procflow_instance``. Not part of procflow.
"""

from __future__ import annotations

import itertools
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# ../shared/anchors beside the checkout (a worktree may sit one folder deeper)
ANCHORS = next(
    (p / "shared" / "anchors" for p in Path(__file__).resolve().parents if (p / "shared").is_dir()),
    Path("shared/anchors"),
)
BPMN = ANCHORS / "approval.bpmn"


def durable_sqlite(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    """A connection as the durable SQLiteStore's bound: WAL, a sync at every commit."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def commit_rate(path: Path, seconds: float = 1.0, *, pages: int = 1, row: int = 0) -> float:
    """Commits per second (WAL, ``synchronous=FULL``) over ``seconds``, each one ``UPDATE``
    of ``pages`` rows that fill a page each: ``pages`` WAL frames per commit.

    ``row`` is the first row's id, for processes sharing a file (each its own rows).
    """
    conn = durable_sqlite(path, timeout=60)  # the processes' clients wait their turn
    conn.execute("CREATE TABLE IF NOT EXISTS bound (id INTEGER PRIMARY KEY, n INTEGER, pad BLOB)")
    rows = range(row, row + pages)
    # 3,000 bytes of padding: one row to a 4 KiB page, so a commit writes `pages` leaves
    conn.executemany(
        "INSERT OR REPLACE INTO bound VALUES (?, 0, zeroblob(3000))", [(r,) for r in rows]
    )
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE bound SET n = n + 1 WHERE id BETWEEN ? AND ?", (rows[0], rows[-1]))
        conn.execute("COMMIT")
        done += 1
    elapsed = time.perf_counter() - start
    conn.close()
    return done / elapsed


def wal_frames(path: Path, run: Callable[[], int]) -> float:
    """WAL frames (pages) per commit that ``run`` makes on the database at ``path``.

    ``run`` returns how many commits it made, and must not checkpoint on its
    way (a durable SQLiteStore checkpoints every 256 of its commits).
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()  # the WAL starts over
        commits = run()
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        conn.close()
    return float(frames) / commits


def _commit_client(path: str, row: int, begin: float, end: float, out: Any) -> None:
    conn = durable_sqlite(Path(path), timeout=60)
    done = 0
    while time.time() < begin:  # every client starts together
        time.sleep(0.0005)
    while time.time() < end:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE bound SET n = n + 1 WHERE id = ?", (row,))
        conn.execute("COMMIT")
        done += 1
    conn.close()
    out.put(done)


def commit_rate_processes(path: Path, count: int, seconds: float = 1.0) -> float:
    """One-row commits per second of ``count`` processes together on one file (WAL, FULL),
    each its own row: how SQLite itself scales on this disk, a commit syncing under the
    write lock."""
    import multiprocessing

    for k in range(count):  # the table and every client's row first
        commit_rate(path, 0.0, row=k * 1_000)
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    begin = time.time() + 3.0  # once every client has started
    clients = [
        spawn.Process(
            target=_commit_client, args=(str(path), k * 1_000, begin, begin + seconds, out)
        )
        for k in range(count)
    ]
    for c in clients:
        c.start()
    total = sum(out.get(timeout=60) for _ in clients)
    for c in clients:
        c.join()
    return float(total) / seconds


class _Spiff:
    """SpiffWorkflow on the anchor's approval process, driven as its users deploy it."""

    def __init__(self, folder: Path, spec: Any, modules: tuple[Any, Any, Any]) -> None:
        serializer, self.workflow, self.ready = modules
        self.spec, self.serializer = spec, serializer()
        self.conn = durable_sqlite(folder / "spiff.db")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS workflows (id INTEGER PRIMARY KEY, state TEXT)"
        )
        self.ids = itertools.count()

    def act(self, wf: Any, rejected: bool) -> bool:
        """One user action, as the anchor's driver takes it; whether review rejected."""
        task = wf.get_next_task(state=self.ready, manual=True)
        if task.task_spec.name == "draft":
            task.set_data(plan_kind="special")
        elif task.task_spec.name == "review":
            task.set_data(decision="approve" if rejected else "reject")
            rejected = True
        task.run()
        wf.do_engine_steps()
        return rejected

    def write(self, key: int, wf: Any, *, new: bool = False) -> None:
        text = self.serializer.serialize_json(wf)
        self.conn.execute("BEGIN IMMEDIATE")
        if new:
            self.conn.execute("INSERT INTO workflows VALUES (?, ?)", (key, text))
        else:
            self.conn.execute("UPDATE workflows SET state = ? WHERE id = ?", (text, key))
        self.conn.execute("COMMIT")

    def kept(self, written: bool) -> Callable[[], int]:
        """The workflow kept in memory; its JSON ``written`` to SQLite after every task."""

        def run() -> int:
            key, wf = next(self.ids), self.workflow(self.spec)
            wf.do_engine_steps()
            if written:
                self.write(key, wf, new=True)
            done, rejected = 0, False
            while not wf.is_completed():
                rejected = self.act(wf, rejected)
                if written:
                    self.write(key, wf)
                done += 1
            return done

        return run

    def reload_per_command(self) -> int:
        key, wf = next(self.ids), self.workflow(self.spec)
        wf.do_engine_steps()
        self.write(key, wf, new=True)
        done, rejected = 0, False
        while True:  # each turn is one request: read, act, write back
            query = "SELECT state FROM workflows WHERE id = ?"
            (text,) = self.conn.execute(query, (key,)).fetchone()
            wf = self.serializer.deserialize_json(text)
            rejected = self.act(wf, rejected)
            self.write(key, wf)
            done += 1
            if wf.is_completed():
                return done


def spiff_drivers(folder: Path) -> dict[str, Callable[[], int]] | None:
    """``memory``, ``json per task`` and ``reload per command`` drivers (None: not installed).

    The durable ones keep their SQLite file in ``folder``.
    """
    try:
        from SpiffWorkflow.bpmn.parser import BpmnParser  # type: ignore[import-untyped]
        from SpiffWorkflow.bpmn.serializer.workflow import (  # type: ignore[import-untyped]
            BpmnWorkflowSerializer,
        )
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # type: ignore[import-untyped]
        from SpiffWorkflow.util.task import TaskState  # type: ignore[import-untyped]
    except ImportError:
        return None
    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN))
    spiff = _Spiff(
        folder,
        parser.get_spec("approval"),
        (BpmnWorkflowSerializer, BpmnWorkflow, TaskState.READY),
    )
    return {
        "memory": spiff.kept(written=False),
        "json per task": spiff.kept(written=True),
        "reload per command": spiff.reload_per_command,
    }


def chain_bpmn(n: int) -> str:
    """A BPMN process of ``n`` user tasks in a row (as the anchor's chain case)."""
    flows, nodes = [], ['<bpmn:startEvent id="start"/>']
    for i in range(1, n + 1):
        nodes.append(f'<bpmn:userTask id="t{i}" name="step {i}"/>')
    nodes.append('<bpmn:endEvent id="end"/>')
    ids = ["start", *(f"t{i}" for i in range(1, n + 1)), "end"]
    for i, (a, b) in enumerate(itertools.pairwise(ids)):
        flows.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="chain_definitions" targetNamespace="http://example.org/anchor-bench">'
        '<bpmn:process id="chain" isExecutable="true">'
        + "".join(nodes + flows)
        + "</bpmn:process></bpmn:definitions>"
    )


def spiff_parse_seconds(n: int) -> float | None:
    """Seconds for SpiffWorkflow to parse a chain of ``n`` user tasks and build its spec
    (None: not installed). Its parser recurses once per task: it runs in a thread with a
    large stack and a raised recursion limit, as the anchor did for 10,000."""
    try:
        from SpiffWorkflow.bpmn.parser import BpmnParser
    except ImportError:
        return None
    text = chain_bpmn(n).encode()
    spent: list[float] = []

    def parse() -> None:
        from lxml import etree  # type: ignore[import-untyped]  # SpiffWorkflow's own parser

        started = time.perf_counter()
        parser = BpmnParser()
        parser.add_bpmn_xml(etree.fromstring(text), filename="chain.bpmn")
        parser.get_spec("chain")
        spent.append(time.perf_counter() - started)

    limit, size = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(max(limit, 20 * n))
    threading.stack_size(512 * 2**20)
    try:
        thread = threading.Thread(target=parse)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(size)
        sys.setrecursionlimit(limit)
    return spent[0] if spent else None


SPIFF_OWNER = "owner-template"


class SpiffTable:
    """SpiffWorkflow's approval workflows stored as its users store them: one row of
    serialised JSON per workflow, in SQLite (WAL, ``synchronous=FULL``) or PostgreSQL.

    What bench_scale.py sets beside procflow's stores: a command reads one row (``FOR
    UPDATE`` on PostgreSQL), deserialises it, runs the ready user task and writes it back
    in one transaction; an inbox has no index to ask, so it deserialises stored workflows
    until it has found a page of ready tasks in the lane (and for the owner) asked for,
    and a count deserialises them all. Half the workflows wait at ``draft`` (lane
    ``market_manager``, the person's inbox: data ``owner``), half at ``review`` (lane
    ``product_marketing_manager``, the manager's).
    """

    def __init__(self, url: str) -> None:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec, self.workflow = parser.get_spec("approval"), BpmnWorkflow
        self.serializer, self.ready = BpmnWorkflowSerializer(), TaskState.READY
        self.conn: Any
        if url.startswith("sqlite:///"):
            self.conn, self.mark = durable_sqlite(Path(url[len("sqlite:///") :] + ".spiff")), "?"
            self.begin, self.read = (
                "BEGIN IMMEDIATE",
                "SELECT state FROM spiff_workflows WHERE id = ?",
            )
        else:
            import psycopg

            self.conn, self.mark = psycopg.connect(url, autocommit=True), "%s"
            self.begin = "BEGIN"
            self.read = "SELECT state FROM spiff_workflows WHERE id = ? FOR UPDATE"
        self.sql("CREATE TABLE IF NOT EXISTS spiff_workflows (id BIGINT PRIMARY KEY, state TEXT)")

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(query.replace("?", self.mark), params)

    def templates(self) -> dict[str, str]:
        """The JSON of a workflow waiting at ``draft`` and of one waiting at ``review``."""
        wf = self.workflow(self.spec)
        wf.do_engine_steps()
        wf.data["owner"] = SPIFF_OWNER
        at_draft = self.serializer.serialize_json(wf)
        task = wf.get_next_task(state=self.ready, manual=True)
        task.set_data(plan_kind="special")
        task.run()
        wf.do_engine_steps()
        return {"draft": at_draft, "review": self.serializer.serialize_json(wf)}

    def fill(self, start: int, stop: int) -> None:
        """Rows ``start`` .. ``stop`` - 1: even ids at ``draft`` owned by ``u{id % 1000}``,
        odd ids at ``review``; one transaction per 1,000 rows."""
        shapes = self.templates()
        for first in range(start, stop, 1000):
            rows = [
                (
                    n,
                    shapes["review"]
                    if n % 2
                    else shapes["draft"].replace(SPIFF_OWNER, f"u{n % 1000}"),
                )
                for n in range(first, min(stop, first + 1000))
            ]
            self.sql(self.begin)
            cur = self.conn.cursor()
            cur.executemany(
                "INSERT INTO spiff_workflows VALUES (?, ?)".replace("?", self.mark), rows
            )
            self.sql("COMMIT")

    def inbox(self, lane: str, owner: str | None = None, limit: int | None = 50) -> int:
        """Ready user tasks in ``lane`` (for ``owner``), up to ``limit`` (None: all)."""
        found, after = 0, -1
        while True:
            rows = self.sql(
                "SELECT id, state FROM spiff_workflows WHERE id > ? ORDER BY id LIMIT 500", (after,)
            ).fetchall()
            if not rows:
                return found
            after = rows[-1][0]
            for _, text in rows:
                wf = self.serializer.deserialize_json(text)
                if owner is not None and wf.data.get("owner") != owner:
                    continue
                for task in wf.get_tasks(state=self.ready, manual=True):
                    if task.task_spec.lane == lane:
                        found += 1
                if limit is not None and found >= limit:
                    return found

    def complete(self, key: int) -> None:
        """One command: the ready task of workflow ``key``, in one durable transaction."""
        self.sql(self.begin)
        (text,) = self.sql(self.read, (key,)).fetchone()
        wf = self.serializer.deserialize_json(text)
        task = wf.get_next_task(state=self.ready, manual=True)
        task.set_data(plan_kind="special", decision="approve")
        task.run()
        wf.do_engine_steps()
        self.sql(
            "UPDATE spiff_workflows SET state = ? WHERE id = ?",
            (self.serializer.serialize_json(wf), key),
        )
        self.sql("COMMIT")

    def close(self) -> None:
        self.conn.close()


def spiff_installed() -> bool:
    """Whether SpiffWorkflow (benchmarks/requirements.txt) can be imported."""
    try:
        import SpiffWorkflow  # noqa: F401
    except ImportError:
        return False
    return True
