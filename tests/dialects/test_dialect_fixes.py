"""The dialect fixes, pinned in small: Snowflake's search-anywhere regex, Databricks' hours windows
in live views, and identifiers written as dbt's `quoting:` config says the warehouse stores them."""
from __future__ import annotations

import sqlglot
from sqlglot import exp

from segwarehouse.compiler.dialects import Quoting, UtcNow, quoting_config, to_sql


def test_snowflake_matches_searches_anywhere():
    sql = to_sql(exp.RegexpLike(this=exp.column("email"), expression=exp.Literal.string("^staff")), "snowflake")
    assert sql.startswith("REGEXP_INSTR(") and sql.endswith("> 0")
    # and sqlglot agrees that this means an unanchored search on DuckDB
    back = sqlglot.transpile(f"SELECT {sql} FROM t", read="snowflake", write="duckdb")[0]
    import duckdb
    with duckdb.connect() as conn:
        conn.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('staff1@x'), ('a staff'), ('xstaff')) v(email)")
        assert [r[0] for r in conn.execute(back).fetchall()] == [True, False, False]


def test_databricks_hours_window_on_the_live_clock_stays_hours_and_a_timestamp():
    shifted = exp.DateSub(this=UtcNow(), expression=exp.Literal.number(2), unit=exp.var("HOUR"))
    sql = to_sql(shifted, "databricks")
    assert "INTERVAL '2' HOUR" in sql and "DATE_ADD" not in sql
    # date arithmetic that is not the live clock (from `sql:` conditions) is left to sqlglot
    other = exp.DateAdd(this=exp.column("d"), expression=exp.Literal.number(1), unit=exp.var("DAY"))
    assert "INTERVAL" not in to_sql(other, "databricks")  # DATEADD(DAY, 1, d), as before


def test_snowflake_names_follow_dbt_quoting_default_upper_case():
    query = exp.select(exp.column("customer_id", "e", quoted=True)).from_(
        exp.table_("customers", db="analytics", quoted=True).as_("e", quoted=True))
    sql = to_sql(query, "snowflake")
    assert sql == 'SELECT "E"."CUSTOMER_ID" FROM "ANALYTICS"."CUSTOMERS" AS "E"'
    # reserved words stay names; names that need quotes anyway stay as written
    odd = exp.select(exp.column("order", quoted=True), exp.column("first name", quoted=True)).from_("t")
    assert to_sql(odd, "snowflake") == 'SELECT "ORDER", "first name" FROM t'
    # other dialects keep what was written
    assert to_sql(query, "postgres") == 'SELECT "e"."customer_id" FROM "analytics"."customers" AS "e"'


def test_snowflake_quoting_config_keeps_chosen_parts_as_written():
    query = exp.select(exp.column("id", quoted=True)).from_(
        exp.table_("Customers", db="Analytics", catalog="raw", quoted=True))
    with quoting_config("snowflake", Quoting(database=True, schema=False, identifier=True)):
        assert to_sql(query, "snowflake") == 'SELECT "id" FROM "raw"."ANALYTICS"."Customers"'
    assert to_sql(query, "snowflake") == 'SELECT "ID" FROM "RAW"."ANALYTICS"."CUSTOMERS"'


def test_snowflake_adapter_looks_names_up_as_stored():
    """Catalog look-ups (information_schema) use the names the compiled SQL resolves to."""
    from segwarehouse.warehouse.cloud import CloudAdapter
    adapter = CloudAdapter.__new__(CloudAdapter)  # no connection: only the naming rule
    adapter.dialect = "snowflake"
    assert adapter._stored("segments", "memberships") == ("SEGMENTS", "MEMBERSHIPS")
    assert adapter._stored("segments", "first name") == ("SEGMENTS", "first name")
    with quoting_config("snowflake", Quoting(database=False, schema=False, identifier=True)):
        assert adapter._stored("segments", "memberships") == ("SEGMENTS", "memberships")
