"""Exact keys, type drift, old warehouses, time range and server faults, on every engine."""
from __future__ import annotations

import csv
import datetime as dt
import io
import time
import unicodedata

import pytest

from tests.conftest import cli as segw
from tests.conftest import MY, PG
from tests.reliability.invariants import check_invariants

ENTITIES = "entities:\n  - {name: person, model: people, key: id}\n"
ALL = "segments:\n  - {name: everyone, entity: person, columns: [score], rules: {all: []}}\n"
LONG = "x" * 999


def csv_of(rows: list[tuple]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "score"])
    writer.writerows(rows)
    return out.getvalue()


def write_seed(project, text: str) -> None:
    (project.root / "seeds").mkdir(exist_ok=True)
    (project.root / "seeds" / "people.csv").write_text(text)  # no dedent: spaces are part of keys


def test_keys_are_exact_text_on_every_engine(engine, project_factory):
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    first = ["ann@x.com", "bob@x.com", "cafe", nfc, LONG + "a", LONG + "b", "Zoë"]
    project = project_factory(engine, {"models/entities.yml": ENTITIES, "segments/s.yml": ALL})
    write_seed(project, csv_of([(k, 1) for k in first]))
    result = project.build(as_of="2024-06-01 00:00:00")
    assert [s.status for s in result.segments] == ["success"], result.segments
    assert project.members("everyone") == set(first)  # no false "duplicate keys", nothing cut

    # the same people, spelt differently: every respelling is an exit and an entry
    second = ["ANN@x.com", "bob@x.com ", "cafe", nfd, LONG + "a", LONG + "b", "Zoë"]
    write_seed(project, csv_of([(k, 1) for k in second]))
    assert project.build(as_of="2024-06-02 00:00:00").exit_code == 0
    assert project.members("everyone") == set(second)
    q = project.quote
    rows = project.query(f"SELECT {q('change')}, {q('key')} FROM {{seg}}.membership_changes "
                         f"WHERE as_of = '2024-06-02 00:00:00'")
    assert sorted(k for c, k in rows if c == "exited") == sorted(["ann@x.com", "bob@x.com", nfc])
    assert sorted(k for c, k in rows if c == "entered") == sorted(["ANN@x.com", "bob@x.com ", nfd])
    assert {str(r[0]) for r in project.relation("everyone")} == set(second)
    check_invariants(project)


def test_type_drift_fails_with_a_hint_and_full_refresh_heals_it(engine, project_factory):
    project = project_factory(engine, {"models/entities.yml": ENTITIES, "segments/s.yml": ALL})
    write_seed(project, csv_of([(1, 10), (2, 20)]))
    assert project.build(as_of="2024-06-01 00:00:00").exit_code == 0
    write_seed(project, csv_of([(1, "ten"), (2, "twenty")]))  # score: integer -> text
    result = segw(project, "build", "--as-of", "2024-06-02 00:00:00")
    assert result.exit_code == 1
    assert "score" in result.stderr and "segw rebuild everyone --full-refresh" in result.stderr
    assert sorted(r[1] for r in project.relation("everyone")) == [10, 20]  # untouched
    healed = segw(project, "rebuild", "everyone", "--full-refresh", "--yes", "--as-of", "2024-06-03 00:00:00")
    assert healed.exit_code == 0, healed.output
    assert sorted(r[1] for r in project.relation("everyone")) == ["ten", "twenty"]
    assert project.members("everyone") == {"1", "2"}
    assert project.query("SELECT COUNT(*) FROM {seg}.membership_changes") == [(2,)]  # no re-entries


@pytest.mark.parametrize("as_of", ["1960-03-01 00:00:00", "2050-07-01 12:30:00"])
def test_as_of_outside_1970_to_2038_is_stored_exactly(engine, project_factory, as_of):
    project = project_factory(engine, {"models/entities.yml": ENTITIES, "segments/s.yml": ALL})
    write_seed(project, csv_of([(1, 10)]))
    assert segw(project, "build", "--as-of", as_of).exit_code == 0
    stored = project.query("SELECT entered_at FROM {seg}.memberships")
    assert stored == [(dt.datetime.fromisoformat(as_of),)]


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "9999-12-31T23:00:00-05:00"])
def test_as_of_beyond_what_warehouses_store_is_a_clear_error(value, project_factory):
    project = project_factory("duckdb", {"models/entities.yml": ENTITIES, "segments/s.yml": ALL})
    write_seed(project, csv_of([(1, 10)]))
    result = segw(project, "build", "--as-of", value)
    assert result.exit_code == 2
    assert "outside the range" in result.output and "Traceback" not in result.output


OLD_TABLES = {  # what version 1 created: VARCHAR(255) keys, no split in changes, no catalog
    "memberships": "segment VARCHAR(255), entity VARCHAR(255), {k} VARCHAR(255), split VARCHAR(255), "
                   "entered_at {ts}",
    "membership_history": "segment VARCHAR(255), entity VARCHAR(255), {k} VARCHAR(255), split VARCHAR(255), "
                          "valid_from {ts}, valid_to {ts}",
    "membership_changes": "change_id BIGINT, run_id VARCHAR(64), segment VARCHAR(255), entity VARCHAR(255), "
                          "{k} VARCHAR(255), {c} VARCHAR(16), as_of {ts}",
    "segment_runs": "run_id VARCHAR(64), segment VARCHAR(255), as_of {ts}, started_at {ts}, finished_at {ts}, "
                    "status VARCHAR(16), size BIGINT, entered BIGINT, exited BIGINT, error TEXT",
    "_segw_state": "name VARCHAR(64), value BIGINT",
}


def test_a_warehouse_of_the_previous_version_is_migrated_in_place(engine, project_factory):
    project = project_factory(engine, {"models/entities.yml": ENTITIES, "segments/s.yml": ALL})
    write_seed(project, csv_of([(1, 10), (2, 20)]))
    q, seg = project.quote, project.segment_schema
    ts = "TIMESTAMP" if engine != "mysql" else "TIMESTAMP NULL"
    adapter = project.adapter()
    try:
        adapter.ensure_schema(seg)
        for name, columns in OLD_TABLES.items():
            adapter.execute_text(f"CREATE TABLE {q(seg)}.{q(name)} ({columns.format(k=q('key'), c=q('change'), ts=ts)})")
        adapter.execute_text(f"INSERT INTO {q(seg)}.{q('_segw_state')} VALUES ('writer', 3), ('change_id_floor', 40)")
        adapter.execute_text(f"INSERT INTO {q(seg)}.memberships VALUES ('everyone', 'person', '1', NULL, '2024-01-01')")
        adapter.execute_text(f"INSERT INTO {q(seg)}.membership_history VALUES ('everyone', 'person', '1', NULL, "
                        f"'2024-01-01', NULL)")
        adapter.execute_text(f"INSERT INTO {q(seg)}.membership_changes VALUES (7, 'r1', 'everyone', 'person', '1', "
                        f"'entered', '2024-01-01')")
        adapter.execute_text(f"INSERT INTO {q(seg)}.segment_runs VALUES ('r1', 'everyone', '2024-01-01', '2024-01-01', "
                        f"'2024-01-01', 'success', 1, 1, 0, NULL)")
    finally:
        adapter.close()
    result = project.build(as_of="2024-06-01 00:00:00")
    assert [s.status for s in result.segments] == ["success"], result.segments
    assert project.members("everyone") == {"1", "2"}
    rows = project.query(f"SELECT change_id, {q('key')}, {q('change')}, split FROM {{seg}}.membership_changes "
                         f"ORDER BY change_id")
    assert rows == [(7, "1", "entered", None), (41, "2", "entered", None)]  # past the old floor
    adapter = project.adapter()
    try:
        kinds = dict(adapter.column_types(seg, "memberships"))
        assert kinds["key"] in ("text", "varchar", "character varying") and "(255)" not in kinds["key"]
        if engine == "mysql":
            assert kinds["entered_at"] == "datetime"
    finally:
        adapter.close()
    check_invariants(project)


# -- server faults -------------------------------------------------------------------------------

TWO = "segments:\n" + "".join(f"  - {{name: s{i}, entity: person, rules: {{property: score, gte: {i}}}}}\n"
                              for i in range(2))


def _kill_session(engine: str, session_id) -> None:
    if engine == "postgres":
        import psycopg
        with psycopg.connect(host=PG["host"], user=PG["user"], dbname="test", autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (session_id,))
    else:
        import pymysql
        conn = pymysql.connect(host=MY["host"], user="root", password="", autocommit=True)
        try:
            conn.cursor().execute(f"KILL {int(session_id)}")
        finally:
            conn.close()


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_a_lost_connection_fails_one_segment_and_the_run_goes_on(engine, project_factory, monkeypatch):
    import segwarehouse.materialize as materialize
    from segwarehouse.runner import build

    project = project_factory(engine, {"models/entities.yml": ENTITIES, "segments/s.yml": TWO})
    write_seed(project, csv_of([(1, 1), (2, 2)]))
    real, calls = materialize._stage_delta, []

    def killer(ctx, *args):
        calls.append(ctx.segment.name)
        if len(calls) == 1:
            pid = ctx.adapter.fetchall_text("SELECT pg_backend_pid()" if engine == "postgres" else "SELECT CONNECTION_ID()")[0][0]
            _kill_session(engine, pid)
        return real(ctx, *args)

    monkeypatch.setattr(materialize, "_stage_delta", killer)
    result = build(project.load(), dt.datetime(2024, 6, 1), write_results=True)
    assert [(s.segment, s.status) for s in result.segments] == [("s0", "failed"), ("s1", "success")]
    assert "lost the connection" in result.segments[0].error
    assert result.exit_code == 1
    statuses = dict(project.query("SELECT segment, status FROM {seg}.segment_runs"))
    assert statuses == {"s0": "failed", "s1": "success"}
    assert project.members("s0") == set() and project.members("s1") == {"1", "2"}
    check_invariants(project)


def test_a_warehouse_that_is_down_exits_1_not_2(project_factory):
    project = project_factory("postgres", {"models/entities.yml": ENTITIES, "segments/s.yml": ALL})
    write_seed(project, csv_of([(1, 10)]))
    profiles = project.root / "profiles.yml"
    profiles.write_text(profiles.read_text().replace("port: 5432", "port: 1"))
    for command in (["build"], ["run"], ["status"]):
        result = segw(project, *command)
        assert result.exit_code == 1, (command, result.output)
        assert "cannot connect" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_lock_timeout_bounds_row_locks_too(engine, project_factory):
    project = project_factory(engine, {"models/entities.yml": ENTITIES, "segments/s.yml": ALL})
    write_seed(project, csv_of([(1, 1)]))
    assert project.build(as_of="2024-06-01 00:00:00").exit_code == 0
    q, seg = project.quote, project.segment_schema
    holder = project.adapter()
    holder.execute_text(holder.begin_statement)
    holder.execute_text(f"UPDATE {q(seg)}.{q('_segw_state')} SET value = value + 1 WHERE name = 'writer'")
    try:
        started = time.monotonic()
        result = segw(project, "build", "--lock-timeout", "2", "--as-of", "2024-06-02 00:00:00")
        waited = time.monotonic() - started
    finally:
        holder.execute_text("ROLLBACK")
        holder.close()
    assert result.exit_code == 1, result.output
    assert "gave up waiting for a lock" in result.stderr and "Traceback" not in result.output
    assert waited < 30
    assert project.build(as_of="2024-06-03 00:00:00").exit_code == 0  # and nothing was left broken
    check_invariants(project)


def test_the_scheduler_survives_an_invalid_project_and_a_failing_warehouse(monkeypatch):
    from segwarehouse.errors import SegwError, WarehouseUnavailable
    from segwarehouse.schedule import scheduler_loop

    loads, runs, logged = [], [], []
    good = object()

    def loader():
        loads.append(1)
        if len(loads) in (2, 3):
            raise SegwError("bad YAML", hint="fix it")
        return good

    def states_of(project):
        assert project is good
        if len(loads) == 4:
            raise WarehouseUnavailable("cannot connect")
        return {}

    class FakeClock:
        def now(self):
            return dt.datetime(2024, 6, 1)

        def sleep(self, seconds):
            pass

    import segwarehouse.schedule as schedule
    monkeypatch.setattr(schedule, "due_segments", lambda *a, **k: ["x"])
    code = scheduler_loop(loader, lambda p, now: runs.append(p), states_of, FakeClock(),
                          lambda: len(loads) >= 6, logged.append, max_sleep=5)
    assert code == 0
    assert sum("project invalid, still running the last good one" in line for line in logged) == 2
    assert any(line.startswith("error: cannot connect") for line in logged)
    assert runs and all(p is good for p in runs)


def test_a_mariadb_password_beyond_latin1_connects():
    import pymysql

    from segwarehouse.project.profiles import Target
    from segwarehouse.warehouse.sqlalchemy_engines import MySQLAdapter

    root = pymysql.connect(host=MY["host"], user="root", password="", autocommit=True)
    try:
        root.cursor().execute("DROP USER IF EXISTS 'segw_euro'@'%'")
        root.cursor().execute("CREATE USER 'segw_euro'@'%' IDENTIFIED BY 'pa€ss wörd'")
        target = Target("p", "dev", "mysql", "test", {"host": MY["host"], "port": 3306, "user": "segw_euro",
                                                       "password": "pa€ss wörd"})
        adapter = MySQLAdapter(target)
        try:
            assert adapter.fetchall_text("SELECT CURRENT_USER()")[0][0].startswith("segw_euro@")
        finally:
            adapter.close()
    finally:
        root.cursor().execute("DROP USER IF EXISTS 'segw_euro'@'%'")
        root.close()
