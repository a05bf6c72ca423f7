"""``procflow serve`` under load: the inbox page and completing tasks by API, at 100k instances.

Prints (no assertions):

1. Fills a SQLite store with N instances (100,000 by default) of a claims
   process: each instance's first task is assigned to one of 1,000 people,
   so each person's inbox holds about N/1,000 tasks, as in an office.
2. Starts the web app (the same `create_app` as ``procflow serve``, one
   uvicorn worker, durable SQLite) in a child process, with a middleware that
   records how long the server spends on each request.
3. Loads it with ``wrk`` (Debian's package) from loopback, 20 connections
   for each run: the inbox page of a different person on each request, then
   ``POST /api/tasks/{id}/complete`` on a different open task each time.
4. Prints, for each: requests per second, wrk's latency percentiles (what a
   client sees, queueing included), and the server-side p50/p99 (from the
   middleware: the time from the request reaching the app to its last byte).

Run: ``apt-get install wrk`` then ``python benchmarks/bench_web.py``
(``--instances 10000 --seconds 5`` for a quick run). Targets (issue 15):
inbox page p99 <= 50 ms server-side, complete p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

PROCESS = """procflow: 1
id: CLAIM
title: 報銷
actors: {staff: 員工, manager: 經理}
documents:
  claim:
    title: 報銷單
    fields:
      owner: {type: user, title: 經辦}
      amount: {type: money, title: 金額, min: 0, required: false}
steps:
  - id: fill
    title: 填寫報銷單
    actor: staff
    assignee: claim.owner
    fills: {claim: [amount]}
  - id: approve
    title: 審批
    actor: manager
    reads: claim
"""
PEOPLE = 1_000
USER = "X-User"


def build(db: Path, instances: int) -> None:
    """Fill the store: ``instances`` started, each assigned to one of PEOPLE people."""
    import procflow
    from procflow import Engine, SQLiteStore, User

    catalog = {"CLAIM": procflow.loads(PROCESS)}
    store = SQLiteStore(db, durable=False)
    engine = Engine(catalog, store=store, cache_size=10)
    starter = User("starter", {"staff"})
    began = time.perf_counter()
    for i in range(instances):
        engine.start("CLAIM", by=starter, data={"claim": {"owner": f"u{i % PEOPLE}"}})
    took = time.perf_counter() - began
    store.close()
    print(f"filled {instances:,} instances in {took:.1f} s ({instances / took:,.0f}/s)")


def serve(db: str, port: int) -> None:
    """The child: the web app over the store, timing every request, until SIGTERM."""
    import uvicorn

    import procflow
    from procflow import Engine, SQLiteStore
    from procflow.web import HeaderSignIn, Person, Staff, create_app

    staff = Staff(
        [Person(f"u{i}", f"u{i}", frozenset({"staff"})) for i in range(PEOPLE)]
        + [Person("boss", "boss", frozenset({"manager"}))]
    )
    engine = Engine({"CLAIM": procflow.loads(PROCESS)}, store=SQLiteStore(db), cache_size=20_000)
    app = create_app(engine, staff, sign_in=HeaderSignIn(USER))
    times: dict[str, list[float]] = {}

    class Timed:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await self.inner(scope, receive, send)
                return
            began = time.perf_counter()

            async def timed_send(message: Any) -> None:
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    kind = (
                        "inbox" if scope["path"] == "/inbox" else scope["path"].rsplit("/", 1)[-1]
                    )
                    times.setdefault(kind, []).append(time.perf_counter() - began)

            await self.inner(scope, receive, timed_send)

    async def timed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/times":
            body = json.dumps(times).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        await Timed(app)(scope, receive, send)

    uvicorn.run(timed, host="127.0.0.1", port=port, log_level="error")


INBOX_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/inbox", {["%s"] = "u" .. (counter * 7919 %% %d)})
end
"""

COMPLETE_LUA = """
local tasks = {}
for line in io.lines("%s") do
  local id, owner = line:match("(%%S+) (%%S+)")
  tasks[#tasks + 1] = {id, owner}
end
local index = 0
request = function()
  index = index + 1
  local t = tasks[index]
  if t == nil then return wrk.format("GET", "/api/processes", {["%s"] = "boss"}) end
  return wrk.format("POST", "/api/tasks/" .. t[1] .. "/complete",
    {["%s"] = t[2], ["Content-Type"] = "application/json"},
    '{"data": {"claim": {"amount": "12.50"}}}')
end
"""


def wrk(url: str, script: Path, seconds: int, *args: str) -> str:
    argv = ["wrk", "-t1", "-c20", f"-d{seconds}s", "--latency", "-s", str(script), url]
    if args:
        argv += ["--", *args]
    # our own argument list: wrk, its options and a script we wrote
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--port", type=int, default=8797)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_web: wrk is missing: apt-get install wrk")
    home = Path(tempfile.mkdtemp(prefix="bench-web-"))
    db = home / "web.db"
    build(db, args.instances)
    import procflow
    from procflow import Engine, SQLiteStore, User

    engine = Engine({"CLAIM": procflow.loads(PROCESS)}, store=SQLiteStore(db, durable=False))
    lines = []
    for i in range(PEOPLE):
        for task in engine.tasks(user=User(f"u{i}", {"staff"}))[:40]:
            lines.append(f"{task.id} {task.assignee}")
    engine.close()
    lines.sort(key=hash)  # spread the people over the run
    (home / "tasks.txt").write_text("\n".join(lines) + "\n")
    (home / "inbox.lua").write_text(INBOX_LUA % (USER, PEOPLE))
    (home / "complete.lua").write_text(COMPLETE_LUA % (home / "tasks.txt", USER, USER))
    serving = [sys.executable, __file__, "--serve", str(db), str(args.port)]
    child = subprocess.Popen(serving)  # noqa: S603 - this script, as the server
    url = f"http://127.0.0.1:{args.port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/openapi.json", timeout=1)  # noqa: S310
            break
        except OSError:
            time.sleep(0.2)
    warm = urllib.request.Request(url + "/inbox", headers={USER: "u1"})  # noqa: S310
    urllib.request.urlopen(warm)  # noqa: S310 - loopback, http
    print(f"\n{platform_line()}\n")
    print("== inbox page (GET /inbox), 20 connections ==")
    print(wrk(url, home / "inbox.lua", args.seconds))
    print("== complete a task (POST /api/tasks/{id}/complete), 20 connections ==")
    print(wrk(url, home / "complete.lua", args.seconds))
    with urllib.request.urlopen(url + "/_bench/times") as answer:  # noqa: S310
        times = json.loads(answer.read())
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=60)
    print("== server-side (request in -> last byte out) ==")
    for kind in ("inbox", "complete"):
        values = times.get(kind, [])
        if values:
            mean = statistics.mean(values) * 1000
            print(
                f"{kind:9} n={len(values):6}  p50 {percentile(values, 0.50):7.1f} ms  "
                f"p99 {percentile(values, 0.99):7.1f} ms  mean {mean:6.1f} ms"
            )
    shutil.rmtree(home, ignore_errors=True)


def platform_line() -> str:
    import platform

    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
