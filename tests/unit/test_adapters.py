"""The adapter's own promises, on DuckDB in process: transactions, relation replacement, statements as expressions.

Engine quirks live in the adapter (docs/architecture.md): these tests drive it directly, without a
project, and play the engines whose DDL commits at once with a DuckDB adapter that says so.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlglot import exp

from segwarehouse.errors import SegwError, WarehouseError
from segwarehouse.project.profiles import Target
from segwarehouse.warehouse.base import Adapter, NestedTransaction
from segwarehouse.warehouse.cloud import CloudAdapter
from segwarehouse.warehouse.duckdb import DuckDBAdapter
from segwarehouse.warehouse.sqlalchemy_engines import MySQLAdapter, PostgresAdapter

S = "s"


class ImplicitCommitDuckDB(DuckDBAdapter):
    """DuckDB playing an engine whose DDL commits at once (MySQL/MariaDB, Spark, Snowflake)."""
    transactional_ddl = False


def table(name: str) -> exp.Table:
    return exp.table_(name, db=S, quoted=True)


def open_adapter(tmp_path, cls=DuckDBAdapter) -> DuckDBAdapter:
    adapter = cls(Target("t", "dev", "duckdb", S, {"path": str(tmp_path / "w.duckdb")}))
    adapter.ensure_schema(S)
    return adapter


@pytest.fixture(params=[DuckDBAdapter, ImplicitCommitDuckDB], ids=["ddl-rolls-back", "ddl-commits"])
def adapter(request, tmp_path):
    adapter = open_adapter(tmp_path, request.param)
    adapter.execute(exp.Create(this=table("t"), kind="TABLE",
                               expression=exp.select(exp.alias_(exp.Literal.number(1), "old"))))
    yield adapter
    adapter.close()


def rows(adapter: Adapter, name: str) -> list[tuple]:
    return sorted(adapter.fetchall(exp.select("*").from_(table(name))))


def create_filled(adapter: Adapter, value: int):
    """`create(name)` for replacing_relation: a table with one column `new` holding `value`."""
    def create(name: str) -> None:
        adapter.execute(exp.Create(this=table(name), kind="TABLE",
                                   expression=exp.select(exp.alias_(exp.Literal.number(value), "new"))))
    return create


# -- transactions --------------------------------------------------------------------------------

def test_a_failed_transaction_rolls_back_rows_and_ddl(tmp_path):
    adapter = open_adapter(tmp_path)
    adapter.execute(exp.Create(this=table("t"), kind="TABLE", expression=exp.select(exp.alias_(
        exp.Literal.number(1), "x"))))
    with pytest.raises(ZeroDivisionError):
        with adapter.transaction():
            adapter.execute(exp.insert(exp.values([(exp.Literal.number(2),)]), table("t")))
            adapter.execute(exp.Create(this=table("u"), kind="TABLE", expression=exp.select("1")))
            1 / 0
    assert rows(adapter, "t") == [(1,)]
    assert adapter.relation_kind(S, "u") is None
    assert not adapter.in_transaction
    with adapter.transaction():  # the connection is usable again
        adapter.execute(exp.insert(exp.values([(exp.Literal.number(3),)]), table("t")))
    assert rows(adapter, "t") == [(1,), (3,)]


def test_a_nested_transaction_is_refused_and_the_outer_one_goes_on(tmp_path):
    adapter = open_adapter(tmp_path)
    adapter.execute(exp.Create(this=table("t"), kind="TABLE", expression=exp.select(exp.alias_(
        exp.Literal.number(1), "x"))))
    with adapter.transaction():
        adapter.execute(exp.insert(exp.values([(exp.Literal.number(2),)]), table("t")))
        with pytest.raises(NestedTransaction, match="do not nest"):
            with adapter.transaction():
                pytest.fail("the inner block must not run")
        assert adapter.in_transaction  # refused before any SQL: the outer transaction is untouched
        adapter.execute(exp.insert(exp.values([(exp.Literal.number(3),)]), table("t")))
    assert rows(adapter, "t") == [(1,), (2,), (3,)]
    assert issubclass(NestedTransaction, RuntimeError)


def test_a_statement_is_an_expression_never_text(tmp_path):
    adapter = open_adapter(tmp_path)
    for method in (adapter.execute, adapter.fetchall, adapter.scalar):
        with pytest.raises(TypeError, match="sqlglot expression.*execute_text"):
            method("SELECT 1")
    assert adapter.scalar(exp.select(exp.Literal.number(7))) == 7
    assert adapter.fetchall_text("SELECT 7, 'x'") == [(7, "x")]
    adapter.execute_text(f'CREATE TABLE "{S}"."hand" (x INTEGER)')
    assert adapter.relation_kind(S, "hand") == "table"
    with pytest.raises(WarehouseError):  # driver errors are translated on the text path too
        adapter.execute_text("SELEC 1")


# -- replacing a relation together with a transaction ---------------------------------------------

def test_readers_see_the_old_relation_until_the_commit_then_the_new(adapter):
    reader = adapter.connection.cursor()  # a second connection to the same database
    with adapter.replacing_relation(S, "t", create_filled(adapter, 2)) as replace:
        with adapter.transaction():
            replace()
            assert reader.execute(f'SELECT * FROM "{S}"."t"').fetchall() == [(1,)]
            assert [d[0] for d in reader.description] == ["old"]
        if not adapter.transactional_ddl:  # committed data, relation not swapped yet
            assert reader.execute(f'SELECT * FROM "{S}"."t"').fetchall() == [(1,)]
    assert reader.execute(f'SELECT * FROM "{S}"."t"').fetchall() == [(2,)]
    assert adapter.columns(S, "t") == ["new"]
    assert adapter.relation_kind(S, Adapter.aside_name("t")) is None


@pytest.mark.parametrize("where", ["before replace", "after replace"])
def test_a_failure_keeps_the_old_relation_and_leaves_nothing_aside(adapter, where):
    with pytest.raises(ZeroDivisionError):
        with adapter.replacing_relation(S, "t", create_filled(adapter, 2)) as replace:
            with adapter.transaction():
                if where == "after replace":
                    replace()
                1 / 0
    assert rows(adapter, "t") == [(1,)]
    assert adapter.columns(S, "t") == ["old"]
    assert adapter.relation_kind(S, Adapter.aside_name("t")) is None


def test_a_failing_create_keeps_the_old_relation(adapter):
    def create(name):
        create_filled(adapter, 2)(name)
        raise WarehouseError("injected after the fill")
    with pytest.raises(WarehouseError, match="injected"):
        with adapter.replacing_relation(S, "t", create) as replace:
            with adapter.transaction():
                replace()
    assert rows(adapter, "t") == [(1,)]


def test_replace_must_be_called(adapter):
    with pytest.raises(RuntimeError, match="replace\\(\\) was not called"):
        with adapter.replacing_relation(S, "t", create_filled(adapter, 2)):
            with adapter.transaction():
                pass
    assert rows(adapter, "t") == [(1,)]


def test_a_table_becomes_a_view_and_a_view_a_table(adapter):
    def view(name):
        adapter.execute(exp.Create(this=table(name), kind="VIEW", replace=True,
                                   expression=exp.select(exp.alias_(exp.Literal.number(5), "v"))))
    then = []
    adapter.replace_relation(S, "t", view, kind="view", then=lambda: then.append(adapter.relation_kind(S, "t")))
    assert adapter.relation_kind(S, "t") == "view" and rows(adapter, "t") == [(5,)]
    assert then == ["view"]  # then() sees the new relation, in the transaction or right after
    adapter.replace_relation(S, "t", view, kind="view")  # a view replaced by a view
    assert rows(adapter, "t") == [(5,)]
    adapter.replace_relation(S, "t", create_filled(adapter, 3))
    assert adapter.relation_kind(S, "t") == "table" and rows(adapter, "t") == [(3,)]


def test_a_drop_commits_with_the_data(adapter):
    adapter.execute(exp.Create(this=table("log"), kind="TABLE", expression=exp.select(exp.alias_(
        exp.Literal.number(0), "n"))))
    with pytest.raises(ZeroDivisionError):
        with adapter.replacing_relation(S, "t", None) as drop:
            with adapter.transaction():
                drop()
                1 / 0
    assert adapter.relation_kind(S, "t") == "table"
    with adapter.replacing_relation(S, "t", None) as drop:
        with adapter.transaction():
            adapter.execute(exp.insert(exp.values([(exp.Literal.number(1),)]), table("log")))
            drop()
    assert adapter.relation_kind(S, "t") is None
    assert rows(adapter, "log") == [(0,), (1,)]


# -- engine quirks, checked without a server -------------------------------------------------------

class Recorder:
    """Stands in for a driver: records the text each statement reaches it as."""

    def __init__(self):
        self.sent: list[str] = []

    def __call__(self, sql, params=None):
        self.sent.append(sql)
        return SimpleNamespace(fetchall=lambda: [], rowcount=-1)


def offline(cls, **attributes):
    adapter = object.__new__(cls)  # no connection: the statements go to a Recorder
    adapter.__dict__.update(in_transaction=False, lock_timeout=None, timings={}, **attributes)
    adapter._execute = Recorder()
    return adapter


def test_mysql_swaps_a_table_in_with_one_multi_table_rename(monkeypatch):
    adapter = offline(MySQLAdapter)
    monkeypatch.setattr(MySQLAdapter, "relation_kind", lambda self, schema, name: "table")
    adapter.swap_in("s", "t", "t__segw_new")
    renames = [sql for sql in adapter._execute.sent if sql.startswith("RENAME")]
    assert renames == ["RENAME TABLE `s`.`t` TO `s`.`t__segw_bak`, `s`.`t__segw_new` TO `s`.`t`"]


def test_snowflake_ddl_does_not_roll_back_and_swaps_atomically(monkeypatch):
    assert CloudAdapter.transactional_ddl is False  # Snowflake commits around every DDL statement
    adapter = offline(CloudAdapter, dialect="snowflake")
    monkeypatch.setattr(CloudAdapter, "relation_kind", lambda self, schema, name: "table")
    adapter.swap_in("s", "t", "t__segw_new")
    assert any("SWAP WITH" in sql for sql in adapter._execute.sent), adapter._execute.sent
    assert not any(sql.startswith(("BEGIN", "DROP TABLE IF EXISTS \"S\".\"T\"")) for sql in adapter._execute.sent)


def test_identifier_limits_are_the_engines():
    postgres, mysql = offline(PostgresAdapter), offline(MySQLAdapter)
    assert postgres.identifier_fits("x" * 63) and not postgres.identifier_fits("x" * 64)
    assert not postgres.identifier_fits("é" * 32)  # PostgreSQL counts bytes (and cuts silently)
    assert mysql.identifier_fits("é" * 64) and not mysql.identifier_fits("x" * 65)  # MySQL counts characters
    assert postgres.identifier_overflow(["short", "_segw_changed_" + "y" * 60]) == ("_segw_changed_" + "y" * 60, 11)
    assert postgres.identifier_overflow(["short"]) is None


def test_work_tables_of_the_longest_segment_name_fit_every_server_engine():
    from segwarehouse import materialize
    from segwarehouse.language import parse
    from segwarehouse.language import types as t

    segment = t.Segment(name="n" * parse.MAX_NAME, entity="e", rules=None)
    for cls in (PostgresAdapter, MySQLAdapter):
        adapter = offline(cls)
        names = [materialize.stage_name(segment), materialize.delta_name(segment),
                 materialize.changed_name(segment), adapter.aside_name(segment.name)]
        assert adapter.identifier_overflow(names) is None, cls.__name__
        materialize._check_name_lengths(adapter, segment, names)  # no error
    tiny = offline(PostgresAdapter, max_identifier=40)
    with pytest.raises(SegwError, match="(?s)too long.*by at least 22 characters"):
        materialize._check_name_lengths(tiny, segment, [materialize.delta_name(segment)])


def test_capability_flags_are_read_only_by_the_adapters():
    """Engine behaviour is decided in warehouse/: other rooms ask an adapter method instead."""
    import ast
    from pathlib import Path

    import segwarehouse

    root = Path(segwarehouse.__file__).parent
    readers = []
    for path in sorted(root.rglob("*.py")):
        if path.parent.name == "warehouse":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("transactional_ddl", "max_identifier"):
                readers.append(f"{path.relative_to(root)}:{node.lineno} reads .{node.attr}")
    assert readers == []


def test_mysql_writes_with_a_key_in_subquery_are_joined_to_its_rows():
    """MariaDB runs the IN subquery of a single-table UPDATE/DELETE once per target row: such a
    write is sent joined to the subquery's rows, and only a write whose IN is a plain conjunct."""
    from segwarehouse.compiler.dialects import to_sql
    from segwarehouse.warehouse.sqlalchemy_engines import joined_write

    def col(name, table=None):
        return exp.column(name, table=table, quoted=True)
    keys = (exp.select(col("key")).from_(exp.table_("d", db=S, quoted=True))
            .where(col("change").eq(exp.Literal.string("exited"))).subquery())
    target = exp.table_("memberships", db=S, quoted=True)
    delete = exp.delete(target, where=exp.and_(col("segment").eq(exp.Literal.string("a")),
                                               exp.In(this=col("key"), query=keys)))
    before = delete.sql()
    assert to_sql(joined_write(delete), "mysql") == (
        "DELETE `s`.`memberships` FROM `s`.`memberships` JOIN (SELECT `key` AS `_segw_in` FROM `s`.`d` "
        "WHERE `change` = 'exited') AS `_segw_in` ON `key` = `_segw_in`.`_segw_in` WHERE `segment` = 'a'")
    assert delete.sql() == before  # the statement given is left as built
    update = exp.update(target.copy(), {"valid_to": exp.Literal.string("2024-01-01")},
                        where=exp.In(this=col("key"), query=keys.copy()))
    assert to_sql(joined_write(update), "mysql") == (
        "UPDATE `s`.`memberships` JOIN (SELECT `key` AS `_segw_in` FROM `s`.`d` WHERE `change` = 'exited') "
        "AS `_segw_in` ON `key` = `_segw_in`.`_segw_in` SET valid_to = '2024-01-01'")
    # under OR (or with no subquery) the rows written would differ or nothing is gained: as it is
    either = exp.delete(target.copy(), where=exp.or_(col("segment").eq(exp.Literal.string("a")),
                                                     exp.In(this=col("key"), query=keys.copy())))
    plain = exp.delete(target.copy(), where=col("segment").eq(exp.Literal.string("a")))
    assert joined_write(either) is either and joined_write(plain) is plain
