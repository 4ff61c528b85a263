"""Hypothesis for the language v1.1 (SEGMENTS.md §3-§5 [1.1]): day literals, calendar periods,
quantile buckets, traits and priority lists, at as_of values on calendar edges (midnight, Monday,
month, quarter and year starts, leap days). DuckDB, PostgreSQL and MariaDB must agree with the oracle."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ENGINES
from tests.oracle import Oracle, World, calendar_period
from tests.property.test_differential import csv_text

PERIODS = ["today", "yesterday", "this_week", "last_week", "this_month", "last_month",
           "this_quarter", "last_quarter", "this_year", "last_year"]
AS_OFS = [
    dt.datetime(2024, 1, 1, 0, 0, 0),     # Monday, midnight, first day of a year and a quarter
    dt.datetime(2024, 2, 29, 12, 0, 0),   # a leap day
    dt.datetime(2024, 3, 1, 0, 0, 0),     # midnight after a leap day
    dt.datetime(2023, 12, 31, 23, 59, 59),  # Sunday, last second of a year
    dt.datetime(2024, 7, 1, 8, 30, 0),    # Monday, first day of Q3
    dt.datetime(2025, 3, 31, 0, 0, 0),    # Monday, last day of Q1, midnight
    dt.datetime(2026, 11, 1, 6, 0, 0),    # Sunday
]
SECOND = dt.timedelta(seconds=1)


def edges(as_of: dt.datetime) -> list[dt.datetime]:
    """Every period bound of as_of, one second either side, and as_of itself."""
    points = {as_of, as_of - SECOND, as_of + SECOND, as_of + dt.timedelta(hours=7)}
    for period in PERIODS:
        start, end, _ = calendar_period(as_of, period)
        for p in (start, end):
            points |= {p - SECOND, p, p + SECOND}
    return sorted(points)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def worlds(draw):
    as_of = draw(st.sampled_from(AS_OFS))
    times = st.sampled_from(edges(as_of))
    days = st.sampled_from(sorted({e.date() for e in edges(as_of)} | {
        e.date() + dt.timedelta(days=d) for e in edges(as_of) for d in (-1, 1)}))
    person = st.fixed_dictionaries({
        "num": maybe(st.integers(0, 4)), "day": maybe(days), "ts": maybe(times)})
    item = st.fixed_dictionaries({"fk": st.integers(1, 7), "at": maybe(times),
                                  "val": st.sampled_from([0.25, 0.5, 1, 2, 2, 3.75]),
                                  "kind": st.sampled_from(["x", "y"])})
    people = draw(st.lists(person, min_size=1, max_size=8))
    items = draw(st.lists(item, max_size=12))
    date_text = days.map(str)
    window = st.one_of(st.none(), st.builds(lambda p: {"during": p}, st.sampled_from(PERIODS)),
                       st.builds(lambda a, b: {"between": sorted([a, b])}, date_text, date_text),
                       st.builds(lambda op, d: {op: d}, st.sampled_from(["after", "before"]), date_text))
    bucket = st.builds(lambda n, op, k: {"bucket": n, op: min(k, n)}, st.sampled_from([2, 3, 5]),
                       st.sampled_from(["equals", "not_equals", "gte", "gt", "lte", "lt"]), st.integers(1, 5))
    measure = st.one_of(
        st.builds(lambda b: {"count": b}, bucket),
        st.builds(lambda k, b: {k: {"of": "val", **b}}, st.sampled_from(["sum", "avg", "max"]), bucket),
        st.builds(lambda k, b: {k: b}, st.sampled_from(["first", "last"]), bucket),
        st.builds(lambda k, p: {k: {"during": p}}, st.sampled_from(["first", "last"]), st.sampled_from(PERIODS)),
        st.builds(lambda k, op, d: {k: {op: d}}, st.sampled_from(["first", "last"]),
                  st.sampled_from(["equals", "gt", "lte"]), st.one_of(days, date_text)),
        st.builds(lambda k, a, b: {k: {"between": sorted([a, b])}}, st.sampled_from(["first", "last"]),
                  date_text, date_text),
        st.just({"count": {"gte": 1}}),
    )

    def related(m, w, kind):
        leaf = {"related": "items", **m, **(w or {})}
        if kind:
            leaf["where"] = {"property": "kind", "equals": kind}
        return leaf

    leaf = st.one_of(
        st.builds(lambda col, op, d: {"property": col, op: d}, st.sampled_from(["day", "ts"]),
                  st.sampled_from(["equals", "not_equals", "gt", "gte", "lt", "lte", "after", "before"]), days),
        # ISO text is a date for the order operators (for equals it is text, compared as text)
        st.builds(lambda col, op, d: {"property": col, op: d}, st.sampled_from(["day", "ts"]),
                  st.sampled_from(["gt", "gte", "lt", "lte", "after", "before"]), date_text),
        st.builds(lambda col, op, ds: {"property": col, op: ds}, st.sampled_from(["day", "ts"]),
                  st.sampled_from(["in", "not_in"]), st.lists(days, max_size=2)),
        st.builds(lambda col, a, b: {"property": col, "between": sorted([a, b])},
                  st.sampled_from(["day", "ts"]), date_text, date_text),
        st.builds(lambda col, p: {"property": col, "during": p}, st.sampled_from(["day", "ts"]),
                  st.sampled_from(PERIODS)),
        st.builds(lambda col, b: {"property": col, **b}, st.sampled_from(["num", "day", "ts"]), bucket),
        st.builds(related, measure, window, maybe(st.sampled_from(["x", "y"]))),
    )
    condition = st.recursive(leaf, lambda inner: st.one_of(
        st.builds(lambda k, cs: {k: cs}, st.sampled_from(["all", "any", "none"]), st.lists(inner, max_size=3)),
        st.builds(lambda c: {"not": c}, inner)), max_leaves=4)
    segments = []
    for i in range(draw(st.integers(2, 4))):
        segment = {"name": f"s{i}", "entity": "person", "materialized": "table", "rules": draw(condition)}
        if i == 0:
            segment["traits"] = {
                "spend": related({"sum": {"of": "val"}}, draw(window), draw(maybe(st.just("x")))),
                "n": related({"count": True}, draw(window), None),
                "last_at": related({"last": True}, draw(window), None),
                "top": related({"max": {"of": "val"}}, None, draw(maybe(st.just("y")))),
            }
        segments.append(segment)
    order = draw(st.permutations([s["name"] for s in segments]))
    return as_of, people, items, segments, list(order[:draw(st.integers(1, len(order)))])


ENTITIES = """
entities:
  - name: person
    model: people
    key: id
    relations:
      items: {model: items, foreign_key: fk, time: at, name: kind}
"""


def normal(value):
    """Engine values and oracle values in one comparable form."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return round(float(value), 6)
    return value


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(world=worlds())
def test_v11_engines_agree_with_the_oracle(project_factory, world):
    as_of, people, items, segments, priority = world
    rows = [{"id": i + 1, **p} for i, p in enumerate(people)]
    # anchors keep the column types stable (a timestamp, a date, a number) whatever is drawn
    rows.append({"id": 99, "num": 1, "day": dt.date(2020, 1, 1), "ts": dt.datetime(2020, 1, 1, 12, 30)})
    item_rows = items + [{"fk": 99, "at": dt.datetime(2020, 1, 1, 12, 30), "val": 0.5, "kind": "x"}]
    files = {
        "seeds/people.csv": csv_text(["id", "num", "day", "ts"], rows),
        "seeds/items.csv": csv_text(["fk", "at", "val", "kind"], item_rows),
        "models/entities.yml": ENTITIES,
        "segments/generated.yml": yaml.safe_dump({"segments": segments, "priority_lists": [
            {"name": "pl", "segments": priority}]}, sort_keys=False),  # dates stay YAML dates
    }
    expected = traits = None
    for engine in ENGINES:
        project = project_factory(engine, files)
        if expected is None:
            loaded = project.load()
            world_ = World(loaded.entities["person"], rows, {"items": item_rows}, {}, loaded.segments)
            oracle = Oracle(world_, as_of)
            expected = {name: set(oracle.members(seg)) for name, seg in loaded.segments.items()}
            traits = {k: {n: normal(v) for n, v in t.items()} for k, t in oracle.traits(loaded.segments["s0"]).items()}
            # priority list: each derived segment is S minus every segment listed before it
            seen: set[str] = set()
            for name in priority:
                assert expected[f"pl__{name}"] == expected[name] - seen
                seen |= expected[name]
        result = project.build(as_of=as_of.isoformat(sep=" "))
        assert not result.failed, [(s.segment, s.error) for s in result.failed]
        got = {name: project.members(name) for name in expected}
        assert got == expected, (engine, str(as_of), json.dumps(segments, default=str))
        names = ["spend", "n", "last_at", "top"]
        stored = project.query("SELECT id, {} FROM {{seg}}.s0".format(", ".join(project.quote(n) for n in names)))
        got_traits = {str(r[0]): dict(zip(names, map(normal, r[1:]))) for r in stored}
        assert got_traits == traits, (engine, str(as_of), json.dumps(segments[0], default=str))
