"""YAML → language types, one row per operator and measure: what each leaf means, pinned before any
compiler or engine sees it (a parser that read `count: 3` as `gte` passed every engine test)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from segwarehouse.errors import SegwError
from segwarehouse.project.yamlfile import load_yaml
from segwarehouse.language import types as t
from segwarehouse.language.parse import Parser

C, D = t.Comparison, t.Duration


def P(column, op, value, ignore_case=False):  # noqa: N802 - reads like the type it builds
    return t.Property(column, C(op, value, ignore_case), loc=None)


def R(measure, window=None, where=None, relation="orders", event=None):  # noqa: N802
    return t.Related(relation if event is None else "", measure, where, window, event, loc=None)


def M(kind, op, value, of=None):  # noqa: N802
    return t.Measure(kind, C(op, value), of)


AT_LEAST_ONE = M("count", "gte", 1)

PROPERTIES = [
    ("{property: c, equals: 5}", P("c", "equals", 5)),
    ("{property: c, equals: gold}", P("c", "equals", "gold")),
    ("{property: c, equals: ''}", P("c", "equals", "")),
    ("{property: c, equals: false}", P("c", "equals", False)),
    ("{property: c, equals: 1.5}", P("c", "equals", Decimal("1.5"))),
    ("{property: c, equals: 2024-01-31}", P("c", "equals", dt.date(2024, 1, 31))),
    ("{property: c, equals: '2024-01-31T10:00:00+02:00'}", P("c", "equals", "2024-01-31T10:00:00+02:00")),
    ("{property: c, equals: 2024-01-31 10:00:00+02:00}", P("c", "equals", dt.datetime(2024, 1, 31, 8))),
    ("{property: c, equals: Gold, ignore_case: true}", P("c", "equals", "Gold", True)),
    ("{property: c, not_equals: 5}", P("c", "not_equals", 5)),
    ("{property: c, in: [a, 2]}", P("c", "in", ("a", 2))),
    ("{property: c, in: []}", P("c", "in", ())),
    ("{property: c, not_in: [a, b]}", P("c", "not_in", ("a", "b"))),
    ("{property: c, gt: 5}", P("c", "gt", 5)),
    ("{property: c, gte: '42'}", P("c", "gte", Decimal("42"))),
    ("{property: c, lt: 2024-01-31}", P("c", "lt", dt.date(2024, 1, 31))),
    ("{property: c, lte: '2024-01-31 08:00:00'}", P("c", "lte", dt.datetime(2024, 1, 31, 8))),
    ("{property: c, between: [1, 2.5]}", P("c", "between", (1, Decimal("2.5")))),
    ("{property: c, contains: ab}", P("c", "contains", "ab")),
    ("{property: c, not_contains: ab}", P("c", "not_contains", "ab")),
    ("{property: c, starts_with: ab}", P("c", "starts_with", "ab")),
    ("{property: c, ends_with: ab}", P("c", "ends_with", "ab")),
    ("{property: c, matches: '^a.c$'}", P("c", "matches", "^a.c$")),
    ("{property: c, is_set: true}", P("c", "is_set", True)),
    ("{property: c, is_set: false}", P("c", "is_set", False)),
    ("{property: c, after: 30 days ago}", P("c", "after", t.Ago(D(30, "day")))),
    ("{property: c, after: 2024-01-31}", P("c", "after", dt.date(2024, 1, 31))),
    ("{property: c, before: '2024-01-31 08:00:00'}", P("c", "before", dt.datetime(2024, 1, 31, 8))),
    ("{property: c, within_last: 30 days}", P("c", "within_last", D(30, "day"))),
    ("{property: c, not_within_last: 1 week}", P("c", "not_within_last", D(1, "week"))),
    ("{property: c, within_next: 12 hours}", P("c", "within_next", D(12, "hour"))),
    ("{property: c, anniversary_within: 7 days}", P("c", "anniversary_within", D(7, "day"))),
    ("{property: c, during: last_month}", P("c", "during", "last_month")),
    ("{property: c, bucket: 5, gte: 4}", t.Property("c", C("bucket", t.Bucket(5, C("gte", 4))), loc=None)),
    ("{property: c, bucket: 4, in: [1, 2]}", t.Property("c", C("bucket", t.Bucket(4, C("in", (1, 2)))), loc=None)),
]

MEASURES = [
    ("{related: orders}", R(AT_LEAST_ONE)),
    ("{related: orders, count: 0}", R(M("count", "equals", 0))),
    ("{related: orders, count: 3}", R(M("count", "equals", 3))),
    ("{related: orders, count: {gte: 2}}", R(M("count", "gte", 2))),
    ("{related: orders, count: {equals: 2}}", R(M("count", "equals", 2))),
    ("{related: orders, count: {lt: 2}}", R(M("count", "lt", 2))),
    ("{related: orders, count: {between: [1, 3]}}", R(M("count", "between", (1, 3)))),
    ("{related: orders, count: {bucket: 5, gte: 4}}", R(t.Measure("count", C("bucket", t.Bucket(5, C("gte", 4)))))),
    ("{related: orders, sum: {of: amount, gt: 100}}", R(M("sum", "gt", 100, "amount"))),
    ("{related: orders, avg: {of: amount, lte: 9.5}}", R(M("avg", "lte", Decimal("9.5"), "amount"))),
    ("{related: orders, min: {of: amount, gte: 1}}", R(M("min", "gte", 1, "amount"))),
    ("{related: orders, max: {of: placed, gte: 2024-01-01}}", R(M("max", "gte", dt.date(2024, 1, 1), "placed"))),
    ("{related: orders, count_distinct: {of: sku, gte: 3}}", R(M("count_distinct", "gte", 3, "sku"))),
    ("{related: orders, sum: {of: amount, bucket: 4, equals: 4}}",
     R(t.Measure("sum", C("bucket", t.Bucket(4, C("equals", 4))), "amount"))),
    ("{related: orders, first: {before: 90 days ago}}", R(M("first", "before", t.Ago(D(90, "day"))))),
    ("{related: orders, last: {within_last: 30 days}}", R(M("last", "within_last", D(30, "day")))),
    ("{related: orders, last: {not_within_last: 1 year}}", R(M("last", "not_within_last", D(1, "year")))),
    ("{related: orders, first: {equals: 2024-01-01}}", R(M("first", "equals", dt.date(2024, 1, 1)))),
    ("{related: orders, last: {gt: '30 days ago'}}", R(M("last", "gt", t.Ago(D(30, "day"))))),
    ("{related: orders, last: {during: this_year}}", R(M("last", "during", "this_year"))),
    ("{related: orders, first: {between: [2024-01-01, 30 days ago]}}",
     R(M("first", "between", (dt.date(2024, 1, 1), t.Ago(D(30, "day")))))),
    ("{related: orders, last: {bucket: 3, lte: 1}}", R(t.Measure("last", C("bucket", t.Bucket(3, C("lte", 1)))))),
]

WINDOWS = [
    ("{related: orders, within_last: 3 months}", R(AT_LEAST_ONE, C("within_last", D(3, "month")))),
    ("{related: orders, after: 2024-01-01, count: 0}", R(M("count", "equals", 0), C("after", dt.date(2024, 1, 1)))),
    ("{related: orders, before: 7 days ago}", R(AT_LEAST_ONE, C("before", t.Ago(D(7, "day"))))),
    ("{related: orders, between: [2024-01-01, '2024-02-01 12:00:00']}",
     R(AT_LEAST_ONE, C("between", (dt.date(2024, 1, 1), dt.datetime(2024, 2, 1, 12))))),
    ("{related: orders, during: last_week, count: {gte: 2}}", R(M("count", "gte", 2), C("during", "last_week"))),
    ("{event: email_open}", R(AT_LEAST_ONE, event="email_open")),
    ("{event: email_open, within_last: 1 day, count: 0}",
     R(M("count", "equals", 0), C("within_last", D(1, "day")), event="email_open")),
    ("{related: orders, where: {property: status, equals: paid}, count: {gte: 2}}",
     R(M("count", "gte", 2), where=P("status", "equals", "paid"))),
]

OTHERS = [
    ("{in_segment: vips}", t.InSegment("vips", loc=None)),
    ("{in_list: newsletter}", t.InList("newsletter", loc=None)),
    ("{sql: 'score > 3'}", t.Sql("score > 3", loc=None)),
    ("{near: {lat: 47.4, lon: 8.5, within_km: 10}}", t.Near(47.4, 8.5, 10.0, loc=None)),
    ("{all: [{in_list: a}, {in_list: b}]}", t.All((t.InList("a", loc=None), t.InList("b", loc=None)), loc=None)),
    ("[{in_list: a}]", t.All((t.InList("a", loc=None),), loc=None)),
    ("{any: []}", t.Any((), loc=None)),
    ("{none: [{in_list: a}]}", t.NoneOf((t.InList("a", loc=None),), loc=None)),
    ("{not: {in_list: a}}", t.Not(t.InList("a", loc=None), loc=None)),
    ("{not: [{in_list: a}, {in_list: b}]}",
     t.Not(t.All((t.InList("a", loc=None), t.InList("b", loc=None)), loc=None), loc=None)),
]

TABLE = PROPERTIES + MEASURES + WINDOWS + OTHERS


@pytest.fixture(scope="module")
def parse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conditions")

    def parse(text: str) -> t.Condition:
        path = folder / "condition.yml"
        path.write_text(f"rules: {text}\n")
        doc = load_yaml(path, "condition.yml")
        return Parser(doc).condition(doc.data["rules"], doc.data, "rules")
    return parse


@pytest.mark.parametrize("text, expected", TABLE, ids=[text for text, _ in TABLE])
def test_yaml_parses_into_the_language_type(parse, text, expected):
    got = parse(text)
    assert got == expected
    _same_types(got, expected)  # `==` alone lets True pass for 1 and 5.0 for 5
    assert got.loc is not None and got.loc.line == 1  # every condition knows its line


def _same_types(got, expected) -> None:
    """Exact types all the way down: 5 is an int, 1.5 a Decimal, a day a date and not a datetime."""
    assert isinstance(got, type(expected)), (got, expected)  # ruamel's TimeStamp is a datetime
    assert isinstance(got, bool) == isinstance(expected, bool), (got, expected)
    assert isinstance(got, dt.datetime) == isinstance(expected, dt.datetime), (got, expected)
    if dataclasses.is_dataclass(got):
        for f in dataclasses.fields(got):
            if f.compare:
                _same_types(getattr(got, f.name), getattr(expected, f.name))
    elif isinstance(got, tuple):
        for a, b in zip(got, expected):
            _same_types(a, b)


def test_every_operator_and_measure_has_a_row():
    """A new operator, measure or window must get a row here (and so a meaning) before it ships."""
    assert {row.test.op for _, row in PROPERTIES} == set(t.PROPERTY_OPS)
    assert {row.measure.kind for _, row in MEASURES} == set(t.MEASURES + t.TIME_MEASURES)
    assert {row.window.op for _, row in WINDOWS if row.window is not None} == set(t.WINDOW_OPS)
    compared = {row.measure.test.op for _, row in MEASURES if row.measure.kind in t.MEASURES}
    assert compared >= set(t.MEASURE_COMPARISONS)


@pytest.mark.parametrize("text", ["1", "0", "7"])
def test_count_n_means_exactly_n(parse, text):
    """`count: N` is equality: `count: 0` is 'never', `count: 3` is not 'at least 3'."""
    got = parse(f"{{related: orders, count: {text}}}")
    assert got.measure == t.Measure("count", C("equals", int(text)))


@pytest.mark.parametrize("text, message", [
    ("{related: orders, count: -1}", "`count` cannot be negative"),
    ("{related: orders, count: {gte: x}}", "compares with a number"),
    ("{related: orders, count: true}", "must be a mapping"),
    ("{property: c, equals: null}", "needs a value"),
    ("{property: c, gt: [1]}", "compares with a number, date or timestamp"),
    ("{property: c, is_set: yes please}", "`is_set` takes true or false"),
    ("{property: c, within_last: 0 days}", "invalid duration"),
    ("{property: c, equals: 1, gt: 0}", "several operators"),
    ("{property: c, bucket: 1, gte: 1}", "`bucket` takes a whole number"),
    ("{property: c, bucket: 5, gte: 6}", "bucket number from 1 to 5"),
    ("{property: c, contains: x, ignore_case: true, ends_with: y}", "several operators"),
    ("{property: c, gte: 1, ignore_case: true}", "`ignore_case` does not apply"),
    ("{related: orders, count: 1, sum: {of: a, gt: 1}}", "one measure"),
    ("{related: orders, within_last: 1 day, after: 2024-01-01}", "one time window"),
])
def test_what_does_not_parse_is_refused_at_its_line(parse, text, message):
    with pytest.raises(SegwError) as info:
        parse(text)
    assert message in str(info.value)
    assert info.value.location is not None and info.value.location.line == 1
