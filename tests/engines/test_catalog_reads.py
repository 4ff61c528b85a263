"""One catalog read for many relations (`Adapter.table_columns`) says what one read per relation says."""
from __future__ import annotations

import pytest

from tests.conftest import in_schema


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_table_columns_of_many_tables_at_once(project_factory, engine):
    project = project_factory(engine)
    schema = project.segment_schema
    adapter = project.adapter()
    try:
        adapter.ensure_schema(schema)

        def run(sql: str) -> None:
            adapter.execute(in_schema(sql, schema))

        run("CREATE TABLE t.keys_only (customer_id BIGINT, split VARCHAR(20))")
        run("CREATE TABLE t.wide (customer_id INT, country VARCHAR(8), seen TIMESTAMP)")
        run("CREATE VIEW t.a_view AS SELECT customer_id FROM t.wide")
        found = adapter.table_columns(schema, ["keys_only", "wide", "a_view", "missing"])
        assert set(found) == {"keys_only", "wide"}  # no view, nothing for a missing name
        for name in found:
            assert found[name] == adapter.column_types(schema, name)
        assert [column for column, _ in found["wide"]] == ["customer_id", "country", "seen"]
        assert found["keys_only"][0][1] != found["wide"][0][1]  # BIGINT and INT told apart
        assert adapter.table_columns(schema, []) == {}
    finally:
        adapter.close()



SEGMENTS = """
segments:
  - {name: big, entity: customer, materialized: table, rules: {property: spend, gte: 50}}
  - {name: small, entity: customer, materialized: table, rules: {property: spend, lt: 50}}
  - {name: with_columns, entity: customer, materialized: table, rules: {property: spend, gte: 0}, columns: [spend]}
  - {name: live, entity: customer, rules: {property: spend, gte: 90}}
"""
CHANGED = (SEGMENTS.replace("columns: [spend]", "columns: [spend, tier]")
           .replace("{name: live, entity: customer,", "{name: live, entity: customer, materialized: table,"))
FILES = {"seeds/customers.csv": "id,spend,tier\n" + "".join(f"{i},{i * 7 % 100},t{i % 3}\n" for i in range(1, 41)),
         "models/entities.yml": "entities:\n  - {name: customer, model: customers, key: id}\n",
         "segments/s.yml": SEGMENTS}
RICH = {str(i) for i in range(1, 41) if i * 7 % 100 >= 90}


def test_a_duckdb_run_reads_its_segments_relations_once(project_factory, statements):
    """One writer per DuckDB file: the run reads every segment's relation (a table, its columns) in
    one catalog query at its start, instead of two per segment; what a build sees is the same,
    through a relation that gains a column and a view that becomes a table."""
    project = project_factory("duckdb", FILES)
    assert project.build().exit_code == 0
    statements.clear()
    assert project.build("2024-07-01 00:00:00").exit_code == 0
    asked = [s for s in statements if "duckdb_columns()" in s or "duckdb_tables()" in s]
    per_segment = [s for s in asked for name in ("big", "small", "with_columns") if f"table_name = '{name}'" in s]
    assert per_segment == [], per_segment
    assert any("c.table_name IN ('big', 'small', 'with_columns', 'live')" in s for s in asked), asked

    project.write("segments/s.yml", CHANGED)
    result = project.build("2024-07-02 00:00:00")
    assert result.exit_code == 0, [(s.segment, s.error) for s in result.failed]
    assert project.members("live") == RICH and {str(row[0]) for row in project.relation("live")} == RICH
    adapter = project.adapter()
    try:
        assert [c for c, _ in adapter.column_types(project.segment_schema, "with_columns")] == ["id", "spend", "tier"]
        assert adapter.relation_kind(project.segment_schema, "live") == "table"
    finally:
        adapter.close()
    assert len(project.relation("with_columns")) == 40
