"""The Spark adapter's transactions on plain parquet tables: UPDATE/DELETE/INSERT are kept aside,
read back inside the transaction, invisible to other readers until COMMIT, gone after a failure."""
from __future__ import annotations

import pytest
from sqlglot import exp

from segwarehouse.outputs import col, insert, table, text


@pytest.fixture
def spark(project_factory):
    project = project_factory("spark")
    adapter = project.adapter()
    schema = project.model_schema
    adapter.ensure_schema(schema)
    adapter.create_table(schema, "t", [("k", exp.DataType.build("TEXT")), ("v", exp.DataType.build("BIGINT"))])
    adapter.execute(insert(table(schema, "t"), ["k", "v"],
                           exp.values([(text("a"), exp.Literal.number(1)), (text("b"), exp.Literal.number(2)),
                                       (text("n"), exp.null())])))
    yield adapter, schema
    adapter.close()


def contents(adapter, schema):
    return sorted(adapter.fetchall(exp.select("k", "v").from_(table(schema, "t"))), key=repr)


def leftovers(adapter, schema):
    return [row[1] for row in adapter.fetchall_text(f"SHOW TABLES IN `{schema}`") if "__segw_tx_" in row[1]]


def writes(adapter, schema):
    adapter.execute(exp.update(table(schema, "t"), {"v": exp.Add(this=col("v"), expression=exp.Literal.number(10))},
                               where=col("k").eq(text("a"))))
    adapter.execute(exp.delete(table(schema, "t"), where=col("v").eq(exp.Literal.number(2))))
    adapter.execute(insert(table(schema, "t"), ["k", "v"], exp.values([(text("c"), exp.Literal.number(3))])))
    adapter.execute(insert(table(schema, "t"), ["k"],  # a query's rows, and a column left out
                           exp.select(exp.Literal.string("d")).from_(table(schema, "t")).where(col("k").eq(text("c")))))


AFTER = [("a", 11), ("c", 3), ("d", None), ("n", None)]


def test_a_failed_transaction_leaves_every_table_as_it_was(spark):
    adapter, schema = spark
    before = contents(adapter, schema)
    with pytest.raises(RuntimeError):
        with adapter.transaction():
            writes(adapter, schema)
            assert contents(adapter, schema) == AFTER  # the transaction reads its own writes
            raise RuntimeError("fail before commit")
    assert contents(adapter, schema) == before
    assert leftovers(adapter, schema) == []


def test_commit_applies_everything_and_readers_see_before_or_after(spark, project_factory):
    adapter, schema = spark
    before = contents(adapter, schema)
    reader = type(adapter)(adapter.target)  # another connection (the same local session)
    with adapter.transaction():
        writes(adapter, schema)
        assert contents(reader, schema) == before  # nothing visible before COMMIT
    assert contents(reader, schema) == AFTER
    assert leftovers(adapter, schema) == []
    # a DELETE whose condition is NULL for a row keeps that row, as in SQL
    adapter.execute(exp.delete(table(schema, "t"), where=col("v").eq(exp.Literal.number(3))))
    assert contents(adapter, schema) == [("a", 11), ("d", None), ("n", None)]


def test_rows_inserted_from_python_inside_a_transaction_wait_for_commit(spark):
    adapter, schema = spark
    with pytest.raises(RuntimeError):
        with adapter.transaction():
            adapter.insert_rows(schema, "t", ["k", "v"], [("x", 7), ("it's", None)])
            assert ("x", 7) in contents(adapter, schema)
            raise RuntimeError("fail before commit")
    assert ("x", 7) not in contents(adapter, schema)
    with adapter.transaction():
        adapter.insert_rows(schema, "t", ["k", "v"], [("x", 7), ("it's", None)])
    assert {("x", 7), ("it's", None)} <= set(contents(adapter, schema))


def test_a_querys_rows_are_those_of_its_statement_even_when_commit_appends_them(spark, statements):
    """An INSERT ... SELECT of a table the transaction leaves alone is run by COMMIT's append (no
    table of its own); one whose source a later statement writes reads it before COMMIT does."""
    adapter, schema = spark
    adapter.create_table(schema, "src", [("k", exp.DataType.build("TEXT")), ("v", exp.DataType.build("BIGINT"))])
    adapter.execute(insert(table(schema, "src"), ["k", "v"], exp.values([(text("s"), exp.Literal.number(5))])))
    adapter.create_table(schema, "log", [("k", exp.DataType.build("TEXT")), ("v", exp.DataType.build("BIGINT"))])

    def copy_src(into: str) -> None:
        adapter.execute(insert(table(schema, into), ["k", "v"], exp.select("k", "v").from_(table(schema, "src"))))

    statements.clear()
    with adapter.transaction():
        copy_src("log")
        copy_src("t")
    assert [s for s in statements if "CREATE TABLE" in s] == []  # two appends, nothing aside
    with adapter.transaction():
        copy_src("log")
        adapter.execute(exp.update(table(schema, "src"), {"v": exp.Literal.number(6)}))  # after it was read
        copy_src("log")
    assert sorted(adapter.fetchall(exp.select("k", "v").from_(table(schema, "log")))) == [
        ("s", 5), ("s", 5), ("s", 6)]
    assert ("s", 5) in contents(adapter, schema) and ("s", 6) not in contents(adapter, schema)
    assert adapter.fetchall(exp.select("v").from_(table(schema, "src"))) == [(6,)]
    assert leftovers(adapter, schema) == []
