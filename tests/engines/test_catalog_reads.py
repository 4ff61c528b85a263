"""One catalog read for many relations (`Adapter.table_columns`) says what one read per relation says."""
from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_table_columns_of_many_tables_at_once(project_factory, engine):
    project = project_factory(engine)
    schema = project.segment_schema
    adapter = project.adapter()
    try:
        adapter.ensure_schema(schema)

        def run(sql: str) -> None:
            adapter.execute(sqlglot.parse_one(sql, read="duckdb").transform(
                lambda n: exp.table_(n.name, db=schema, quoted=True) if isinstance(n, exp.Table) else n))

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
