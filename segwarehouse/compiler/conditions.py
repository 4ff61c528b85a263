"""One pure function per condition kind: a condition becomes a two-valued sqlglot boolean."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from ..errors import SegwError
from ..project.jinja import render
from ..project.loader import Project, relation_for
from ..spec import types as t
from .dialects import CaseSensitive
from .timeexpr import Clock, anniversary_codes, as_timestamp, timestamp_literal

EARTH_RADIUS_KM = 6371.0088
FORBIDDEN_IN_SQL = (exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop,
                    exp.Alter, exp.Command, exp.Transaction, exp.Commit, exp.Rollback, exp.Use,
                    exp.Set, exp.Pragma, exp.Copy, exp.TruncateTable, exp.Grant)


@dataclass
class Scope:
    """What compiling one segment query needs: the project, the clock and fresh aliases."""
    project: Project
    clock: Clock
    sql_dialect: str  # dialect `sql:` conditions are written in
    segment: t.Segment | None = None
    counter: list = field(default_factory=lambda: [0])

    def alias(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}{self.counter[0]}"


@dataclass
class Frame:
    """One FROM level: the entity row's alias and the LEFT JOINs of aggregates it needs."""
    scope: Scope
    entity: t.Entity
    alias: str
    joins: list[exp.Join] = field(default_factory=list)

    def column(self, name: str) -> exp.Column:
        return exp.column(name, table=self.alias, quoted=True)


def two_valued(expression: exp.Expression) -> exp.Expression:
    """NULL never leaks out of a leaf: unknown is false."""
    return exp.Coalesce(this=exp.paren(expression, copy=False), expressions=[exp.false()])


def literal(value) -> exp.Expression:
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, (dt.date, dt.datetime)):
        return timestamp_literal(value)
    if isinstance(value, (int, Decimal)):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        return exp.Literal.number(repr(value))
    return exp.Literal.string(str(value))


def is_time(value) -> bool:
    return isinstance(value, (dt.date, dt.datetime, t.Ago))


# -- comparisons (shared by property leaves, measures and first/last) -----------------------
def test(column: exp.Expression, comparison: t.Comparison, scope: Scope) -> exp.Expression:
    """`column OP value` as a two-valued boolean; negated operators are exact complements."""
    if comparison.op in t.NEGATED_OPS:
        positive = replace(comparison, op=t.NEGATED_OPS[comparison.op])
        return exp.not_(test(column, positive, scope))
    if comparison.op == "is_set":
        present = exp.and_(exp.not_(exp.Is(this=column.copy(), expression=exp.null())),
                           exp.NEQ(this=exp.cast(column.copy(), "TEXT"), expression=exp.Literal.string("")))
        return two_valued(present) if comparison.value else exp.not_(two_valued(present))
    return two_valued(positive_test(column, comparison, scope))


def text_operands(column: exp.Expression, value: str, ignore_case: bool):
    if ignore_case:
        return exp.Lower(this=column), exp.Lower(this=exp.Literal.string(value))
    return CaseSensitive(this=column), exp.Literal.string(value)


def positive_test(column: exp.Expression, c: t.Comparison, scope: Scope) -> exp.Expression:
    op, value = c.op, c.value
    clock = scope.clock
    if op == "equals":
        if isinstance(value, str):
            left, right = text_operands(column, value, c.ignore_case)
            return exp.EQ(this=left, expression=right)
        return exp.EQ(this=as_timestamp(column) if is_time(value) else column, expression=literal(value))
    if op == "in":
        if not value:
            return exp.false()
        if all(isinstance(v, str) for v in value):
            left, _ = text_operands(column, "", c.ignore_case)
            items = [text_operands(column, v, c.ignore_case)[1] for v in value]
            return exp.In(this=left, expressions=items)
        if any(is_time(v) for v in value):
            column = as_timestamp(column)
        return exp.In(this=column, expressions=[literal(v) for v in value])
    if op in t.ORDER_OPS:
        node = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
        return node(this=as_timestamp(column) if is_time(value) else column, expression=literal(value))
    if op == "between":
        low, high = value
        if is_time(low) or is_time(high):
            column = as_timestamp(column)
            low_sql, high_sql = clock.point(_as_point(low)), clock.point(_as_point(high))
        else:
            low_sql, high_sql = literal(low), literal(high)
        return exp.and_(exp.GTE(this=column, expression=low_sql),
                        exp.LTE(this=column.copy(), expression=high_sql))
    if op == "contains":
        left, right = text_operands(column, value, c.ignore_case)
        return exp.GT(this=exp.StrPosition(this=left, substr=right), expression=exp.Literal.number(0))
    if op in ("starts_with", "ends_with"):
        left, right = text_operands(column, value, c.ignore_case)
        node = exp.Left if op == "starts_with" else exp.Right
        return exp.EQ(this=node(this=left, expression=exp.Literal.number(len(value))), expression=right)
    if op == "matches":
        left = exp.Lower(this=column) if c.ignore_case else CaseSensitive(this=column)
        pattern = exp.Lower(this=exp.Literal.string(value)) if c.ignore_case else exp.Literal.string(value)
        return exp.RegexpLike(this=left, expression=pattern)
    time = as_timestamp(column)
    if op == "after":
        return exp.GT(this=time, expression=clock.point(value))
    if op == "before":
        return exp.LT(this=time, expression=clock.point(value))
    if op == "within_last":
        return exp.and_(exp.GT(this=time, expression=clock.shift(value, -1)),
                        exp.LTE(this=time.copy(), expression=clock.now()))
    if op == "within_next":
        return exp.and_(exp.GT(this=time, expression=clock.now()),
                        exp.LTE(this=time.copy(), expression=clock.shift(value, +1)))
    if op == "anniversary_within":
        if clock.live:
            raise SegwError("`anniversary_within` cannot be used in a `view` segment",
                            scope.segment.loc if scope.segment else None,
                            "make the segment `materialized: table` or `incremental`")
        codes = anniversary_codes(clock.as_of, value)
        if not codes:
            raise SegwError(f"`anniversary_within: {value}` covers less than a day",
                            hint="use a duration of at least 1 day")
        code = exp.Add(this=exp.Mul(this=exp.Extract(this=exp.var("MONTH"), expression=time),
                                    expression=exp.Literal.number(100)),
                       expression=exp.Extract(this=exp.var("DAY"), expression=time.copy()))
        return exp.In(this=code, expressions=[exp.Literal.number(c) for c in codes])
    raise AssertionError(op)


def _as_point(value):
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


# -- leaves and groups ---------------------------------------------------------------------
def compile_condition(node: t.Condition, frame: Frame) -> exp.Expression:
    if isinstance(node, t.All):
        return _connect(exp.and_, [compile_condition(c, frame) for c in node.children], exp.true())
    if isinstance(node, t.Any):
        return _connect(exp.or_, [compile_condition(c, frame) for c in node.children], exp.false())
    if isinstance(node, t.NoneOf):
        inner = _connect(exp.or_, [compile_condition(c, frame) for c in node.children], exp.false())
        return exp.not_(inner)
    if isinstance(node, t.Not):
        return exp.not_(compile_condition(node.child, frame))
    handler = LEAVES[type(node)]
    return handler(node, frame)


def _connect(join, parts: list[exp.Expression], empty: exp.Expression) -> exp.Expression:
    if not parts:
        return empty
    return exp.paren(join(*parts), copy=False) if len(parts) > 1 else parts[0]


def property_leaf(node: t.Property, frame: Frame) -> exp.Expression:
    return test(frame.column(node.column), node.test, frame.scope)


def related_leaf(node: t.Related, frame: Frame) -> exp.Expression:
    scope = frame.scope
    relation = relation_for(frame.entity, node)
    schema, name = scope.project.relation_of(relation.model)
    row = scope.alias("r")
    row_frame = Frame(scope, frame.entity, row)
    filters: list[exp.Expression] = [exp.not_(exp.Is(this=row_frame.column(relation.foreign_key),
                                                      expression=exp.null()))]
    if relation.time:
        time = as_timestamp(row_frame.column(relation.time))
        not_future = exp.LTE(this=time, expression=scope.clock.now())
        if node.window is None:
            not_future = exp.or_(exp.Is(this=row_frame.column(relation.time), expression=exp.null()),
                                 not_future)
        filters.append(exp.paren(not_future, copy=False))
        if node.window is not None:
            filters.append(test(row_frame.column(relation.time), node.window, scope))
    if node.event is not None:
        filters.append(test(row_frame.column(relation.event_name),
                            t.Comparison("equals", node.event), scope))
    if node.where is not None:
        filters.append(compile_condition(node.where, row_frame))
    measure = node.measure
    of = row_frame.column(measure.of) if measure.of else None
    aggregate = {
        "count": lambda: exp.Count(this=exp.Star()),
        "sum": lambda: exp.Sum(this=of),
        "avg": lambda: exp.Avg(this=of),
        "min": lambda: exp.Min(this=of),
        "max": lambda: exp.Max(this=of),
        "count_distinct": lambda: exp.Count(this=exp.Distinct(expressions=[of])),
        "first": lambda: exp.Min(this=as_timestamp(row_frame.column(relation.time))),
        "last": lambda: exp.Max(this=as_timestamp(row_frame.column(relation.time))),
    }[measure.kind]()
    derived = scope.alias("m")
    subquery = (exp.select(exp.alias_(row_frame.column(relation.foreign_key), "k", quoted=True),
                           exp.alias_(aggregate, "v", quoted=True))
                .from_(exp.alias_(exp.table_(name, db=schema, quoted=True), row, table=True, quoted=True))
                .where(exp.and_(*filters))
                .group_by(row_frame.column(relation.foreign_key)))
    frame.joins.append(exp.Join(
        this=subquery.subquery(exp.to_identifier(derived, quoted=True)), side="LEFT",
        on=exp.EQ(this=exp.column("k", table=derived, quoted=True),
                  expression=frame.column(frame.entity.key))))
    value: exp.Expression = exp.column("v", table=derived, quoted=True)
    if measure.kind in ("count", "sum", "count_distinct"):
        value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
    return test(value, measure.test, scope)


def in_segment_leaf(node: t.InSegment, frame: Frame) -> exp.Expression:
    from .segment import member_keys  # a segment's members are another segment query

    other = frame.scope.project.segments[node.segment]
    return _member_join(frame, member_keys(other, frame.scope), frame.column(frame.entity.key))


def in_list_leaf(node: t.InList, frame: Frame) -> exp.Expression:
    project = frame.scope.project
    item = project.lists[node.list_name]
    if item.source.endswith(".csv"):
        schema, name = project.relation_of(Path(item.source).stem)
        column = item.key_column or _seed_key_column(project, Path(item.source).stem, frame.entity.key)
    else:
        schema, name = project.relation_of(item.source)
        column = item.key_column or frame.entity.key
    row = frame.scope.alias("l")
    list_column = exp.column(column, table=row, quoted=True)
    keys = (exp.select(exp.cast(list_column, "TEXT"))
            .from_(exp.alias_(exp.table_(name, db=schema, quoted=True), row, table=True, quoted=True))
            .where(exp.not_(exp.Is(this=list_column.copy(), expression=exp.null()))))
    return _member_join(frame, keys, exp.cast(frame.column(frame.entity.key), "TEXT"))


def _member_join(frame: Frame, keys: exp.Select, key: exp.Expression) -> exp.Expression:
    """LEFT JOIN the distinct member keys once (not a subquery per row) and test for a match."""
    alias = frame.scope.alias("k")
    first = keys.selects[0]
    keys.set("expressions", [exp.alias_(first.unalias() if isinstance(first, exp.Alias) else first,
                                        "k", quoted=True)])
    keys.set("distinct", exp.Distinct())
    matched = exp.column("k", table=alias, quoted=True)
    frame.joins.append(exp.Join(this=keys.subquery(exp.to_identifier(alias, quoted=True)), side="LEFT",
                                on=exp.EQ(this=matched.copy(), expression=key)))
    return exp.not_(exp.Is(this=matched, expression=exp.null()))


def _seed_key_column(project: Project, seed: str, key: str) -> str:
    from ..project.models import read_seed

    columns = read_seed(project.models[seed]).columns
    return key if key in columns else columns[0]


def near_leaf(node: t.Near, frame: Frame) -> exp.Expression:
    radians = math.pi / 180

    def rad(value: exp.Expression) -> exp.Expression:
        return exp.Mul(this=value, expression=exp.Literal.number(repr(radians)))

    def num(value: float) -> exp.Expression:
        return exp.Literal.number(repr(value))

    lat, lon = frame.column(node.lat_column), frame.column(node.lon_column)
    half_dlat = exp.Div(this=rad(exp.paren(exp.Sub(this=lat, expression=num(node.lat)))),
                        expression=exp.Literal.number(2))
    half_dlon = exp.Div(this=rad(exp.paren(exp.Sub(this=lon, expression=num(node.lon)))),
                        expression=exp.Literal.number(2))
    sin = lambda x: exp.Anonymous(this="SIN", expressions=[x])  # noqa: E731
    cos = lambda x: exp.Anonymous(this="COS", expressions=[x])  # noqa: E731
    square = lambda x: exp.Mul(this=x, expression=x.copy())  # noqa: E731
    haversine = exp.Add(
        this=square(sin(half_dlat)),
        expression=exp.Mul(this=exp.Mul(this=cos(num(node.lat * radians)), expression=cos(rad(lat.copy()))),
                           expression=square(sin(half_dlon))))
    clamped = exp.Least(this=exp.Literal.number("1.0"), expressions=[haversine])
    distance = exp.Mul(this=exp.Literal.number(repr(2 * EARTH_RADIUS_KM)),
                       expression=exp.Anonymous(this="ASIN", expressions=[exp.Sqrt(this=clamped)]))
    return two_valued(exp.LTE(this=distance, expression=num(node.within_km)))


def sql_leaf(node: t.Sql, frame: Frame) -> exp.Expression:
    scope = frame.scope
    text = render(scope.project.jinja(), node.text, node.loc)
    parsed = parse_sql_condition(text, scope.sql_dialect, node)
    for column in parsed.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier(frame.alias, quoted=True))
        elif column.table != frame.alias:
            raise SegwError(f"`sql:` condition refers to '{column.table}.{column.name}'", node.loc,
                            "refer to the entity's columns by their bare names")
    return two_valued(parsed)


def parse_sql_condition(text: str, dialect: str, node: t.Sql) -> exp.Expression:
    """Parse a `sql:` condition and check it is exactly one boolean expression, no statement."""
    try:
        parsed = [p for p in sqlglot.parse(text, read=dialect) if p is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise SegwError(f"`sql:` condition does not parse: {err.get('description', str(exc))}",
                        node.loc, "write one boolean expression over the entity's columns") from None
    except Exception as exc:  # sqlglot tokenizer faults are not ParseErrors
        raise SegwError(f"`sql:` condition does not parse: {exc}", node.loc,
                        "write one boolean expression over the entity's columns") from None
    if len(parsed) != 1:
        raise SegwError(f"`sql:` condition must be exactly one expression, found {len(parsed)}",
                        node.loc, "remove the ';' and everything after it")
    expression = parsed[0]
    bad = next((n for n in expression.walk() if isinstance(n, FORBIDDEN_IN_SQL)), None)
    if bad is not None or not isinstance(expression, exp.Condition):
        what = type(bad or expression).__name__.upper()
        raise SegwError(f"`sql:` condition must be a boolean expression, not {what}", node.loc,
                        "write e.g. `lifetime_value > 100`; subqueries and statements are not allowed "
                        "(use a related condition or a model)")
    for sub in expression.walk():
        sub.comments = None
    return expression


LEAVES = {
    t.Property: property_leaf,
    t.Related: related_leaf,
    t.InSegment: in_segment_leaf,
    t.InList: in_list_leaf,
    t.Near: near_leaf,
    t.Sql: sql_leaf,
}
