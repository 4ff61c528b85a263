"""A segment's whole life on every engine: ownership, retire, as_of order, splits that move, the catalog."""
from __future__ import annotations

import datetime as dt
import json


from tests.conftest import cli as segw
from segwarehouse.runner import build
from tests.reliability.invariants import check_invariants

PEOPLE = """
    id,name,country,score
    1,Ann,CH,10
    2,Bob,FR,20
    3,Cleo,,30
    4,Dan,CH,40
    5,Eve,FR,50
"""
SEGMENTS = """
    segments:
      - name: vip
        title: VIP customers
        description: Score of 20 or more.
        category: retention
        tags: [email, crm]
        entity: person
        columns: [name]
        rules: {property: score, gte: 20}
      - name: swiss
        entity: person
        rules: {property: country, equals: CH}
"""
FILES = {
    "seeds/people.csv": PEOPLE,
    "models/entities.yml": """
        entities:
          - name: person
            model: people
            key: id
    """,
    "segments/s.yml": SEGMENTS,
}


def changes(project, segment: str) -> list[tuple]:
    q = project.quote
    return project.query(f"SELECT {q('change')}, {q('key')}, {q('split')} FROM {{seg}}.membership_changes "
                         f"WHERE segment = '{segment}' ORDER BY change_id")


def catalog(project) -> dict[str, tuple]:
    rows = project.query("SELECT segment, project, entity, title, description, category, tags, materialized, "
                         "size, status, last_as_of, rules FROM {seg}.segment_catalog")
    return {row[0]: row[1:] for row in rows}


def test_catalog_lists_every_segment_with_its_size_and_status(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-30 12:00:00").exit_code == 0
    rows = catalog(project)
    assert set(rows) == {"vip", "swiss"}
    assert rows["vip"][:9] == ("test", "person", "VIP customers", "Score of 20 or more.", "retention",
                               "email,crm", "incremental", 4, "active")
    assert rows["vip"][9] == dt.datetime(2024, 6, 30, 12)
    assert "score is at least 20" in rows["vip"][10]
    assert rows["swiss"][7:9] == (2, "active")


def test_a_rebuild_updates_the_catalog_rows_in_place(engine, project_factory, statements):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-30 12:00:00").exit_code == 0
    statements.clear()
    project.write("seeds/people.csv", PEOPLE + "    6,Fay,CH,60\n")
    assert project.build(as_of="2024-07-01 12:00:00").exit_code == 0
    rows = catalog(project)
    assert (rows["vip"][7:10], rows["swiss"][7:10]) == ((5, "active", dt.datetime(2024, 7, 1, 12)),
                                                        (3, "active", dt.datetime(2024, 7, 1, 12)))
    # each row the run found is replaced by one UPDATE, not a DELETE and an INSERT; where segments
    # commit together, all their rows by one DELETE and one INSERT
    written = [s.split("| ", 1)[-1] for s in statements if "segment_catalog" in s]
    adapter = project.adapter()
    try:
        together = adapter.commits_together
    finally:
        adapter.close()
    verbs = [s.split(" ", 1)[0] for s in written if not s.startswith("SELECT")]
    assert verbs == (["DELETE", "INSERT"] if together else ["UPDATE"] * 2), written
    if together:
        inserted = next(s for s in written if s.startswith("INSERT"))
        assert "'vip'" in inserted and "'swiss'" in inserted


def test_another_project_may_not_write_a_segment_it_does_not_own(engine, project_factory, tmp_path):
    first = project_factory(engine, FILES)
    assert first.build().exit_code == 0
    before = first.members("vip")
    # a second project on the same warehouse and segment_schema, with its own `vip`
    second = project_factory(engine, {**FILES, "segments/s.yml": SEGMENTS.replace("gte: 20", "gte: 50")})
    for name in ("profiles.yml",):
        (second.root / name).write_text((first.root / name).read_text())
    config = (second.root / "segwarehouse.yml").read_text()
    config = config.replace("name: test", "name: other_project").replace(second.segment_schema, first.segment_schema)
    (second.root / "segwarehouse.yml").write_text(config)
    if engine == "duckdb":
        (second.root / "warehouse.duckdb").write_bytes((first.root / "warehouse.duckdb").read_bytes())
        first = second.__class__(second.root, engine, first.model_schema, first.segment_schema)
    result = segw(second, "build")
    assert result.exit_code == 1
    assert "belongs to project 'test'" in result.stderr and "other_project" in result.stderr
    assert first.members("vip") == before
    assert not [c for c in changes(first, "vip") if c[0] == "exited"]


def test_retire_sends_every_exit_and_drops_the_relation(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-30 12:00:00").exit_code == 0
    members = project.members("vip")
    assert members == {"2", "3", "4", "5"}
    # the segment is removed (or renamed) in YAML: its members stay until it is retired
    project.write("segments/s.yml", SEGMENTS.replace("name: vip", "name: top_customers"))
    built = segw(project, "build", "--as-of", "2024-07-01 00:00:00")
    assert built.exit_code == 0, built.output
    assert "stored but no longer defined" in built.stderr and "vip" in built.stderr
    assert project.members("vip") == members
    assert json.loads((project.root / "target" / "run_results.json").read_text())["orphans"] == ["vip"]
    status = segw(project, "status", "--json")
    assert {"segment": "vip", "defined": False, "last_status": "not defined (retire it)"} in json.loads(status.stdout)
    rebuilt = segw(project, "rebuild", "vip")
    assert rebuilt.exit_code == 2 and "segw retire vip" in rebuilt.stderr

    refused = segw(project, "retire", "swiss")  # still defined
    assert refused.exit_code == 2 and "still defined" in refused.stderr
    retired = segw(project, "retire", "vip", "--yes")
    assert retired.exit_code == 0, retired.output
    assert "4 members exited" in retired.stdout
    assert project.members("vip") == set()
    assert sorted(k for c, k, _ in changes(project, "vip") if c == "exited") == sorted(members)
    open_rows = project.query("SELECT COUNT(*) FROM {seg}.membership_history WHERE segment = 'vip' "
                              "AND valid_to IS NULL")
    assert open_rows == [(0,)]
    adapter = project.adapter()
    try:
        assert adapter.relation_kind(project.segment_schema, "vip") is None
    finally:
        adapter.close()
    assert catalog(project)["vip"][7:9] == (0, "retired")
    check_invariants(project)
    again = segw(project, "build", "--as-of", "2024-07-02 00:00:00")
    assert "no longer defined" not in again.stderr


def test_a_build_at_an_earlier_as_of_is_refused(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-30 12:00:00").exit_code == 0
    history = project.query("SELECT COUNT(*) FROM {seg}.membership_history")
    result = segw(project, "build", "--as-of", "2024-06-01 00:00:00")
    assert result.exit_code == 2  # refused before anything is built: one message
    assert "never goes back" in result.stderr and "preview" in result.stderr
    assert result.stderr.count("error:") == 1
    assert project.query("SELECT COUNT(*) FROM {seg}.membership_history") == history
    rows = project.query("SELECT valid_from, valid_to FROM {seg}.membership_history WHERE valid_to IS NOT NULL")
    assert all(end >= start for start, end in rows)
    # the same as_of again is fine (a rebuild), and the past can still be read
    assert project.build(as_of="2024-06-30 12:00:00").exit_code == 0
    preview = segw(project, "preview", "vip", "--as-of", "2024-06-01 00:00:00")
    assert preview.exit_code == 0, preview.output


def test_a_run_that_lost_the_race_skips_the_segment(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2030-01-01 00:00:00").exit_code == 0  # a newer run committed first
    before = project.query("SELECT COUNT(*) FROM {seg}.membership_changes")
    late = build(project.load(), None, clock=lambda: dt.datetime(2029, 12, 31, 23, 59), write_results=False)
    assert [s.status for s in late.segments] == ["skipped", "skipped"]
    assert late.exit_code == 0
    assert "another run" in late.segments[0].error
    assert project.query("SELECT COUNT(*) FROM {seg}.membership_changes") == before
    statuses = project.query("SELECT status FROM {seg}.segment_runs WHERE segment = 'vip' ORDER BY started_at, "
                             "finished_at")
    assert statuses[-1] == ("skipped",)
    check_invariants(project)


def test_split_changes_are_moves_in_the_feed(engine, project_factory):
    files = {**FILES, "segments/s.yml": """
        segments:
          - name: test_ab
            entity: person
            rules: {property: score, gte: 0}
            splits: {control: 50, treatment: 50}
    """}
    project = project_factory(engine, files)
    assert project.build(as_of="2024-06-01 00:00:00").exit_code == 0
    first = {k: s for c, k, s in changes(project, "test_ab")}
    assert set(first) == {"1", "2", "3", "4", "5"} and set(first.values()) <= {"control", "treatment"}
    project.write("segments/s.yml", files["segments/s.yml"].replace("control: 50, treatment: 50",
                                                                    "control: 70, treatment: 30"))
    assert project.build(as_of="2024-06-02 00:00:00").exit_code == 0
    now = dict(project.query(f"SELECT {project.quote('key')}, split FROM {{seg}}.memberships"))
    moved = {k: s for c, k, s in changes(project, "test_ab") if c == "moved"}
    assert moved == {k: s for k, s in now.items() if first[k] != s}
    assert set(moved) == {"1", "2", "3"}  # buckets 5201, 6395, 5660: from treatment (>= 50%) to control
    history = project.query(f"SELECT {project.quote('key')}, split, valid_to FROM {{seg}}.membership_history")
    for key, split in moved.items():
        assert (key, split, None) in history and (key, first[key], dt.datetime(2024, 6, 2)) in history
    check_invariants(project)

    # a split_seed reshuffles deliberately; moves again reach the feed
    project.write("segments/s.yml", files["segments/s.yml"].replace(
        "control: 50, treatment: 50", "control: 70, treatment: 30") + "        split_seed: q4_2024\n")
    assert project.build(as_of="2024-06-03 00:00:00").exit_code == 0
    import hashlib
    for key, split in project.query(f"SELECT {project.quote('key')}, split FROM {{seg}}.memberships"):
        bucket = int(hashlib.md5(f"q4_2024:{key}".encode()).hexdigest()[:8], 16) % 10000
        assert split == ("control" if bucket < 7000 else "treatment")
    check_invariants(project)


def test_switching_to_a_view_sends_exits(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-01 00:00:00").exit_code == 0
    members = project.members("swiss")
    project.write("segments/s.yml", SEGMENTS.replace("rules: {property: country, equals: CH}",
                                                     "materialized: view\n        rules: {property: country, equals: CH}"))
    assert project.build(as_of="2024-06-02 00:00:00").exit_code == 0
    assert project.members("swiss") == set()
    assert sorted(k for c, k, _ in changes(project, "swiss") if c == "exited") == sorted(members)
    assert sorted(str(r[0]) for r in project.relation("swiss")) == sorted(members)  # the live view
    assert catalog(project)["swiss"][6] == "view"
    assert project.query("SELECT COUNT(*) FROM {seg}.membership_history WHERE segment = 'swiss' "
                         "AND valid_to IS NULL") == [(0,)]


def test_failing_models_and_invalid_projects_leave_run_results_and_segment_runs(engine, project_factory):
    project = project_factory(engine, {**FILES, "models/people_view.sql": "select * from {{ ref('people') }}"})
    assert segw(project, "build").exit_code == 0
    project.write("models/people_view.sql", "select no_such_column from {{ ref('people') }}")
    result = segw(project, "build")
    assert result.exit_code == 1
    report = json.loads((project.root / "target" / "run_results.json").read_text())
    assert report["status"] == "error" and "people_view" in report["error"]
    assert {s["status"] for s in report["segments"]} == {"failed"}
    latest = project.query("SELECT segment, status, error FROM {seg}.segment_runs WHERE status = 'failed'")
    assert {r[0] for r in latest} == {"vip", "swiss"} and all("people_view" in r[2] for r in latest)

    project.write("segments/s.yml", SEGMENTS.replace("entity: person\n        rules: {property: country",
                                                     "entity: persn\n        rules: {property: country"))
    invalid = segw(project, "build")
    assert invalid.exit_code == 2
    report = json.loads((project.root / "target" / "run_results.json").read_text())
    assert report["status"] == "error" and "persn" in report["error"]


def test_names_that_collide_with_inputs_or_outputs_are_refused(engine, project_factory):
    for name, what in (("memberships", "output table"), ("people", "seed 'people'")):
        project = project_factory(engine, {**FILES, "segments/s.yml": SEGMENTS.replace("name: swiss", f"name: {name}")},
                                  config=None)
        if name == "people":  # only a clash when segments and models share one schema
            text = (project.root / "segwarehouse.yml").read_text().replace(project.segment_schema,
                                                                           project.model_schema)
            (project.root / "segwarehouse.yml").write_text(text)
        result = segw(project, "build")
        assert result.exit_code == 2, result.output
        assert "segments/s.yml:" in result.stderr and what in result.stderr


def test_a_relation_segwarehouse_did_not_create_is_never_replaced(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build().exit_code == 0
    adapter = project.adapter()
    try:
        q = project.quote
        adapter.execute_text(f"CREATE TABLE {q(project.segment_schema)}.{q('mine')} (x INTEGER)")
        adapter.execute_text(f"INSERT INTO {q(project.segment_schema)}.{q('mine')} VALUES (42)")
    finally:
        adapter.close()
    project.write("segments/s.yml", SEGMENTS + "      - {name: mine, entity: person, rules: {property: score, gte: 0}}\n")
    result = project.build(as_of="2030-01-01 00:00:00")
    failed = {s.segment: s.error for s in result.segments if s.status == "failed"}
    assert list(failed) == ["mine"] and "did not create" in failed["mine"]
    assert project.relation("mine") == [(42,)]


def test_view_segments_survive_a_model_rebuild(engine, project_factory):
    files = {**FILES, "models/people_t.sql": "{{ config(materialized='table') }} select * from {{ ref('people') }}",
             "models/entities.yml": "entities:\n  - {name: person, model: people_t, key: id}\n",
             "segments/s.yml": SEGMENTS + "      - {name: live, entity: person, materialized: view, "
                                          "rules: {property: score, gte: 40}}\n"}
    project = project_factory(engine, files)
    assert project.build().exit_code == 0
    result = build(project.load(), None, ["vip"], write_results=False)  # rebuilds models, not `live`
    assert result.exit_code == 0
    assert sorted(r[0] for r in project.relation("live")) == [4, 5]


def test_catalog_keeps_a_hash_of_each_definition(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-30 12:00:00").exit_code == 0
    first = dict(project.query("SELECT segment, definition_hash FROM {seg}.segment_catalog"))
    assert project.build(as_of="2024-07-01 12:00:00").exit_code == 0  # same rules, later as_of
    assert dict(project.query("SELECT segment, definition_hash FROM {seg}.segment_catalog")) == first
    project.write("segments/s.yml", SEGMENTS.replace("gte: 20", "gte: 30"))
    assert project.build(as_of="2024-07-02 12:00:00").exit_code == 0
    now = dict(project.query("SELECT segment, definition_hash FROM {seg}.segment_catalog"))
    assert now["swiss"] == first["swiss"] and now["vip"] != first["vip"] and len(now["vip"]) == 32


def test_a_sql_condition_the_warehouse_refuses_is_blamed_at_its_line(engine, project_factory):
    project = project_factory(engine, {**FILES, "segments/s.yml": SEGMENTS + (
        "      - name: raw\n        entity: person\n        rules:\n          all:\n"
        "            - {property: score, gte: 0}\n            - sql: \"no_such_column > 1\"\n")})
    result = segw(project, "build")
    assert result.exit_code == 1
    assert "segments/s.yml:18:" in result.stderr and "`sql:` condition" in result.stderr
    assert project.members("vip") == {"2", "3", "4", "5"}  # the others still build
