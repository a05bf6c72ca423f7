"""Scale: inbox pages, counts, completions and ticks at 10k, 100k, 1M live instances.

Prints (no assertions), for SQLite and PostgreSQL side by side (issue 12, item 7):

(b) p50/p99 of a 50-task inbox page (the first, and the one after it by
    cursor) for a person with an assigned share of the tasks (about N/2,000)
    and for a manager whose role sees every second instance (N/2 tasks), of
    `count_tasks` for each, and of one durable `complete`;
(c) `tick()` with N/2 pending timers of which 1,000 are due, and an empty tick;
(d) the peak RSS of the measuring process (a worker: it opens the store, pages
    the inboxes, completes, ticks);
(a) with ``--workers``: durable completions/s with 1, 2, 4 and 8 worker
    processes, each completing its own people's tasks.

Beside each store, the peer: SpiffWorkflow 3.2 with its JSON serializer, one row
per workflow in the same database, as its users deploy it (`peers.SpiffTable`;
``pip install -r benchmarks/requirements.txt``, else it is left out). Its inbox
has no index to ask: a page deserialises workflows until it has 50 ready tasks of
the lane (the person's: every workflow, since few are theirs), a count all of
them. Its ``complete`` reads one row ``FOR UPDATE``, runs the task and writes the
JSON back in one transaction; (a) runs it from 1, 2, 4 and 8 processes. The peer
is loaded up to ``--spiff-max`` workflows (default 100k: about 20 KB each).

Every measured call goes through the public `Engine` API. The instances are
loaded in bulk: a few real instances are started by the engine in a
`MemoryStore`, their commits are recorded, and copies (other instance ids,
owners, due moments) go to the store through `Store.commit` in batches of
1,000, one transaction each: the same rows the engine writes, far faster
than a million ``start`` calls.

PostgreSQL: a throwaway cluster of our own (``fsync=on``,
``synchronous_commit=on``: durable, as in production), or ``--postgres DSN``.

Run: ``python benchmarks/bench_scale.py`` (10k and 100k), or
``--sizes 10000,100000,1000000`` for the million (several minutes per store).
Targets: inbox page p99 <= 10 ms at 1M, ``complete`` p99 <= 10 ms at 1M, tick
cost proportional to the due timers, RSS flat in the instance count.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

PROCESS = """procflow: 1
id: CLAIM
title: claim
actors: {staff: staff, manager: manager}
documents:
  claim:
    title: claim
    fields:
      owner: {type: user, title: owner}
      amount: {type: money, title: amount, min: 0, required: false}
steps:
  - id: fill
    title: fill
    actor: staff
    assignee: claim.owner
    fills: {claim: [amount]}
    deadline: {due: 30 days}
  - id: approve
    title: approve
    actor: manager
    reads: claim
"""
PEOPLE = 1_000
DUE = 1_000
"""Timers due at the measuring moment (the rest are in the future)."""
NOW = datetime(2026, 3, 2, 9)
"""The measuring engine's clock."""
TEMPLATE_OWNER = "owner-template"


def _catalog() -> dict[str, Any]:
    import procflow

    return {"CLAIM": procflow.loads(PROCESS)}


def templates() -> dict[str, list[Any]]:
    """The commits of three real instances: at ``fill`` due later, at ``fill`` due
    already, and at ``approve`` (open to the manager role), as JSON-able lists."""
    from procflow import Engine, ManualClock, MemoryStore, User
    from procflow.store.base import state_json

    made: dict[str, list[Any]] = {}

    class Recording(MemoryStore):
        def commit(self, commits: Any, **kw: Any) -> Any:
            for c in commits:
                made.setdefault(c.instance_id, []).append(c)
            return super().commit(commits, **kw)

    clock = ManualClock(NOW)
    eng = Engine(_catalog(), store=Recording(), clock=clock)
    staff = User("starter", {"staff"})
    data = {"claim": {"owner": TEMPLATE_OWNER}}
    later = eng.start("CLAIM", by=staff, data=data).id
    clock.set(NOW - timedelta(days=40))
    due = eng.start("CLAIM", by=staff, data=data).id
    approve = eng.start("CLAIM", by=staff, data=data)
    eng.complete(approve.tasks[0].id, by=User(TEMPLATE_OWNER, {"staff"}),
                 data={"claim": {"amount": "12"}})  # fmt: skip

    def as_json(iid: str) -> list[Any]:
        steps = []
        for c in made[iid]:
            steps.append([c._replace(state=state_json(c.state))._asdict()])
        return [iid, json.loads(json.dumps(steps, default=list))]

    return {"later": as_json(later), "due": as_json(due), "approve": as_json(approve.id)}


def clone(template: list[Any], iid: str, owner: str) -> list[Any]:
    """The commits of ``template`` for instance ``iid`` owned by ``owner``."""
    from procflow.store.rows import Commit, NewEvent, TaskRow, TimerRow

    old, steps = template
    text = json.dumps(steps).replace(old, iid).replace(TEMPLATE_OWNER, owner)
    out = []
    for [c] in json.loads(text):
        c["events"] = tuple(NewEvent(*e) for e in c["events"])
        c["tasks"] = tuple(
            TaskRow(*(tuple(v) if isinstance(v, list) else v for v in t)) for t in c["tasks"]
        )
        c["timers"] = tuple(TimerRow(*t) for t in c["timers"])
        c["search"] = tuple(tuple(p) for p in c["search"])
        c["changes"] = None  # the complete sets above say it all
        out.append(Commit(**c))
    return out


def shape(n: int, size: int) -> str:
    """Which template instance ``n`` copies: half at ``approve``, DUE of the rest due."""
    if n % 2:
        return "approve"
    return "due" if (n // 2) % max(1, size // 2 // DUE) == 0 else "later"


def fill(url: str, start: int, stop: int, size: int) -> float:
    """Load instances ``start`` .. ``stop`` - 1; the seconds it took."""
    from procflow import Engine, ManualClock, User, open_store

    shapes = templates()
    store = open_store(url, durable=False) if url.startswith("sqlite") else open_store(url)
    if start == 0:  # the definition, through a real start
        Engine(_catalog(), store=store, clock=ManualClock(NOW)).start(
            "CLAIM", by=User("starter", {"staff"}), data={"claim": {"owner": "nobody"}}
        )
    began = time.perf_counter()
    for first in range(start, stop, 1000):
        rounds: list[list[Any]] = [[], [], []]
        for n in range(first, min(stop, first + 1000)):
            for k, c in enumerate(clone(shapes[shape(n, size)], f"b{n:09d}", f"u{n % PEOPLE}")):
                rounds[k].append(c)
        for batch in rounds:
            if batch:
                store.commit(batch)
    took = time.perf_counter() - began
    store.close()
    return took


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in samples)
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))]


def _time(call: Any, times: int) -> tuple[float, float]:
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return _percentiles(samples)


def measure(url: str, samples: int) -> dict[str, Any]:
    """What a worker sees: run in a child process of its own (for its RSS)."""
    from procflow import Engine, ManualClock, User, open_store

    store = open_store(url)
    eng = Engine(_catalog(), store=store, clock=ManualClock(NOW))
    person = User("u2", {"staff"})
    manager = User("boss", {"manager"})
    out: dict[str, Any] = {}
    for who, user in (("person", person), ("manager", manager)):
        first = eng.tasks(user=user, limit=50)
        out[f"{who}_tasks"] = eng.count_tasks(user=user)
        out[f"{who}_page"] = _time(lambda u=user: eng.tasks(user=u, limit=50), samples)
        if first.next is not None:
            out[f"{who}_next"] = _time(
                lambda u=user, c=first.next: eng.tasks(user=u, limit=50, after=c), samples
            )
        out[f"{who}_count"] = _time(lambda u=user: eng.count_tasks(user=u), max(5, samples // 10))
    # complete: the tasks of people u10.. (each person's first page)
    todo = []
    for k in range(10, 10 + PEOPLE):
        todo += [t.id for t in eng.tasks(user=User(f"u{k}", {"staff"}), limit=2)]
        if len(todo) >= samples:
            break
    took = []
    for task_id in todo[:samples]:
        owner = eng.task(task_id).assignee or ""
        began = time.perf_counter()
        eng.complete(task_id, by=User(owner, {"staff"}), data={"claim": {"amount": "5"}})
        took.append(time.perf_counter() - began)
    out["complete"] = _percentiles(took)
    began = time.perf_counter()
    fired = eng.tick()
    out["tick"] = (time.perf_counter() - began) * 1000, len(fired)
    began = time.perf_counter()
    fired = eng.tick()
    out["tick_empty"] = (time.perf_counter() - began) * 1000, len(fired)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.close()
    return out


def _completer(url: str, users: list[str], seconds: float, queue: Any) -> None:
    from procflow import Engine, ManualClock, User, open_store

    store = open_store(url)
    eng = Engine(_catalog(), store=store, clock=ManualClock(NOW))
    todo = []
    for u in users:
        todo += [(t.id, u) for t in eng.tasks(assignee=u, limit=40)]
    done = 0
    began = time.perf_counter()
    end = began + seconds
    for task_id, u in todo:
        if time.perf_counter() >= end:
            break
        eng.complete(task_id, by=User(u, {"staff"}), data={"claim": {"amount": "5"}})
        done += 1
    queue.put((done, time.perf_counter() - began))
    store.close()


def durable_rate(url: str, workers: int, seconds: float, offset: int) -> float:
    """Completions/s of ``workers`` processes, each on its own people."""
    people = [f"u{offset + k}" for k in range(workers * 20)]
    return _rate(_completer, url, [people[w::workers] for w in range(workers)], seconds)


def _rate(target: Any, url: str, shares: list[Any], seconds: float) -> float:
    """Completions/s of one spawned process per share, each running ``target``."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, share, seconds, queue)) for share in shares]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return float(sum(d for d, _ in results) / max(t for _, t in results))


def spiff_measure(url: str, loaded: int, size: int, samples: int, scans: int) -> dict[str, Any]:
    """The peer at ``size`` workflows (loaded in bulk from ``loaded``): SpiffWorkflow's
    JSON in the same database (`peers.SpiffTable`); ``scans`` full-scan samples (0: none)."""
    from peers import SpiffTable

    table = SpiffTable(url)
    began = time.perf_counter()
    table.fill(loaded, size)
    out: dict[str, Any] = {"loaded_s": time.perf_counter() - began}
    if scans:
        out["person_page"] = _time(lambda: table.inbox("market_manager", owner="u2"), scans)
        out["manager_count"] = _time(
            lambda: table.inbox("product_marketing_manager", limit=None), scans
        )
    out["manager_page"] = _time(lambda: table.inbox("product_marketing_manager"), samples)
    middle = loaded + (size - loaded) // 4 * 2  # the second half of the new rows, at draft
    keys = iter(range(middle, size, 2))
    out["complete"] = _time(lambda: table.complete(next(keys)), min(samples, (size - loaded) // 4))
    table.close()
    return out


def _spiff_completer(url: str, keys: list[int], seconds: float, queue: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from peers import SpiffTable

    table = SpiffTable(url)
    done, began = 0, time.perf_counter()
    for key in keys:
        if time.perf_counter() - began >= seconds:
            break
        table.complete(key)
        done += 1
    queue.put((done, time.perf_counter() - began))
    table.close()


def spiff_rate(url: str, workers: int, seconds: float, first: int, stop: int) -> float:
    """The peer's durable completions/s with ``workers`` processes, each on its own rows
    (even ids from ``first`` to ``stop``: workflows at draft)."""
    keys = list(range(first, stop, 2))
    return _rate(_spiff_completer, url, [keys[w::workers] for w in range(workers)], seconds)


def report_spiff(name: str, size: int, r: dict[str, Any]) -> None:
    print(f"  SpiffWorkflow JSON in {name} ({r['loaded_s']:.0f} s to load):", end="")
    if "person_page" in r:
        print(f" person inbox (full scan) {_pair(r['person_page'])},", end="")
        print(f" manager count (full scan) {_pair(r['manager_count'])},", end="")
    else:
        print(" full scans not run (--spiff-scans 0),", end="")
    print(f" manager page {_pair(r['manager_page'])}, complete {_pair(r['complete'])}", flush=True)


def _postgres() -> tuple[str, Any]:
    """A durable throwaway cluster (tests/pg_cluster.py with fsync on)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg_cluster import Cluster

    cluster = Cluster(
        "-c fsync=on -c synchronous_commit=on -c max_connections=100 -c shared_buffers=256MB"
    )
    cluster.start()
    return cluster.dsn(), cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--postgres", metavar="DSN", help="a server to use (a fresh database)")
    parser.add_argument("--workers", action="store_true", help="also (a): 1, 2, 4, 8 processes")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-peer", action="store_true", help="leave SpiffWorkflow out")
    parser.add_argument(
        "--spiff-max", type=int, default=100_000,
        help="largest size the peer is loaded to (about 20 KB a workflow)",
    )  # fmt: skip
    parser.add_argument("--spiff-scans", type=int, default=3, help="full-scan samples")
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.samples)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    cluster = None
    urls = {}
    if "sqlite" in args.stores:
        urls["sqlite"] = f"sqlite:///{folder / 'scale.db'}"
    if "postgres" in args.stores:
        dsn = args.postgres
        if dsn is None:
            dsn, cluster = _postgres()
        urls["postgres"] = dsn
    peer = not args.no_peer and _spiff_installed()
    if not peer:
        print("SpiffWorkflow left out (--no-peer, or: pip install -r benchmarks/requirements.txt)")
    try:
        for name, url in urls.items():
            run_store(name, url, sizes, args, peer=peer)
    finally:
        if cluster is not None:
            cluster.stop()


def _spiff_installed() -> bool:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from peers import spiff_installed

    return spiff_installed()


def run_store(name: str, url: str, sizes: list[int], args: Any, *, peer: bool) -> None:
    """Every size on one store, procflow then the peer beside it; (a) at the largest."""
    loaded = 0
    for size in sizes:
        took = fill(url, loaded, size, max(sizes))
        print(f"{name}: loaded {size - loaded:,} instances in {took:.0f} s", flush=True)
        child = subprocess.run(  # noqa: S603 - ourselves, with our arguments
            [sys.executable, __file__, "--measure", url, "--samples", str(args.samples)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        report(name, size, json.loads(child.stdout.splitlines()[-1]))
        if peer and size <= args.spiff_max:
            report_spiff(
                name, size, spiff_measure(url, loaded, size, args.samples, args.spiff_scans)
            )
        loaded = size
    if not args.workers:
        return
    size, offset = sizes[-1], 400  # people of their own: u400.. (measurements: u2, u10..)
    peer = peer and size <= args.spiff_max
    # the peer's rows at draft in the first half of the largest size's new rows: those its
    # measurements (the second half) never completed
    first = sizes[-2] if len(sizes) > 1 else 0
    stop = first + (size - first) // 4 * 2
    for w in (1, 2, 4, 8):
        rate = durable_rate(url, w, args.seconds, offset=offset)
        offset += 20 * w
        print(f"{name} N={size:,}: {w} worker(s): {rate:,.0f} durable completions/s", end="")
        if peer:
            theirs = spiff_rate(url, w, args.seconds, first, stop)
            first += 2 * int(theirs * args.seconds) + 2  # each row at draft once
            print(f"; SpiffWorkflow {theirs:,.0f}/s", end="")
        print(flush=True)


def report(name: str, size: int, r: dict[str, Any]) -> None:
    print(f"\n{name}, {size:,} instances (ms: p50 / p99)")
    for who in ("person", "manager"):
        line = f"  {who} inbox ({r[f'{who}_tasks']:,} tasks): page {_pair(r[f'{who}_page'])}"
        if f"{who}_next" in r:
            line += f", next page {_pair(r[f'{who}_next'])}"
        line += f", count_tasks {_pair(r[f'{who}_count'])}"
        print(line)
    print(f"  complete (durable) {_pair(r['complete'])}")
    tick, fired = r["tick"]
    empty, _ = r["tick_empty"]
    print(f"  tick: {tick:.0f} ms firing {fired:,} due timers; empty tick {empty:.1f} ms")
    print(f"  worker peak RSS {r['rss_mb']:.0f} MB", flush=True)


def _pair(p: list[float]) -> str:
    return f"{p[0]:.2f} / {p[1]:.2f}"


if __name__ == "__main__":
    main()
