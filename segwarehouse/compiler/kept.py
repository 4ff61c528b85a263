"""Kept measures: per key, every measure the incremental segments of an entity need from one relation,
kept between runs and brought forward from the rows loaded since and the rows time moved (SQL only)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from ..language import types as t
from .conditions import RelationPass, Scope, two_valued
from .dialects import TimeColumn, many_groups
from .features import Features, measure_key
from .incremental import ROW, changed_conditions, relation_source, unique_disjuncts
from .timeexpr import Clock, at_twin, timestamp_literal

if TYPE_CHECKING:
    from ..project.loader import Project

# How a kept value moves when rows come into a measure or leave it: counts and sums by adding
# and subtracting; a minimum or maximum by taking the new rows in (a row leaving it makes the key
# be recomputed); anything else (avg, count_distinct) is recomputed for each key whose rows moved.
ADDED = {exp.Count: "count", exp.Sum: "sum", exp.Min: "min", exp.Max: "max"}


@dataclass
class KeptMeasure:
    column: str  # its column in the kept table (v1, v2, ...)
    kind: str  # count, sum, min, max or other (see ADDED)
    aggregate: exp.Expression
    condition: exp.Expression | None  # at the new as_of; its literals know their value at the old one
    key: str  # what it computes, at the new as_of, in words any pass of the relation would use
    key_then: str  # the same at the old as_of (the twin)


@dataclass
class KeptPlan:
    """The kept measures of one relation of an entity: the pass that computes them in full."""
    relation: t.RelationSpec
    rows: RelationPass
    measures: list[KeptMeasure] = field(default_factory=list)

    def keys_then(self) -> list[str]:
        return [m.key_then for m in self.measures]

    def columns(self) -> dict[str, str]:
        """measure key (at the new as_of) -> its column."""
        return {m.key: m.column for m in self.measures}


class _Collector(Features):
    """Features that only collects the relation passes, its own clock twinned to the old as_of, so a
    measure equal to another at the new as_of but not at the old one is noticed (twin_same)."""
    twin: dt.datetime | None = None

    def _scope(self) -> Scope:
        return Scope(self.project, Clock(self.as_of, self.twin), self.sql_dialect, keys=self.keys)


def plan_kept(project: "Project", entity: str, names: list[str], as_of: dt.datetime,
              then: dt.datetime | None) -> dict[str, KeptPlan] | None:
    """The kept measures of each relation the named segments (of one entity) read, planned at as_of
    with their values at `then` (the kept table's as_of) alongside; None where a segment does not
    compile or a measure would not be the same one at both instants."""
    from sqlglot.errors import SqlglotError

    from ..errors import SegwError
    from .segment import _query

    collector = _Collector(project, as_of, project.config.models_dialect or project.dialect, project.segment_schema)
    collector.twin = then if then is not None and then != as_of else None
    for name in names:
        collector.planning = name
        try:
            _, clock = _query(project, project.segments[name], as_of, features=collector, twin=collector.twin)
        except (SegwError, SqlglotError, ValueError):
            return None
        if collector.twin is not None and not clock.twin_same:
            return None
    plans = {}
    for (owner, relation_name), rows in sorted(collector.passes.items()):
        if owner != entity:
            continue
        if collector.twin is not None and not rows.scope.clock.twin_same:
            return None
        plan = KeptPlan(rows.relation, rows)
        for column, aggregate, condition, _ in rows.measures.values():
            key = measure_key(rows, aggregate, condition)
            key_then = key
            if condition is not None and collector.twin is not None:
                back = at_twin(condition)
                if back is not None:
                    key_then = measure_key(rows, aggregate, condition)
                    back()
            kind = ADDED.get(type(aggregate), "other")
            if kind == "count" and not isinstance(aggregate.this, exp.Star):
                kind = "other"  # COUNT(DISTINCT x)
            plan.measures.append(KeptMeasure(column, kind, aggregate, condition, key, key_then))
        plans[relation_name] = plan
    return plans


def _loaded(plan: KeptPlan, mark: dt.datetime) -> exp.Expression:
    """Rows loaded up to a mark (a row without loaded_at never is: kept tables need every row to say)."""
    return exp.LTE(this=TimeColumn(this=plan.rows.column(plan.relation.loaded_at)), expression=timestamp_literal(mark))


def build(plan: KeptPlan, mark: dt.datetime, keys: exp.Query | None = None) -> exp.Select:
    """Every kept measure per key (`k`, v1, ...) over the rows loaded up to `mark`; with `keys`
    (a query of column `k`) only for those keys."""
    query = plan.rows.grouped().where(_loaded(plan, mark), copy=False)
    if keys is not None:
        query = query.where(exp.In(this=plan.rows.column(plan.relation.foreign_key), query=keys.subquery()),
                            copy=False)
    return query


def _counts_at(plan: KeptPlan, measure: KeptMeasure, clock: Clock, mark: dt.datetime,
               twin: bool) -> exp.Expression:
    """Whether a row counted in the measure at one instant: dated up to it, its condition holding
    there, loaded up to that instant's mark. Never NULL."""
    parts: list[exp.Expression] = [_loaded(plan, mark)]
    time = plan.relation.time
    if time:
        column = plan.rows.column(time)
        parts.append(exp.paren(exp.or_(exp.Is(this=column, expression=exp.null()),
                                       exp.LTE(this=TimeColumn(this=column.copy()), expression=clock.now()))))
    if measure.condition is not None:
        condition = measure.condition.copy()
        if twin:
            at_twin(condition)
        parts.append(exp.paren(condition, copy=False))
    return two_valued(exp.and_(*parts, copy=False))


def moved_rows(project: "Project", names: list[str], then: dt.datetime, now: dt.datetime,
               marks_then: dict[str, dt.datetime | None], dialect: str) -> dict[str, list[exp.Expression]]:
    """Per source (incremental.relation_source), one condition per named segment: where a row may
    have moved in or out of its measures between the two instants, because it was loaded since
    the source's mark in `marks_then` or its time crossed an edge of some test
    (incremental.changed_conditions). Found once for all of an entity's kept tables."""
    out: dict[str, list[exp.Expression]] = {}
    for name in names:
        for source, changed in changed_conditions(project, project.segments[name], then, now, marks_then,
                                                  dialect).items():
            out.setdefault(source, []).append(changed.condition)
    return out


def delta(plan: KeptPlan, bands: list[exp.Expression], then: dt.datetime, now: dt.datetime,
          mark_then: dt.datetime, mark_now: dt.datetime, read: tuple[str, str] | None = None) -> exp.Select:
    """Per key with a row that moved in or out of some measure between the two runs: `dirty` (1: a
    measure that cannot be brought forward moved; recompute the key) and what the others gained
    and lost (a_vN, r_vN for counts and sums; a_vN for the new rows of a minimum or maximum). The
    rows read are those where one of `bands` holds (moved_rows of this relation): no other row's
    part in any measure changed. `read`: (schema, table) holding those rows, scanned instead of the
    relation."""
    rows = plan.rows
    unique = unique_disjuncts(bands)
    band = exp.or_(*unique) if len(unique) > 1 else unique[0]
    band = band.transform(lambda node: exp.column(node.name, table=rows.row, quoted=True)
                          if isinstance(node, exp.Column) and node.table == ROW else node)
    clock_then, clock_now = Clock(then), Clock(now)
    fk = rows.column(plan.relation.foreign_key)
    outputs: list[exp.Expression] = [exp.alias_(fk.copy(), "k", quoted=True)]
    dirty: list[exp.Expression] = []
    one, zero = exp.Literal.number(1), exp.Literal.number(0)
    for measure in plan.measures:
        was = _counts_at(plan, measure, clock_then, mark_then, twin=True)
        is_ = _counts_at(plan, measure, clock_now, mark_now, twin=False)
        value = measure.aggregate.this if measure.kind in ("sum", "min", "max") else None
        if measure.kind == "count":  # BIGINT, as COUNT gives (a SUM of integers may be wider: slower)
            outputs.append(exp.alias_(exp.cast(exp.Sum(this=exp.Case().when(is_, one.copy()).else_(zero.copy())),
                                               "BIGINT"), f"a_{measure.column}", quoted=True))
            outputs.append(exp.alias_(exp.cast(exp.Sum(this=exp.Case().when(was, one.copy()).else_(zero.copy())),
                                               "BIGINT"), f"r_{measure.column}", quoted=True))
        elif measure.kind == "sum":
            outputs.append(exp.alias_(exp.Sum(this=exp.Case().when(is_, value.copy())), f"a_{measure.column}",
                                      quoted=True))
            outputs.append(exp.alias_(exp.Sum(this=exp.Case().when(was, value.copy())), f"r_{measure.column}",
                                      quoted=True))
        elif measure.kind in ("min", "max"):
            function = exp.Min if measure.kind == "min" else exp.Max
            outputs.append(exp.alias_(function(this=exp.Case().when(is_, value.copy())), f"a_{measure.column}",
                                      quoted=True))
            dirty.append(exp.and_(was.copy(), exp.not_(is_.copy())))
        else:
            dirty.append(exp.NEQ(this=was.copy(), expression=is_.copy()))
    flag = exp.Max(this=exp.Case().when(exp.or_(*dirty), one.copy()).else_(zero.copy())) if dirty else zero.copy()
    outputs.insert(1, exp.alias_(flag, "dirty", quoted=True))
    schema, name = read or rows.scope.relation_of(plan.relation.model)
    # built here, so each step may change it in place (copying the wide select four times cost 0.1 s)
    return many_groups(exp.select(*outputs, copy=False)
                       .from_(exp.alias_(exp.table_(name, db=schema, quoted=True), rows.row, table=True, quoted=True),
                              copy=False)
                       .where(exp.and_(exp.not_(exp.Is(this=fk.copy(), expression=exp.null())), exp.paren(band),
                                       copy=False), copy=False)
                       .group_by(fk.copy(), copy=False))


def merged(plan: KeptPlan, deltas: exp.Expression, kept: exp.Expression) -> exp.Select:
    """The brought-forward values (`k`, v1, ...) of the keys in `deltas` that need no recompute:
    each kept value (`kept`, aliased "s") with what its measure gained and lost ("d")."""
    def kept_value(column: str) -> exp.Column:
        return exp.column(column, table="s", quoted=True)

    def moved(prefix: str, column: str) -> exp.Column:
        return exp.column(f"{prefix}_{column}", table="d", quoted=True)

    zero = exp.Literal.number(0)
    outputs: list[exp.Expression] = [exp.column("k", table="d", quoted=True)]
    for measure in plan.measures:
        old = kept_value(measure.column)
        if measure.kind in ("count", "sum"):
            gained, lost = moved("a", measure.column), moved("r", measure.column)
            value = exp.Sub(this=exp.Add(this=exp.Coalesce(this=old, expressions=[zero.copy()]),
                                         expression=exp.Coalesce(this=gained, expressions=[zero.copy()])),
                            expression=exp.Coalesce(this=lost, expressions=[zero.copy()]))
            if measure.kind == "sum":  # over no values a sum is NULL, as SUM gives it
                value = exp.Case().when(exp.and_(exp.Is(this=old.copy(), expression=exp.null()),
                                                 exp.Is(this=gained.copy(), expression=exp.null())),
                                        exp.null()).else_(value)
        elif measure.kind in ("min", "max"):
            new = moved("a", measure.column)
            better = exp.LT if measure.kind == "min" else exp.GT
            value = (exp.Case().when(exp.Is(this=old.copy(), expression=exp.null()), new.copy())
                     .when(exp.Is(this=new.copy(), expression=exp.null()), old.copy())
                     .when(better(this=new.copy(), expression=old.copy()), new.copy()).else_(old.copy()))
        else:
            value = old
        outputs.append(exp.alias_(value, measure.column, quoted=True))
    return (exp.select(*outputs).from_(exp.alias_(deltas, "d", table=True, quoted=True))
            .join(exp.alias_(kept, "s", table=True, quoted=True),
                  on=exp.EQ(this=exp.column("k", table="s", quoted=True),
                            expression=exp.column("k", table="d", quoted=True)), join_type="LEFT")
            .where(exp.EQ(this=exp.column("dirty", table="d", quoted=True), expression=zero.copy())))
