"""One pure function per condition kind: a condition becomes a two-valued sqlglot predicate."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from ..errors import SegwError
from ..language import types as t
from ..language.types import relation_for
from .dialects import CaseSensitive, FilteredAgg, TimeColumn, many_groups
from .timeexpr import TWIN, Clock, as_timestamp, at_twin, timestamp_literal

if TYPE_CHECKING:
    from ..project.loader import Project

EARTH_RADIUS_KM = 6371.0088
TEXT = exp.DataType.build("TEXT")  # built once: DataType.build parses its argument
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
    keys: tuple[str, str] | None = None  # (schema, table) of keys to evaluate, column `k`; None: all
    tables: dict[str, tuple[str, str]] | None = None  # model -> (schema, table) to read instead
    features: "Features | None" = None  # a run's relation passes shared by its segments (features.py)

    def relation_of(self, model: str) -> tuple[str, str]:
        """Where a model's rows are read: the model, or a narrowed copy an incremental run made."""
        return (self.tables or {}).get(model) or self.project.relation_of(model)

    def entity_relation(self, entity: t.Entity, alias: str) -> tuple[str, str]:
        """Where a frame (named `alias`) reads the entity's rows: its model, or the run's wide table."""
        found = self.features.entity_table(self, entity, alias) if self.features is not None else None
        return found or self.relation_of(entity.model)

    def only_keys(self, key: exp.Expression) -> list[exp.Expression]:
        """`key IN (the keys to evaluate)` when an incremental run evaluates only some keys."""
        if self.keys is None:
            return []
        keys = exp.select(exp.column("k", quoted=True)).from_(
            exp.table_(self.keys[1], db=self.keys[0], quoted=True))
        return [exp.In(this=key, query=keys.subquery(copy=False))]

    def alias(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}{self.counter[0]}"


@dataclass
class RelationPass:
    """One grouped scan of a related relation computing every measure a segment query needs,
    each as a conditional aggregate; joined once to the entity row."""
    scope: Scope
    relation: t.RelationSpec
    row: str  # alias of the relation's rows
    derived: str  # alias of the grouped result
    measures: dict[str, tuple[str, exp.Expression, exp.Expression | None, bool]] = field(default_factory=dict)
    condition_sql: dict[str, str] = field(default_factory=dict)  # output column -> its condition as SQL
    twin_keys: dict[str, str] = field(default_factory=dict)  # a measure's key at the clock's twin -> its key
    twin_condition_sql: dict[str, str] = field(default_factory=dict)  # condition_sql at the twin
    frozen: bool = False  # its rows are materialized: every measure was planned, none may be added
    wide: bool = False  # its measures are columns of the entity's wide table (features.py), not a join

    def column(self, name: str) -> exp.Column:
        return exp.column(name, table=self.row, quoted=True)

    def measure(self, aggregate: exp.Expression, condition: exp.Expression | None, windowed: bool,
                plain: bool = False) -> exp.Column:
        """The output column of `aggregate` over the rows where `condition` holds (None: all rows);
        the same measure asked for twice is computed once. `plain`: the condition holds only nodes
        the compiler made (no parsed `sql:`), which sqlglot writes without rewriting them, so
        they need no copy to be written (a parsed `a / b` may be rewritten in place)."""
        condition_sql = condition.sql(copy=not plain) if condition is not None else ""
        aggregate_sql = aggregate.sql(copy=False)  # aggregates are ours: never rewritten
        key = aggregate_sql + " | " + condition_sql
        clock = self.scope.clock
        if clock.twin is not None and clock.twin_same:
            # the measures found equal must be the same at the twin (1 month ago may be 30 days ago)
            twin_sql = _twin_sql(condition, plain, condition_sql) if condition is not None else ""
            twin_key = aggregate_sql + " | " + twin_sql
            if self.twin_keys.get(twin_key, key) != key or (key in self.measures) != (twin_key in self.twin_keys):
                clock.twin_same = False
            elif key not in self.measures:
                self.twin_keys[twin_key] = key
                self.twin_condition_sql[f"v{len(self.measures) + 1}"] = twin_sql
        if key not in self.measures:
            if self.frozen:  # planned and materialized: a new measure would be a planning bug
                raise AssertionError(f"measure {key!r} was not planned for the shared pass of "
                                     f"'{self.relation.name}'")
            self.measures[key] = (f"v{len(self.measures) + 1}", aggregate, condition, windowed)
            self.condition_sql[self.measures[key][0]] = condition_sql
        return exp.column(self.measures[key][0], table=self.derived, quoted=True)

    def join(self, frame: "Frame") -> exp.Join:
        on = exp.EQ(this=exp.column("k", table=self.derived, quoted=True), expression=frame.column(frame.entity.key))
        rows = self.grouped().subquery(exp.to_identifier(self.derived, quoted=True), copy=False)
        return exp.Join(this=rows, side="LEFT", on=on)

    def wide_column(self, measure: str) -> str:
        """The name of a measure's column in the entity's wide table."""
        return f"_segw_{self.derived}_{measure}"

    def grouped(self) -> exp.Select:
        """The grouped scan: `k` (the foreign key) and one column per measure."""
        relation, clock = self.relation, self.scope.clock
        measures = list(self.measures.values())
        schema, name = self.scope.relation_of(relation.model)
        fk = self.column(relation.foreign_key)
        filters: list[exp.Expression] = [exp.not_(exp.Is(this=fk.copy(), expression=exp.null()), copy=False),
                                         *self.scope.only_keys(fk.copy())]
        # Rows later than as_of never count; rows without a time count only without a window.
        up_to_now = (exp.LTE(this=TimeColumn(this=self.column(relation.time)), expression=clock.now())
                     if relation.time else None)
        if up_to_now is not None:
            not_future = up_to_now.copy()
            if not all(windowed for *_, windowed in measures):
                not_future = exp.paren(exp.or_(exp.Is(this=self.column(relation.time), expression=exp.null()),
                                               not_future, copy=False), copy=False)
            filters.append(not_future)
        conditions = [condition for _, _, condition, _ in measures]
        if all(c is not None for c in conditions):  # read only the rows some measure needs
            unique = list({self.condition_sql[alias]: c for alias, _, c, _ in measures}.values())
            if clock.twin is not None and clock.twin_same:  # the same conditions equal at the twin
                pairs = {(self.condition_sql[alias], self.twin_condition_sql.get(alias)) for alias, *_ in measures}
                clock.twin_same = len(pairs) == len(unique) == len({twin for _, twin in pairs})
            filters.append(exp.paren(exp.or_(*[c.copy() for c in unique], copy=False), copy=False) if len(unique) > 1
                           else unique[0].copy())
        outputs = [exp.alias_(fk.copy(), "k", quoted=True, copy=False)]
        for alias, aggregate, condition, _ in measures:
            if condition is not None and len(measures) > 1:
                aggregate = FilteredAgg(this=aggregate.copy(),
                                        expression=_without_bound(condition, up_to_now, clock))
            else:
                aggregate = aggregate.copy()
            outputs.append(exp.alias_(aggregate, alias, quoted=True, copy=False))
        return many_groups(exp.select(*outputs)
                           .from_(exp.alias_(exp.table_(name, db=schema, quoted=True), self.row, table=True,
                                             quoted=True, copy=False), copy=False)
                           .where(exp.and_(*filters, copy=False), copy=False)
                           .group_by(fk.copy(), copy=False))


def _twin_sql(condition: exp.Expression, plain: bool, condition_sql: str) -> str:
    """condition.sql() (`condition_sql`) of a condition built with a twin clock, at the twin."""
    back = at_twin(condition)
    if back is None:
        return condition_sql
    try:
        return condition.sql(copy=not plain)
    finally:
        back()


def _without_bound(condition: exp.Expression, bound: exp.Expression | None, clock: Clock) -> exp.Expression:
    """A measure's condition without its `time <= as_of` conjunct, which the pass's WHERE already
    applies to every row, when another comparison of the same time column in it rejects the rows
    without a time (as the dropped one did). One comparison less per row and measure."""
    if bound is None:
        return condition.copy()
    parts: list[exp.Expression] = []

    def flatten(node: exp.Expression) -> None:
        if isinstance(node, exp.Paren) and isinstance(node.this, exp.And):
            flatten(node.this)
        elif isinstance(node, exp.And):
            flatten(node.this)
            flatten(node.expression)
        else:
            parts.append(node)
    flatten(condition)
    rest = [part for part in parts if part != bound]  # sqlglot compares expressions by structure
    if clock.twin is not None and clock.twin_same:  # the same parts are the bound at the twin
        backs = [at_twin(part) for part in parts] + [at_twin(bound)]
        clock.twin_same = [part for part in parts if part != bound] == rest
        for back in reversed(backs):
            if back is not None:
                back()
    rejects_null = any(isinstance(part, (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.EQ)) and part.this == bound.this
                       for part in rest)
    if len(rest) == len(parts) or not rest or not rejects_null:
        return condition.copy()
    return exp.and_(*[part.copy() for part in rest], copy=False)


@dataclass
class BucketPass:
    """[1.1] Quantile buckets: one scan of every entity row (with its own relation passes) ranking
    each bucketed value among the rows where it is not NULL; joined once to the entity row.

    For a value v it yields r = RANK() over the non-NULL values (1 + the number of rows with a
    strictly smaller v; NULL where v is NULL) and c = the number of non-NULL values. Exact on every
    engine: ranks and counts are integers, and the comparisons never divide (see bucket_leaf)."""
    inner: "Frame"  # the entity's rows, all of them
    alias: str
    values: dict[str, tuple[int, exp.Expression]] = field(default_factory=dict)

    def rank(self, value: exp.Expression) -> tuple[exp.Column, exp.Column]:
        key = value.sql(copy=False)  # a column, or COALESCE of one: never rewritten
        if key not in self.values:
            self.values[key] = (len(self.values) + 1, value)
        number = self.values[key][0]
        return (exp.column(f"r{number}", table=self.alias, quoted=True),
                exp.column(f"c{number}", table=self.alias, quoted=True))

    def join(self, frame: "Frame") -> exp.Join:
        inner, entity = self.inner, self.inner.entity
        key = inner.column(entity.key)
        outputs = [exp.alias_(key.copy(), "k", quoted=True, copy=False)]
        for number, value in self.values.values():
            order = exp.Order(expressions=[exp.Ordered(this=value.copy())])
            if isinstance(value, exp.Coalesce):  # count, sum, count_distinct: never NULL
                rank: exp.Expression = exp.Window(this=exp.Rank(), order=order)
                count = exp.Window(this=exp.Count(this=exp.Star()))
            else:
                # NULLs sort last whatever the engine's default, so the non-NULL values rank among
                # themselves; NULL has no rank. (Not PARTITION BY: MariaDB 10.11 mixes up RANK()
                # over a partition with other windows and OVER () in one SELECT.)
                is_null = exp.Is(this=value.copy(), expression=exp.null())
                nulls_last = exp.Ordered(this=exp.Case().when(is_null.copy(), exp.Literal.number(1))
                                         .else_(exp.Literal.number(0)))
                order = exp.Order(expressions=[nulls_last, exp.Ordered(this=value.copy())])
                rank = exp.Case().when(is_null, exp.null()).else_(exp.Window(this=exp.Rank(), order=order))
                count = exp.Window(this=exp.Count(this=value.copy()))
            outputs.append(exp.alias_(rank, f"r{number}", quoted=True, copy=False))
            outputs.append(exp.alias_(count, f"c{number}", quoted=True, copy=False))
        schema, name = inner.scope.entity_relation(entity, inner.alias)
        query = exp.select(*outputs).from_(
            exp.alias_(exp.table_(name, db=schema, quoted=True), inner.alias, table=True, quoted=True, copy=False),
            copy=False)
        for join in inner.all_joins():
            query = query.join(join, copy=False)
        query = query.where(exp.not_(exp.Is(this=key.copy(), expression=exp.null()), copy=False), copy=False)
        return exp.Join(this=query.subquery(exp.to_identifier(self.alias, quoted=True), copy=False), side="LEFT",
                        on=exp.EQ(this=exp.column("k", table=self.alias, quoted=True),
                                  expression=frame.column(entity.key)))


@dataclass
class Frame:
    """One FROM level: the entity row's alias, one pass per related relation, one join per list,
    and at most one bucket pass."""
    scope: Scope
    entity: t.Entity
    alias: str
    passes: dict[str, RelationPass] = field(default_factory=dict)
    lists: dict[str, exp.Column] = field(default_factory=dict)
    joins: list[exp.Join] = field(default_factory=list)
    buckets: BucketPass | None = None

    def column(self, name: str) -> exp.Column:
        return exp.column(name, table=self.alias, quoted=True)

    def relation_pass(self, relation: t.RelationSpec) -> RelationPass:
        if relation.name not in self.passes and self.scope.features is not None:
            shared = self.scope.features.relation_pass(self.scope, self.entity, relation)
            if shared is not None:
                self.passes[relation.name] = shared
        if relation.name not in self.passes:
            self.passes[relation.name] = RelationPass(self.scope, relation, self.scope.alias("r"),
                                                      self.scope.alias("m"))
        return self.passes[relation.name]

    def bucket_pass(self) -> BucketPass:
        if self.buckets is None:
            self.buckets = BucketPass(Frame(self.scope, self.entity, self.scope.alias("b")), self.scope.alias("q"))
        return self.buckets

    def all_joins(self) -> list[exp.Join]:
        """The list joins, then one grouped pass per related relation, then the bucket pass."""
        joins = self.joins + [p.join(self) for p in self.passes.values() if not p.wide]
        return joins + ([self.buckets.join(self)] if self.buckets is not None else [])


def two_valued(expression: exp.Expression) -> exp.Expression:
    """NULL never leaks out of a leaf: unknown is false."""
    return exp.Coalesce(this=exp.paren(expression, copy=False), expressions=[exp.false()])


def outcome(positive: exp.Expression, nullable: list[exp.Expression] | None, negated: bool) -> exp.Expression:
    """A leaf as a predicate that is TRUE exactly when the leaf (or, negated, its complement) holds,
    and FALSE or NULL otherwise: enough for WHERE, FILTER and CASE WHEN, which only keep TRUE.

    `positive` is NULL only when one of `nullable` is NULL ([]: never NULL; None: for any reason),
    so the complement needs COALESCE only when that is unknown."""
    if not negated:
        return positive
    if nullable is None:
        return exp.not_(two_valued(positive), copy=False)
    complement = exp.not_(positive, copy=False)
    if not nullable:
        return complement
    return exp.paren(exp.or_(*[exp.Is(this=n.copy(), expression=exp.null()) for n in nullable], complement,
                             copy=False),
                     copy=False)


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


def next_day(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day) + dt.timedelta(days=1)


def day_range(column: exp.Expression, day: dt.date) -> exp.Expression:
    """[day, day + 1): the whole UTC day against a timestamp, and exactly `= day` against a DATE
    (a DATE is midnight, so it is in the range only when it is that day)."""
    return exp.and_(exp.GTE(this=column.copy(), expression=timestamp_literal(day)),
                    exp.LT(this=column.copy(), expression=timestamp_literal(next_day(day))), copy=False)


def time_order(op: str, column: exp.Expression, value, clock: Clock) -> exp.Expression:
    """column gt/gte/lt/lte/after/before a time. A day literal d (no time) is day-granular
    [1.1]: gt/after d is >= d+1, lte d is < d+1, gte d is >= d, lt/before d is < d. Each bound is
    also exact for a DATE column (whole days: v > d <=> v >= d+1, v <= d <=> v < d+1)."""
    if t.is_day(value):
        if op in ("gt", "after"):
            return exp.GTE(this=column, expression=timestamp_literal(next_day(value)))
        if op == "lte":
            return exp.LT(this=column, expression=timestamp_literal(next_day(value)))
        if op == "gte":
            return exp.GTE(this=column, expression=timestamp_literal(value))
        return exp.LT(this=column, expression=timestamp_literal(value))  # lt, before
    node = {"gt": exp.GT, "after": exp.GT, "gte": exp.GTE, "lt": exp.LT, "before": exp.LT,
            "lte": exp.LTE}[op]
    return node(this=column, expression=clock.point(value))


# -- comparisons (shared by property leaves, measures and first/last) -----------------------
def test(column: exp.Expression, comparison: t.Comparison, scope: Scope, negated: bool = False,
         nullable: list[exp.Expression] | None = None) -> exp.Expression:
    """`column OP value` as a predicate that is TRUE exactly when it holds (see `outcome`); negated
    operators are exact complements. `nullable`: what can make `column` NULL (default: itself)."""
    nullable = [column] if nullable is None else nullable
    if comparison.op in t.NEGATED_OPS:
        positive = replace(comparison, op=t.NEGATED_OPS[comparison.op])
        return test(column, positive, scope, not negated, nullable)
    if comparison.op == "is_set":
        if bool(comparison.value) != negated:
            return exp.and_(exp.not_(exp.Is(this=column.copy(), expression=exp.null()), copy=False),
                            exp.NEQ(this=exp.cast(column.copy(), TEXT.copy(), copy=False),
                                    expression=CaseSensitive(this=exp.Literal.string(""))), copy=False)
        return exp.paren(exp.or_(exp.Is(this=column.copy(), expression=exp.null()),
                                 exp.EQ(this=exp.cast(column.copy(), TEXT.copy(), copy=False),
                                        expression=CaseSensitive(this=exp.Literal.string(""))), copy=False),
                         copy=False)
    return outcome(positive_test(column, comparison, scope), nullable, negated)


def text_operands(column: exp.Expression, value: str, ignore_case: bool):
    """The two sides of a text comparison. Case-sensitivity is marked on the literal, never on the
    column: an explicit collation on the literal wins for text columns, while a DATE/DATETIME
    column still reads a quoted timestamp as a timestamp and keeps its index usable."""
    if ignore_case:  # both lowered, then compared exactly: a collation must not fold accents too
        return exp.Lower(this=column), CaseSensitive(this=exp.Lower(this=exp.Literal.string(value)))
    return column, CaseSensitive(this=exp.Literal.string(value))


def fold_pattern(pattern: str) -> str:
    r"""A regular expression for lowercased text: its letters lowercased, each escaped character
    kept (lowercasing `\S` would make it `\s`)."""
    out, escaped = [], False
    for char in pattern:
        out.append(char if escaped else char.lower())
        escaped = not escaped and char == "\\"
    return "".join(out)


def positive_test(column: exp.Expression, c: t.Comparison, scope: Scope) -> exp.Expression:
    """The comparison as SQL; NULL only when `column` is. Time columns are compared as they are
    with timestamp literals (a DATE is midnight, sessions run in UTC), so indexes stay usable."""
    op, value = c.op, c.value
    clock = scope.clock
    column = column.copy()
    if op == "equals":
        if isinstance(value, str):
            left, right = text_operands(column, value, c.ignore_case)
            return exp.EQ(this=left, expression=right)
        if t.is_day(value):
            return day_range(TimeColumn(this=column), value)
        return exp.EQ(this=TimeColumn(this=column) if is_time(value) else column, expression=literal(value))
    if op == "in":
        if not value:
            return exp.false()
        if all(isinstance(v, str) for v in value):
            left, _ = text_operands(column, "", c.ignore_case)
            items = [text_operands(column, v, c.ignore_case)[1] for v in value]
            return exp.In(this=left, expressions=items)
        if any(is_time(v) for v in value):
            column = TimeColumn(this=column)
        days = [v for v in value if t.is_day(v)]
        rest = [v for v in value if not t.is_day(v)]
        parts = ([exp.In(this=column, expressions=[literal(v) for v in rest])] if rest else []) + [
            day_range(column, d) for d in days]
        return exp.paren(exp.or_(*parts, copy=False), copy=False) if len(parts) > 1 else parts[0]
    if op in t.ORDER_OPS:
        if is_time(value):
            return time_order(op, TimeColumn(this=column), value, clock)
        node = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
        return node(this=column, expression=literal(value))
    if op == "between":
        low, high = value
        if is_time(low) or is_time(high):
            # a day literal as the upper end includes its whole day [1.1]
            column = TimeColumn(this=column)
            return exp.and_(time_order("gte", column, low, clock),
                            time_order("lte", column.copy(), high, clock), copy=False)
        return exp.and_(exp.GTE(this=column, expression=literal(low)),
                        exp.LTE(this=column.copy(), expression=literal(high)), copy=False)
    if op == "contains":
        left, right = text_operands(column, value, c.ignore_case)
        return exp.GT(this=exp.StrPosition(this=left, substr=right), expression=exp.Literal.number(0))
    if op in ("starts_with", "ends_with"):
        left, right = text_operands(column, value, c.ignore_case)
        node = exp.Left if op == "starts_with" else exp.Right
        return exp.EQ(this=node(this=left, expression=exp.Literal.number(len(value))), expression=right)
    if op == "matches":
        if c.ignore_case:  # both sides folded; an escape (`\S`, `\D`) keeps its meaning
            return exp.RegexpLike(this=exp.Lower(this=column),
                                  expression=CaseSensitive(this=exp.Literal.string(fold_pattern(value))))
        left, pattern = text_operands(column, value, False)
        return exp.RegexpLike(this=left, expression=pattern)
    time = TimeColumn(this=column)
    if op in ("after", "before"):
        return time_order(op, time, value, clock)
    if op == "during":
        if clock.live:
            raise SegwError("`during` cannot be used in a `view` segment",
                            scope.segment.loc if scope.segment else None,
                            "make the segment `materialized: table` or `incremental` (a view has no "
                            "fixed as_of to take the calendar period from)")
        start, end, included = clock.period(value)
        return exp.and_(exp.GTE(this=time, expression=start),
                        (exp.LTE if included else exp.LT)(this=time.copy(), expression=end), copy=False)
    if op == "within_last":
        return exp.and_(exp.GT(this=time, expression=clock.shift(value, -1)),
                        exp.LTE(this=time.copy(), expression=clock.now()), copy=False)
    if op == "within_next":
        return exp.and_(exp.GT(this=time, expression=clock.now()),
                        exp.LTE(this=time.copy(), expression=clock.shift(value, +1)), copy=False)
    if op == "anniversary_within":
        if clock.live:
            raise SegwError("`anniversary_within` cannot be used in a `view` segment",
                            scope.segment.loc if scope.segment else None,
                            "make the segment `materialized: table` or `incremental`")
        codes, twin_codes = clock.anniversary(value)
        if not codes:
            raise SegwError(f"`anniversary_within: {value}` covers less than a day",
                            hint="use a duration of at least 1 day")
        time = as_timestamp(column)
        code = exp.Add(this=exp.Mul(this=exp.Extract(this=exp.var("MONTH"), expression=time),
                                    expression=exp.Literal.number(100)),
                       expression=exp.Extract(this=exp.var("DAY"), expression=time.copy()))
        found = exp.In(this=code, expressions=codes)
        if twin_codes:
            found.meta[TWIN] = twin_codes
        return found
    raise AssertionError(op)


# -- leaves and groups ---------------------------------------------------------------------
def compile_condition(node: t.Condition, frame: Frame, negated: bool = False) -> exp.Expression:
    """The condition (or, negated, its complement) as a predicate that is TRUE exactly when it
    holds; negations are pushed down to the leaves, so no COALESCE is needed above them."""
    if isinstance(node, t.Not):
        return compile_condition(node.child, frame, not negated)
    if isinstance(node, (t.All, t.Any, t.NoneOf)):
        # all: AND; any: OR; none: AND of complements. A negation swaps AND/OR (De Morgan).
        child_negated = negated != isinstance(node, t.NoneOf)
        conjunctive = isinstance(node, (t.All, t.NoneOf)) != negated
        parts = [compile_condition(c, frame, child_negated) for c in node.children]
        if conjunctive:
            return _connect(exp.and_, parts, exp.true())
        return _connect(exp.or_, parts, exp.false())
    handler = LEAVES[type(node)]
    return handler(node, frame, negated)


def _connect(join, parts: list[exp.Expression], empty: exp.Expression) -> exp.Expression:
    if not parts:
        return empty
    return exp.paren(join(*parts, copy=False), copy=False) if len(parts) > 1 else parts[0]


def property_leaf(node: t.Property, frame: Frame, negated: bool = False) -> exp.Expression:
    if node.test.op == "bucket":
        return bucket_leaf(frame, lambda inner: inner.column(node.column), node.test.value, negated)
    return test(frame.column(node.column), node.test, frame.scope, negated)


def bucket_leaf(frame: Frame, value_of, bucket: t.Bucket, negated: bool) -> exp.Expression:
    """[1.1] `bucket: N` compared: bucket = floor(N·(r−1)/c) + 1, so (integers only, no division)
    bucket >= k <=> N·(r−1) >= (k−1)·c and bucket <= k <=> N·(r−1) < k·c. NULL has no bucket.
    `value_of(frame)` is the bucketed value on a frame over every entity row."""
    buckets = frame.bucket_pass()
    rank, count = buckets.rank(value_of(buckets.inner))
    scaled = exp.Mul(this=exp.Literal.number(bucket.buckets),
                     expression=exp.paren(exp.Sub(this=rank, expression=exp.Literal.number(1)), copy=False))

    def at_least(k: int) -> exp.Expression:
        return exp.GTE(this=scaled.copy(), expression=exp.Mul(this=exp.Literal.number(k - 1),
                                                               expression=count.copy()))

    def at_most(k: int) -> exp.Expression:
        return exp.LT(this=scaled.copy(), expression=exp.Mul(this=exp.Literal.number(k), expression=count.copy()))

    def equals(k: int) -> exp.Expression:
        return exp.and_(at_least(k), at_most(k), copy=False)

    op, value = bucket.test.op, bucket.test.value
    if op in t.NEGATED_OPS:
        op, negated = t.NEGATED_OPS[op], not negated
    if op == "equals":
        positive = equals(value)
    elif op == "in":
        positive = exp.paren(exp.or_(*[equals(k) for k in value], copy=False), copy=False) if value else exp.false()
    elif op == "between":
        positive = exp.and_(at_least(value[0]), at_most(value[1]), copy=False)
    else:
        positive = {"gt": lambda k: at_least(k + 1), "gte": at_least, "lt": lambda k: at_most(k - 1),
                    "lte": at_most}[op](value)
    return outcome(positive, [rank], negated)


AGGREGATES = {
    "count": lambda of, time: exp.Count(this=exp.Star()),
    "sum": lambda of, time: exp.Sum(this=of),
    "avg": lambda of, time: exp.Avg(this=of),
    "min": lambda of, time: exp.Min(this=of),
    "max": lambda of, time: exp.Max(this=of),
    "count_distinct": lambda of, time: exp.Count(this=exp.Distinct(expressions=[of])),
    "first": lambda of, time: exp.Min(this=time),
    "last": lambda of, time: exp.Max(this=time),
}


def related_leaf(node: t.Related, frame: Frame, negated: bool = False) -> exp.Expression:
    """A measure of the entity's rows in a relation: a column of the relation's one grouped pass."""
    if node.measure.test.op == "bucket":
        return bucket_leaf(frame, lambda inner: measure_value(node, inner), node.measure.test.value, negated)
    value = measure_value(node, frame)
    if node.measure.kind in ZERO_OVER_NO_ROWS:
        return test(value, node.measure.test, frame.scope, negated, nullable=[])
    return test(value, node.measure.test, frame.scope, negated)


ZERO_OVER_NO_ROWS = ("count", "sum", "count_distinct")
# Conditions compiled from our own nodes only (no parsed `sql:`, no other segment's definition).
PLAIN_CONDITIONS = (t.All, t.Any, t.NoneOf, t.Not, t.Property, t.InList, t.Near)


def measure_value(node: t.Related, frame: Frame) -> exp.Expression:
    """The measure of a related leaf (its comparison aside) for the frame's entity row: a column of
    the relation's grouped pass; count, sum and count_distinct are 0 over zero rows, never NULL."""
    scope = frame.scope
    relation = relation_for(frame.entity, node)
    rows = frame.relation_pass(relation)
    row_frame = Frame(scope, frame.entity, rows.row)
    filters: list[exp.Expression] = []
    if relation.time and node.window is not None:
        filters.append(test(rows.column(relation.time), node.window, scope))
    if node.event is not None:
        filters.append(test(rows.column(relation.event_name), t.Comparison("equals", node.event), scope))
    if node.where is not None:
        filters.append(compile_condition(node.where, row_frame))
    condition = (exp.and_(*filters, copy=False) if len(filters) > 1 else filters[0]) if filters else None
    measure = node.measure
    of = rows.column(measure.of) if measure.of else None
    time = TimeColumn(this=rows.column(relation.time)) if relation.time else None
    value: exp.Expression = rows.measure(AGGREGATES[measure.kind](of, time), condition,
                                         relation.time is not None and node.window is not None,
                                         plain=node.where is None or all(isinstance(n, PLAIN_CONDITIONS)
                                                                          for n in t.walk(node.where)))
    if rows.wide:  # a column of the entity's wide table, read on the frame's own row
        value = exp.column(rows.wide_column(value.name), table=frame.alias, quoted=True)
    if measure.kind in ZERO_OVER_NO_ROWS:  # over zero rows: 0, never NULL
        value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
    return value


def in_segment_leaf(node: t.InSegment, frame: Frame, negated: bool = False) -> exp.Expression:
    """Another segment's definition, evaluated on the same entity row (its measures join the
    same relation passes), not a second query of its members."""
    from .segment import membership_condition

    other = frame.scope.project.segments[node.segment]
    outer, frame.scope.segment = frame.scope.segment, other
    try:
        return membership_condition(other, frame, negated)
    finally:
        frame.scope.segment = outer


def in_list_leaf(node: t.InList, frame: Frame, negated: bool = False) -> exp.Expression:
    matched = frame.lists.get(node.list_name)
    if matched is None:
        matched = frame.lists[node.list_name] = _list_join(node.list_name, frame)
    return exp.Is(this=matched.copy(), expression=exp.null()) if negated \
        else exp.not_(exp.Is(this=matched.copy(), expression=exp.null()), copy=False)


def _list_join(list_name: str, frame: Frame) -> exp.Column:
    project = frame.scope.project
    item = project.lists[list_name]
    seeded = item.source.endswith(".csv")
    schema, name = project.relation_of(Path(item.source).stem if seeded else item.source)
    column = project.list_keys[list_name]  # resolved at load (a CSV list's from its seed's header)
    row = frame.scope.alias("l")
    list_column = exp.column(column, table=row, quoted=True)
    keys = (exp.select(exp.cast(list_column, TEXT.copy(), copy=False))
            .from_(exp.alias_(exp.table_(name, db=schema, quoted=True), row, table=True, quoted=True, copy=False),
                   copy=False)
            .where(exp.not_(exp.Is(this=list_column.copy(), expression=exp.null()), copy=False), copy=False))
    return _member_join(frame, keys, exp.cast(frame.column(frame.entity.key), TEXT.copy(), copy=False))


def _member_join(frame: Frame, keys: exp.Select, key: exp.Expression) -> exp.Column:
    """LEFT JOIN the distinct member keys once (not a subquery per row); the matched key column."""
    alias = frame.scope.alias("k")
    first = keys.selects[0]
    keys.set("expressions", [exp.alias_(first.unalias() if isinstance(first, exp.Alias) else first,
                                        "k", quoted=True, copy=False)])
    keys.set("distinct", exp.Distinct())
    matched = exp.column("k", table=alias, quoted=True)
    frame.joins.append(exp.Join(this=keys.subquery(exp.to_identifier(alias, quoted=True), copy=False), side="LEFT",
                                on=exp.EQ(this=matched.copy(), expression=key)))
    return matched


def near_leaf(node: t.Near, frame: Frame, negated: bool = False) -> exp.Expression:
    radians = math.pi / 180

    def rad(value: exp.Expression) -> exp.Expression:
        return exp.Mul(this=value, expression=exp.Literal.number(repr(radians)))

    def num(value: float) -> exp.Expression:
        return exp.Literal.number(repr(value))

    lat, lon = frame.column(node.lat_column), frame.column(node.lon_column)
    half_dlat = exp.Div(this=rad(exp.paren(exp.Sub(this=lat, expression=num(node.lat)), copy=False)),
                        expression=exp.Literal.number(2))
    half_dlon = exp.Div(this=rad(exp.paren(exp.Sub(this=lon, expression=num(node.lon)), copy=False)),
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
    return outcome(exp.LTE(this=distance, expression=num(node.within_km)), None, negated)


def sql_leaf(node: t.Sql, frame: Frame, negated: bool = False) -> exp.Expression:
    scope = frame.scope
    text = scope.project.sql_text(node)  # its Jinja rendered when the project was loaded
    parsed = parse_sql_condition(text, scope.sql_dialect, node)
    for column in parsed.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier(frame.alias, quoted=True))
        elif column.table != frame.alias:
            raise SegwError(f"`sql:` condition refers to '{column.table}.{column.name}'", node.loc,
                            "refer to the entity's columns by their bare names")
    return outcome(parsed, None, negated)


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
