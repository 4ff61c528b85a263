"""Compiler: a timestamp written as a quoted string compares as a timestamp on every engine, while
text comparisons stay case-sensitive (MariaDB once collated the column and never matched)."""
from __future__ import annotations

from segwarehouse.compiler.dialects import to_sql
from segwarehouse.compiler.segment import segment_query

FILES = {
    "seeds/ids.csv": "id\n1\n2\n3\n4\n",
    "models/facts.sql": """
        {{ config(materialized='table') }}
        {% if target.type == 'mysql' %}{% set ts = 'DATETIME(6)' %}{% set zoned = 'DATETIME(6)' %}
        {% elif target.type == 'postgres' %}{% set ts = 'TIMESTAMP' %}{% set zoned = 'TIMESTAMPTZ' %}
        {% else %}{% set ts = 'TIMESTAMP' %}{% set zoned = 'TIMESTAMPTZ' %}{% endif %}
        SELECT id,
          CAST(CASE id WHEN 1 THEN '2024-06-30 08:00:00' WHEN 2 THEN '2024-06-30 08:00:01'
                       WHEN 3 THEN '2024-06-29 08:00:00' END AS {{ ts }}) AS seen_at,
          CAST(CASE id WHEN 1 THEN '2024-06-30 08:00:00' WHEN 2 THEN '2024-06-30 08:00:01'
                       WHEN 3 THEN '2024-06-29 08:00:00' END AS {{ zoned }}) AS zoned_at,
          CAST(CASE id WHEN 1 THEN '2024-06-23' WHEN 2 THEN '2024-06-24' END AS DATE) AS day,
          CASE id WHEN 1 THEN 'Abc' WHEN 2 THEN 'abc' WHEN 3 THEN 'ABC' END AS txt
        FROM {{ ref('ids') }}
    """,
    "models/entities.yml": """
        entities:
          - {name: thing, model: facts, key: id}
    """,
    "segments/quoted.yml": """
        segments:
          - {name: ts_eq, entity: thing, rules: {property: seen_at, equals: "2024-06-30 08:00:00"}}
          - {name: ts_ne, entity: thing, rules: {property: seen_at, not_equals: "2024-06-30 08:00:00"}}
          - {name: ts_in, entity: thing, rules: {property: seen_at, in: ["2024-06-30 08:00:01", "2024-06-29 08:00:00"]}}
          - {name: ts_not_in, entity: thing, rules: {property: seen_at, not_in: ["2024-06-30 08:00:01"]}}
          - {name: zoned_eq, entity: thing, rules: {property: zoned_at, equals: "2024-06-30 08:00:01"}}
          - {name: day_eq, entity: thing, rules: {property: day, equals: "2024-06-24"}}
          - {name: day_in, entity: thing, rules: {property: day, in: ["2024-06-23", "2024-06-25"]}}
          - {name: txt_eq, entity: thing, rules: {property: txt, equals: abc}}
          - {name: txt_in, entity: thing, rules: {property: txt, in: [ABC, x]}}
          - {name: txt_starts, entity: thing, rules: {property: txt, starts_with: A}}
          - {name: txt_ends, entity: thing, rules: {property: txt, ends_with: bc}}
          - {name: txt_contains, entity: thing, rules: {property: txt, contains: B}}
          - {name: txt_matches, entity: thing, rules: {property: txt, matches: "^A[a-z]"}}
    """,
}

EXPECTED = {
    "ts_eq": {"1"},
    "ts_ne": {"2", "3", "4"},        # NULL (4) is not equal: the complement of equals
    "ts_in": {"2", "3"},
    "ts_not_in": {"1", "3", "4"},
    "zoned_eq": {"2"},               # sessions run in UTC
    "day_eq": {"2"},
    "day_in": {"1"},
    "txt_eq": {"2"},                 # still case-sensitive under MariaDB's default collation
    "txt_in": {"3"},
    "txt_starts": {"1", "3"},
    "txt_ends": {"1", "2"},
    "txt_contains": {"3"},
    "txt_matches": {"1"},
}


def test_quoted_timestamps_compare_as_timestamps(engine, project_factory):
    project = project_factory(engine, FILES)
    result = project.build(as_of="2024-06-30 12:00:00")
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    assert {name: project.members(name) for name in EXPECTED} == EXPECTED


def test_mysql_collation_is_on_the_literal_not_the_column(project_factory):
    project = project_factory("mysql", FILES)
    loaded = project.load()
    sql = to_sql(segment_query(loaded, loaded.segments["ts_eq"], None), "mysql")
    assert "`seen_at` = '2024-06-30 08:00:00' COLLATE utf8mb4_bin" in sql
    assert "`seen_at` COLLATE" not in sql
