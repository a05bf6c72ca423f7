"""``procflow worker`` as a real child process on a shared store: it fires due timers,
several workers make each scheduled start once, SIGTERM stops one within a second after
the command in hand (the rest is left for the next worker), and bad arguments get one line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from textwrap import dedent

import pytest
from click.testing import CliRunner

from procflow import Engine, ManualClock, User
from procflow.cli.main import main
from procflow.flow.load import load_dir
from procflow.runtime.scheduler import command_id
from procflow.store.base import InstanceQuery
from tests.conftest import Backend
from tests.test_runtime_deadlines import DEADLINE
from tests.test_runtime_helpers import ORG, assert_replays

WANG = User("wang", {"pmm"})
DAILY = """
procflow: 1
id: DAILY
title: daily
{org}
schedule: {every: day, by: ka_head}
steps:
  - {id: report, actor: ka_head}
"""


@pytest.fixture
def processes(tmp_path: Path) -> Path:
    folder = tmp_path / "processes"
    folder.mkdir()
    for name, text in (("dl.yaml", DEADLINE.replace("MODE", "offer")), ("daily.yaml", DAILY)):
        (folder / name).write_text(dedent(text).replace("{org}", dedent(ORG)), encoding="utf-8")
    return folder


_LOGS: dict[int, queue.Queue[str | None]] = {}
"""Worker pid -> the lines of its log, read by a thread (None once it closed)."""


def _worker(processes: Path, url: str, *extra: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "procflow.cli.main", "worker", str(processes), "--store", url,
         *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    lines: queue.Queue[str | None] = _LOGS.setdefault(child.pid, queue.Queue())
    stream = child.stderr
    assert stream is not None

    def read() -> None:  # a thread reads, so that a silent worker cannot block a test
        with stream:
            for line in iter(stream.readline, ""):
                lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return child


def _lines_until(child: subprocess.Popen[str], *texts: str, timeout: float = 60) -> list[str]:
    """Read the child's log until each of ``texts`` was in a line."""
    lines = _LOGS[child.pid]
    seen: list[str] = []
    wanted = set(texts)
    deadline = time.monotonic() + timeout
    while wanted and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        wanted = {text for text in wanted if text not in line}
    if wanted:
        raise AssertionError(f"no {sorted(wanted)} in the worker's log:\n{''.join(seen)}")
    return seen


def _stop(child: subprocess.Popen[str]) -> tuple[float, str]:
    """SIGTERM; how long the child took to exit, and the rest of its log."""
    began = time.monotonic()
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()  # never leave a worker behind
        child.wait()
    took = time.monotonic() - began
    lines = _LOGS.pop(child.pid)
    rest = []
    while (line := lines.get(timeout=30)) is not None:
        rest.append(line)
    return took, "".join(rest)


def _engine(processes: Path, store: object, moment: datetime) -> Engine:
    return Engine(load_dir(processes), store=store, clock=ManualClock(moment))  # type: ignore[arg-type]


def _past() -> datetime:
    """A Monday 09:00 five weeks ago: every deadline of DL has passed since."""
    day = datetime.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(weeks=5)
    return day - timedelta(days=day.weekday())


@pytest.mark.slow
def test_a_worker_fires_due_timers_and_stops_on_sigterm(
    shared_backend: Backend, processes: Path
) -> None:
    with shared_backend.open() as store:
        eng = _engine(processes, store, _past())
        tasks = [eng.start("DL", by=WANG).tasks[0] for _ in range(5)]
    started = [t.instance_id for t in tasks]
    child = _worker(processes, shared_backend.url, "--every", "0.2")
    try:
        log = _lines_until(child, *(f"expired task {t.id}" for t in tasks))
    finally:
        took, rest = _stop(child)
    text = "".join(log) + rest
    assert child.returncode == 0, text
    assert took < 5, took
    for t in tasks:
        assert f"reminded task {t.id}" in text and f"overdue task {t.id}" in text
        assert f"expired task {t.id} (timeout)" in text
    assert "SIGTERM: stopping after the command in hand" in rest and "stopped after" in rest
    with shared_backend.open() as store:
        eng = _engine(processes, store, _past())
        for iid in started:
            assert eng.instance(iid).result == "expired"
            assert_replays(eng, iid)


@pytest.mark.slow
def test_sigterm_stops_a_worker_within_a_second_after_the_command_in_hand(
    tmp_path: Path, processes: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'many.db'}"
    from procflow.store import open_store

    with open_store(url, durable=False) as store:
        eng = _engine(processes, store, _past())
        started = [eng.start("DL", by=WANG).id for _ in range(1500)]
    child = _worker(processes, url, "--every", "60")
    try:
        # the log comes at the end of a tick: watch the store for its first command
        with open_store(url) as store:
            deadline = time.monotonic() + 120
            while not store.find_instances(InstanceQuery(status="completed"), limit=1):
                assert time.monotonic() < deadline, "the worker fired nothing"
                time.sleep(0.02)
    finally:
        took, rest = _stop(child)
    assert child.returncode == 0, rest
    assert took < 10, took  # SIGTERM to exit, the command in hand included (a loaded machine)
    with open_store(url) as store:
        eng = _engine(processes, store, _past())
        done = [iid for iid in started if eng.instance(iid).status == "completed"]
        assert 0 < len(done) < len(started)  # it stopped in the middle of the tick
        for iid in done[-3:]:
            assert_replays(eng, iid)
    # what it claimed and did not fire was given back: the next worker fires the rest
    once = subprocess.run(
        [sys.executable, "-m", "procflow.cli.main", "worker", str(processes), "--store", url,
         "--once"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert once.returncode == 0, once.stderr
    with open_store(url) as store:
        eng = _engine(processes, store, _past())
        for iid in started:
            completions = [e for e in eng.history(iid) if e.type == "task_completed"]
            assert len(completions) == 1 and completions[0].data["timer"] == "exp"


@pytest.mark.slow
def test_scheduled_starts_happen_once_per_period_across_workers(
    shared_backend: Backend, processes: Path
) -> None:
    today = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    with shared_backend.open() as store:
        # yesterday's start was made by the schedule: a worker started today makes today's
        eng = _engine(processes, store, yesterday - timedelta(minutes=1))
        eng.tick()
        eng.tick(yesterday + timedelta(minutes=1))
        assert len(store.find_instances(_daily())) == 1
    workers = [_worker(processes, shared_backend.url, "--every", "0.1") for _ in range(3)]
    try:
        key = command_id("DAILY", today.date().isoformat())
        with shared_backend.open() as store:
            deadline = time.monotonic() + 60
            while store.command_result(key) is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert store.command_result(key) is not None
            time.sleep(1.0)  # ten more ticks each
    finally:
        logs = [_stop(w)[1] for w in workers]
    assert all(w.returncode == 0 for w in workers), logs
    assert sum(log.count("started DAILY for") for log in logs) == 1, logs
    with shared_backend.open() as store:
        assert len(store.find_instances(_daily())) == 2


def _daily() -> InstanceQuery:
    return InstanceQuery(process_id="DAILY")


@pytest.mark.parametrize(
    ("store", "code", "message"),
    [
        ("mysql://x", 2, "unknown kind of store 'mysql'"),
        ("sqlite:///", 2, "no file name after sqlite:///"),
        ("postgresql://nobody@127.0.0.1:9/x", 1, "cannot open"),
    ],
)
def test_a_bad_store_is_one_line(processes: Path, store: str, code: int, message: str) -> None:
    result = CliRunner().invoke(main, ["worker", str(processes), "--store", store])
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_bad_processes_are_listed(tmp_path: Path, processes: Path) -> None:
    (processes / "broken.yaml").write_text("procflow: 1\nid: X\ntitle: x\nsteps: []\n")
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(main, ["worker", str(processes), "--store", url])
    assert result.exit_code == 1
    assert "broken.yaml:4:" in result.output
    assert not (tmp_path / "s.db").exists()  # nothing is opened before the processes load
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["worker", str(empty), "--store", url])
    assert result.exit_code == 1 and "no process" in result.output
    result = CliRunner().invoke(main, ["worker", str(tmp_path / "nowhere"), "--store", url])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_once_ticks_once(tmp_path: Path, processes: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    from procflow.store import open_store

    with open_store(url) as store:
        task = _engine(processes, store, _past()).start("DL", by=WANG).tasks[0]
    with caplog.at_level("INFO", logger="procflow.worker"):
        result = CliRunner().invoke(main, ["worker", str(processes), "--store", url, "--once"])
    assert result.exit_code == 0, result.output
    assert f"expired task {task.id} (timeout)" in caplog.text
