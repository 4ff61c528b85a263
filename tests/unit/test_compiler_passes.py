"""Compiler shape: one grouped pass per related relation, sargable time predicates, COALESCE only
where NULL can arise, in_segment inlined; and the exact complements it relies on, executed."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from sqlglot import exp

from segwarehouse.compiler.dialects import to_sql
from segwarehouse.compiler.segment import segment_query
from tests.conftest import make_project
from tests.oracle import Oracle, World

AS_OF = dt.datetime(2024, 6, 30, 12, 0, 0)
ENTITIES = """
entities:
  - name: person
    model: people
    key: id
    relations:
      items: {model: items, foreign_key: fk, time: at, name: kind}
      orders: {model: orders, foreign_key: fk, time: at}
"""
SEGMENTS = """
segments:
  - name: three_events
    entity: person
    rules:
      all:
        - {event: x, within_last: 30 days}
        - {event: y, within_last: 7 days, count: {gte: 2}}
        - not: {event: z}
  - name: mixed
    entity: person
    rules:
      any:
        - {related: items, sum: {of: val, gt: 1}}
        - {related: items, last: {not_within_last: 3 days}}
        - {related: orders, avg: {of: val, gte: 2}, within_last: 1 year}
        - {property: txt, not_equals: a}
  - name: uses_other
    entity: person
    rules:
      all:
        - {in_segment: three_events}
        - {related: items, count: {gte: 1}}
        - not: {in_segment: mixed}
  - name: positive_only
    entity: person
    rules: {all: [{property: num, gt: 1}, {property: ts, within_last: 30 days}]}
"""
PEOPLE = [
    {"id": 1, "num": 2, "txt": "a", "ts": AS_OF - dt.timedelta(days=1)},
    {"id": 2, "num": None, "txt": None, "ts": None},
    {"id": 3, "num": 0, "txt": "b", "ts": AS_OF - dt.timedelta(days=40)},
    {"id": 4, "num": 5, "txt": "A", "ts": AS_OF + dt.timedelta(days=1)},
]
ITEMS = [
    {"fk": 1, "at": AS_OF - dt.timedelta(days=2), "val": 0.5, "kind": "x"},
    {"fk": 1, "at": AS_OF - dt.timedelta(days=1), "val": 0.75, "kind": "y"},
    {"fk": 1, "at": AS_OF - dt.timedelta(days=3), "val": 0.25, "kind": "y"},
    {"fk": 2, "at": None, "val": 2.0, "kind": "z"},
    {"fk": 3, "at": AS_OF - dt.timedelta(days=20), "val": 1.0, "kind": "x"},
    {"fk": 3, "at": AS_OF + dt.timedelta(days=1), "val": 9.0, "kind": "z"},
    {"fk": None, "at": AS_OF - dt.timedelta(days=1), "val": 1.0, "kind": "x"},
]
ORDERS = [
    {"fk": 3, "at": AS_OF - dt.timedelta(days=10), "val": 3.0},
    {"fk": 4, "at": AS_OF - dt.timedelta(days=400), "val": 3.0},
]


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def csv(columns, rows) -> str:
    return ",".join(columns) + "\n" + "".join(",".join(cell(r[c]) for c in columns) + "\n" for r in rows)


FILES = {
    "models/entities.yml": ENTITIES,
    "segments/s.yml": SEGMENTS,
    "seeds/people.csv": csv(["id", "num", "txt", "ts"], PEOPLE),
    "seeds/items.csv": csv(["fk", "at", "val", "kind"], ITEMS),
    "seeds/orders.csv": csv(["fk", "at", "val"], ORDERS),
}


@pytest.fixture
def loaded(tmp_path):
    return make_project(tmp_path, "duckdb", FILES).load()


def tables_read(query: exp.Select) -> list[str]:
    return sorted(t.name for t in query.find_all(exp.Table))


def test_each_relation_is_read_once_per_segment(loaded):
    query = segment_query(loaded, loaded.segments["three_events"], AS_OF)
    assert tables_read(query) == ["items", "people"]
    mixed = segment_query(loaded, loaded.segments["mixed"], AS_OF)
    assert tables_read(mixed) == ["items", "orders", "people"]


def test_in_segment_is_inlined_into_the_same_passes(loaded):
    query = segment_query(loaded, loaded.segments["uses_other"], AS_OF)
    # three_events, mixed and the segment's own count all share one pass per relation
    assert tables_read(query) == ["items", "orders", "people"]
    assert query.find(exp.Distinct) is None  # no member-key subquery of another segment


def test_time_columns_are_not_cast(loaded):
    for name in ("three_events", "mixed", "positive_only"):
        sql = to_sql(segment_query(loaded, loaded.segments[name], AS_OF), "postgres")
        assert 'CAST("r' not in sql and 'CAST("e' not in sql, sql
        mysql = to_sql(segment_query(loaded, loaded.segments[name], AS_OF), "mysql")
        assert "CAST(`r" not in mysql and "CAST(`e" not in mysql, mysql


def test_coalesce_false_only_where_null_can_arise(loaded):
    positive = to_sql(segment_query(loaded, loaded.segments["positive_only"], AS_OF), "duckdb")
    assert "COALESCE" not in positive
    mixed = to_sql(segment_query(loaded, loaded.segments["mixed"], AS_OF), "duckdb")
    assert "FALSE)" not in mixed
    assert '"e1"."txt" IS NULL OR' in mixed  # not_equals on a nullable column keeps NULL rows


def test_conditional_aggregates_per_dialect(loaded):
    query = segment_query(loaded, loaded.segments["three_events"], AS_OF)
    assert "FILTER(WHERE" in to_sql(query, "duckdb") and "FILTER(WHERE" in to_sql(query, "postgres")
    for dialect in ("mysql", "snowflake", "bigquery"):
        sql = to_sql(query, dialect)
        assert "FILTER" not in sql and "CASE" in sql, dialect
        assert sqlglot.parse_one(sql, read=dialect) is not None


def test_members_match_the_oracle_on_duckdb(tmp_path, project_factory):
    """Complements over NULL values, empty relations and future rows, executed."""
    project = project_factory("duckdb", FILES)
    result = project.build(as_of=AS_OF.isoformat(sep=" "))
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    loaded = project.load()
    world = World(loaded.entities["person"], PEOPLE, {"items": ITEMS, "orders": ORDERS}, {}, loaded.segments)
    oracle = Oracle(world, AS_OF)
    for name, segment in loaded.segments.items():
        assert project.members(name) == set(oracle.members(segment)), name
    assert project.members("mixed") == {"1", "2", "3", "4"}
    assert project.members("three_events") == {"1"}
