"""`method: connect` executed: the example project built through a real Spark Connect server (started
by the `spark_connect` fixture) gives the same members and sizes as DuckDB, and the adapter's
transactions hold over Connect too."""
from __future__ import annotations

import pytest
from sqlglot import exp

from segwarehouse.outputs import col, table, text
from tests.engines.test_example_project import AS_OF, duckdb_reference, example_on, memberships  # noqa: F401
from tests.spark.conftest import use_connect

CONNECT_SUBSET = ["engaged_newsletter_readers", "lapsed_customers", "champions", "vips", "newsletter_ab_test",
                  "near_zurich"]


def test_example_through_spark_connect_gives_the_same_members_as_duckdb(tmp_path, project_factory,
                                                                        duckdb_reference, spark_connect):
    reference, sizes = duckdb_reference
    project = use_connect(example_on("spark", tmp_path, project_factory), spark_connect)
    adapter = project.adapter()
    try:  # really through Connect, not a local session
        assert type(adapter.session).__module__ == "pyspark.sql.connect.session"
    finally:
        adapter.close()
    # The whole example runs on a local session (test_example_on_spark.py); through Connect, a
    # subset that covers every kind of step keeps CI's time: related rows with windows and
    # first/last, lists, in_segment, splits, near, and the relation of a segment with columns.
    result = project.build(as_of=AS_OF, select=CONNECT_SUBSET)
    assert result.exit_code == 0, [(s.segment, s.error) for s in result.failed]
    got = memberships(project)
    assert set(got) == {s for s in reference if s in CONNECT_SUBSET}
    for segment in got:
        assert got[segment] == reference[segment], segment
        assert len(got[segment]) > 0, segment
    assert {s.segment: s.size for s in result.segments} == {k: v for k, v in sizes.items() if k in CONNECT_SUBSET}


def test_a_failed_transaction_over_connect_leaves_the_table_as_it_was(project_factory, spark_connect):
    project = use_connect(project_factory("spark"), spark_connect)
    adapter = project.adapter()
    schema = project.model_schema
    try:
        adapter.ensure_schema(schema)
        adapter.create_table(schema, "t", [("k", exp.DataType.build("TEXT"))])
        adapter.insert_rows(schema, "t", ["k"], [("a",), ("b",)])
        with pytest.raises(RuntimeError):
            with adapter.transaction():
                adapter.execute(exp.delete(table(schema, "t"), where=col("k").eq(text("a"))))
                adapter.insert_rows(schema, "t", ["k"], [("c",)])
                assert sorted(adapter.fetchall(exp.select("k").from_(table(schema, "t")))) == [("b",), ("c",)]
                raise RuntimeError("fail before commit")
        assert sorted(adapter.fetchall(exp.select("k").from_(table(schema, "t")))) == [("a",), ("b",)]
    finally:
        adapter.close()
