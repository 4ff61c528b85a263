"""The segment language of SEGMENTS.md as small immutable types, one per condition kind."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Union

from ..errors import Location, SegwError, did_you_mean

Scalar = Union[str, int, float, Decimal, bool, dt.date, dt.datetime]

UNITS = ("minute", "hour", "day", "week", "month", "year")


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # one of UNITS

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'' if self.amount == 1 else 's'}"


@dataclass(frozen=True)
class Ago:
    """A point relative to as_of: '30 days ago'."""
    duration: Duration


# A point in time: a timestamp, a day (a date literal without a time, day-granular against
# timestamps: SEGMENTS.md §4 [1.1]) or a point relative to as_of.
TimePoint = Union[dt.datetime, dt.date, Ago]

# Calendar periods of `during:` [1.1], in UTC, weeks starting Monday.
PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month",
           "this_quarter", "last_quarter", "this_year", "last_year")
MIN_BUCKETS, MAX_BUCKETS = 2, 100
# The comparisons a quantile bucket takes (`{bucket: 5, gte: 4}`) [1.1].
BUCKET_COMPARISONS = ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "between")

# Property operators, grouped by the kind of value they take.
SCALAR_OPS = ("equals", "not_equals")
LIST_OPS = ("in", "not_in")
ORDER_OPS = ("gt", "gte", "lt", "lte")
TEXT_OPS = ("contains", "not_contains", "starts_with", "ends_with")
POINT_OPS = ("after", "before")
DURATION_OPS = ("within_last", "not_within_last", "within_next", "anniversary_within")
PROPERTY_OPS = (SCALAR_OPS + LIST_OPS + ORDER_OPS + ("between",) + TEXT_OPS
                + ("matches", "is_set") + POINT_OPS + DURATION_OPS + ("during", "bucket"))
NEGATED_OPS = {"not_equals": "equals", "not_in": "in", "not_contains": "contains",
               "not_within_last": "within_last"}
MEASURE_COMPARISONS = ("equals", "gt", "gte", "lt", "lte", "between")
MEASURES = ("count", "sum", "avg", "min", "max", "count_distinct")
TIME_MEASURES = ("first", "last")
WINDOW_OPS = ("within_last", "after", "before", "between", "during")


@dataclass(frozen=True)
class Condition:
    loc: Location = field(compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class All(Condition):
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Any(Condition):
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class NoneOf(Condition):
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Not(Condition):
    child: Condition


@dataclass(frozen=True)
class Comparison:
    """One operator and its value: `gt: 5`, `between: [1, 2]`, `within_last: 30 days`."""
    op: str
    value: object  # Scalar, tuple of scalars, (low, high), Duration, TimePoint or bool
    ignore_case: bool = False


@dataclass(frozen=True)
class Bucket:
    """The value of a `bucket` comparison: the value's quantile bucket 1..buckets among all entity
    rows with a value, compared with `test` (one of BUCKET_COMPARISONS, whole numbers)."""
    buckets: int
    test: Comparison

    def __str__(self) -> str:
        value = self.test.value
        if isinstance(value, tuple):
            value = "[" + ", ".join(str(v) for v in value) + "]"
        return f"{self.buckets}: {self.test.op} {value}"


def is_day(value) -> bool:
    """A date literal without a time: the whole UTC day against a timestamp."""
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


@dataclass(frozen=True)
class Property(Condition):
    column: str
    test: Comparison


@dataclass(frozen=True)
class Measure:
    kind: str  # count, sum, avg, min, max, count_distinct, first, last
    test: Comparison | None  # None only in a trait: the measure itself, not compared
    of: str | None = None


@dataclass(frozen=True)
class Related(Condition):
    relation: str
    measure: Measure
    where: Condition | None = None
    window: Comparison | None = None
    event: str | None = None  # set when written as the `event:` shorthand


@dataclass(frozen=True)
class InSegment(Condition):
    segment: str


@dataclass(frozen=True)
class InList(Condition):
    list_name: str


@dataclass(frozen=True)
class Near(Condition):
    lat: float
    lon: float
    within_km: float
    lat_column: str = "latitude"
    lon_column: str = "longitude"


@dataclass(frozen=True)
class Sql(Condition):
    text: str


@dataclass(frozen=True)
class Trait:
    """A named measure per member [1.1]: a related leaf whose measure has no comparison, carried
    as a column of the segment's own relation."""
    name: str
    measure: Related
    loc: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PriorityList:
    """Segments made mutually exclusive, highest priority first [1.1]."""
    name: str
    segments: tuple[str, ...]
    loc: Location | None = field(default=None, compare=False)
    item_locs: tuple = field(default=(), compare=False, repr=False)  # Location of each listed name


@dataclass(frozen=True)
class RelationSpec:
    name: str
    model: str
    foreign_key: str
    time: str | None = None
    event_name: str | None = None
    loc: Location | None = field(default=None, compare=False)
    locs: dict = field(default_factory=dict, compare=False, repr=False)  # key -> Location of its line
    loaded_at: str | None = None  # [1.1] when a row arrived or last changed (incremental segments)

    def at(self, key: str) -> Location | None:
        """Where `key:` (foreign_key, time, name) of this relation is written, else the relation."""
        return self.locs.get(key) or self.loc


METRIC_KINDS = ("rate", "count", "sum")


@dataclass(frozen=True)
class Metric:
    """A named outcome of an entity, read by `segw report`: over the related rows matching
    `related` (relation, `event:`, `where:`) after a member entered a segment, within `within`:
    `rate` (at least one such row), `count` (how many) or `sum` (of `of`)."""
    name: str
    kind: str  # one of METRIC_KINDS
    related: Related  # relation, event and where; its measure is count, or sum of `of`
    within: Duration | None = None  # attribution window after entering (None: while a member)
    description: str | None = None
    loc: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Entity:
    name: str
    model: str
    key: str
    relations: dict[str, RelationSpec]
    loc: Location | None = field(default=None, compare=False)
    locs: dict = field(default_factory=dict, compare=False, repr=False)  # key -> Location of its line
    loaded_at: str | None = None  # [1.1] when an entity row arrived or last changed
    metrics: dict = field(default_factory=dict, compare=False, repr=False)  # name -> Metric (outcomes)

    def at(self, key: str) -> Location | None:
        """Where `key:` (key, model) of this entity is written, else the entity."""
        return self.locs.get(key) or self.loc


@dataclass(frozen=True)
class StaticList:
    name: str
    entity: str
    source: str  # a CSV path in the project, or a model / schema.table
    key_column: str | None = None
    loc: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Split:
    name: str
    percent: Decimal


@dataclass(frozen=True)
class Segment:
    name: str
    entity: str
    rules: Condition | None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    splits: tuple[Split, ...] = ()
    materialized: str = "incremental"
    schedule: str | None = None
    columns: tuple[str, ...] = ()
    title: str | None = None
    description: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    loc: Location | None = field(default=None, compare=False)
    split_seed: str | None = None  # hashed instead of the name for splits (SEGMENTS.md §7)
    traits: tuple[Trait, ...] = ()  # [1.1] computed columns after `columns:`
    priority: tuple[str, str] | None = None  # [1.1] (priority list, segment) a derived segment comes from

    def references(self) -> set[str]:
        """Names of segments and lists this segment reads (in_segment, in_list, include, exclude)."""
        names = set(self.include) | set(self.exclude)
        if self.rules is not None:
            for node in walk(self.rules):
                if isinstance(node, InSegment):
                    names.add(node.segment)
                elif isinstance(node, InList):
                    names.add(node.list_name)
        return names


def walk(condition: Condition):
    """Every condition in a tree, parents before children (not into related `where`)."""
    yield condition
    if isinstance(condition, (All, Any, NoneOf)):
        for child in condition.children:
            yield from walk(child)
    elif isinstance(condition, Not):
        yield from walk(condition.child)


def relation_for(entity: Entity, node: Related) -> RelationSpec:
    """The relation a related leaf reads, checking the `event:` shorthand and time use."""
    if node.event is not None and not node.relation:
        named = [r for r in entity.relations.values() if r.event_name]
        if len(named) != 1:
            raise SegwError(
                f"`event:` needs exactly one relation with `name:` in entity '{entity.name}', "
                f"found {len(named)}", node.loc,
                "add `name: <column>` to the events relation, or write `related: X` with `where:`")
        relation = named[0]
    else:
        name = node.relation
        if name not in entity.relations:
            raise SegwError(f"unknown relation '{name}' in entity '{entity.name}'", node.loc,
                            did_you_mean(name, entity.relations) or
                            f"relations: {', '.join(entity.relations) or 'none declared'}")
        relation = entity.relations[name]
        if node.event is not None and not relation.event_name:
            raise SegwError(f"relation '{name}' has no `name:` column for `event:`", node.loc)
    needs_time = node.window is not None or node.measure.kind in TIME_MEASURES
    if needs_time and not relation.time:
        raise SegwError(f"relation '{relation.name}' of entity '{entity.name}' has no `time:` column, "
                        f"so it has no time window or first/last", node.loc,
                        f"add `time: <column>` to relation '{relation.name}' in models/*.yml")
    return relation
