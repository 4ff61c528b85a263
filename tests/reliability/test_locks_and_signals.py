"""Real processes: writer locks between two builds, and SIGTERM to `segw schedule` mid-build.

PostgreSQL (advisory locks) and DuckDB (its single-writer file lock)."""
from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

import segwarehouse
from segwarehouse.materialize import utcnow
from segwarehouse.runner import build

ENGINES = ("postgres", "duckdb")
SEGW = [sys.executable, "-m", "segwarehouse"]
PG = {"host": os.environ.get("SEGW_TEST_PG_HOST", "127.0.0.1"),
      "user": os.environ.get("SEGW_TEST_PG_USER", "postgres")}  # as in conftest.py

SMALL = {
    "seeds/people.csv": "id,score\n1,10\n2,30\n3,50\n",
    "models/entities.yml": """
        entities:
          - name: person
            model: people
            key: id
    """,
    "segments/s.yml": """
        segments:
          - name: first
            entity: person
            rules: {property: score, gte: 20}
          - name: contested
            entity: person
            rules: {property: score, gte: 40}
          - name: last
            entity: person
            rules: {all: []}
    """,
}


def next_second():
    time.sleep(1.02 - time.time() % 1)


def segw(project, *args, timeout=30):
    return subprocess.run([*SEGW, *args, "--project-dir", str(project.root)], capture_output=True, text=True,
                          timeout=timeout)


def start_segw(project, *args):
    return subprocess.Popen([*SEGW, *args, "--project-dir", str(project.root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def latest_status(project) -> dict[str, tuple]:
    rows = project.query("SELECT segment, status, error, started_at, finished_at FROM {seg}.segment_runs")
    out = {}
    for segment, status, error, started, finished in sorted(rows, key=lambda r: (r[3], r[4])):
        out[segment] = (status, error)
    return out


# -- holding the lock from outside -------------------------------------------------------------


class PostgresHolder:
    """Takes the segment's advisory lock from a connection of its own."""

    def __init__(self, project, segment):
        import psycopg
        self.key = f"segw:{project.segment_schema}:{segment}"
        self.conn = psycopg.connect(host=PG["host"], user=PG["user"], dbname="test", autocommit=True)
        self.conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (self.key,))

    def release(self):
        self.conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self.key,))
        self.conn.close()


HOLD_DUCKDB = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("CREATE TABLE IF NOT EXISTS main._held (x INTEGER)")
print("ready", flush=True)
sys.stdin.read()
conn.close()
"""


class DuckDBHolder:
    """Another process with the DuckDB file open for writing."""

    def __init__(self, project, segment):
        path = project.root / "warehouse.duckdb"
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD_DUCKDB, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def release(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=10) == 0


class MySQLHolder:
    """Takes the segment's named lock (GET_LOCK) from a connection of its own."""

    def __init__(self, project, segment):
        import pymysql
        self.key = f"segw:{project.segment_schema}:{segment}"
        self.conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        self.conn.cursor().execute("SELECT GET_LOCK(%s, 5)", (self.key,))

    def release(self):
        self.conn.cursor().execute("SELECT RELEASE_LOCK(%s)", (self.key,))
        self.conn.close()


HOLDERS = {"postgres": PostgresHolder, "duckdb": DuckDBHolder, "mysql": MySQLHolder}
SERVERS = ("postgres", "mysql")


@pytest.mark.parametrize("engine", ENGINES + ("mysql",))
def test_no_wait_fails_clearly_while_another_process_holds_the_lock(engine, project_factory):
    project = project_factory(engine, SMALL)
    project.build()
    runs_before = len(project.query("SELECT run_id FROM {seg}.segment_runs"))
    holder = HOLDERS[engine](project, "contested")
    next_second()  # segment_runs keeps whole seconds: let the failure come visibly later
    try:
        done = segw(project, "build", "--no-wait")
    finally:
        holder.release()
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    if engine in SERVERS:
        assert "segment 'contested' is being built by another process" in done.stderr
        status = latest_status(project)
        assert status["contested"][0] == "failed" and "another process" in status["contested"][1]
        assert status["first"][0] == "success" and status["last"][0] == "success"
        assert project.members("contested") == {"3"}  # kept its members
    else:
        # the whole file is taken: one message naming it and the other process, nothing written
        assert done.stderr.startswith("error: ") and done.stderr.count("error: ") == 1
        assert "warehouse.duckdb" in done.stderr and "another process" in done.stderr
        assert "gave up after 0 s" in done.stderr
        assert len(project.query("SELECT run_id FROM {seg}.segment_runs")) == runs_before


@pytest.mark.parametrize("engine", ENGINES + ("mysql",))
def test_lock_timeout_waits_and_succeeds_once_released(engine, project_factory):
    project = project_factory(engine, SMALL)
    project.build()
    runs_before = len(project.query("SELECT run_id FROM {seg}.segment_runs"))
    holder = HOLDERS[engine](project, "contested")
    try:
        proc = start_segw(project, "build", "--lock-timeout", "8")
        time.sleep(2.5)
        assert proc.poll() is None, proc.communicate()  # still waiting for the lock
    finally:
        holder.release()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, (out, err)
    assert "Traceback" not in err
    status = latest_status(project)
    assert {name: s[0] for name, s in status.items()} == {"first": "success", "contested": "success",
                                                          "last": "success"}
    assert len(project.query("SELECT run_id FROM {seg}.segment_runs")) == runs_before + 3


@pytest.mark.parametrize("engine", ENGINES + ("mysql",))
def test_lock_timeout_gives_up_after_the_timeout(engine, project_factory):
    project = project_factory(engine, SMALL)
    project.build()
    holder = HOLDERS[engine](project, "contested")
    try:
        started = time.monotonic()
        done = segw(project, "build", "--lock-timeout", "1.5")
        waited = time.monotonic() - started
    finally:
        holder.release()
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert waited >= 1.5
    assert "Traceback" not in done.stderr
    assert "another process" in done.stderr and "gave up after 1.5 s" in done.stderr


def test_run_and_schedule_wait_for_a_busy_duckdb_file_like_build(project_factory):
    project = project_factory("duckdb", SMALL)
    holder = DuckDBHolder(project, "contested")
    try:
        run = start_segw(project, "run", "--lock-timeout", "8")
        scheduler = start_segw(project, "schedule", "--max-sleep", "1", "--lock-timeout", "8")
        lines = Lines(scheduler)
        lines.wait_for("scheduler started", timeout=10)
        time.sleep(2)
        assert run.poll() is None, run.communicate()
        assert scheduler.poll() is None, scheduler.communicate()
    finally:
        holder.release()
    try:
        out, err = run.communicate(timeout=20)
        assert run.returncode == 0, (out, err)
        # whichever got the file first built everything; the other found nothing left to do
        assert "due: first, contested, last" in out or "nothing is due" in out
        # The scheduler carries on: it builds what is still due, or sleeps. If it read the states
        # before `run` built them, it builds them again once the file is free (its lines are logged
        # when that build is done); a fixed pause let SIGTERM land inside that build on a loaded
        # machine (the segments then record `skipped`). Otherwise nothing comes: it slept.
        lines.saw_within("status=", timeout=10)
        assert scheduler.poll() is None, scheduler.communicate()
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=15) == 0, scheduler.stderr.read()
    finally:
        for proc in (run, scheduler):
            if proc.poll() is None:
                proc.kill()
    assert "scheduler stopped" in lines.rest()
    status = latest_status(project)
    assert {name: s[0] for name, s in status.items()} == \
        {"first": "success", "contested": "success", "last": "success"}


def test_a_duckdb_path_that_cannot_be_opened_fails_at_once(project_factory):
    project = project_factory("duckdb", SMALL)
    (project.root / "warehouse.duckdb").mkdir()  # a folder where the file should be
    started = time.monotonic()
    done = segw(project, "build", "--lock-timeout", "30")
    assert time.monotonic() - started < 10  # no waiting for a lock that is not the problem
    assert done.returncode == 2
    assert "cannot open DuckDB file" in done.stderr and "Traceback" not in done.stderr


# -- SIGTERM during `segw schedule` ------------------------------------------------------------

SEGMENTS = [f"s{k:02d}" for k in range(30)]


def many_segments(rows=300) -> dict[str, str]:
    return {
        "seeds/base_people.csv": "id\n" + "\n".join(str(i) for i in range(1, rows + 1)) + "\n",
        "models/people.sql":
            "SELECT id, (id * 37 + {{ var('version') }} * 11) % 100 AS score FROM {{ ref('base_people') }}\n",
        "models/entities.yml": """
            entities:
              - name: person
                model: people
                key: id
        """,
        "segments/s.yml": "segments:\n" + "".join(
            f"  - name: {name}\n    entity: person\n    rules: {{property: score, gte: {3 * k + 1}}}\n"
            for k, name in enumerate(SEGMENTS)),
    }


def member_sets(project) -> dict[str, frozenset]:
    k = project.quote("key")
    out: dict[str, set] = {name: set() for name in SEGMENTS}
    for segment, key in project.query(f"SELECT segment, {k} FROM {{seg}}.memberships"):
        out[segment].add(key)
    return {name: frozenset(keys) for name, keys in out.items()}


def prepare_old_and_new(project):
    """Build version 1 two days ago (so every segment is due), then work out version 2's members."""
    from segwarehouse.modelbuild import build_models

    two_days_ago = utcnow() - dt.timedelta(days=2)
    result = build(project.load(), two_days_ago, clock=lambda: two_days_ago, write_results=False)
    assert all(s.status == "success" for s in result.segments)
    old = member_sets(project)
    settings = (project.root / "segwarehouse.yml").read_text()
    (project.root / "segwarehouse.yml").write_text(settings.replace("version: 1", "version: 2"))
    loaded = project.load()
    adapter = project.adapter()
    try:
        build_models(adapter, loaded, utcnow())
        new = {name: frozenset(str(row[0]) for row in adapter.fetchall_text(segwarehouse.compile(loaded, name)))
               for name in SEGMENTS}
    finally:
        adapter.close()
    assert all(old[name] != new[name] for name in SEGMENTS)
    return old, new, two_days_ago


def check_all_or_nothing(project, old, new, since) -> dict[str, str]:
    """Each segment is wholly old or wholly new; returns which."""
    now = member_sets(project)
    k = project.quote("key")
    open_rows: dict[str, set] = {name: set() for name in SEGMENTS}
    for segment, key in project.query(f"SELECT segment, {k} FROM {{seg}}.membership_history "
                                      f"WHERE valid_to IS NULL"):
        open_rows[segment].add(key)
    runs = project.query("SELECT segment, status, run_id FROM {seg}.segment_runs WHERE started_at > "
                         f"'{since + dt.timedelta(hours=1):%Y-%m-%d %H:%M:%S}'")
    rebuilt = {segment for segment, status, _ in runs if status == "success"}
    assert all(status == "success" for _, status, _ in runs), runs
    changes = project.query(f"SELECT segment, {k}, {project.quote('change')} FROM {{seg}}.membership_changes")
    which = {}
    for name in SEGMENTS:
        assert now[name] in (old[name], new[name]), f"{name} is half built"
        which[name] = "new" if now[name] == new[name] else "old"
        assert open_rows[name] == now[name], f"{name}: open history differs from memberships"
        relation = {str(row[0]) for row in project.query(f"SELECT id FROM {{seg}}.{project.quote(name)}")}
        assert relation == now[name], f"{name}: its relation differs from memberships"
        assert (name in rebuilt) == (which[name] == "new"), name
        entered = {key for seg, key, change in changes if seg == name and change == "entered"}
        exited = {key for seg, key, change in changes if seg == name and change == "exited"}
        if which[name] == "new":
            assert old[name] - new[name] <= exited
            assert new[name] <= entered
        else:
            assert not exited, f"{name}: exits recorded but members unchanged"
    return which


class Lines:
    """Reads a process's stdout in the background."""

    def __init__(self, proc):
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} within {timeout} s; saw {self.seen}")

    def saw_within(self, text: str, timeout: float) -> bool:
        """Whether a line with `text` comes within `timeout` seconds (no fault if none does)."""
        try:
            self.wait_for(text, timeout)
            return True
        except AssertionError:
            return False

    def rest(self) -> str:
        time.sleep(0.1)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


# The real `segw schedule`, with a probe that announces the third segment's transaction and
# lingers in it, so that SIGTERM lands inside a segment's transaction every time.
PROBED_SCHEDULE = """
import importlib, sys, time
from segwarehouse.cli import main

module, name, nth = importlib.import_module(sys.argv[2]), sys.argv[3], int(sys.argv[4])
real, calls = getattr(module, name), []

def probe(*args, **kwargs):
    out = real(*args, **kwargs)
    calls.append(1)
    if len(calls) == nth:
        print("PROBE", name, nth, flush=True)
        time.sleep(1.5)
    return out

setattr(module, name, probe)
main(["schedule", "--project-dir", sys.argv[1], "--max-sleep", "1"])
"""


SLOWED_SCHEDULE = """
import sys, time
import segwarehouse.materialize as m
from segwarehouse.cli import main

real = m._stage_delta

def slowed(*args, **kwargs):
    if slowed.first:
        print("PROBE first segment", flush=True)
        slowed.first = False
    time.sleep(0.1)
    return real(*args, **kwargs)

slowed.first = True
m._stage_delta = slowed
main(["schedule", "--project-dir", sys.argv[1], "--max-sleep", "1"])
"""


def commits_together(project) -> bool:
    adapter = project.adapter()
    try:
        return adapter.commits_together
    finally:
        adapter.close()


def run_probed_schedule(project, module: str, function: str, nth: int) -> str:
    """`segw schedule`, SIGTERMed while the nth call of `module.function` sleeps; its output."""
    proc = subprocess.Popen([sys.executable, "-c", PROBED_SCHEDULE, str(project.root), module, function, str(nth)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = Lines(proc)
    try:
        lines.wait_for(f"PROBE {function} {nth}", timeout=15)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    output = lines.rest()
    assert "scheduler stopped" in output
    assert "Traceback" not in proc.stderr.read()
    return output


@pytest.mark.parametrize("engine", ENGINES + ("mysql",))
def test_sigterm_inside_a_segment_finishes_it_and_stops(engine, project_factory):
    project = project_factory(engine, many_segments(), {"vars": {"version": 1}})
    old, new, since = prepare_old_and_new(project)
    # The signal comes while the third segment is diffed (before any commit where segments are
    # committed together, inside the third's own transaction elsewhere: `_apply_delta`).
    together = commits_together(project)
    output = run_probed_schedule(project, "segwarehouse.materialize", "_stage_delta" if together else "_apply_delta", 3)
    which = check_all_or_nothing(project, old, new, since)
    # the segments in hand were finished and committed, and nothing after them was started
    assert [name for name in SEGMENTS if which[name] == "new"] == ["s00", "s01", "s02"]
    for name in ("s00", "s01", "s02"):
        assert f"segment={name} status=success" in output


@pytest.mark.parametrize("engine", ENGINES)
def test_sigterm_inside_a_shared_commit_finishes_it_and_stops(engine, project_factory):
    """Where segments are committed together, a signal inside that transaction lets it commit
    every segment in it; the scheduler then stops."""
    project = project_factory(engine, many_segments(), {"vars": {"version": 1}})
    assert commits_together(project)
    old, new, since = prepare_old_and_new(project)
    output = run_probed_schedule(project, "segwarehouse.together", "_apply_deltas", 1)
    which = check_all_or_nothing(project, old, new, since)
    assert all(which[name] == "new" for name in SEGMENTS), which
    assert all(f"segment={name} status=success" in output for name in SEGMENTS)


@pytest.mark.parametrize("engine", ENGINES + ("mysql",))
def test_sigterm_during_a_scheduled_build_leaves_every_segment_old_or_new(engine, project_factory):
    project = project_factory(engine, many_segments(), {"vars": {"version": 1}})
    old, new, since = prepare_old_and_new(project)
    if engine in SERVERS:
        proc = start_segw(project, "schedule", "--max-sleep", "1")
    else:  # the file is locked while it builds, so nothing can watch it: each segment's diff is
        # slowed to 0.1 s, and the signal comes 1 s into the 3 s the segments take
        proc = subprocess.Popen([sys.executable, "-c", SLOWED_SCHEDULE, str(project.root)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    lines = Lines(proc)
    try:
        lines.wait_for("scheduler started", timeout=10)
        if engine in SERVERS:  # watch segments get done, then strike
            # Committed one at a time, they fill segment_runs; committed together, their deltas
            # wait in work tables until the shared commit.
            watch = (f"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{project.segment_schema}' "
                     "AND table_name LIKE '\\_segw\\_delta\\_%'" if commits_together(project) else
                     "SELECT COUNT(*) FROM {seg}.segment_runs WHERE started_at > "
                     f"'{since + dt.timedelta(hours=1):%Y-%m-%d %H:%M:%S}'")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if project.query(watch)[0][0] >= 3:
                    break
                time.sleep(0.02)
        else:
            lines.wait_for("PROBE first segment", timeout=15)
            time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "scheduler stopped" in lines.rest()
    assert "Traceback" not in proc.stderr.read()
    which = check_all_or_nothing(project, old, new, since)
    assert "old" in which.values(), "the signal came after the build; nothing was interrupted"
    if engine in SERVERS:  # watched: it was stopped between the first and the last segment
        assert which["s00"] == "new" and which[SEGMENTS[-1]] == "old", which


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_idle_exits_at_once(project_factory, signum):
    project = project_factory("duckdb", SMALL)
    build(project.load(), write_results=False)  # nothing is due until midnight
    runs_before = len(project.query("SELECT run_id FROM {seg}.segment_runs"))
    proc = start_segw(project, "schedule", "--max-sleep", "30")
    lines = Lines(proc)
    try:
        lines.wait_for("scheduler started", timeout=10)
        time.sleep(1.5)  # asleep by now
        sent = time.monotonic()
        proc.send_signal(signum)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - sent < 3
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "scheduler stopped" in lines.rest()
    assert len(project.query("SELECT run_id FROM {seg}.segment_runs")) == runs_before
