"""The dialect fixes, pinned in small: Snowflake's search-anywhere regex, Databricks' hours windows
in live views, identifiers written as dbt's `quoting:` config says the warehouse stores them, and
ClickHouse's timestamps and LEFT JOIN NULLs, MariaDB/MySQL's grouped scans read once and sorted."""
from __future__ import annotations

import sqlglot
from sqlglot import exp

from segwarehouse.compiler.dialects import Quoting, UtcNow, many_groups, quoting_config, to_sql


def test_snowflake_matches_searches_anywhere():
    sql = to_sql(exp.RegexpLike(this=exp.column("email"), expression=exp.Literal.string("^staff")), "snowflake")
    assert sql.startswith("REGEXP_INSTR(") and sql.endswith("> 0")
    # and sqlglot agrees that this means an unanchored search on DuckDB
    back = sqlglot.transpile(f"SELECT {sql} FROM t", read="snowflake", write="duckdb")[0]
    import duckdb
    with duckdb.connect() as conn:
        conn.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('staff1@x'), ('a staff'), ('xstaff')) v(email)")
        assert [r[0] for r in conn.execute(back).fetchall()] == [True, False, False]


def test_mysql_grouped_scans_of_many_keys_are_sorted_not_read_through_the_key_index():
    scan = many_groups(exp.select(exp.column("customer_id"), exp.Count(this=exp.Star())).from_("events")
                       .group_by(exp.column("customer_id")))
    outer = exp.select("*").from_(exp.table_("customers")).join(scan.subquery("f"), on="f.customer_id = 1")
    for copy in (True, False):
        sql = to_sql(outer.copy(), "mysql", copy=copy)
        assert "(SELECT SQL_BIG_RESULT customer_id, COUNT(*) FROM events GROUP BY customer_id)" in sql
    assert to_sql(scan, "mysql").startswith("SELECT SQL_BIG_RESULT ")
    assert scan.args.get("operation_modifiers") is None  # the tree itself is left as built
    for other in ("duckdb", "postgres", "snowflake"):
        assert "SQL_BIG_RESULT" not in to_sql(scan, other)
    # an unmarked grouping (a few groups, e.g. counts per change) is written as it is
    plain = exp.select(exp.column("change"), exp.Count(this=exp.Star())).from_("d").group_by(exp.column("change"))
    assert "SQL_BIG_RESULT" not in to_sql(plain, "mysql")


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


def test_clickhouse_timestamps_keep_microseconds_in_utc():
    """ClickHouse's DateTime (what sqlglot writes for TIMESTAMP) keeps whole seconds and reads a
    literal in the server's time zone."""
    sql = to_sql(exp.cast(exp.Literal.string("2024-06-30 12:00:00.5"), "TIMESTAMP"), "clickhouse")
    assert sql == "CAST('2024-06-30 12:00:00.5' AS Nullable(DateTime64(6, 'UTC')))"
    assert to_sql(UtcNow(), "clickhouse") == "now64(6, 'UTC')"


def test_clickhouse_left_joins_give_nulls():
    """Without join_use_nulls an unmatched LEFT JOIN row has '' or 0, not NULL: `in_list` (a list
    key IS NOT NULL) would match everyone. The setting goes on the outermost query only."""
    inner = exp.select("k").from_("lists")
    query = exp.select("e.id").from_(exp.table_("customers").as_("e")).join(
        exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("l"))), on="l.k = e.id",
        join_type="left").where(exp.column("k", "l").is_(exp.null()).not_())
    sql = to_sql(query, "clickhouse")
    assert sql.endswith("SETTINGS join_use_nulls = 1") and sql.count("SETTINGS") == 1
    assert query.args.get("settings") is None  # the caller's tree is left as it was
    view = exp.Create(this=exp.table_("v"), kind="VIEW", expression=query)
    assert to_sql(view, "clickhouse").endswith("SETTINGS join_use_nulls = 1")
    assert "SETTINGS" not in to_sql(query, "duckdb")


def test_clickhouse_text_functions_count_characters():
    """ClickHouse's lower/left/right/length work on bytes and fold ASCII case only: `ends_with: ße`
    (RIGHT(x, 2)) and `ignore_case` on 'Ü' would go wrong. DuckDB cannot show this (its functions
    count characters), so it is pinned here."""
    for duck, house in [("LOWER(x)", "lowerUTF8(x)"), ("UPPER(x)", "upperUTF8(x)"), ("LEFT(x, 2)", "leftUTF8(x, 2)"),
                        ("RIGHT(x, 2)", "rightUTF8(x, 2)"), ("LENGTH(x)", "lengthUTF8(x)")]:
        assert to_sql(sqlglot.parse_one(duck, read="duckdb"), "clickhouse") == house
    assert to_sql(sqlglot.parse_one("LOWER(x)", read="duckdb"), "trino") == "LOWER(x)"  # others unchanged


def test_our_nodes_are_written_deepest_first_and_the_tree_is_left_as_built():
    """to_sql replaces our nodes (and the dialects' fixes) just before writing and puts them back:
    a tree written with copy=False can be written again, in any dialect, to the same SQL."""
    from segwarehouse.compiler.dialects import DIALECTS, CaseSensitive, FilteredAgg, TimeColumn

    def tree():
        seen = TimeColumn(this=exp.column("seen_at", "e"))
        counted = FilteredAgg(this=exp.Count(this=exp.Star()),
                              expression=exp.and_(exp.LTE(this=seen, expression=UtcNow()),
                                                  exp.EQ(this=exp.column("name"),
                                                         expression=CaseSensitive(this=CaseSensitive(
                                                             this=exp.Literal.string("x"))))))
        return exp.select(counted).from_(exp.table_("events", alias="e"))

    built = tree()
    before = built.sql()
    assert "SEGW_FILTERED_AGG(" in before and "SEGW_TIME_COLUMN(" in before
    for dialect in DIALECTS:
        first = to_sql(built, dialect, copy=False)
        assert "SEGW_" not in first, (dialect, first)
        assert built.sql() == before, dialect  # as built, our nodes back in place
        assert to_sql(built, dialect, copy=False) == first == to_sql(tree(), dialect)
    assert to_sql(built, "duckdb") == ("SELECT COUNT(*) FILTER(WHERE e.seen_at <= CAST(CURRENT_TIMESTAMP AT TIME ZONE "
                                       "'UTC' AS TIMESTAMP) AND name = 'x') FROM events AS e")
    assert "COUNT(CASE WHEN CAST(e.seen_at AS TIMESTAMP) <= " in to_sql(built, "snowflake")


def test_a_sql_condition_calling_a_function_of_our_names_is_not_ours():
    parsed = sqlglot.parse_one("SEGW_UTC_NOW()", read="duckdb")
    assert to_sql(parsed, "duckdb") == "SEGW_UTC_NOW()"
