"""The library behind `segw run`, `rebuild`, `schedule` and `status` (segwarehouse.operations) and the
Python facade (segwarehouse.load/build/run/compile/status), on DuckDB: each returns data, the CLI draws it."""
from __future__ import annotations

import datetime as dt
import json

import pytest

import segwarehouse
from segwarehouse import operations
from segwarehouse.errors import SegwError, WarehouseBusy
from segwarehouse.runner import RunResult
from segwarehouse.schedule import next_tick

D = dt.datetime
YEARLY = "0 0 1 1 *"
FILES = {
    "seeds/people.csv": "id,score,country\n1,10,CH\n2,30,CH\n3,50,FR\n",
    "models/entities.yml": """
        entities:
          - name: person
            model: people
            key: id
    """,
    "segments/s.yml": f"""
        segments:
          - name: high
            entity: person
            schedule: "{YEARLY}"
            rules: {{property: score, gte: 20}}
          - name: swiss_high
            entity: person
            schedule: "0 * * * *"
            tags: [email]
            rules: {{all: [{{in_segment: high}}, {{property: country, equals: CH}}]}}
          - name: low
            entity: person
            schedule: "{YEARLY}"
            rules: {{property: score, lt: 20}}
    """,
}


@pytest.fixture
def files(project_factory):
    return project_factory("duckdb", FILES)


def results_file(files) -> dict:
    return json.loads((files.root / "target" / "run_results.json").read_text())


class FakeClock:
    def __init__(self, now: dt.datetime):
        self.at = now
        self.slept = 0.0

    def now(self) -> dt.datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept += seconds


# -- options that depend on the project ---------------------------------------------------------


def test_lock_wait_and_threads_follow_the_options_then_the_project(files):
    project = files.load()
    assert operations.lock_wait(project) == project.config.lock_timeout == 300
    assert operations.lock_wait(project, 12.5) == 12.5
    assert operations.lock_wait(project, 12.5, no_wait=True) == 0
    assert operations.threads_for(project) == 1
    assert operations.threads_for(project, 4) == 4
    project.target.settings["threads"] = 3
    assert operations.threads_for(project) == 3


# -- run: what is due ------------------------------------------------------------------------------


def test_run_due_builds_what_is_due_then_nothing(files):
    project = files.load()
    first = operations.run_due(project, now=D(2024, 6, 30, 12))
    assert first.due == list(project.segments) == ["high", "low", "swiss_high"]  # what a segment reads first
    assert isinstance(first.result, RunResult) and first.exit_code == 0
    assert {s.segment: s.size for s in first.result.segments} == {"high": 2, "swiss_high": 1, "low": 1}
    assert files.members("swiss_high") == {"2"}

    # segment_runs record the wall clock: at an earlier `now` every last success is after the tick
    again = operations.run_due(project, now=D(2024, 6, 30, 13))
    assert again.due == [] and again.result is None and again.exit_code == 0
    assert results_file(files)["segments"] == [] and results_file(files)["status"] == "success"


def test_due_now_is_limited_to_the_names_given_plus_what_they_read(files):
    project = files.load()
    assert operations.due_now(project, ["swiss_high"], 0, D(2024, 6, 30, 12)) == ["high", "swiss_high"]
    assert operations.due_now(project, ["low"], 0, D(2024, 6, 30, 12)) == ["low"]
    assert operations.due_now(project, [], 0, D(2024, 6, 30, 12)) == []


def test_due_now_leaves_failed_run_results_when_the_warehouse_is_busy(files, monkeypatch):
    project = files.load()

    def busy(project, wait):
        raise WarehouseBusy("cannot open DuckDB file warehouse.duckdb: conflicting lock")
    monkeypatch.setattr(operations, "connect_waiting", busy)
    with pytest.raises(WarehouseBusy):
        operations.due_now(project, ["high"], 0, D(2024, 6, 30, 12))
    report = results_file(files)
    assert report["status"] == "error" and "conflicting lock" in report["error"]


def test_an_empty_run_leaves_results_that_say_so(files):
    project = files.load()
    result = operations.record_empty_run(project, D(2024, 6, 30, 12))
    assert result.segments == [] and result.exit_code == 0 and result.as_of == D(2024, 6, 30, 12)
    assert results_file(files)["run_id"] == result.run_id
    quiet = operations.record_empty_run(project, write_results=False)
    assert results_file(files)["run_id"] != quiet.run_id


def test_a_project_that_does_not_load_still_leaves_run_results(files):
    def broken():
        raise SegwError("segments/s.yml:3: unknown operator 'gte_'")
    with pytest.raises(SegwError, match="gte_"):
        operations.load_for_run(broken, files.root)
    report = results_file(files)
    assert report["status"] == "error" and "gte_" in report["error"]
    with pytest.raises(SegwError):  # a folder that is not there gets no target/ created in it
        operations.load_for_run(broken, files.root / "nowhere")
    assert not (files.root / "nowhere").exists()


# -- rebuild and status ----------------------------------------------------------------------------


def test_stored_counts_are_the_rows_a_full_refresh_recreates(files):
    files.build()
    counts = operations.stored_counts(files.load(), ["high", "low"])
    assert counts == {"high": {"memberships": 2, "membership_history": 2, "membership_changes": 2},
                      "low": {"memberships": 1, "membership_history": 1, "membership_changes": 1}}


def test_status_reports_each_segment_and_the_ones_no_longer_defined(files):
    files.build()
    files.write("segments/s.yml", FILES["segments/s.yml"].split("          - name: low")[0])
    project = files.load()
    now = D(2024, 6, 30, 12, 30)
    report = operations.status(project, now)
    assert list(report.states) == ["high", "swiss_high"] and report.orphans == ["low"]
    rows = {row["segment"]: row for row in report.to_json()}
    assert rows["high"]["size"] == 2 and rows["high"]["last_status"] == "success"
    assert rows["high"]["defined"] is True and rows["high"]["schedule"] == YEARLY
    # built after `now` (at the wall clock), so each is next due at its next tick
    assert rows["swiss_high"]["next_due_at"] == next_tick("0 * * * *", now).isoformat() == "2024-06-30T13:00:00"
    assert rows["high"]["evaluated"] == {"mode": "full", "reason": "entity 'person' has no `loaded_at`"}
    assert rows["low"] == {"segment": "low", "defined": False, "last_status": "not defined (retire it)"}
    json.dumps(report.to_json())  # what `segw status --json` prints


def test_status_never_creates_a_duckdb_file(files):
    with pytest.raises(SegwError, match="segw build"):
        operations.status(files.load())
    assert not (files.root / "warehouse.duckdb").exists()


# -- schedule --------------------------------------------------------------------------------------


def test_the_scheduler_builds_what_is_due_and_logs_a_line_per_segment(files):
    lines: list[str] = []
    code = operations.schedule_forever(files.load, lines.append, lambda: False, max_cycles=1,
                                       clock=FakeClock(D(2024, 6, 30, 12)))
    assert code == 0
    assert lines[0] == "scheduler started" and lines[-1] == "scheduler stopped"
    built = [line for line in lines[1:-1] if " segment=" in line]
    assert [line.split(" segment=")[1].split()[0] for line in built] == ["high", "low", "swiss_high"]
    assert all(" status=success size=" in line for line in built)
    assert files.members("high") == {"2", "3"}


def test_the_scheduler_stops_at_once_on_a_project_invalid_from_the_start(files):
    lines: list[str] = []

    def broken():
        raise SegwError("segwarehouse.yml:1: unknown key 'nmae'")
    with pytest.raises(SegwError, match="nmae"):
        operations.schedule_forever(broken, lines.append, lambda: False, clock=FakeClock(D(2024, 6, 30)))
    assert lines == ["scheduler started", "stopped: segwarehouse.yml:1: unknown key 'nmae'"]


# -- errors are types, not texts ---------------------------------------------------------------------


def test_a_writer_lock_given_up_is_warehouse_busy(files, monkeypatch):
    from segwarehouse.warehouse.duckdb import DuckDBAdapter

    monkeypatch.setattr(DuckDBAdapter, "lock", lambda self, name, timeout: False)
    with pytest.raises(WarehouseBusy, match="another segwarehouse process is building the models") as caught:
        segwarehouse.build(files.load(), write_results=False)
    assert caught.value.exit_code == 1

    monkeypatch.setattr(DuckDBAdapter, "lock", lambda self, name, timeout: not name.endswith(":low"))
    result = segwarehouse.build(files.load(), write_results=False)
    failed = {s.segment: s.error for s in result.failed}
    assert list(failed) == ["low"] and "being built by another process" in failed["low"]


# -- the facade ------------------------------------------------------------------------------------


def test_the_facade_loads_builds_a_selection_compiles_and_reads_status(files):
    project = segwarehouse.load(files.root, vars={"unused": 1})
    assert project.config.vars["unused"] == 1
    result = segwarehouse.build(project, "tag:email", as_of="2024-06-30 12:00:00")
    assert [s.segment for s in result.segments] == ["swiss_high"] and result.exit_code == 0
    assert result.as_of == D(2024, 6, 30, 12)
    nothing = segwarehouse.build(project, select="nomatch_*")
    assert nothing.segments == [] and files.members("low") == set()  # an empty selection builds nothing
    sql = segwarehouse.compile(project, "low", "snowflake", as_of=D(2024, 6, 30))
    assert sql.lstrip().upper().startswith("SELECT") and "20" in sql
    rows = {row["segment"]: row for row in segwarehouse.status(project).to_json()}
    assert rows["swiss_high"]["size"] == 1 and rows["low"]["last_status"] is None
    due = segwarehouse.run(project, exclude="swiss_high")
    assert due.due == ["high", "low"] and due.exit_code == 0  # `high` never ran alone: both due now


def test_the_facade_refuses_bad_input_with_a_hint(files):
    project = segwarehouse.load(files.root)
    with pytest.raises(SegwError, match="unknown segment 'hihg'") as caught:
        segwarehouse.compile(project, "hihg")
    assert "did you mean 'high'" in caught.value.hint
    with pytest.raises(SegwError, match="unknown dialect 'oracle'"):
        segwarehouse.compile(project, "high", "oracle")
    with pytest.raises(SegwError, match="vars must be a mapping"):
        segwarehouse.load(files.root, vars=["a"])
    with pytest.raises(SegwError, match="invalid --as-of"):
        segwarehouse.build(project, as_of="yesterday")
