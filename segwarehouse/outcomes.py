"""`segw report`: what segments achieve — entity `metrics:` per split (or against another segment),
attributed from `membership_history`, one warehouse query per metric, with lift and a test.

Who counts: every key whose membership of the segment *began* (an interval of
`membership_history` that does not continue a move) with `valid_from` in [since, until); a member
counts once, by that first entry in the period, in the arm it entered with (its split, or the
segment in `--compare` mode). What counts: the metric's related rows with a time t such that
valid_from < t <= valid_from + within, and t <= valid_to of the membership (the interval itself
in split mode, so a move to another split ends it; the end of the membership in `--compare` mode).
Each build's as_of is the moment a change takes effect: a row at exactly that instant was visible
to the build that admitted (or moved, or removed) the member, so it belongs to the state before.

The control arm is the split named `control`, else `holdout`, else the first split declared; in
`--compare` mode it is the comparison segment. Rates are tested with the two-proportion z-test
(scipy's chi-square test of the 2x2 table without continuity correction, which is the same test),
with a Wald interval for the difference; means (count and sum metrics) with Welch's t-test and its
Welch-Satterthwaite interval."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from sqlglot import exp

from .compiler.conditions import Frame, Scope, compile_condition, test
from .compiler.dialects import TimeColumn
from .compiler.timeexpr import SQL_UNITS, Clock, timestamp_literal
from .columns import check_metric_columns
from .errors import SegwError, did_you_mean
from .outputs import col, insert, table, text, union_all
from .project.loader import Project, relation_for
from .language import types as t
from .warehouse.base import Adapter

LEVEL = 0.95  # confidence level of intervals; tests are two-sided at 1 - LEVEL
CONTROL_NAMES = ("control", "holdout")
OUTCOMES_TABLE = "segment_outcomes"


# -- statistics (pure) ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArmStats:
    """What the warehouse returns per arm: members, the metric's total, its sum of squares, and
    how many members have a non-zero value. Exact numbers (integers or decimals)."""
    members: int
    total: Decimal
    sum_squares: Decimal
    nonzero: int

    @property
    def mean(self) -> float | None:
        return float(self.total / self.members) if self.members else None

    def variance(self) -> float | None:
        """Sample variance (n - 1), computed exactly from the sums before rounding to float."""
        if self.members < 2:
            return None
        n = Decimal(self.members)
        return float((self.sum_squares - self.total * self.total / n) / (n - 1))


@dataclass(frozen=True)
class Test:
    difference: float | None  # arm mean - control mean
    lift: float | None        # difference / control mean
    ci_low: float | None      # interval of the difference at LEVEL
    ci_high: float | None
    p_value: float | None


def compare_rates(arm: ArmStats, control: ArmStats, level: float = LEVEL) -> Test:
    """Two-proportion z-test (pooled) as scipy's chi-square test of the 2x2 table without
    continuity correction (chi2 = z^2, same p-value); Wald interval of the difference."""
    from scipy import stats

    if not arm.members or not control.members:
        return Test(None, None, None, None, None)
    p_arm, p_control = arm.nonzero / arm.members, control.nonzero / control.members
    difference = p_arm - p_control
    lift = difference / p_control if p_control else None
    hits = arm.nonzero + control.nonzero
    if hits in (0, arm.members + control.members):
        p_value = 1.0  # both arms all 0 or all 1: nothing to tell them apart
    else:
        table_ = [[arm.nonzero, arm.members - arm.nonzero], [control.nonzero, control.members - control.nonzero]]
        p_value = float(stats.chi2_contingency(table_, correction=False).pvalue)
    se = math.sqrt(p_arm * (1 - p_arm) / arm.members + p_control * (1 - p_control) / control.members)
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    return Test(difference, lift, difference - z * se, difference + z * se, p_value)


def compare_means(arm: ArmStats, control: ArmStats, level: float = LEVEL) -> Test:
    """Welch's t-test (scipy.stats.ttest_ind_from_stats, unequal variances) and the interval of
    the difference with Welch-Satterthwaite degrees of freedom."""
    from scipy import stats

    if arm.members < 2 or control.members < 2:
        difference = arm.mean - control.mean if arm.members and control.members else None
        lift = difference / control.mean if difference is not None and control.mean else None
        return Test(difference, lift, None, None, None)
    m1, m2, v1, v2 = arm.mean, control.mean, arm.variance(), control.variance()
    difference = m1 - m2
    lift = difference / m2 if m2 else None
    a, b = max(v1, 0.0) / arm.members, max(v2, 0.0) / control.members
    if a + b == 0:  # no variation in either arm
        return Test(difference, lift, difference, difference, 1.0 if difference == 0 else 0.0)
    result = stats.ttest_ind_from_stats(m1, math.sqrt(max(v1, 0.0)), arm.members,
                                        m2, math.sqrt(max(v2, 0.0)), control.members, equal_var=False)
    df = (a + b) ** 2 / (a * a / (arm.members - 1) + b * b / (control.members - 1))
    half = float(stats.t.ppf(1 - (1 - level) / 2, df)) * math.sqrt(a + b)
    return Test(difference, lift, difference - half, difference + half, float(result.pvalue))


def compare(kind: str, arm: ArmStats, control: ArmStats, level: float = LEVEL) -> Test:
    return compare_rates(arm, control, level) if kind == "rate" else compare_means(arm, control, level)


def mean_interval(kind: str, stats_: ArmStats, level: float = LEVEL) -> tuple[float | None, float | None]:
    """The interval of one arm's rate (Wald) or mean (t), for the per-arm chart."""
    from scipy import stats

    n = stats_.members
    if n < 2:
        return None, None
    mean = stats_.mean
    if kind == "rate":
        half = float(stats.norm.ppf(1 - (1 - level) / 2)) * math.sqrt(mean * (1 - mean) / n)
    else:
        half = float(stats.t.ppf(1 - (1 - level) / 2, n - 1)) * math.sqrt(max(stats_.variance(), 0.0) / n)
    return mean - half, mean + half


# -- the report -------------------------------------------------------------------------------------
@dataclass
class Arm:
    label: str            # the split, or the segment in --compare mode
    segment: str
    split: str | None
    stats: ArmStats
    first_entry: dt.datetime | None = None
    last_entry: dt.datetime | None = None
    test: Test | None = None          # None for the control arm
    interval: tuple = (None, None)    # of this arm's own rate or mean


@dataclass
class MetricResult:
    metric: str
    kind: str
    within: str | None
    control: str
    arms: list[Arm]


@dataclass
class Report:
    segment: str
    compare_to: str | None
    since: dt.datetime | None
    until: dt.datetime | None
    computed_at: dt.datetime
    level: float
    results: list[MetricResult] = field(default_factory=list)

    @property
    def period_start(self) -> dt.datetime | None:
        """--since, else the first entry counted."""
        if self.since is not None:
            return self.since
        firsts = [a.first_entry for r in self.results for a in r.arms if a.first_entry is not None]
        return min(firsts) if firsts else None

    @property
    def period_end(self) -> dt.datetime:
        return self.until or self.computed_at

    def to_json(self) -> dict:
        def number(value):
            return None if value is None else float(value)

        def iso(value):
            return value.isoformat(sep=" ") if value is not None else None

        return {
            "segment": self.segment, "compare_to": self.compare_to, "level": self.level,
            "period_start": iso(self.period_start), "period_end": iso(self.period_end),
            "since": iso(self.since), "until": iso(self.until), "computed_at": iso(self.computed_at),
            "metrics": [{
                "metric": r.metric, "kind": r.kind, "within": r.within, "control": r.control,
                "arms": [{
                    "arm": a.label, "segment": a.segment, "split": a.split, "members": a.stats.members,
                    "value": number(a.stats.total), "nonzero": a.stats.nonzero, "mean": a.stats.mean,
                    "mean_ci_low": a.interval[0], "mean_ci_high": a.interval[1],
                    "control": a.test is None,
                    **({"difference": a.test.difference, "lift": a.test.lift, "ci_low": a.test.ci_low,
                        "ci_high": a.test.ci_high, "p_value": a.test.p_value} if a.test else {}),
                } for a in r.arms]} for r in self.results]}


def choose_control(splits: list[str]) -> str:
    """The split named `control`, else `holdout`, else the first declared."""
    for name in CONTROL_NAMES:
        if name in splits:
            return name
    return splits[0]


def metric_query(project: Project, adapter: Adapter, segment: t.Segment, metric: t.Metric,
                 sources: list[tuple[str, bool]], since: dt.datetime | None, until: dt.datetime | None,
                 now: dt.datetime) -> exp.Select:
    """One query: per arm, members entered in the period, the metric's total, sum of squares,
    members with a non-zero value, first and last entry. `sources`: (segment, by split).

    Member rows (each key's first start in the period) and value rows (the metric's rows joined
    to every membership interval they fall in, through the history's (segment, key) index) meet
    in one UNION ALL grouped by (source, key, start): no join between two derived tables, which
    MariaDB would run as a nested loop over text keys."""
    schema = project.segment_schema
    entity = project.entities[segment.entity]
    relation = relation_for(entity, metric.related)
    history = lambda alias: table(schema, "membership_history", alias)  # noqa: E731
    h, zero = "h", exp.Literal.number(0)

    # the metric's rows: key as text, time, value; filtered by event and where; one per (key, time)
    scope = Scope(project, Clock(now), project.config.models_dialect or project.dialect)
    row = "r"
    filters: list[exp.Expression] = []
    if metric.related.event is not None:
        filters.append(test(col(relation.event_name, row), t.Comparison("equals", metric.related.event), scope))
    if metric.related.where is not None:
        filters.append(compile_condition(metric.related.where, Frame(scope, entity, row)))
    value = col(metric.related.measure.of, row) if metric.kind == "sum" else exp.Literal.number(1)
    rel_schema, rel_name = project.relation_of(relation.model)
    rows = (exp.select(exp.alias_(adapter.key_text(col(relation.foreign_key, row)), "k", quoted=True),
                       exp.alias_(TimeColumn(this=col(relation.time, row)), "t", quoted=True),
                       exp.alias_(value, "v", quoted=True))
            .from_(table(rel_schema, rel_name, row))
            .where(exp.not_(exp.Is(this=col(relation.foreign_key, row), expression=exp.null())),
                   exp.not_(exp.Is(this=col(relation.time, row), expression=exp.null())), *filters))
    if metric.kind == "sum":
        rows = rows.where(exp.not_(exp.Is(this=col(metric.related.measure.of, row), expression=exp.null())))
    events = (exp.select(col("k", "g"), col("t", "g"), exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True),
                         exp.alias_(exp.Sum(this=col("v", "g")), "v", quoted=True))
              .from_(rows.subquery("g")).group_by(col("k", "g"), col("t", "g")))

    parts = []
    for name, by_split in sources:
        arm = exp.Coalesce(this=col("split", h), expressions=[text(name)]) if by_split else text(name)
        end: exp.Expression = col("valid_to", h) if by_split else _membership_end(schema, name)
        # member rows: starts (intervals no move continues) in the period, the first per key
        period = [col("segment", h).eq(text(name)), exp.Is(this=col("key", "p"), expression=exp.null())]
        if since is not None:
            period.append(exp.GTE(this=col("valid_from", h), expression=timestamp_literal(since)))
        if until is not None:
            period.append(exp.LT(this=col("valid_from", h), expression=timestamp_literal(until)))
        order = exp.Window(this=exp.RowNumber(), partition_by=[col("key", h)],
                           order=exp.Order(expressions=[exp.Ordered(this=col("valid_from", h))]))
        starts = (exp.select(exp.alias_(col("key", h), "k", quoted=True), exp.alias_(arm, "arm", quoted=True),
                             exp.alias_(col("valid_from", h), "s", quoted=True), exp.alias_(order, "rn", quoted=True))
                  .from_(history(h))
                  .join(history("p"), join_type="left",
                        on=exp.and_(col("segment", "p").eq(col("segment", h)), col("key", "p").eq(col("key", h)),
                                    col("valid_to", "p").eq(col("valid_from", h))))
                  .where(*period))
        parts.append(exp.select(exp.alias_(text(name), "src", quoted=True), col("k", "st"), col("arm", "st"),
                                col("s", "st"), exp.alias_(exp.Literal.number(1), "m", quoted=True),
                                exp.alias_(zero.copy(), "n", quoted=True), exp.alias_(zero.copy(), "v", quoted=True))
                     .from_(starts.subquery("st")).where(col("rn", "st").eq(exp.Literal.number(1))))
        # value rows: the metric's rows in (start, start + within] and up to the end of membership
        attributed = [col("segment", h).eq(text(name)), col("key", h).eq(col("k", "ev")),
                      exp.GT(this=col("t", "ev"), expression=col("valid_from", h))]
        if metric.within is not None:
            amount = metric.within.amount * (7 if metric.within.unit == "week" else 1)
            attributed.append(exp.LTE(this=col("t", "ev"), expression=exp.DateAdd(
                this=col("valid_from", h), expression=exp.Literal.number(amount),
                unit=exp.var(SQL_UNITS[metric.within.unit]))))
        ends = (exp.select(exp.alias_(text(name), "src", quoted=True), exp.alias_(col("key", h), "k", quoted=True),
                           exp.alias_(col("valid_from", h), "s", quoted=True), exp.alias_(end, "e", quoted=True),
                           col("t", "ev"), col("n", "ev"), col("v", "ev"))
                .from_(events.subquery("ev"))
                .join(history(h), join_type="inner", on=exp.and_(*attributed)))
        parts.append(exp.select(col("src", "w"), col("k", "w"), exp.alias_(exp.null(), "arm", quoted=True),
                                col("s", "w"), exp.alias_(zero.copy(), "m", quoted=True), col("n", "w"), col("v", "w"))
                     .from_(ends.subquery("w"))
                     .where(exp.or_(exp.Is(this=col("e", "w"), expression=exp.null()),
                                    exp.LTE(this=col("t", "w"), expression=col("e", "w")))))
    union = union_all(parts, copy=True)
    hits = exp.Sum(this=col("n", "u"))
    per_member_value = {
        "rate": exp.Case().when(exp.GT(this=hits, expression=zero.copy()), exp.Literal.number(1)).else_(zero.copy()),
        "count": hits.copy(),
        "sum": exp.Sum(this=col("v", "u")),
    }[metric.kind]
    per_member = (exp.select(exp.alias_(exp.Max(this=col("arm", "u")), "arm", quoted=True), col("s", "u"),
                             exp.alias_(per_member_value, "v", quoted=True))
                  .from_(union.subquery("u"))
                  .group_by(col("src", "u"), col("k", "u"), col("s", "u"))
                  .having(exp.Max(this=col("m", "u")).eq(exp.Literal.number(1))))
    v = col("v", "pm")
    return (exp.select(col("arm", "pm"), exp.Count(this=exp.Star()), exp.Sum(this=v),
                       exp.Sum(this=exp.Mul(this=v.copy(), expression=v.copy())),
                       exp.Sum(this=exp.Case().when(exp.GT(this=v.copy(), expression=zero.copy()),
                                                    exp.Literal.number(1)).else_(zero.copy())),
                       exp.Min(this=col("s", "pm")), exp.Max(this=col("s", "pm")))
            .from_(per_member.subquery("pm"))
            .group_by(col("arm", "pm")))


def _membership_end(schema: str, segment: str) -> exp.Expression:
    """The end of the membership an interval h belongs to, across split moves: the earliest
    valid_to after h's start of an interval that no other interval continues (NULL: still in)."""
    x, y = "x", "y"
    ends = (exp.select(exp.Min(this=col("valid_to", x)))
            .from_(table(schema, "membership_history", x))
            .join(table(schema, "membership_history", y), join_type="left",
                  on=exp.and_(col("segment", y).eq(col("segment", x)), col("key", y).eq(col("key", x)),
                              col("valid_from", y).eq(col("valid_to", x))))
            .where(col("segment", x).eq(text(segment)), col("key", x).eq(col("key", "h")),
                   exp.GT(this=col("valid_to", x), expression=col("valid_from", "h")),
                   exp.Is(this=col("key", y), expression=exp.null())))
    return exp.paren(ends, copy=False)


def _decimal(value) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _time(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value is not None and value.tzinfo else value
    return dt.datetime.fromisoformat(str(value))


def parse_bound(value: str | None, option: str) -> dt.datetime | None:
    """--since / --until as a UTC timestamp (None when not given)."""
    from .runner import parse_as_of

    if value is None:
        return None
    try:
        return parse_as_of(value)
    except SegwError as exc:
        raise SegwError(exc.message.replace("--as-of", option), hint=exc.hint) from None


def resolve(project: Project, segment_name: str, metric_names: list[str], compare_to: str | None
            ) -> tuple[t.Segment, list[t.Metric], t.Segment | None]:
    """The segment, the metrics (named, else every metric of its entity) and the comparison segment."""
    from .explain import require_segment

    segment = require_segment(project, segment_name)
    entity = project.entities[segment.entity]
    if not entity.metrics:
        raise SegwError(f"entity '{entity.name}' declares no `metrics:`", entity.loc,
                        "add e.g. `metrics: {converted: {event: purchase, within: 14 days}}` to the entity "
                        "in models/*.yml")
    names = [part for name in metric_names for part in str(name).replace(",", " ").split()]
    for name in names:
        if name not in entity.metrics:
            raise SegwError(f"unknown metric '{name}' of entity '{entity.name}'",
                            hint=did_you_mean(name, entity.metrics) or
                            f"metrics: {', '.join(entity.metrics)}")
    metrics = [entity.metrics[n] for n in dict.fromkeys(names)] or list(entity.metrics.values())
    other = None
    for item in [segment] + ([require_segment(project, compare_to)] if compare_to else []):
        if item.materialized == "view":
            raise SegwError(f"segment '{item.name}' is a view: it keeps no membership history",
                            item.loc, "report on table and incremental segments")
    if compare_to:
        other = project.segments[compare_to]
        if other.entity != segment.entity:
            raise SegwError(f"segment '{compare_to}' is of entity {other.entity}, not {segment.entity}",
                            other.loc, "compare segments of one entity")
        if other.name == segment.name:
            raise SegwError("--compare names the segment itself", hint="compare with another segment")
    return segment, metrics, other


def report(adapter: Adapter, project: Project, segment_name: str, metric_names: list[str] | None = None,
           since: dt.datetime | None = None, until: dt.datetime | None = None,
           compare_to: str | None = None, now: dt.datetime | None = None, level: float = LEVEL) -> Report:
    """Outcomes per split of a segment (or of the segment against `compare_to`): one query per metric."""
    from .materialize import utcnow

    segment, metrics, other = resolve(project, segment_name, list(metric_names or []), compare_to)
    if since is not None and until is not None and since >= until:
        raise SegwError("--since must be before --until")
    if adapter.relation_kind(project.segment_schema, "membership_history") is None:
        raise SegwError(f"no membership history in schema '{project.segment_schema}'",
                        hint=f"build the segment first (`segw build --select {segment.name}`)")
    check_metric_columns(adapter, project, project.entities[segment.entity], metrics)
    now = now or utcnow()
    if other is not None:
        sources = [(segment.name, False), (other.name, False)]
        declared, control = [segment.name, other.name], other.name
    elif segment.splits:
        sources = [(segment.name, True)]
        declared = [s.name for s in segment.splits]
        control = choose_control(declared)
    else:
        sources = [(segment.name, False)]
        declared, control = [segment.name], segment.name
    out = Report(segment.name, other.name if other else None, since, until, now, level)
    for metric in metrics:
        query = metric_query(project, adapter, segment, metric, sources, since, until, now)
        found = {row[0]: row for row in adapter.fetchall(query)}
        labels = declared + sorted(label for label in found if label not in declared)
        arms = []
        for label in labels:
            row = found.get(label)
            stats_ = ArmStats(int(row[1]), _decimal(row[2]), _decimal(row[3]), int(row[4] or 0)) if row \
                else ArmStats(0, Decimal(0), Decimal(0), 0)
            split = None if other is not None or not segment.splits else label
            arm_segment = label if other is not None else segment.name
            arms.append(Arm(label, arm_segment, split, stats_, _time(row[5]) if row else None,
                            _time(row[6]) if row else None, interval=mean_interval(metric.kind, stats_, level)))
        base = next(a for a in arms if a.label == control)
        for arm in arms:
            if arm.label != control:
                arm.test = compare(metric.kind, arm.stats, base.stats, level)
        out.results.append(MetricResult(metric.name, metric.kind, str(metric.within) if metric.within else None,
                                        control, arms))
    return out


# -- segment_outcomes -------------------------------------------------------------------------------
OUTCOME_COLUMNS = ["segment", "split", "metric", "kind", "compared_to", "period_start", "period_end",
                   "members", "value", "mean", "difference", "lift", "ci_low", "ci_high", "p_value",
                   "computed_at"]


def save(adapter: Adapter, project: Project, result: Report) -> int:
    """Write one row per arm and metric into `segment_outcomes`, replacing the rows of the same
    segment, split, metric and period; one transaction. Returns the rows written."""
    from .outputs import ensure_output_tables

    schema = project.segment_schema
    if adapter.relation_kind(schema, OUTCOMES_TABLE) is None:
        ensure_output_tables(adapter, schema)
    start, end = result.period_start, result.period_end
    rows = []
    for r in result.results:
        for arm in r.arms:
            test_ = arm.test or Test(None, None, None, None, None)
            rows.append([arm.segment, arm.split, r.metric, r.kind, r.control if arm.test else None,
                         start, end, arm.stats.members, arm.stats.total, arm.stats.mean,
                         test_.difference, test_.lift, test_.ci_low, test_.ci_high, test_.p_value,
                         result.computed_at])

    def literal(value) -> exp.Expression:
        if value is None:
            return exp.null()
        if isinstance(value, dt.datetime):
            return timestamp_literal(value)
        if isinstance(value, float):
            return exp.null() if not math.isfinite(value) else exp.Literal.number(repr(value))
        if isinstance(value, (int, Decimal)):
            return exp.Literal.number(str(value))
        return text(str(value))

    target = table(schema, OUTCOMES_TABLE)
    with adapter.transaction():
        for values in rows:
            same = [col("metric").eq(text(values[2])), col("segment").eq(text(values[0]))]
            same.append(exp.Is(this=col("split"), expression=exp.null()) if values[1] is None
                        else col("split").eq(text(values[1])))
            same.append(col("period_end").eq(timestamp_literal(end)))
            same.append(exp.Is(this=col("period_start"), expression=exp.null()) if start is None
                        else col("period_start").eq(timestamp_literal(start)))
            adapter.execute(exp.delete(target.copy(), where=exp.and_(*same)))
        adapter.execute(insert(target, OUTCOME_COLUMNS,
                               exp.values([tuple(literal(v) for v in values) for values in rows])))
    return len(rows)


# -- rendering --------------------------------------------------------------------------------------
def _fmt(kind: str, value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    sign = "+" if signed else ""
    return f"{value * 100:{sign}.2f}%" if kind == "rate" else f"{value:{sign},.4g}"


def report_tables(result: Report) -> list:
    """One rich table per metric: arms, members, rate or mean, lift, interval and p-value."""
    from rich.table import Table

    period = (f"{result.period_start:%Y-%m-%d %H:%M}" if result.period_start else "start") + \
        f" .. {result.period_end:%Y-%m-%d %H:%M}"
    tables = []
    for r in result.results:
        window = f", within {r.within}" if r.within else ", while a member"
        title = (f"{r.metric} ({r.kind}{window}) — {result.segment}"
                 + (f" vs {result.compare_to}" if result.compare_to else "") + f", entered {period}")
        table_ = Table(title=title, title_justify="left")
        for name, justify in (("arm", "left"), ("members", "right"), ("rate" if r.kind == "rate" else "mean", "right"),
                              ("difference", "right"), ("lift", "right"),
                              (f"{result.level:.0%} interval of difference", "right"), ("p-value", "right")):
            table_.add_column(name, justify=justify)
        for arm in r.arms:
            label = arm.label + (" [dim](control)[/]" if arm.test is None and len(r.arms) > 1
                                 and arm.label not in CONTROL_NAMES else "")
            if arm.test is None:
                table_.add_row(label, f"{arm.stats.members:,}", _fmt(r.kind, arm.stats.mean), "", "", "", "")
                continue
            tt = arm.test
            interval = (f"[{_fmt(r.kind, tt.ci_low, True)}, {_fmt(r.kind, tt.ci_high, True)}]"
                        if tt.ci_low is not None else "—")
            p_value = "—" if tt.p_value is None else (f"{tt.p_value:.3g}" + (" *" if tt.p_value < 1 - result.level else ""))
            lift = "—" if tt.lift is None else f"{tt.lift * 100:+.1f}%"
            table_.add_row(label, f"{arm.stats.members:,}", _fmt(r.kind, arm.stats.mean),
                           _fmt(r.kind, tt.difference, True), lift, interval, p_value)
        tables.append(table_)
    return tables


# -- the docs site: the latest saved report per segment and metric ----------------------------------
def latest_saved(adapter: Adapter, project: Project) -> dict[str, list[dict]]:
    """{segment: [report, ...]}: for each segment and metric, the rows of its latest `--save`, as
    {metric, kind, control, period_start, period_end, computed_at, arms: [...]}."""
    schema = project.segment_schema
    if adapter.relation_kind(schema, OUTCOMES_TABLE) is None:
        return {}
    rows = adapter.fetchall(exp.select(*[col(c) for c in OUTCOME_COLUMNS]).from_(table(schema, OUTCOMES_TABLE)))
    groups: dict[tuple, list[dict]] = {}
    for values in rows:
        item = dict(zip(OUTCOME_COLUMNS, values))
        groups.setdefault((item["metric"], str(item["computed_at"]), str(item["period_start"]),
                           str(item["period_end"])), []).append(item)
    latest: dict[tuple[str, str], dict] = {}
    for (metric, computed_at, _, _), items in groups.items():
        tested = [i for i in items if i["compared_to"] is not None]
        owner = tested[0]["segment"] if tested else items[0]["segment"]
        control = tested[0]["compared_to"] if tested else None
        if owner not in project.segments:
            continue
        split_mode = any(i["split"] is not None for i in items)
        arms = [{"arm": i["split"] if split_mode else i["segment"], "members": int(i["members"] or 0),
                 "mean": _float(i["mean"]), "difference": _float(i["difference"]), "lift": _float(i["lift"]),
                 "ci_low": _float(i["ci_low"]), "ci_high": _float(i["ci_high"]), "p_value": _float(i["p_value"]),
                 "control": i["compared_to"] is None} for i in items]
        order = [s.name for s in project.segments[owner].splits] if split_mode else [owner, control]
        arms.sort(key=lambda a: order.index(a["arm"]) if a["arm"] in order else len(order))
        report_ = {"metric": metric, "kind": items[0]["kind"], "control": control or arms[0]["arm"],
                   "period_start": items[0]["period_start"], "period_end": items[0]["period_end"],
                   "computed_at": items[0]["computed_at"], "arms": arms}
        key = (owner, metric)
        if key not in latest or str(latest[key]["computed_at"]) < computed_at:
            latest[key] = report_
    out: dict[str, list[dict]] = {}
    for (owner, _), report_ in sorted(latest.items()):
        out.setdefault(owner, []).append(report_)
    return out


def _float(value) -> float | None:
    return None if value is None else float(value)


def outcome_spec(report_: dict) -> dict:
    """Vega-Lite: the rate or mean per arm (bars), and each arm's difference from the control with
    its interval (a point on a rule), beside a zero line."""
    rate = report_["kind"] == "rate"
    values = [{**a, "label": a["arm"] + (" (control)" if a["control"] else "")} for a in report_["arms"]]
    axis_format = ".1%" if rate else ",.4~g"
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "hconcat": [
            {"width": 300, "height": {"step": 26}, "mark": "bar",
             "encoding": {"y": {"field": "label", "type": "nominal", "title": None, "sort": None},
                          "x": {"field": "mean", "type": "quantitative", "title": "rate" if rate else "mean",
                                "axis": {"format": axis_format}},
                          "color": {"field": "control", "type": "nominal", "legend": None,
                                    "scale": {"domain": [True, False], "range": ["#8d99ae", "#2a9d8f"]}},
                          "tooltip": [{"field": "label", "title": "arm"}, {"field": "members"},
                                      {"field": "mean", "format": axis_format}]}},
            {"width": 300, "height": {"step": 26},
             "transform": [{"filter": "!datum.control"}],
             "layer": [
                 {"mark": "rule", "encoding": {
                     "y": {"field": "label", "type": "nominal", "title": None, "sort": None},
                     "x": {"field": "ci_low", "type": "quantitative",
                           "title": "difference from control (95% interval)", "axis": {"format": axis_format}},
                     "x2": {"field": "ci_high"}}},
                 {"mark": {"type": "point", "filled": True, "size": 60}, "encoding": {
                     "y": {"field": "label", "type": "nominal", "sort": None},
                     "x": {"field": "difference", "type": "quantitative"},
                     "tooltip": [{"field": "label", "title": "arm"},
                                 {"field": "difference", "format": axis_format},
                                 {"field": "ci_low", "format": axis_format}, {"field": "ci_high", "format": axis_format},
                                 {"field": "lift", "format": "+.1%"}, {"field": "p_value", "format": ".3g"}]}},
                 {"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#9a3b3b"},
                  "encoding": {"x": {"datum": 0}}}]}]}


def outcome_rows_html(report_: dict, esc) -> str:
    """The numbers under the chart: one table row per arm."""
    rate = report_["kind"] == "rate"

    def show(value, signed=False):
        if value is None:
            return "—"
        sign = "+" if signed else ""
        return f"{value * 100:{sign}.2f}%" if rate else f"{value:{sign},.4g}"

    cells = ["<table><tr><th>arm</th><th>members</th><th>" + ("rate" if rate else "mean") +
             "</th><th>difference</th><th>lift</th><th>95% interval</th><th>p-value</th></tr>"]
    for arm in report_["arms"]:
        interval = (f"[{show(arm['ci_low'], True)}, {show(arm['ci_high'], True)}]"
                    if arm["ci_low"] is not None else "—")
        cells.append(
            f"<tr><td>{esc(arm['arm'])}{' (control)' if arm['control'] else ''}</td>"
            f"<td class=\"n\">{arm['members']:,}</td><td class=\"n\">{show(arm['mean'])}</td>"
            f"<td class=\"n\">{'' if arm['control'] else show(arm['difference'], True)}</td>"
            f"<td class=\"n\">{'' if arm['control'] or arm['lift'] is None else format(arm['lift'], '+.1%')}</td>"
            f"<td class=\"n\">{'' if arm['control'] else interval}</td>"
            f"<td class=\"n\">{'' if arm['control'] or arm['p_value'] is None else format(arm['p_value'], '.3g')}</td></tr>")
    return "".join(cells) + "</table>"
