"""Hypothesis: random data and random rules; DuckDB, PostgreSQL and MariaDB must agree with the oracle."""
from __future__ import annotations

import datetime as dt
import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ENGINES
from tests.oracle import Oracle, World

AS_OF = dt.datetime(2023, 2, 27, 12, 0, 0)  # the 7-day window holds Mar 1 of a common year
TEXTS = ["a", "A", "ab", "Ab", "ba", "abc", "B", "b_c", "x%y"]
KINDS = ["x", "y", "Z"]

# Window edges are where engines and readings of the spec differ: draw them often.
EDGES = [AS_OF, AS_OF - dt.timedelta(seconds=1), AS_OF + dt.timedelta(seconds=1)] + [
    AS_OF + sign * delta for sign in (-1, 1) for delta in (
        dt.timedelta(hours=12), dt.timedelta(days=1), dt.timedelta(days=3), dt.timedelta(days=7),
        dt.timedelta(days=14), dt.timedelta(days=30), dt.timedelta(days=31), dt.timedelta(days=365))]
times = st.one_of(st.sampled_from(EDGES),
                  st.integers(-24 * 400, 24 * 40).map(lambda h: AS_OF + dt.timedelta(hours=h)))
dates = st.one_of(st.sampled_from([dt.date(2000, 2, 29), dt.date(2004, 2, 29), dt.date(1999, 3, 1),
                                   dt.date(1990, 2, 27), dt.date(1980, 3, 6), dt.date(1985, 3, 7)]
                                  + [e.date() for e in EDGES]),
                  st.integers(-800, 40).map(lambda d: AS_OF.date() + dt.timedelta(days=d)))
quarter = st.integers(-20, 20).map(lambda k: k / 4)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


person = st.fixed_dictionaries({
    "num": maybe(st.integers(-5, 5)), "amt": maybe(quarter), "txt": maybe(st.sampled_from(TEXTS)),
    "flag": maybe(st.booleans()), "day": maybe(dates), "ts": maybe(times),
    "lat": maybe(st.sampled_from([47.37, 47.5, 46.2, 47.38])), "lon": st.sampled_from([8.54, 8.6, 6.1]),
})
item = st.fixed_dictionaries({"fk": maybe(st.integers(1, 8)), "at": maybe(times), "val": quarter,
                              "kind": st.sampled_from(KINDS)})

# Leaves -----------------------------------------------------------------------------------
ints = st.integers(-5, 5)
durations = st.sampled_from(["1 day", "7 days", "30 days", "2 weeks", "1 month", "1 year", "12 hours"])
periods = st.sampled_from(["today", "yesterday", "this_week", "last_week", "this_month", "last_month",
                           "this_quarter", "last_quarter", "this_year", "last_year"])
date_text = dates.map(str)


def ic(leaf):
    return st.tuples(leaf, st.booleans()).map(lambda p: {**p[0], "ignore_case": True} if p[1] else p[0])


text_leaf = st.one_of(
    ic(st.builds(lambda op, v: {"property": "txt", op: v},
                 st.sampled_from(["equals", "not_equals", "contains", "not_contains", "starts_with",
                                  "ends_with"]), st.sampled_from(TEXTS + ["b", "_", "%"]))),
    ic(st.builds(lambda op, v: {"property": "txt", op: v}, st.sampled_from(["in", "not_in"]),
                 st.lists(st.sampled_from(TEXTS), max_size=3))),
    ic(st.builds(lambda v: {"property": "txt", "matches": v}, st.sampled_from(["^a", "b$", "[A-Z]", "a.c", "^(ab|ba)$"]))),
    st.builds(lambda v: {"property": "txt", "is_set": v}, st.booleans()),
)
number_leaf = st.one_of(
    st.builds(lambda op, v: {"property": "num", op: v},
              st.sampled_from(["equals", "not_equals", "gt", "gte", "lt", "lte"]), ints),
    st.builds(lambda op, v: {"property": "num", op: v}, st.sampled_from(["in", "not_in"]),
              st.lists(ints, max_size=3)),
    st.builds(lambda a, b: {"property": "num", "between": [min(a, b), max(a, b)]}, ints, ints),
    st.builds(lambda op, v: {"property": "amt", op: v}, st.sampled_from(["gt", "gte", "lt", "lte", "equals"]), quarter),
    st.builds(lambda v: {"property": "flag", "equals": v}, st.booleans()),
    st.builds(lambda v: {"property": "flag", "is_set": v}, st.booleans()),
    st.builds(lambda v: {"property": "num", "is_set": v}, st.booleans()),
)
time_leaf = st.one_of(
    st.builds(lambda col, op, d: {"property": col, op: d}, st.sampled_from(["day", "ts"]),
              st.sampled_from(["within_last", "not_within_last", "within_next"]), durations),
    st.builds(lambda d: {"property": "day", "anniversary_within": d},
              st.sampled_from(["1 day", "7 days", "1 month"])),
    st.builds(lambda col, op, v: {"property": col, op: v}, st.sampled_from(["day", "ts"]),
              st.sampled_from(["after", "before"]),
              st.one_of(date_text, st.sampled_from(["3 days ago", "1 month ago", "400 days ago"]))),
    st.builds(lambda col, a, b: {"property": col, "between": sorted([a, b])}, st.sampled_from(["day", "ts"]),
              date_text, date_text),
    st.builds(lambda op, v: {"property": "day", op: v}, st.sampled_from(["gt", "lte"]), date_text),
    # [1.1] day literals against a DATE and a TIMESTAMP column, calendar periods
    st.builds(lambda col, op, v: {"property": col, op: v}, st.sampled_from(["day", "ts"]),
              st.sampled_from(["equals", "not_equals", "gt", "gte", "lt", "lte", "after", "before"]), dates),
    st.builds(lambda col, op, v: {"property": col, op: v}, st.sampled_from(["day", "ts"]),
              st.sampled_from(["gt", "gte", "lt", "lte"]), date_text),  # ISO text: a date for order operators
    st.builds(lambda col, op, vs: {"property": col, op: vs}, st.sampled_from(["day", "ts"]),
              st.sampled_from(["in", "not_in"]), st.lists(dates, max_size=2)),
    st.builds(lambda col, p: {"property": col, "during": p}, st.sampled_from(["day", "ts"]), periods),
)
bucket_tests = st.one_of(
    st.builds(lambda op, k: {op: k}, st.sampled_from(["equals", "not_equals", "gte", "gt", "lte", "lt"]),
              st.integers(1, 3)),
    st.builds(lambda a, b: {"between": sorted([a, b])}, st.integers(1, 3), st.integers(1, 3)),
    st.builds(lambda ks: {"in": ks}, st.lists(st.integers(1, 3), max_size=2)),
)


def bucketed(n, test):
    return {"bucket": n, **test}  # n >= 3 >= every bucket number drawn


bucket_leaf = st.builds(lambda col, n, tst: {"property": col, **bucketed(n, tst)},
                        st.sampled_from(["num", "amt", "ts", "day"]), st.sampled_from([3, 4, 7]), bucket_tests)
misc_leaf = st.one_of(
    st.just({"in_list": "picked"}),
    st.builds(lambda km: {"near": {"lat": 47.37, "lon": 8.54, "within_km": km, "lat_column": "lat",
                                   "lon_column": "lon"}}, st.sampled_from([1, 10, 150])),
)
measure = st.one_of(
    st.builds(lambda n: {"count": n}, st.integers(0, 2)),
    st.builds(lambda op, n: {"count": {op: n}}, st.sampled_from(["gte", "lt", "equals"]), st.integers(0, 3)),
    st.builds(lambda op, v: {"sum": {"of": "val", op: v}}, st.sampled_from(["gt", "lte"]), quarter),
    st.builds(lambda v: {"avg": {"of": "val", "gt": v}}, st.sampled_from([-0.613, 0.113, 1.137])),
    st.builds(lambda k, op, v: {k: {"of": "val", op: v}}, st.sampled_from(["min", "max"]),
              st.sampled_from(["gte", "lt"]), quarter),
    st.builds(lambda n: {"count_distinct": {"of": "kind", "gte": n}}, st.integers(1, 3)),
    st.builds(lambda k, op, d: {k: {op: d}}, st.sampled_from(["first", "last"]),
              st.sampled_from(["within_last", "not_within_last"]), durations),
    st.builds(lambda k, v: {k: {"before": v}}, st.sampled_from(["first", "last"]),
              st.sampled_from(["10 days ago", "2022-06-01"])),
    # [1.1] buckets of every measure, calendar periods and day literals on first/last
    st.builds(lambda k, n, tst: {k: {"of": "val", **bucketed(n, tst)}},
              st.sampled_from(["sum", "avg", "min", "max", "count_distinct"]), st.sampled_from([3, 5]),
              bucket_tests),
    st.builds(lambda n, tst: {"count": bucketed(n, tst)}, st.sampled_from([3, 5]), bucket_tests),
    st.builds(lambda k, n, tst: {k: bucketed(n, tst)}, st.sampled_from(["first", "last"]),
              st.sampled_from([3, 5]), bucket_tests),
    st.builds(lambda k, p: {k: {"during": p}}, st.sampled_from(["first", "last"]), periods),
    st.builds(lambda k, op, v: {k: {op: v}}, st.sampled_from(["first", "last"]),
              st.sampled_from(["equals", "gt", "gte", "lt", "lte", "after"]), date_text),
)
window = st.one_of(st.none(), st.builds(lambda d: {"within_last": d}, durations),
                   st.builds(lambda p: {"during": p}, periods),
                   st.builds(lambda v: {"after": v}, st.sampled_from(["30 days ago", "2022-12-01"])),
                   st.builds(lambda a, b: {"between": sorted([a, b])}, date_text, date_text))
where = st.one_of(st.none(), st.builds(lambda k: [{"property": "kind", "equals": k}], st.sampled_from(KINDS)),
                  st.builds(lambda v: {"property": "val", "gt": v}, quarter))


def related_leaf(head, m, w, wh):
    leaf = {**head, **m}
    if w:
        leaf.update(w)
    if wh is not None:
        leaf["where"] = wh
    return leaf


rel_leaf = st.builds(related_leaf, st.one_of(st.just({"related": "items"}),
                                             st.builds(lambda k: {"event": k}, st.sampled_from(KINDS))),
                     measure, window, where)
leaf = st.one_of(text_leaf, number_leaf, time_leaf, misc_leaf, rel_leaf, bucket_leaf)
condition = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(lambda k, cs: {k: cs}, st.sampled_from(["all", "any", "none"]), st.lists(inner, max_size=3)),
    st.builds(lambda c: {"not": c}, inner)), max_leaves=6)


@st.composite
def segments(draw):
    out = []
    for i in range(draw(st.integers(2, 4))):
        rules = draw(condition)
        if i and draw(st.booleans()):
            rules = {"any": [rules, {"in_segment": f"s{draw(st.integers(0, i - 1))}"}]}
        seg = {"name": f"s{i}", "entity": "person", "rules": rules}
        if draw(st.booleans()):
            seg["exclude"] = [draw(st.sampled_from(["picked"] + [f"s{j}" for j in range(i)]))]
        if draw(st.booleans()):
            seg["include"] = ["picked"]
        if draw(st.booleans()):
            seg["splits"] = draw(st.sampled_from([{"a": 50, "b": 50}, {"c": 10, "d": 45, "e": 45},
                                                  {"x": 33.33, "y": 66.67}]))
        out.append(seg)
    return out


def csv_text(columns, rows):
    def cell(v):
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        return str(v)
    return "\n".join([",".join(columns)] + [",".join(cell(r[c]) for c in columns) for r in rows]) + "\n"


ANCHOR_PERSON = {"num": 1, "amt": 0.5, "txt": "a", "flag": True, "day": dt.date(2020, 1, 1),
                 "ts": AS_OF - dt.timedelta(hours=5), "lat": 47.0, "lon": 8.0}
ANCHOR_ITEM = {"fk": 1, "at": AS_OF - dt.timedelta(days=2), "val": 0.25, "kind": "x"}
ENTITIES = """
entities:
  - name: person
    model: people
    key: id
    relations:
      items: {model: items, foreign_key: fk, time: at, name: kind}
"""


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(people=st.lists(person, min_size=0, max_size=10), items=st.lists(item, max_size=14),
       picked=st.sets(st.integers(1, 12), max_size=4), segs=segments())
def test_engines_agree_with_the_oracle(project_factory, people, items, picked, segs):
    rows = [{"id": 1, **ANCHOR_PERSON}] + [{"id": i + 2, **p} for i, p in enumerate(people)]
    item_rows = [ANCHOR_ITEM] + items
    files = {
        "seeds/people.csv": csv_text(["id", "num", "amt", "txt", "flag", "day", "ts", "lat", "lon"], rows),
        "seeds/items.csv": csv_text(["fk", "at", "val", "kind"], item_rows),
        "seeds/picked.csv": "id\n" + "".join(f"{k}\n" for k in sorted(picked | {99})),
        "models/entities.yml": ENTITIES,
        "segments/lists.yml": "lists:\n  - {name: picked, entity: person, from: seeds/picked.csv}\n",
        "segments/generated.yml": yaml.safe_dump({"segments": segs}, sort_keys=False),  # dates stay dates
    }
    expected = None
    for engine in ENGINES:
        project = project_factory(engine, files)
        if expected is None:
            loaded = project.load()
            world = World(loaded.entities["person"], rows, {"items": item_rows},
                          {"picked": {str(k) for k in picked | {99}}}, loaded.segments)
            oracle = Oracle(world, AS_OF)
            expected = {name: oracle.members(seg) for name, seg in loaded.segments.items()}
        result = project.build(as_of=AS_OF.isoformat(sep=" "))
        assert not result.failed, [(s.segment, s.error) for s in result.failed]
        got = {}
        for name in expected:
            got[name] = dict(project.query(
                "SELECT {k}, split FROM {{seg}}.memberships WHERE segment = '{n}'".format(
                    k=project.quote("key"), n=name)))
        assert got == expected, (engine, json.dumps(segs, default=str))
