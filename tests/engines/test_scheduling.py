"""Scheduled rebuilds on every engine: `segw run`, `rebuild`, `--full-refresh`, `status`, run_results."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import time


from tests.conftest import cli as segw
from segwarehouse.materialize import utcnow
from segwarehouse.runner import build
from segwarehouse.schedule import due_segments, next_tick, read_state

PEOPLE = """
    id,name,country,score
    1,Ann,CH,10
    2,Bob,FR,20
    3,Cleo,,30
    4,Dan,CH,40
    5,Eve,FR,50
"""
YEARLY = "0 0 1 1 *"
FILES = {
    "seeds/people.csv": PEOPLE,
    "models/entities.yml": """
        entities:
          - name: person
            model: people
            key: id
    """,
    "segments/s.yml": f"""
        segments:
          - name: base
            entity: person
            schedule: "{YEARLY}"
            rules: {{property: score, gte: 20}}
          - name: derived
            entity: person
            schedule: "0 * * * *"
            rules:
              all:
                - in_segment: base
                - property: country
                  equals: CH
          - name: lonely
            entity: person
            schedule: "{YEARLY}"
            rules: {{all: []}}
          - name: other
            entity: person
            schedule: "{YEARLY}"
            rules: {{property: country, equals: FR}}
    """,
}
SEGMENTS = ["base", "lonely", "other", "derived"]  # build order: what is read comes first


def at(text: str):
    moment = dt.datetime.fromisoformat(text)
    return lambda: moment


def states(project):
    """What a fresh load and a fresh connection read back from the warehouse."""
    loaded = project.load()
    adapter = project.adapter()
    try:
        return read_state(adapter, loaded)
    finally:
        adapter.close()


def runs(project) -> list[tuple]:
    return sorted(project.query("SELECT run_id, segment, status FROM {seg}.segment_runs"))


def next_second():
    time.sleep(1.02 - time.time() % 1)


def run_results(project) -> dict:
    return json.loads((project.root / "target" / "run_results.json").read_text())


def snapshot(project, exclude: str) -> dict[str, list]:
    k = project.quote("key")
    return {
        "memberships": sorted(project.query(f"SELECT segment, {k}, entered_at FROM {{seg}}.memberships "
                                            f"WHERE segment <> '{exclude}'"), key=repr),
        "history": sorted(project.query(f"SELECT segment, {k}, valid_from, valid_to FROM "
                                        f"{{seg}}.membership_history WHERE segment <> '{exclude}'"), key=repr),
        "changes": sorted(project.query(f"SELECT change_id, run_id, segment, {k} FROM "
                                        f"{{seg}}.membership_changes WHERE segment <> '{exclude}'"), key=repr),
        "relations": {name: project.relation(name) for name in SEGMENTS if name != exclude},
    }


def test_run_builds_due_segments_and_what_they_read_only(engine, project_factory):
    project = project_factory(engine, FILES)
    first = build(project.load(), at("2024-06-30 10:30:00")(), clock=at("2024-06-30 10:30:00"),
                  write_results=False)
    assert [s.segment for s in first.segments] == SEGMENTS
    assert all(s.status == "success" for s in first.segments)

    read = states(project)
    assert {name: s.last_success_at for name, s in read.items()} == \
        {name: dt.datetime(2024, 6, 30, 10, 30) for name in SEGMENTS}
    assert due_segments(project.load(), read, dt.datetime(2024, 6, 30, 10, 59, 59)) == []
    # derived is hourly; base is yearly but derived reads it (in_segment), so it comes along
    now = dt.datetime(2024, 6, 30, 11, 0, 5)
    due = due_segments(project.load(), read, now)
    assert due == ["base", "derived"]

    second = build(project.load(), now, due, clock=lambda: now, write_results=False)
    assert [s.segment for s in second.segments] == ["base", "derived"]
    assert [s.status for s in second.segments] == ["success", "success"]
    built_second = {seg for run_id, seg, _ in runs(project) if run_id == second.run_id}
    assert built_second == {"base", "derived"}
    counts = {name: sum(1 for _, seg, _ in runs(project) if seg == name) for name in SEGMENTS}
    assert counts == {"base": 2, "derived": 2, "lonely": 1, "other": 1}
    assert project.members("derived") == {"4"}

    # the state is in the warehouse, not in the project folder
    shutil.rmtree(project.root / "target", ignore_errors=True)
    after = states(project)
    assert after["derived"].last_success_at == now and after["base"].last_success_at == now
    assert after["other"].last_success_at == dt.datetime(2024, 6, 30, 10, 30)
    assert after["derived"].size == 1 and after["base"].size == 4 and after["lonely"].size == 5
    assert due_segments(project.load(), after, now) == []
    assert due_segments(project.load(), after, dt.datetime(2024, 6, 30, 11, 59, 59)) == []
    assert due_segments(project.load(), after, dt.datetime(2024, 6, 30, 12, 0, 0)) == ["base", "derived"]
    assert due_segments(project.load(), after, dt.datetime(2025, 1, 1)) == SEGMENTS


def test_segw_run_cli_builds_what_is_due_then_nothing(engine, project_factory):
    project = project_factory(engine, FILES)
    now = utcnow()
    long_ago = now - dt.timedelta(days=400)
    build(project.load(), long_ago, clock=lambda: long_ago, write_results=False)
    build(project.load(), now, ["base", "lonely", "other"], clock=lambda: now, write_results=False)
    assert due_segments(project.load(), states(project), now) == ["base", "derived"]

    before = utcnow()
    result = segw(project, "run")
    assert result.exit_code == 0, result.output
    assert "due: base, derived" in result.stdout
    report = run_results(project)
    assert [s["segment"] for s in report["segments"]] == ["base", "derived"]
    assert report["status"] == "success"
    assert {seg for run_id, seg, _ in runs(project) if run_id == report["run_id"]} == {"base", "derived"}

    (project.root / "target" / "run_results.json").unlink()
    again = segw(project, "run")
    assert again.exit_code == 0, again.output
    if utcnow().replace(minute=0, second=0) == before.replace(minute=0, second=0):  # no hourly tick between
        assert "nothing is due" in again.stdout
        assert len(runs(project)) == 4 + 3 + 2


def test_rebuild_builds_regardless_of_schedule(engine, project_factory):
    project = project_factory(engine, FILES)
    assert segw(project, "build").exit_code == 0
    assert [s["segment"] for s in run_results(project)["segments"]] == SEGMENTS
    assert "other" not in due_segments(project.load(), states(project), utcnow())

    result = segw(project, "rebuild", "other", "lonely")
    assert result.exit_code == 0, result.output
    report = run_results(project)
    assert [s["segment"] for s in report["segments"]] == ["lonely", "other"]
    assert all(s["status"] == "success" for s in report["segments"])
    counts = {name: sum(1 for _, seg, _ in runs(project) if seg == name) for name in SEGMENTS}
    assert counts == {"base": 1, "derived": 1, "lonely": 2, "other": 2}


def _build_two_versions(project):
    project.build(as_of="2024-06-01 00:00:00")
    project.write("seeds/people.csv", PEOPLE.replace("2,Bob,FR,20", "2,Bob,CH,5")
                  .replace("1,Ann,CH,10", "1,Ann,FR,60"))
    second = project.build(as_of="2024-06-02 00:00:00")
    assert all(s.status == "success" for s in second.segments)
    # other (the last segment built) entered Ann and lost Bob: it holds the highest change_ids
    assert project.members("other") == {"1", "5"}


def test_full_refresh_recreates_the_relation_without_reannouncing_members(engine, project_factory):
    project = project_factory(engine, FILES)
    _build_two_versions(project)
    k = project.quote("key")
    top = project.query("SELECT MAX(change_id) FROM {seg}.membership_changes")[0][0]
    before = snapshot(project, exclude="nothing")
    history = project.query(f"SELECT {k}, valid_to FROM {{seg}}.membership_history WHERE segment = 'other'")
    assert any(end is not None for _, end in history)  # Bob's closed interval

    result = segw(project, "rebuild", "other", "--full-refresh", "--yes")
    assert result.exit_code == 0, result.output
    assert project.members("other") == {"1", "5"}
    # members who stay are not announced again; history and the feed are kept as they were
    assert project.query("SELECT MAX(change_id) FROM {seg}.membership_changes")[0][0] == top
    after = snapshot(project, exclude="nothing")
    assert after["history"] == before["history"] and after["changes"] == before["changes"]
    assert project.relation("other") == [(1,), (5,)]
    assert [s["segment"] for s in run_results(project)["segments"]] == ["other"]
    assert project.query("SELECT status FROM {seg}.segment_runs WHERE segment = 'other' "
                         "ORDER BY started_at DESC, finished_at DESC")[0] == ("success",)

    # a real change after a refresh still reaches the feed, with ids past the old ones
    project.write("seeds/people.csv", (project.root / "seeds/people.csv").read_text().replace(
        "1,Ann,FR,60", "1,Ann,CH,60"))
    later = project.build(as_of="2030-01-01 00:00:00")  # the refresh ran at the wall clock's as_of
    assert [s.status for s in later.segments] == ["success"] * 4
    changes = project.query(f"SELECT change_id, {project.quote('change')}, {k} FROM {{seg}}.membership_changes "
                            f"WHERE segment = 'other' AND change_id > {top}")
    assert [(c, key) for _, c, key in changes] == [("exited", "1")]


def test_full_refresh_of_a_broken_segment_keeps_its_members(engine, project_factory):
    project = project_factory(engine, FILES)
    _build_two_versions(project)
    history_before = project.query("SELECT COUNT(*) FROM {seg}.membership_history WHERE segment = 'other'")
    project.write("segments/s.yml", FILES["segments/s.yml"].replace(
        "rules: {property: country, equals: FR}", "rules: {property: contry, equals: FR}"))
    result = segw(project, "rebuild", "other", "--full-refresh", "--yes")
    assert result.exit_code == 1
    assert "contry" in result.stderr and "Traceback" not in result.output
    # the refresh never started: a segment that cannot be built is not emptied first
    assert project.members("other") == {"1", "5"}
    assert project.query("SELECT COUNT(*) FROM {seg}.membership_history WHERE segment = 'other'") == \
        history_before
    assert project.relation("other") == [(1,), (5,)]


def test_full_refresh_that_fails_midway_changes_nothing(engine, project_factory):
    project = project_factory(engine, FILES)
    _build_two_versions(project)
    before = snapshot(project, exclude="nothing")
    # duplicate keys are found only once the members are staged, after the refresh began
    project.write("seeds/people.csv", (project.root / "seeds/people.csv").read_text() + "5,Eve,FR,50\n")
    result = segw(project, "rebuild", "other", "--full-refresh", "--yes")
    assert result.exit_code == 1
    assert "duplicate keys" in result.stderr
    assert snapshot(project, exclude="nothing") == before  # memberships, history, changes, relations


def test_full_refresh_without_yes_and_no_tty_changes_nothing(engine, project_factory):
    project = project_factory(engine, FILES)
    _build_two_versions(project)
    tables = ("memberships", "membership_history", "membership_changes", "segment_runs")
    before = {t: project.query(f"SELECT COUNT(*) FROM {{seg}}.{t}")[0][0] for t in tables}
    relation = project.relation("other")

    result = segw(project, "rebuild", "other", "--full-refresh")
    assert result.exit_code == 2
    assert "not confirmed" in result.stderr and "--yes" in result.stderr
    assert "Traceback" not in result.output
    assert "other: " in result.stdout  # it said what would be deleted
    assert {t: project.query(f"SELECT COUNT(*) FROM {{seg}}.{t}")[0][0] for t in tables} == before
    assert project.relation("other") == relation
    assert not (project.root / "target" / "run_results.json").exists()


def test_status_json_tells_the_truth(engine, project_factory):
    project = project_factory(engine, FILES)
    assert segw(project, "build").exit_code == 0
    project.write("segments/s.yml", FILES["segments/s.yml"].replace(
        "rules: {property: country, equals: FR}", "rules: {property: contry, equals: FR}"))
    next_second()  # segment_runs keeps whole seconds: let the failure come visibly later
    failing = segw(project, "build")
    assert failing.exit_code == 1  # partial failure
    assert "segment other failed" in failing.stderr and "contry" in failing.stderr
    report = run_results(project)
    assert report["status"] == "partial_failure"
    assert {s["segment"]: s["status"] for s in report["segments"]} == \
        {"base": "success", "derived": "success", "lonely": "success", "other": "failed"}

    before = utcnow()
    result = segw(project, "status", "--json")
    after = utcnow()
    assert result.exit_code == 0, result.output
    rows = {row["segment"]: row for row in json.loads(result.stdout)}
    assert list(rows) == SEGMENTS
    for name in SEGMENTS:
        row = rows[name]
        assert row["size"] == len(project.members(name)), name
        assert row["schedule"] == ("0 * * * *" if name == "derived" else YEARLY)
        expected = {next_tick(row["schedule"], before).isoformat(), next_tick(row["schedule"], after).isoformat()}
        assert row["next_due_at"] in expected, (name, row["next_due_at"], expected)
    assert rows["other"]["last_status"] == "failed"
    assert "unknown column 'contry'" in rows["other"]["last_error"]
    assert rows["other"]["size"] == 2  # it kept its members
    assert rows["other"]["last_success_at"] < rows["other"]["last_run_at"]
    assert rows["base"]["last_status"] == "success" and rows["base"]["last_error"] is None
    assert rows["base"]["size"] == 4

    table = segw(project, "status")
    assert table.exit_code == 0
    assert "failed" in table.stdout and "contry" in table.stdout


def test_status_of_a_never_built_project(engine, project_factory):
    project = project_factory(engine, FILES)
    now = utcnow()
    result = segw(project, "status", "--json")
    if engine == "duckdb":  # a DuckDB file that does not exist is a typo until `build` creates it
        assert result.exit_code == 2 and "run `segw build` first" in result.stderr
        assert not (project.root / "warehouse.duckdb").exists()
        return
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["segment"] for r in rows] == SEGMENTS
    assert all(r["last_status"] is None and r["size"] is None for r in rows)
    assert all(dt.datetime.fromisoformat(r["next_due_at"]) - now < dt.timedelta(seconds=5) for r in rows)


def test_exit_code_2_for_bad_input(engine, project_factory):
    project = project_factory(engine, FILES)
    result = segw(project, "rebuild", "nosuch")
    assert result.exit_code == 2 and "unknown segment 'nosuch'" in result.stderr
    project.write("segments/s.yml", FILES["segments/s.yml"].replace('"0 * * * *"', '"0 0 30 2 *"'))
    for command in (["run"], ["status"], ["schedule"], ["rebuild", "base"]):
        result = segw(project, *command)
        assert result.exit_code == 2, (command, result.output)
        assert "segments/s.yml:8: invalid cron schedule '0 0 30 2 *'" in result.stderr
        assert "Traceback" not in result.output
