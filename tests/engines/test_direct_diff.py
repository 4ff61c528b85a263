"""A full evaluation of a segment whose relation holds only keys (and splits) diffs its members'
query straight against that relation, with no stage table of members (one FULL JOIN; MariaDB,
without FULL JOIN: one grouped pass over both): the same members, relation, change feed and history
as the diff against memberships, through entries, exits and split moves."""
from __future__ import annotations

import pytest

import segwarehouse.materialize as materialize

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
  - {name: high, entity: person, materialized: table, rules: {property: score, gte: 5}}
  - name: ab
    entity: person
    materialized: table
    rules: {property: score, gte: 2}
    splits: {control: 50, treatment: 50}
  - {name: buyers, entity: person, rules: {event: buy, within_last: 3 days}}
  - name: with_columns
    entity: person
    materialized: table
    rules: {property: score, lte: 6}
    columns: [score]
"""
NAMES = ("high", "ab", "buyers", "with_columns")


def people(shift: int) -> str:
    return "id,score\n" + "".join(f"{i},{(i + shift) % 10}\n" for i in range(1, 121))


EVENTS = "person_id,kind,at\n" + "".join(
    f"{i % 110 + 1},{('view', 'buy')[i % 2]},2024-06-{1 + i % 29:02d} 10:00:00\n" for i in range(600))
FILES = {"seeds/people.csv": people(0), "seeds/events.csv": EVENTS, "models/entities.yml": ENTITIES,
         "segments/s.yml": SEGMENTS}


@pytest.fixture
def stages(monkeypatch) -> list[tuple[str, bool]]:
    """(stage table, whether it was filled with members) for every stage table created."""
    from sqlglot import exp

    from segwarehouse.warehouse.base import Adapter
    made: list[tuple[str, bool]] = []
    real = Adapter.execute

    def recording(self, statement, params=None):
        if isinstance(statement, exp.Create) and statement.this.name.startswith("_segw_stage_"):
            where = statement.expression.args.get("where")
            made.append((statement.this.name, not (where is not None and where.this == exp.false())))
        return real(self, statement, params)
    monkeypatch.setattr(Adapter, "execute", recording)
    return made


def lifecycle(project, stages: list) -> None:
    """Entries first (each relation is created from a stage); then scores shift (exits and
    entries), splits are reweighed (moves) and weeks pass (buyers come and go)."""
    assert project.build(as_of="2024-06-10 00:00:00").exit_code == 0
    stages.clear()
    project.write("seeds/people.csv", people(3))
    project.write("segments/s.yml", SEGMENTS.replace("control: 50, treatment: 50", "control: 80, treatment: 20"))
    result = project.build(as_of="2024-06-28 00:00:00")
    assert result.exit_code == 0, [(s.segment, s.error) for s in result.failed]


def outputs(project, name: str) -> dict:
    q = project.quote
    return {
        "members": sorted(project.query(f"SELECT {q('key')}, {q('split')} FROM {{seg}}.memberships "
                                        f"WHERE segment = '{name}'"), key=repr),
        "relation": project.relation(name),
        "changes": project.query(f"SELECT {q('key')}, {q('change')}, {q('split')}, as_of FROM "
                                 f"{{seg}}.membership_changes WHERE segment = '{name}' ORDER BY change_id"),
        "history": sorted(project.query(f"SELECT {q('key')}, {q('split')}, valid_from, valid_to FROM "
                                        f"{{seg}}.membership_history WHERE segment = '{name}'"), key=repr),
        "size": project.query(f"SELECT size FROM {{seg}}.segment_catalog WHERE segment = '{name}'"),
    }


def test_the_direct_diff_writes_what_the_staged_diff_writes(engine, project_factory, stages, statements,
                                                           monkeypatch):
    direct = project_factory(engine, FILES)
    lifecycle(direct, stages)
    filled = {name for name, full in stages if full}
    # only the relation that carries a column of its own is rewritten from a stage
    assert filled == {"_segw_stage_with_columns"}
    if engine == "mysql":
        # MariaDB has no FULL JOIN: the members' query and the relation of keys (and splits) are
        # stacked and grouped by the integer key, not joined to memberships' text keys
        deltas = {name: sql for sql in (s.split("| ", 1)[-1] for s in statements) for name in NAMES
                  if sql.startswith(f"CREATE TABLE `{direct.segment_schema}`.`_segw_delta_{name}` AS")}
        for name in ("high", "ab", "buyers"):
            assert "UNION ALL SELECT `r`.`id`, 1" in deltas[name]
            assert "GROUP BY `u`.`k` HAVING" in deltas[name]
            assert "memberships" not in deltas[name] and "_segw_stage_" not in deltas[name]
        assert "`memberships` AS `m`" in deltas["with_columns"]  # a relation with a column of its own

    staged = project_factory(engine, FILES)
    monkeypatch.setattr(materialize, "_diff_directly", lambda *args: False)
    lifecycle(staged, [])
    for name in NAMES:
        assert outputs(direct, name) == outputs(staged, name), name
    changes = [c for _, c, _, _ in outputs(direct, "high")["changes"]]
    assert {"entered", "exited"} <= set(changes)
    assert "moved" in [c for _, c, _, _ in outputs(direct, "ab")["changes"]]
    assert {"entered", "exited"} <= {c for _, c, _, _ in outputs(direct, "buyers")["changes"]}
