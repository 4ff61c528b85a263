"""An incremental run's shared work per entity: one scan finds every segment's changed keys, a
segment with none of its own is not evaluated, and the others read one wide table of those keys."""
from __future__ import annotations

import json
import re

import pytest
import sqlglot

ENTITIES = """
entities:
  - name: customer
    model: {schema}.customers
    key: customer_id
    loaded_at: _loaded_at
    relations:
      orders:
        model: {schema}.orders
        foreign_key: customer_id
        time: ordered_at
        loaded_at: _loaded_at
"""
SEGMENTS = """
segments:
  - {name: buyers, entity: customer, materialized: incremental, rules: {related: orders, count: {gte: 1}}}
  - name: big_buyers
    entity: customer
    materialized: incremental
    rules: {related: orders, sum: {of: amount, gt: 50}}
  - {name: recent, entity: customer, materialized: incremental, rules: {related: orders, within_last: 7 days}}
  - {name: germans, entity: customer, materialized: incremental, rules: {property: country, equals: de}}
"""
AS_OF = "2024-06-10 12:00:00"


def run(project, sql: str) -> None:
    adapter = project.adapter()
    try:
        adapter.execute(sqlglot.parse_one(sql, read="duckdb"))
    finally:
        adapter.close()


WIDE_OF_CHANGED_KEYS = re.compile(r"_segw_f_[0-9a-f]+_k\b")


def created(statements: list[str], fragment: str) -> list[str]:
    return [s for s in statements if s.split("| ", 1)[-1].startswith("CREATE TABLE")
            and re.search(fragment, s.split(" AS ", 1)[0])]


pytestmark = pytest.mark.usefixtures("evaluate_changed_keys_however_many")


def world(project_factory, engine, segments: str = SEGMENTS):
    project = project_factory(engine)
    schema = project.model_schema
    project.write("models/entities.yml", ENTITIES.format(schema=schema))
    project.write("segments/all.yml", segments)
    run(project, f"CREATE SCHEMA IF NOT EXISTS {schema}")
    run(project, f"CREATE TABLE {schema}.customers (customer_id INT, country VARCHAR(8), _loaded_at TIMESTAMP)")
    run(project, f"CREATE TABLE {schema}.orders (customer_id INT, amount INT, ordered_at TIMESTAMP, "
                 "_loaded_at TIMESTAMP)")
    run(project, f"INSERT INTO {schema}.customers VALUES (1, 'de', '2030-01-01 00:00:00'), "
                 "(2, 'fr', '2030-01-01 00:00:00'), (3, 'de', '2030-01-01 00:00:00'), (4, 'it', '2030-01-01 00:00:00')")
    run(project, f"INSERT INTO {schema}.orders VALUES (1, 40, '2024-06-08 00:00:00', '2030-01-01 00:00:00'), "
                 "(3, 60, '2024-05-01 00:00:00', '2030-01-01 00:00:00')")
    return project


def test_only_segments_with_changed_keys_are_evaluated_over_one_table_of_those_keys(
        engine, project_factory, statements):
    project = world(project_factory, engine)
    schema = project.model_schema
    assert project.build(AS_OF).exit_code == 0
    assert (project.members("buyers"), project.members("big_buyers"), project.members("recent")) == (
        {"1", "3"}, {"3"}, {"1"})

    # A late order of customer 2, dated long ago: only the segments that read orders have a key.
    run(project, f"INSERT INTO {schema}.orders VALUES (2, 70, '2024-01-01 00:00:00', '2030-01-02 00:00:00')")
    statements.clear()
    assert project.build(AS_OF).exit_code == 0
    assert (project.members("buyers"), project.members("big_buyers"), project.members("recent"),
            project.members("germans")) == ({"1", "2", "3"}, {"2", "3"}, {"1"}, {"1", "3"})
    assert len(created(statements, "_segw_inc_customer_keys")) == 1  # one scan for all four segments
    # PostgreSQL plans the joins on the keys with statistics of the two key columns (not of every flag)
    analyzed = [s.split("| ", 1)[1] for s in statements if "| ANALYZE " in s and "_segw_inc_customer_keys" in s]
    assert analyzed == ([f'ANALYZE "{project.segment_schema}"."_segw_inc_customer_keys" ("k", "_segw_key")']
                        if engine == "postgres" else [])
    assert created(statements, "_segw_keys_") == []  # no segment looked for its own keys
    assert created(statements, "_segw_(stage|delta)_germans") == []  # none of its own changed: not evaluated
    wide = created(statements, WIDE_OF_CHANGED_KEYS.pattern)
    assert len(wide) == 1 and "_segw_inc_customer_keys" in wide[0]  # the changed keys' rows only
    for name in ("buyers", "big_buyers", "recent"):  # each read that wide table (in its diff: no stage)
        assert created(statements, f"_segw_stage_{name}") == []
        delta = created(statements, f"_segw_delta_{name}")
        assert len(delta) == 1 and WIDE_OF_CHANGED_KEYS.search(delta[0].split(" AS ", 1)[1]), delta
    adapter = project.adapter()
    try:
        left = adapter.table_names(project.segment_schema, "%_segw_%")
    finally:
        adapter.close()
    assert not [name for name in left if name.startswith(("_segw_inc_", "_segw_f_"))], left

    # Time alone: the order of customer 1 leaves the 7-day window; only `recent` moves.
    statements.clear()
    assert project.build("2024-06-16 00:00:00").exit_code == 0
    assert project.members("recent") == set() and project.members("buyers") == {"1", "2", "3"}
    assert [name for name in ("buyers", "big_buyers", "germans")
            if created(statements, f"_segw_(stage|delta)_{name}")] == []
    # each segment's state row is replaced by one UPDATE (the run read it), with the new as_of; where
    # segments commit together, the four rows by one DELETE and one INSERT
    written = [s.split("| ", 1)[-1] for s in statements if "_segw_increments" in s]
    verbs = [s.split(" ", 1)[0] for s in written if not s.startswith("SELECT")]
    adapter = project.adapter()
    try:
        together = adapter.commits_together
    finally:
        adapter.close()
    assert verbs == (["DELETE", "INSERT"] if together else ["UPDATE"] * 4), written
    if together:
        inserted = next(s for s in written if s.startswith("INSERT"))
        assert all(f"'{name}'" in inserted for name in ("buyers", "big_buyers", "recent", "germans"))
    states = project.query("SELECT segment, mode, state FROM {seg}._segw_increments")
    assert {(name, mode, json.loads(state)["as_of"]) for name, mode, state in states} == {
        (name, "incremental", "2024-06-16T00:00:00") for name in ("buyers", "big_buyers", "recent", "germans")}


def test_without_the_shared_tables_each_segment_finds_its_own_keys(engine, project_factory, statements,
                                                                    monkeypatch):
    """The shared tables are an accelerator (another run may hold the entity): each segment then
    finds its own changed keys and reads the models, with the same members."""
    import segwarehouse.incremental as incremental
    monkeypatch.setattr(incremental, "FLAGGED_AT_MOST", 0)
    project = world(project_factory, engine)
    schema = project.model_schema
    assert project.build(AS_OF).exit_code == 0
    run(project, f"INSERT INTO {schema}.orders VALUES (2, 70, '2024-01-01 00:00:00', '2030-01-02 00:00:00')")
    statements.clear()
    assert project.build("2024-06-16 00:00:00").exit_code == 0
    assert (project.members("buyers"), project.members("big_buyers"), project.members("recent"),
            project.members("germans")) == ({"1", "2", "3"}, {"2", "3"}, set(), {"1", "3"})
    assert created(statements, "_segw_inc_") == [] and created(statements, WIDE_OF_CHANGED_KEYS.pattern) == []
    assert {name for name in ("buyers", "big_buyers", "recent", "germans")
            if created(statements, f"_segw_keys_{name}")} == {"buyers", "big_buyers", "recent", "germans"}


def test_a_run_at_the_same_as_of_with_nothing_loaded_evaluates_no_segment(engine, project_factory, statements):
    """Time did not move and no row arrived: no key can change, not even one dated exactly at as_of."""
    project = world(project_factory, engine)
    run(project, f"INSERT INTO {project.model_schema}.orders VALUES (4, 10, '{AS_OF}', '2030-01-01 00:00:00')")
    assert project.build(AS_OF).exit_code == 0
    assert project.members("recent") == {"1", "4"}
    statements.clear()
    assert project.build(AS_OF).exit_code == 0
    assert project.members("recent") == {"1", "4"}
    assert [s for s in created(statements, "_segw_(stage|delta)_")] == []


def test_exited_members_leave_the_relation_by_its_typed_key(engine, project_factory, statements):
    """The relation's rows of members who exit are found by its integer key as it is, the delta's
    text keys cast back: a cast of the relation's column would stop the index on it being used.
    MariaDB/MySQL get the same rows by a write joined to the delta's keys (`joined_write`): their
    single-table DELETE would run the IN subquery once per row of the relation."""
    project = world(project_factory, engine)
    assert project.build(AS_OF).exit_code == 0
    assert project.query("SELECT customer_id FROM {seg}.recent") == [(1,)]
    statements.clear()
    assert project.build("2024-06-16 00:00:00").exit_code == 0  # customer 1's order leaves the window
    assert project.members("recent") == set() and project.query("SELECT customer_id FROM {seg}.recent") == []
    sent = [s.split("| ", 1)[-1] for s in statements]
    if engine == "mysql":
        deletes = [s for s in sent if re.match(r"DELETE \S*recent\S* FROM \S*recent\S* JOIN", s)]
        assert len(deletes) == 1, deletes
        assert re.search(r"JOIN \(SELECT CAST\(`key` AS SIGNED\) AS `_segw_in` FROM \S+ WHERE `change` IN "
                         r"\('exited'(, 'moved')?\)\) AS `_segw_in` ON `recent`\.`customer_id` = `_segw_in`\.`_segw_in`",
                         deletes[0]), deletes[0]
        assert not [s for s in sent if re.match(r"(DELETE FROM|UPDATE) \S+ .*\bIN \(SELECT ", s)]
    else:
        deletes = [s for s in sent if re.match(r"DELETE FROM \S*recent\S* WHERE", s)]
        assert len(deletes) == 1, deletes
        assert re.search(r"WHERE \S*customer_id\S* IN \(SELECT CAST\(", deletes[0]), deletes[0]


