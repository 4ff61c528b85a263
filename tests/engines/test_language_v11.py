"""Language v1.1 on every engine, on data large enough for real sorts: quantile buckets with ties
and NULLs (several in one query), calendar periods, day literals, traits and priority lists must
give exactly the reference evaluator's members and values on DuckDB, PostgreSQL and MariaDB."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
import yaml

from tests.oracle import Oracle, World
from tests.property.test_differential import csv_text

AS_OF = dt.datetime(2024, 4, 1, 0, 0, 0)  # Monday, midnight, first day of Q2, in a leap year
N_PEOPLE = 400
ENTITIES = """
entities:
  - name: person
    model: people
    key: id
    relations:
      items: {model: items, foreign_key: fk, time: at, name: kind}
"""


def data():
    rng = random.Random(20241)
    day0 = dt.datetime(2023, 12, 25)
    people = []
    for i in range(1, N_PEOPLE + 1):
        people.append({
            "id": i, "score": rng.choice([None, 1, 2, 2, 3, 5, 8, 8, 8, 13]),
            "born": rng.choice([None, dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2024, 4, 1),
                                dt.date(2023, 12, 31), dt.date(2024, 1, 1)]),
            "seen": rng.choice([None, AS_OF, AS_OF - dt.timedelta(seconds=1), dt.datetime(2024, 2, 29, 23, 59, 59),
                                dt.datetime(2024, 3, 25), dt.datetime(2024, 1, 1), dt.datetime(2023, 12, 31, 12),
                                dt.datetime(2024, 3, 31, 8, 15)]),
        })
    items = []
    for n in range(1, 3 * N_PEOPLE):
        fk = rng.randint(1, N_PEOPLE - 40)  # the last 40 people have no items at all
        at = rng.choice([None, day0 + dt.timedelta(hours=rng.randint(0, 24 * 100)), AS_OF,
                         AS_OF + dt.timedelta(days=1), dt.datetime(2024, 3, 1), dt.datetime(2024, 1, 1)])
        items.append({"fk": fk, "at": at, "val": rng.choice([0.25, 0.5, 1, 1, 2, 10]),
                      "kind": rng.choice(["x", "y"])})
    return people, items


RFM = [
    {"related": "items", "last": {"bucket": 5, "gte": 3}},  # a big tie at the top: all in bucket 3
    {"related": "items", "count": {"bucket": 5, "gte": 3}},
    {"related": "items", "sum": {"of": "val", "bucket": 5, "gte": 3}},
]
SEGMENTS = [
    {"name": "rfm_top", "entity": "person", "materialized": "table", "rules": {"all": RFM},
     "traits": {"spend": {"related": "items", "sum": {"of": "val"}},
                "n_q1": {"related": "items", "during": "last_quarter", "count": True},
                "last_at": {"related": "items", "last": True},
                "first_x": {"event": "x", "first": True},
                "avg_y": {"related": "items", "where": {"property": "kind", "equals": "y"},
                          "avg": {"of": "val"}}}},
    {"name": "many_buckets", "entity": "person", "rules": {"any": [
        {"property": "score", "bucket": 4, "equals": 4},
        {"property": "born", "bucket": 3, "lte": 1},
        {"property": "seen", "bucket": 10, "between": [3, 4]},
        {"related": "items", "max": {"of": "val", "bucket": 2, "equals": 1}},
        {"related": "items", "first": {"bucket": 7, "in": [2, 6]}},
        {"related": "items", "within_last": "30 days", "count_distinct": {"of": "kind", "bucket": 3, "gt": 1}}]}},
    {"name": "not_top_score", "entity": "person", "rules": {"property": "score", "bucket": 4, "not_equals": 4}},
    {"name": "periods", "entity": "person", "rules": {"any": [
        {"property": "seen", "during": "last_month"}, {"property": "born", "during": "yesterday"},
        {"related": "items", "during": "this_week", "count": {"gte": 1}},
        {"related": "items", "last": {"during": "last_week"}}]}},
    {"name": "days", "entity": "person", "rules": {"any": [
        {"property": "seen", "equals": dt.date(2024, 2, 29)}, {"property": "born", "equals": dt.date(2024, 2, 29)},
        {"property": "seen", "in": [dt.date(2024, 1, 1), dt.datetime(2024, 3, 25)]},
        {"property": "seen", "between": ["2024-03-25", "2024-03-31"]},
        {"related": "items", "between": ["2024-01-01", "2024-01-01"], "count": {"gte": 1}},
        {"property": "born", "gt": "2024-03-31"}]}},
]
PRIORITY = [{"name": "stage", "segments": ["rfm_top", "days", "periods"]}]


def normal(value):
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 6)
    return value


@pytest.fixture(scope="module")
def case():
    people, items = data()
    files = {
        "seeds/people.csv": csv_text(["id", "score", "born", "seen"], people),
        "seeds/items.csv": csv_text(["fk", "at", "val", "kind"], items),
        "models/entities.yml": ENTITIES,
        "segments/v11.yml": yaml.safe_dump({"segments": SEGMENTS, "priority_lists": PRIORITY}, sort_keys=False),
    }
    return people, items, files


def test_v11_members_and_traits_match_the_oracle(engine, project_factory, case):
    people, items, files = case
    project = project_factory(engine, files)
    loaded = project.load()
    oracle = Oracle(World(loaded.entities["person"], people, {"items": items}, {}, loaded.segments), AS_OF)
    result = project.build(as_of=AS_OF.isoformat(sep=" "))
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    sizes = {}
    for name, segment in loaded.segments.items():
        expected = set(oracle.members(segment))
        assert project.members(name) == expected, name
        sizes[name] = len(expected)
    assert all(0 < size < N_PEOPLE for size in sizes.values()), sorted(sizes.items())  # the data separates them
    assert sizes["stage__days"] < sizes["days"]  # the priority list removed someone
    names = ["spend", "n_q1", "last_at", "first_x", "avg_y"]
    rows = project.query("SELECT id, {} FROM {{seg}}.rfm_top".format(", ".join(project.quote(n) for n in names)))
    got = {str(r[0]): [normal(v) for v in r[1:]] for r in rows}
    want = {k: [normal(v[n]) for n in names] for k, v in oracle.traits(loaded.segments["rfm_top"]).items()}
    assert got == want
    derived = project.query("SELECT id, {} FROM {{seg}}.stage__rfm_top".format(project.quote("spend")))
    assert {str(k): normal(v) for k, v in derived} == {k: v[0] for k, v in want.items()}


def test_bucket_ties_share_a_bucket(project_factory, case):
    """Every score value lands in one bucket, the top value alone in the top one (DuckDB)."""
    people, items, files = case
    project = project_factory("duckdb", files)
    project.build(as_of=AS_OF.isoformat(sep=" "))
    members = project.members("many_buckets")
    top = {str(p["id"]) for p in people if p["score"] == 13}
    assert top and top <= members
    not_top = project.members("not_top_score")
    assert not_top == {str(p["id"]) for p in people if p["score"] != 13}  # NULL scores included
