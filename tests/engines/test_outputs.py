"""The output contract of SEGMENTS.md §8 on every engine: memberships, history, changes, runs."""
from __future__ import annotations


FILES = {
    "seeds/people.csv": """
        id,name,country,score
        1,Ann,CH,10
        2,Bob,FR,20
        3,Cleo,,30
        4,Dan,CH,40
    """,
    "models/entities.yml": """
        entities:
          - name: person
            model: people
            key: id
    """,
    "segments/s.yml": """
        segments:
          - name: high
            entity: person
            rules: {property: score, gte: 25}
            columns: [name]
          - name: swiss_table
            entity: person
            materialized: table
            rules: {property: country, equals: CH}
          - name: live
            entity: person
            materialized: view
            rules: {property: country, not_equals: CH}
          - name: split_all
            entity: person
            rules: {all: []}
            splits: {a: 50, b: 50}
    """,
}


def set_scores(project, scores: dict[int, int]) -> None:
    lines = ["id,name,country,score"]
    names = {1: "Ann,CH", 2: "Bob,FR", 3: "Cleo,", 4: "Dan,CH"}
    for key, score in scores.items():
        lines.append(f"{key},{names[key]},{score}")
    project.write("seeds/people.csv", "\n".join(lines) + "\n")


def test_first_build_writes_every_output(engine, project_factory):
    project = project_factory(engine, FILES)
    result = project.build()
    assert [s.status for s in result.segments] == ["success"] * 4
    assert project.members("high") == {"3", "4"}
    assert project.members("swiss_table") == {"1", "4"}
    assert project.relation("high") == [(3, "Cleo"), (4, "Dan")]
    assert project.relation("live") == [(2,), (3,)]  # NULL country is not CH
    assert project.members("live") == set()  # views keep no memberships
    changes = project.query("SELECT change_id, {c}, {k} FROM {{seg}}.membership_changes ORDER BY change_id"
                            .format(c=project.quote("change"), k=project.quote("key")))
    assert [c[0] for c in changes] == list(range(1, len(changes) + 1))
    assert all(c[1] == "entered" for c in changes)
    runs = project.query("SELECT segment, status, size FROM {seg}.segment_runs")
    assert sorted(runs) == [("high", "success", 2), ("live", "success", 2),
                            ("split_all", "success", 4), ("swiss_table", "success", 2)]


def test_second_build_records_entries_and_exits(engine, project_factory):
    project = project_factory(engine, FILES)
    project.build(as_of="2024-06-01")
    set_scores(project, {1: 50, 2: 20, 3: 10, 4: 40})
    result = project.build(as_of="2024-06-02")
    high = next(s for s in result.segments if s.segment == "high")
    assert (high.size, high.entered, high.exited) == (2, 1, 1)
    assert project.members("high") == {"1", "4"}
    history = project.query("SELECT {k}, valid_from, valid_to FROM {{seg}}.membership_history "
                            "WHERE segment = 'high'".format(k=project.quote("key")))
    closed = {(k, str(vt)[:10]) for k, vf, vt in history if vt is not None}
    open_keys = {k for k, vf, vt in history if vt is None}
    assert closed == {("3", "2024-06-02")}
    assert open_keys == project.members("high")
    ids = [r[0] for r in project.query("SELECT change_id FROM {seg}.membership_changes ORDER BY change_id")]
    assert ids == sorted(set(ids)) and len(ids) == len(set(ids))


def test_rebuild_with_same_as_of_writes_nothing_new(engine, project_factory):
    project = project_factory(engine, FILES)
    project.build()
    before = {t: project.query(f"SELECT COUNT(*) FROM {{seg}}.{t}")[0][0]
              for t in ("membership_changes", "membership_history", "memberships")}
    result = project.build()
    after = {t: project.query(f"SELECT COUNT(*) FROM {{seg}}.{t}")[0][0]
             for t in ("membership_changes", "membership_history", "memberships")}
    assert before == after
    assert all(s.entered == 0 and s.exited == 0 for s in result.segments)


def test_failing_segment_keeps_members_and_others_build(engine, project_factory):
    project = project_factory(engine, FILES)
    project.build()
    project.write("segments/s.yml", FILES["segments/s.yml"].replace(
        "rules: {property: score, gte: 25}", "rules: {property: scroe, gte: 25}"))
    result = project.build(as_of="2024-07-01")
    status = {s.segment: s.status for s in result.segments}
    assert status["high"] == "failed" and status["swiss_table"] == "success"
    failed = next(s for s in result.segments if s.segment == "high")
    assert "unknown column 'scroe'" in failed.error and "did you mean 'score'" in failed.error
    assert project.members("high") == {"3", "4"}
    assert result.exit_code == 1
    runs = project.query("SELECT status, error FROM {seg}.segment_runs WHERE segment = 'high' ORDER BY started_at")
    assert runs[-1][0] == "failed" and "scroe" in runs[-1][1]


def test_splits_are_stable_and_cover_everyone(engine, project_factory):
    import hashlib

    project = project_factory(engine, FILES)
    project.build()
    rows = project.query("SELECT {k}, split FROM {{seg}}.memberships WHERE segment = 'split_all'"
                         .format(k=project.quote("key")))
    for key, split in rows:
        bucket = int(hashlib.md5(f"split_all:{key}".encode()).hexdigest()[:8], 16) % 10000
        assert split == ("a" if bucket < 5000 else "b")
    assert len(rows) == 4
