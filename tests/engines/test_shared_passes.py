"""A run's shared relation passes: one grouped scan per relation for all its segments, the same
members as each segment alone, nothing left behind, and a faulty pass costing only its own segment."""
from __future__ import annotations

import segwarehouse.shared_passes as shared_passes
from segwarehouse.compiler.features import FEATURE_PREFIX, table_name

PEOPLE = "id,name,score\n" + "".join(f"{i},n{i},{i % 10}\n" for i in range(1, 301))
EVENTS = "person_id,kind,page,at\n" + "".join(
    f"{i % 290 + 1},{('view', 'buy', 'open')[i % 3]},{('home', '12', 'x7')[i % 4 % 3]},"
    f"2024-06-{1 + i % 29:02d} {i % 24:02d}:00:00\n" for i in range(2000))
ENTITIES = """
entities:
  - name: person
    model: people
    key: id
    relations:
      events: {model: events, foreign_key: person_id, time: at, name: kind}
"""
SEGMENTS = """
segments:
  - {name: buyers, entity: person, materialized: table, rules: {event: buy, within_last: 7 days}}
  - name: heavy_viewers
    entity: person
    materialized: table
    rules: {event: view, within_last: 30 days, count: {gte: 3}}
  - name: quiet
    entity: person
    materialized: table
    rules: {none: [{event: open, within_last: 3 days}]}
  - name: recent_home
    entity: person
    materialized: table
    rules: {related: events, where: [{property: page, equals: home}], last: {within_last: 2 days}}
  - {name: high_score, entity: person, materialized: table, rules: {property: score, gte: 7}}
"""
FILES = {"seeds/people.csv": PEOPLE, "seeds/events.csv": EVENTS, "models/entities.yml": ENTITIES,
         "segments/s.yml": SEGMENTS}
NAMES = ("buyers", "heavy_viewers", "quiet", "recent_home", "high_score")
AS_OF = "2024-06-30 12:00:00"


def work_tables(project) -> list[str]:
    """The shared-pass work tables of the events relation that exist in the segment schema."""
    adapter = project.adapter()
    try:
        name = table_name("person")
        return [name] if adapter.relation_kind(project.segment_schema, name) is not None else []
    finally:
        adapter.close()


def test_one_pass_for_all_segments_and_the_same_members(engine, project_factory, statements, monkeypatch):
    shared = project_factory(engine, FILES)
    assert shared.build(as_of=AS_OF).exit_code == 0
    feature_tables = [s for s in statements if "CREATE TABLE" in s and FEATURE_PREFIX in s.split("AS SELECT")[0]]
    assert len(feature_tables) == 1, feature_tables  # one wide table of person: events scanned once
    segment_scans = [s for s in statements if "CREATE TABLE" in s and "_segw_stage" in s.split("AS SELECT")[0]
                     and ("events" in s.split("AS SELECT", 1)[1])]
    assert segment_scans == [], "a segment scanned events itself instead of reading the shared pass"
    assert work_tables(shared) == []  # dropped at the end of the run

    alone = project_factory(engine, FILES)
    monkeypatch.setattr(shared_passes, "plan_features", _nothing_shared)
    assert alone.build(as_of=AS_OF).exit_code == 0
    for name in NAMES:
        assert shared.members(name) == alone.members(name), name
        assert shared.relation(name) == alone.relation(name), name
    assert 0 < len(shared.members("buyers")) < 300


def _nothing_shared(project, names, as_of, **options):
    from segwarehouse.compiler.features import plan_features
    return plan_features(project, names, as_of, **{**options, "readers_at_least": 10 ** 9})


def test_a_killed_runs_pass_is_dropped_by_the_next_run(project_factory):
    project = project_factory("duckdb", FILES)
    assert project.build(as_of=AS_OF).exit_code == 0
    leftover = table_name("person")
    adapter = project.adapter()
    try:
        adapter.execute_text(f'CREATE TABLE "{project.segment_schema}"."{leftover}" AS SELECT 1 AS k')
    finally:
        adapter.close()
    assert project.build(as_of="2024-07-01 00:00:00").exit_code == 0
    assert work_tables(project) == []


def test_a_pass_that_cannot_be_made_leaves_each_segment_its_own_scan(engine, project_factory, monkeypatch):
    """The shared pass is an accelerator: when its table cannot be made, every segment scans on
    its own and gets the same members."""
    from sqlglot import exp

    from segwarehouse.errors import WarehouseError
    from segwarehouse.warehouse.base import Adapter

    reference = project_factory(engine, FILES)
    assert reference.build(as_of=AS_OF).exit_code == 0
    real = Adapter.execute

    def failing(self, statement, params=None):
        if isinstance(statement, exp.Create) and statement.this.name.startswith(FEATURE_PREFIX):
            raise WarehouseError("injected: no room for the shared pass")
        return real(self, statement, params)
    monkeypatch.setattr(Adapter, "execute", failing)
    project = project_factory(engine, FILES)
    result = project.build(as_of=AS_OF)
    assert result.exit_code == 0, [(s.segment, s.error) for s in result.failed]
    for name in NAMES:
        assert project.members(name) == reference.members(name), name
    assert work_tables(project) == []
