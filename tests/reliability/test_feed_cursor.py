"""A sync's cursor over membership_changes misses and doubles nothing while writers run side by side;
a cancelled statement fails one segment and the run goes on."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import MY, PG
from tests.reliability.invariants import check_invariants

N = 3000
FILES = {
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": "segments:\n" + "".join(
        f"  - {{name: s{i}, entity: person, rules: {{property: score, gte: {10 * i}}}}}\n" for i in range(6)),
}


def people(shift: int) -> str:
    return "id,score\n" + "".join(f"{i},{(i * 7 + shift) % 60}\n" for i in range(1, N + 1))


def connect(engine: str):
    if engine == "postgres":
        import psycopg
        return psycopg.connect(host=PG["host"], user=PG["user"], dbname="test", autocommit=True)
    import pymysql
    return pymysql.connect(host=MY["host"], user="root", password="", autocommit=True)


def fetch(conn, sql: str) -> list[tuple]:
    cursor = conn.cursor()
    cursor.execute(sql)
    return list(cursor.fetchall())


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_a_cursor_reader_sees_every_change_once_under_concurrent_writers(engine, project_factory):
    project = project_factory(engine, {**FILES, "seeds/people.csv": people(0)})
    assert project.build(as_of="2024-01-01 00:00:00").exit_code == 0
    q = project.quote
    table = f"{q(project.segment_schema)}.{q('membership_changes')}"
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        conn = connect(engine)
        cursor = 0
        try:
            while not stop.is_set():
                rows = fetch(conn, f"SELECT change_id FROM {table} WHERE change_id > {cursor} ORDER BY change_id")
                for (change_id,) in rows:
                    seen.append(change_id)
                    cursor = change_id
                time.sleep(0.01)
            for (change_id,) in fetch(conn, f"SELECT change_id FROM {table} WHERE change_id > {cursor} "
                                            f"ORDER BY change_id"):
                seen.append(change_id)
        finally:
            conn.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for round_ in range(3):
            project.write("seeds/people.csv", people(round_ * 17 + 5))
            writers = [subprocess.Popen(
                [sys.executable, "-m", "segwarehouse", "build", "--select", names, "--as-of",
                 f"2024-01-{2 + round_:02d} 00:00:00", "--project-dir", str(project.root)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                for names in ("s0,s2,s4", "s1,s3,s5")]
            for writer in writers:
                _, err = writer.communicate(timeout=120)
                assert writer.returncode == 0, err
    finally:
        stop.set()
        thread.join()
    every = [row[0] for row in project.query(f"SELECT change_id FROM {{seg}}.{q('membership_changes')}")]
    assert len(seen) == len(set(seen)), "a change was read twice"
    assert sorted(seen) == sorted(every), "the cursor skipped a change"
    assert len(every) > 1000
    check_invariants(project)


def test_a_cancelled_statement_fails_one_segment_and_the_run_goes_on(project_factory, monkeypatch):
    import segwarehouse.materialize as materialize
    from segwarehouse.runner import build

    project = project_factory("postgres", {**FILES, "seeds/people.csv": people(0)})
    real, calls = materialize._stage_delta, []

    def cancel_first(ctx, *args):
        calls.append(ctx.segment.name)
        if len(calls) == 1:
            pid = ctx.adapter.fetchall_text("SELECT pg_backend_pid()")[0][0]
            canceller = threading.Timer(0.3, lambda: connect("postgres").execute(
                "SELECT pg_cancel_backend(%s)", (pid,)))
            canceller.start()
            ctx.adapter.execute_text("SELECT pg_sleep(5)")
        return real(ctx, *args)

    monkeypatch.setattr(materialize, "_stage_delta", cancel_first)
    result = build(project.load(), dt.datetime(2024, 6, 1), write_results=False)
    assert [s.status for s in result.segments] == ["failed"] + ["success"] * 5
    assert "cancel" in result.segments[0].error.lower()
    assert project.members("s0") == set()
    check_invariants(project)


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_a_statement_timeout_fails_one_segment_and_the_run_goes_on(engine, project_factory, monkeypatch):
    import segwarehouse.materialize as materialize
    from segwarehouse.runner import build

    project = project_factory(engine, {**FILES, "seeds/people.csv": people(0)})
    real, calls = materialize._stage_delta, []

    def time_out_first(ctx, *args):
        calls.append(ctx.segment.name)
        if len(calls) == 1:
            if engine == "postgres":
                ctx.adapter.execute_text("SET statement_timeout = 200")
                try:
                    ctx.adapter.execute_text("SELECT pg_sleep(3)")
                finally:
                    ctx.adapter.execute_text("SET statement_timeout = 0")
            else:
                ctx.adapter.execute_text("SET SESSION max_statement_time = 0.2")
                try:
                    ctx.adapter.execute_text("SELECT SLEEP(3) FROM (SELECT 1 UNION ALL SELECT 2) AS t")
                finally:
                    ctx.adapter.execute_text("SET SESSION max_statement_time = 0")
        return real(ctx, *args)

    monkeypatch.setattr(materialize, "_stage_delta", time_out_first)
    result = build(project.load(), dt.datetime(2024, 6, 1), write_results=False)
    assert [s.status for s in result.segments] == ["failed"] + ["success"] * 5, result.segments
    assert "timeout" in result.segments[0].error.lower() or "max_statement_time" in result.segments[0].error
    check_invariants(project)
