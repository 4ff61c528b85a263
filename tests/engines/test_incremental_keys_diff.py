"""An incremental run diffs the re-evaluated keys' members, straight from their query, against the
segment's relation of keys on the typed key (a relation whose rows commit with its memberships:
DuckDB, PostgreSQL, MariaDB), and finds deleted members there too: the same members, relation, change feed and history as the diff
against memberships' text keys, through entries, exits, split moves and deleted entity rows."""
from __future__ import annotations

import pytest

import segwarehouse.materialize as materialize
from tests.conftest import in_schema
from tests.engines.test_direct_diff import outputs
from tests.engines.test_incremental_shared import ENTITIES  # customers and their orders, both with loaded_at

SEGMENTS = """
segments:
  - {name: germans, entity: customer, rules: {property: country, equals: de}}
  - name: recent_ab
    entity: customer
    rules: {related: orders, within_last: 3 days}
    splits: {control: 50, treatment: 50}
  - name: buyers
    entity: customer
    rules: {related: orders, count: {gte: 1}}
    columns: [country]
"""
NAMES = ("germans", "recent_ab", "buyers")

pytestmark = pytest.mark.usefixtures("evaluate_changed_keys_however_many")


def run(project, sql: str) -> None:
    adapter = project.adapter()
    try:
        adapter.execute(in_schema(sql, project.model_schema))
    finally:
        adapter.close()


def lifecycle(project) -> None:
    """First build, then updates (enter, exit), new orders, a deleted customer and days passing."""
    project.write("models/entities.yml", ENTITIES.format(schema=project.model_schema))
    project.write("segments/s.yml", SEGMENTS)
    adapter = project.adapter()
    try:
        adapter.ensure_schema(project.model_schema)
    finally:
        adapter.close()
    run(project, "CREATE TABLE t.customers (customer_id BIGINT, country VARCHAR(8), _loaded_at TIMESTAMP)")
    run(project, "CREATE TABLE t.orders (customer_id BIGINT, ordered_at TIMESTAMP, _loaded_at TIMESTAMP)")
    run(project, "INSERT INTO t.customers VALUES " + ", ".join(
        f"({i}, '{('de', 'fr', 'ch')[i % 3]}', '2024-06-01 00:00:00')" for i in range(1, 41)))
    run(project, "INSERT INTO t.orders VALUES " + ", ".join(
        f"({i % 30 + 1}, '2024-06-{1 + i % 9:02d} 10:00:00', '2024-06-01 00:00:00')" for i in range(60)))
    for as_of in ("2024-06-10 00:00:00", "2024-06-10 01:00:00"):
        assert project.build(as_of).failed == []
    run(project, "UPDATE t.customers SET country = 'de', _loaded_at = '2024-06-11 00:00:00' WHERE customer_id IN (2, 5)")
    run(project, "UPDATE t.customers SET country = 'fr', _loaded_at = '2024-06-11 00:00:00' WHERE customer_id = 3")
    run(project, "DELETE FROM t.customers WHERE customer_id IN (6, 9)")  # a german buyer, recent or not
    run(project, "INSERT INTO t.orders VALUES (35, '2024-06-11 09:00:00', '2024-06-11 00:00:00'), "
                 "(36, '2024-06-11 09:30:00', '2024-06-11 00:00:00')")
    assert project.build("2024-06-11 12:00:00").failed == []
    assert project.build("2024-06-14 12:00:00").failed == []  # days pass: recent buyers leave


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_the_keys_diffed_against_the_relation_write_what_memberships_give(engine, project_factory, statements,
                                                                         monkeypatch):
    typed = project_factory(engine)
    lifecycle(typed)
    schema = typed.segment_schema
    deltas = [sql for sql in (s.split("| ", 1)[-1] for s in statements) if "_segw_delta_germans" in sql.split(
        " AS ", 1)[0] and sql.startswith("CREATE TABLE")]
    gone = [sql for sql in (s.split("| ", 1)[-1] for s in statements) if "_gone" in sql.split(" AS ", 1)[0]
            and sql.startswith("CREATE TABLE")]
    assert deltas and gone
    q = (lambda n: f"`{n}`") if engine == "mysql" else (lambda n: f'"{n}"')
    # on keys: FULL JOIN; MariaDB (no FULL JOIN): stacked and grouped by the key
    on_keys = [sql for sql in deltas if f"{q('customer_id')} IN (SELECT {q('k')}" in sql]
    assert on_keys and all(f"FROM {q(schema)}.{q('germans')}" in sql and "memberships" not in sql
                           and "_segw_stage_" not in sql for sql in on_keys)
    assert any(f"FROM {q(schema)}.{q('germans')}" in sql and "NOT EXISTS" in sql for sql in gone)

    text = project_factory(engine)
    monkeypatch.setattr(materialize, "_keys_against_relation", lambda *args: False)
    monkeypatch.setattr("segwarehouse.incremental.member_relations", lambda *args: set())
    lifecycle(text)
    for name in NAMES:
        assert outputs(typed, name) == outputs(text, name), name
    changes = {c for _, c, _, _ in outputs(typed, "germans")["changes"]}
    assert changes == {"entered", "exited"}
    # 6 and 9 were germans (every third customer) and were deleted; 3 moved to France
    assert {"3", "6", "9"} <= {k for k, c, _, _ in outputs(typed, "germans")["changes"] if c == "exited"}
    assert "exited" in {c for _, c, _, _ in outputs(typed, "recent_ab")["changes"]}


def test_a_relation_waiting_to_be_swapped_in_is_not_read_for_its_members(project_factory):
    """MariaDB swaps a recreated relation in after the commit of its memberships; a run killed in
    between leaves a marker, and until a build of the segment finishes the swap, the run's search
    for deleted members reads that segment's memberships, not its stale relation."""
    from segwarehouse import relation_swap
    from segwarehouse.incremental import member_relations

    project = project_factory("mysql")
    lifecycle(project)
    adapter = project.adapter()
    try:
        loaded = project.load()
        assert member_relations(adapter, loaded, "customer", list(NAMES)) == {"germans", "recent_ab"}
        schema = project.segment_schema
        with adapter.transaction():  # a marker alone: the swap was done, not the marker's removal
            relation_swap.marking(adapter, schema, "germans", lambda: None)()
        assert relation_swap.pending_swaps(adapter, schema, list(NAMES)) == set()
        assert member_relations(adapter, loaded, "customer", list(NAMES)) == {"germans", "recent_ab"}
        relation_swap.forget(adapter, schema, "germans")
        # what a run killed after its commit leaves: the marker, and the committed relation aside
        adapter.execute_text(f"CREATE TABLE `{schema}`.`germans__segw_new` AS SELECT * FROM `{schema}`.`germans`")
        with adapter.transaction():
            relation_swap.marking(adapter, schema, "germans", lambda: None)()
        assert relation_swap.pending_swaps(adapter, project.segment_schema, list(NAMES)) == {"germans"}
        assert member_relations(adapter, loaded, "customer", list(NAMES)) == {"recent_ab"}
    finally:
        adapter.close()
    run(project, "DELETE FROM t.customers WHERE customer_id IN (12, 15)")  # germans
    assert project.build("2024-06-14 13:00:00").failed == []  # swaps the relation in: marker gone
    assert not {"12", "15"} & project.members("germans")
    adapter = project.adapter()
    try:
        assert relation_swap.pending_swaps(adapter, project.segment_schema, list(NAMES)) == set()
    finally:
        adapter.close()
