"""Meaning, not just syntax: each compile-only dialect's SQL, carried back to DuckDB by sqlglot and
run on the DuckDB build's data, must find the same members as the DuckDB SQL.

One DuckDB build of the example project and one of a small project of dialect traps (time zones,
DATE windows, exact decimals, case, regular expressions, a live view with an hours window) are
shared by every dialect. What sqlglot cannot carry back is listed in KNOWN with the reason, and the
test requires that exactly those fail, so the list cannot rot."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from segwarehouse.compiler.dialects import CLICKHOUSE_UTF8, UtcNow, to_sql
from segwarehouse.compiler.segment import compile_segment, segment_query
from tests.conftest import make_project
from tests.engines.test_dialect_traps import FILES as TRAP_FILES

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.datetime(2026, 11, 1, 9, 30, 0)
TRAPS_AS_OF = dt.datetime(2024, 6, 30, 12, 0, 0)
DIALECTS = ("snowflake", "bigquery", "redshift", "trino", "databricks", "clickhouse")

# A live view with an hours window (evaluated against the clock now) and unanchored patterns.
LIVE_FILES = {
    **TRAP_FILES,
    "models/recent.sql": """
        {{ config(materialized='table') }}
        SELECT id, CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP)
                   - to_hours(CASE id WHEN 1 THEN 1 WHEN 2 THEN 3 WHEN 3 THEN 30 ELSE 100 END) AS seen
        FROM {{ ref('ids') }}
    """,
    "models/recent.yml": """
        entities:
          - {name: visitor, model: recent, key: id}
    """,
    "segments/live.yml": """
        segments:
          - {name: seen_2h, entity: visitor, materialized: view, rules: {property: seen, within_last: 2 hours}}
          - {name: seen_2d, entity: visitor, materialized: view, rules: {property: seen, within_last: 2 days}}
          - {name: street_ra, entity: thing, rules: {property: street, matches: "ra"}}
          - {name: street_dollar, entity: thing, rules: {property: street, matches: "SSE$", ignore_case: true}}
          - {name: street_start, entity: thing, rules: {property: street, matches: "^S"}}
    """,
}

# (dialect, segment) -> why sqlglot cannot carry the dialect's SQL back to DuckDB faithfully.
KNOWN: dict[tuple[str, str], str] = {
    ("snowflake", "newsletter_ab_test"): "splits read 8 hex digits with TO_NUMBER(x, 'XXXXXXXX'); "
                                         "sqlglot has no DuckDB spelling for a hex format model",
    ("redshift", "newsletter_ab_test"): "splits read hex with STRTOL(x, 16); sqlglot writes DuckDB's "
                                        "nonexistent FROM_BASE()",
    ("trino", "newsletter_ab_test"): "splits read hex with FROM_BASE(x, 16), which sqlglot passes to "
                                     "DuckDB unchanged (DuckDB has no FROM_BASE)",
    ("databricks", "newsletter_ab_test"): "splits read hex with CONV(x, 16, 10), which sqlglot passes "
                                          "to DuckDB unchanged (DuckDB has no CONV); executed on Spark "
                                          "in tests/spark instead",
    ("clickhouse", "newsletter_ab_test"): "splits read hex with reinterpretAsUInt32(reverse(unhex(x))), "
                                          "which sqlglot passes to DuckDB unchanged (DuckDB has none)",
}
CLICKHOUSE_UTF8_BACK = {function.lower(): node for node, function in CLICKHOUSE_UTF8.items()}
DUCKDB_NOW = sqlglot.parse_one("CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS TIMESTAMP)", read="duckdb")


def carry_back(sql: str, dialect: str) -> str:
    """The dialect's SQL as DuckDB SQL, through sqlglot, with two narrow repairs where sqlglot
    writes DuckDB SQL that DuckDB rejects (not where it would change the meaning):
    - the live UTC clock (UTC_NOW in compiler/dialects.py, e.g. BigQuery's CURRENT_DATETIME('UTC'))
      is recognised as exactly that expression and replaced by DuckDB's UTC clock;
    - Redshift's VARCHAR(MAX) comes back as TEXT(MAX): the length is dropped (DuckDB ignores it);
    - ClickHouse's DateTime64(6, 'UTC') comes back under that name: it is DuckDB's TIMESTAMP (also
      microseconds; the connection runs in UTC). ClickHouse's `SETTINGS join_use_nulls = 1` is
      dropped by sqlglot: DuckDB's LEFT JOIN gives NULLs anyway;
    - ClickHouse's lowerUTF8/upperUTF8/leftUTF8/rightUTF8/lengthUTF8 (characters, every letter's
      case) come back under those names: they are DuckDB's LOWER/UPPER/LEFT/RIGHT/LENGTH."""
    tree = sqlglot.parse_one(sql, read=dialect)
    clock = sqlglot.parse_one(to_sql(UtcNow(), dialect), read=dialect)

    def repair(node):
        if node == clock:
            return DUCKDB_NOW.copy()
        if isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT):
            return exp.DataType.build("TEXT")
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.DATETIME64:
            return exp.DataType.build("TIMESTAMP")
        if isinstance(node, exp.Anonymous) and node.name.lower() in CLICKHOUSE_UTF8_BACK:
            first, *rest = (argument.transform(repair) for argument in node.expressions)  # nested calls too
            return CLICKHOUSE_UTF8_BACK[node.name.lower()](this=first, **({"expression": rest[0]} if rest else {}))
        return node
    return tree.transform(repair).sql("duckdb")


def _copy_example(root: Path) -> None:
    for item in ("models", "segments", "seeds", "macros"):
        shutil.copytree(REPO / item, root / item)
    settings = (REPO / "segwarehouse.yml").read_text()
    (root / "segwarehouse.yml").write_text(settings.replace("profile: shop", "profile: test"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """[(project, connection, as_of)] for the example project and the trap project, built once."""
    out = []
    example = make_project(tmp_path_factory.mktemp("example"), "duckdb")
    _copy_example(example.root)
    traps = make_project(tmp_path_factory.mktemp("traps"), "duckdb", LIVE_FILES)
    for project, as_of in ((example, AS_OF), (traps, TRAPS_AS_OF)):
        result = project.build(as_of=as_of.strftime("%Y-%m-%d %H:%M:%S"))
        assert not result.failed, [(s.segment, s.error) for s in result.failed]
        loaded = project.load()
        out.append((loaded, duckdb.connect(str(project.root / "warehouse.duckdb")), as_of))
    yield out
    for _, connection, _ in out:
        connection.close()


def members(connection, sql: str) -> set[tuple]:
    """Key and split (when the segment has one) of each row, as text."""
    cursor = connection.execute(sql)
    names = [d[0].lower() for d in cursor.description]
    rows = cursor.fetchall()
    split = names.index("split") if "split" in names else None
    return {(str(row[0]), None if split is None else str(row[split])) for row in rows}


def differences(built, dialect: str, write=None) -> dict[str, str]:
    """segment -> what went wrong carrying its `dialect` SQL back to DuckDB (empty: all agree)."""
    problems = {}
    for project, connection, as_of in built:
        connection.execute("SET TimeZone = 'UTC'")
        for name, segment in project.segments.items():
            native = members(connection, compile_segment(project, segment, as_of, "duckdb"))
            try:
                sql = (write(segment_query(project, segment, as_of)) if write
                       else compile_segment(project, segment, as_of, dialect))
                back = carry_back(sql, dialect)
                got = members(connection, back)
            except Exception as exc:  # noqa: BLE001 - any failure to carry back is reported
                problems[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                continue
            if got != native:
                problems[name] = (f"{len(got)} members, DuckDB {len(native)}; only here "
                                  f"{sorted(got - native)[:5]}, only on DuckDB {sorted(native - got)[:5]}")
    return problems


@pytest.mark.parametrize("dialect", DIALECTS)
def test_dialect_sql_means_what_duckdb_sql_means(built, dialect):
    problems = differences(built, dialect)
    expected = {segment for (d, segment) in KNOWN if d == dialect}
    assert set(problems) == expected, problems


def test_the_reference_is_the_build(built):
    """The DuckDB SQL the dialects are held to gives exactly what the build stored."""
    for project, connection, as_of in built:
        for name, segment in project.segments.items():
            if segment.materialized == "view":
                continue
            native = members(connection, compile_segment(project, segment, as_of, "duckdb"))
            stored = {(k, s) for k, s in connection.execute(
                f"SELECT key, split FROM {project.segment_schema}.memberships WHERE segment = ?",
                [name]).fetchall()}
            assert native == stored, name
    assert len(built[0][0].segments) >= 20


def _plain(dialect_name: str):
    """sqlglot's own generator for a dialect, without segwarehouse's fixes (only our nodes)."""
    from segwarehouse.compiler.dialects import to_sql
    return lambda query: to_sql(query, dialect_name, pretty=True, fixes=False)


@pytest.mark.parametrize("dialect, broken", [
    ("snowflake", {"street_ra", "street_dollar", "email_unreachable"}),  # REGEXP_LIKE is anchored
    ("databricks", {"seen_2h"}),                                        # DATE_ADD(now, -2): two days
])
def test_the_check_catches_the_bugs_it_was_built_for(built, dialect, broken):
    """Without our fixes the same check fails exactly on the segments the fixes are for."""
    problems = differences(built, dialect, write=_plain(dialect))
    assert broken <= set(problems), problems
    for segment in broken:  # wrong members, not a failure to run
        assert "members, DuckDB" in problems[segment], problems[segment]
