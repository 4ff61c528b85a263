"""Language v1.1 without a warehouse: parsing into the language types, mistakes at file:line, the
calendar periods, day-granular bounds, and the compiled shape (integer-only buckets, one bucket
pass, traits as columns, derived segments of priority lists)."""
from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from sqlglot import exp

from segwarehouse.compiler.dialects import DIALECTS, to_sql
from segwarehouse.compiler.segment import compile_segment, segment_query
from segwarehouse.compiler.timeexpr import period_bounds
from segwarehouse.errors import SegwError
from segwarehouse.materialize import output_columns
from segwarehouse.project.loader import load_project
from segwarehouse.language import types as t
from tests.conftest import make_project
from tests.oracle import calendar_period

AS_OF = dt.datetime(2024, 3, 1, 0, 0, 0)
ENTITIES = """
entities:
  - name: person
    model: people
    key: id
    relations:
      items: {model: items, foreign_key: fk, time: at, name: kind}
  - name: shop
    model: shops
    key: shop_id
"""
SEEDS = {
    "seeds/people.csv": "id,score,born,seen\n1,3,2000-01-01,2024-02-29 10:00:00\n",
    "seeds/items.csv": "fk,at,val,kind\n1,2024-02-29 10:00:00,1.5,x\n",
    "seeds/shops.csv": "shop_id\n1\n",
    "models/entities.yml": ENTITIES,
}


def project(tmp_path, segments: str):
    files = {**SEEDS, "segments/s.yml": textwrap.dedent(segments).lstrip()}
    return make_project(tmp_path, "duckdb", files)


def load(tmp_path, segments: str):
    return project(tmp_path, segments).load()


def refused(tmp_path, segments: str, *expected: str) -> str:
    with pytest.raises(SegwError) as info:
        load(tmp_path, segments)
    message = str(info.value)
    for part in expected:
        assert part in message, message
    return message


# -- parsing -----------------------------------------------------------------------------------
def test_v11_conditions_parse_into_the_language_types(tmp_path):
    loaded = load(tmp_path, """
        segments:
          - name: s
            entity: person
            rules:
              all:
                - {property: seen, equals: 2024-02-29}
                - {property: seen, between: [2024-02-01, "2024-02-29 12:00:00"]}
                - {property: seen, during: last_month}
                - {property: score, bucket: 5, gte: 4}
                - {related: items, sum: {of: val, bucket: 4, between: [2, 3]}}
                - {related: items, last: {bucket: 5, equals: 5}}
                - {related: items, first: {during: this_year}}
                - {related: items, last: {gt: 2024-01-01}}
                - {related: items, during: this_week, count: {gte: 1}}
            traits:
              spend: {related: items, sum: {of: val}}
              n: {event: x, within_last: 30 days, count: true}
              last_at: {related: items, last: true}
    """)
    rules = loaded.segments["s"].rules.children
    assert rules[0].test == t.Comparison("equals", dt.date(2024, 2, 29))  # a day, not midnight
    assert rules[1].test.value == (dt.date(2024, 2, 1), dt.datetime(2024, 2, 29, 12))
    assert rules[2].test == t.Comparison("during", "last_month")
    assert rules[3].test == t.Comparison("bucket", t.Bucket(5, t.Comparison("gte", 4)))
    assert rules[4].measure == t.Measure("sum", t.Comparison("bucket", t.Bucket(4, t.Comparison("between", (2, 3)))), "val")
    assert rules[5].measure.test.value == t.Bucket(5, t.Comparison("equals", 5))
    assert rules[6].measure.test == t.Comparison("during", "this_year")
    assert rules[7].measure.test == t.Comparison("gt", dt.date(2024, 1, 1))
    assert rules[8].window == t.Comparison("during", "this_week")
    traits = loaded.segments["s"].traits
    assert [x.name for x in traits] == ["spend", "n", "last_at"]
    assert traits[0].measure.measure == t.Measure("sum", None, "val")
    assert traits[1].measure.event == "x" and traits[1].measure.window.op == "within_last"
    assert traits[2].measure.measure == t.Measure("last", None)
    assert output_columns(loaded, loaded.segments["s"]) == ["id", "spend", "n", "last_at"]


@pytest.mark.parametrize("rule, line, words", [
    ("{property: score, bucket: 1, gte: 1}", 5, ["`bucket` takes a whole number of buckets from 2 to 100"]),
    ("{property: score, bucket: 101, gte: 1}", 5, ["from 2 to 100, got 101"]),
    ("{property: score, bucket: 5, gte: 6}", 5, ["bucket number from 1 to 5, got 6"]),
    ("{property: score, bucket: 5, gte: 2.5}", 5, ["bucket number from 1 to 5"]),
    ("{property: score, bucket: 5}", 5, ["needs an operator"]),
    ("{property: score, bucket: 5, gte: 2, lte: 4}", 5, ["several operators"]),
    ("{property: score, bucket: 5, contains: a}", 5, ["unknown operator 'contains'"]),
    ("{property: seen, during: last_monht}", 5, ["unknown period 'last_monht'", "did you mean 'last_month'"]),
    ("{related: items, during: lastweek}", 5, ["unknown period"]),
    ("{related: items, sum: {of: val, bucket: 5, gte: 9}}", 5, ["bucket number from 1 to 5"]),
    ("{related: items, where: {property: val, bucket: 3, gte: 2}}", 5,
     ["`bucket` cannot be used inside `where:`"]),
])
def test_v11_mistakes_name_their_line(tmp_path, rule, line, words):
    refused(tmp_path, f"""
        segments:
          - name: s
            entity: person
            rules:
              {rule}
    """, f"segments/s.yml:{line}", *words)


@pytest.mark.parametrize("traits, words", [
    ("{spend: {related: items, sum: {of: val, gt: 1}}}", ["a trait's `sum:` takes only `of:`"]),
    ("{n: {related: items, count: {gte: 1}}}", ["a trait's `count` takes no comparison", "count: true"]),
    ("{n: {related: items}}", ["a trait needs a measure"]),
    ("{n: {property: score}}", ["trait 'n' must be a related measure"]),
    ("{split: {related: items, count: true}}", ["trait 'split'", "split column"]),
    ("{seen: {related: items, count: true}}", ["trait 'seen'", "`columns:`"]),
    ("{id: {related: items, count: true}}", ["trait 'id'", "key column of entity 'person'"]),
    ("{n: {related: itemz, count: true}}", ["unknown relation 'itemz'", "did you mean 'items'"]),
    ("{Bad: {related: items, count: true}}", ["invalid name 'Bad' for a trait"]),
])
def test_trait_mistakes_name_their_line(tmp_path, traits, words):
    refused(tmp_path, f"""
        segments:
          - name: s
            entity: person
            rules: {{property: score, gt: 1}}
            columns: [seen]
            traits: {traits}
    """, "segments/s.yml:6", *words)


PRIORITY_BASE = """
segments:
  - {name: a, entity: person, rules: {property: score, gt: 1}}
  - {name: b, entity: person, rules: {property: score, gt: 2}}
  - {name: c, entity: shop, rules: {property: shop_id, gt: 0}}
lists:
  - {name: l, entity: person, from: seeds/people.csv}
"""


def block(*lists) -> str:
    """priority_lists in block style: one line per listed segment (line 8 is the first `- name:`)."""
    out = "priority_lists:\n"
    for name, names in lists:
        out += f"  - name: {name}\n    segments:\n" + "".join(f"      - {n}\n" for n in names)
    return out


@pytest.mark.parametrize("lists, line, words", [
    (block(("p", ["a", "x"])), 11, ["lists unknown segment 'x'"]),
    (block(("p", ["a", "l"])), 11, ["'l', which is a static list, not a segment", "include: [l]"]),
    (block(("p", ["a", "b", "c"])), 12, ["mixes entities", "'c' is of entity shop"]),
    (block(("p", ["a", "b", "a"])), 12, ["lists segment 'a' twice"]),
    (block(("p", ["a"]), ("p", ["b"])), 11, ["duplicate priority list 'p'", "already defined at segments/s.yml:8"]),
    (block(("p" * 48, ["a"])), 10, ["would derive segment 'ppp", "51 characters long (at most 50)",
                                     "shorten the list's name or the segment's"]),
    ("priority_lists:\n  - {name: p, segments: [a], extra: 1}\n", 8, ["unknown key 'extra' in a priority list"]),
    ("priority_lists:\n  - {name: p, segments: []}\n", 8, ["lists no segments"]),
    ("priority_lists:\n  - {name: P, segments: [a]}\n", 8, ["invalid name 'P' for a priority list"]),
])
def test_priority_list_mistakes_name_their_line(tmp_path, lists, line, words):
    refused(tmp_path, PRIORITY_BASE + lists, f"segments/s.yml:{line}", *words)


def test_a_derived_name_taken_by_a_segment_is_refused(tmp_path):
    taken = PRIORITY_BASE.replace("lists:", "  - {name: p__a, entity: person, rules: {property: score, gt: 3}}\nlists:")
    refused(tmp_path, taken + "priority_lists:\n  - name: p\n    segments: [a, b]\n",
            "duplicate name 'p__a'", "segments/s.yml:10", "already defined at segments/s.yml:5")


def test_priority_lists_derive_table_segments(tmp_path):
    loaded = load(tmp_path, """
        segments:
          - {name: a, entity: person, rules: {property: score, gt: 1}, schedule: "0 * * * *",
             columns: [seen], traits: {n: {related: items, count: true}}}
          - {name: b, entity: person, rules: {property: score, gt: 2}, materialized: view}
          - name: uses
            entity: person
            rules: {in_segment: stage__b}
        priority_lists:
          - name: stage
            segments: [b, a]
    """)
    first, second = loaded.segments["stage__b"], loaded.segments["stage__a"]
    assert first.rules == t.InSegment("b", loc=None) and first.exclude == ()
    assert second.rules == t.InSegment("a", loc=None) and second.exclude == ("b",)
    assert first.materialized == second.materialized == "table"
    assert second.schedule == "0 * * * *" and second.columns == ("seen",) and second.traits[0].name == "n"
    assert second.priority == ("stage", "a")
    assert str(second.loc).startswith("segments/s.yml:10")
    order = list(loaded.segments)
    assert order.index("stage__b") < order.index("uses")  # in_segment on a derived segment resolves
    assert set(loaded.priority_lists) == {"stage"}


# -- time --------------------------------------------------------------------------------------
EDGE_AS_OFS = [dt.datetime(2024, 1, 1, 0, 0), dt.datetime(2024, 2, 29, 13, 5, 7), dt.datetime(2024, 3, 1),
               dt.datetime(2023, 12, 31, 23, 59, 59), dt.datetime(2024, 7, 1, 8, 30), dt.datetime(2025, 3, 31),
               dt.datetime(2026, 11, 1, 6), dt.datetime(2021, 1, 3, 12)]


@pytest.mark.parametrize("as_of", EDGE_AS_OFS)
@pytest.mark.parametrize("period", t.PERIODS)
def test_period_bounds_agree_with_the_oracle(as_of, period):
    assert period_bounds(as_of, period) == calendar_period(as_of, period)


def test_period_bounds_on_known_days():
    monday_midnight = dt.datetime(2024, 1, 1)
    assert period_bounds(monday_midnight, "this_week") == (monday_midnight, monday_midnight, True)
    assert period_bounds(monday_midnight, "last_week") == (dt.datetime(2023, 12, 25), monday_midnight, False)
    assert period_bounds(monday_midnight, "last_quarter") == (dt.datetime(2023, 10, 1), monday_midnight, False)
    assert period_bounds(monday_midnight, "today") == (monday_midnight, monday_midnight, True)
    sunday = dt.datetime(2021, 1, 3, 12)  # ISO week 53 of 2020: the week started on Monday Dec 28
    assert period_bounds(sunday, "this_week")[0] == dt.datetime(2020, 12, 28)
    leap = dt.datetime(2024, 3, 1)
    assert period_bounds(leap, "yesterday") == (dt.datetime(2024, 2, 29), leap, False)
    assert period_bounds(leap, "last_month") == (dt.datetime(2024, 2, 1), leap, False)
    assert period_bounds(dt.datetime(2024, 5, 31, 9), "last_quarter") == (
        dt.datetime(2024, 1, 1), dt.datetime(2024, 4, 1), False)
    assert period_bounds(dt.datetime(2024, 5, 31, 9), "last_year") == (
        dt.datetime(2023, 1, 1), dt.datetime(2024, 1, 1), False)


def test_day_bounds_are_exact_for_date_and_timestamp_columns(tmp_path):
    """The claim the compiler relies on: one range per operator, right for DATE and TIMESTAMP."""
    loaded = load(tmp_path, """
        segments:
          - name: s
            entity: person
            rules:
              all:
                - {property: seen, equals: 2024-02-29}
                - {property: seen, gt: 2024-02-28}
                - {property: seen, lte: 2024-02-29}
                - {property: seen, between: [2024-02-01, 2024-02-29]}
                - {property: seen, before: 2024-03-01}
                - {property: seen, gte: "2024-02-29 10:00:00"}
    """)
    sql = to_sql(segment_query(loaded, loaded.segments["s"], AS_OF), "duckdb")
    assert sql.count("\"seen\" >= CAST('2024-02-29 00:00:00' AS TIMESTAMP)") == 2  # equals, gt d-1
    assert sql.count("\"seen\" < CAST('2024-03-01 00:00:00' AS TIMESTAMP)") == 4  # equals, lte, between, before
    assert "\"seen\" >= CAST('2024-02-29 10:00:00' AS TIMESTAMP)" in sql  # a time is exact
    assert "<=" not in sql.split("WHERE")[-1]


def test_during_in_a_view_is_refused_also_through_in_segment(tmp_path):
    loaded = load(tmp_path, """
        segments:
          - {name: recent, entity: person, materialized: table, rules: {related: items, during: this_month}}
          - {name: live, entity: person, materialized: view, rules: {in_segment: recent}}
    """)
    assert compile_segment(loaded, loaded.segments["recent"], AS_OF, "duckdb")
    with pytest.raises(SegwError) as info:
        compile_segment(loaded, loaded.segments["live"], AS_OF, "duckdb")
    assert "`during` cannot be used in a `view` segment" in str(info.value)
    assert "segments/s.yml:2" in str(info.value)


# -- compiled shape ----------------------------------------------------------------------------
BUCKETS = """
segments:
  - name: rfm
    entity: person
    rules:
      all:
        - {related: items, last: {bucket: 5, gte: 4}}
        - {related: items, count: {bucket: 5, gte: 4}}
        - not: {related: items, sum: {of: val, bucket: 5, lt: 2}}
        - {property: score, bucket: 3, in: [1, 3]}
    traits:
      spend: {related: items, sum: {of: val}}
"""


def test_buckets_share_one_pass_and_never_divide(tmp_path):
    loaded = load(tmp_path, BUCKETS)
    query = segment_query(loaded, loaded.segments["rfm"], AS_OF)
    windows = list(query.find_all(exp.Window))
    assert len([w for w in windows if isinstance(w.this, exp.Rank)]) == 4
    assert not any(w.args.get("partition_by") for w in windows)  # MariaDB mixes up partitions
    tables = sorted(x.name for x in query.find_all(exp.Table))
    assert tables == ["items", "items", "people", "people"]  # one bucket pass, one pass for the trait
    assert query.find(exp.Div) is None and query.find(exp.IntDiv) is None
    for dialect in DIALECTS:
        sql = compile_segment(loaded, loaded.segments["rfm"], AS_OF, dialect)
        assert " / " not in sql and "DIV" not in sql.upper().replace("DIVISION", ""), dialect


def test_traits_are_columns_after_columns(tmp_path):
    loaded = load(tmp_path, BUCKETS.replace("    traits:", "    columns: [seen]\n    traits:"))
    query = segment_query(loaded, loaded.segments["rfm"], AS_OF)
    assert [s.alias for s in query.selects] == ["id", "seen", "spend"]
    assert output_columns(loaded, loaded.segments["rfm"]) == ["id", "seen", "spend"]
    assert isinstance(query.selects[-1].this, exp.Coalesce)  # a sum over no rows is 0


def test_example_project_has_rfm_and_a_priority_list():
    from pathlib import Path
    example = load_project(Path(__file__).resolve().parents[2])
    for name in ("champions", "at_risk", "hibernating", "lifecycle__champions", "lifecycle__hibernating"):
        assert name in example.segments
    assert [x.name for x in example.segments["champions"].traits][:2] == ["lifetime_spend", "last_order_at"]
