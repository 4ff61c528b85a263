"""A pure-Python reference evaluator of SEGMENTS.md (with docs/semantics.md) over rows in memory.

It shares only the language types with segwarehouse, never the compiler: the engines must agree
with this independent reading of the spec."""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from segwarehouse.language import types as t


@dataclass
class World:
    """Entity rows, related rows per relation, list keys; the entity spec and every segment."""
    entity: t.Entity
    rows: list[dict]
    related: dict[str, list[dict]]
    lists: dict[str, set[str]] = field(default_factory=dict)
    segments: dict[str, t.Segment] = field(default_factory=dict)


def shift(as_of: dt.datetime, d: t.Duration, sign: int) -> dt.datetime:
    if d.unit == "week":
        delta = relativedelta(days=7 * d.amount)
    else:
        delta = relativedelta(**{f"{d.unit}s": d.amount})
    return as_of + delta * sign


def as_time(value):
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value) if len(value) > 10 else as_time(dt.date.fromisoformat(value))
    raise TypeError(value)


def point(value, as_of):
    return shift(as_of, value.duration, -1) if isinstance(value, t.Ago) else as_time(value)


def is_day(value) -> bool:
    """A date literal without a time (or a DATE value)."""
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


ONE_DAY = dt.timedelta(days=1)


def time_compare(value, op: str, want, as_of: dt.datetime) -> bool:
    """SEGMENTS.md §4 [1.1] read literally: a day literal against a DATE value compares dates; against
    a timestamp it is the whole UTC day (equals [d, d+1), gt/after >= d+1, gte >= d, lt/before < d,
    lte < d+1). Anything else compares exact instants (a DATE is midnight UTC)."""
    if is_day(want) and is_day(value):
        v, w = value, want
    elif is_day(want):
        v, start = as_time(value), as_time(want)
        end = start + ONE_DAY
        return {"equals": start <= v < end, "gt": v >= end, "after": v >= end, "gte": v >= start,
                "lt": v < start, "before": v < start, "lte": v < end}[op]
    else:
        v, w = as_time(value), point(want, as_of)
    return {"equals": v == w, "gt": v > w, "after": v > w, "gte": v >= w, "lt": v < w,
            "before": v < w, "lte": v <= w}[op]


def calendar_period(as_of: dt.datetime, name: str):
    """`during:` [1.1]: (start, end, end included) in UTC; today and this_* end at as_of (included),
    the others are whole periods [start, end). Weeks start on Monday."""
    today = as_of.date()
    if name in ("today", "yesterday"):
        start = today
        previous = today - ONE_DAY
    elif name in ("this_week", "last_week"):
        start = today - dt.timedelta(days=today.isoweekday() - 1)
        previous = start - dt.timedelta(days=7)
    elif name in ("this_month", "last_month"):
        start = dt.date(today.year, today.month, 1)
        previous = (start - ONE_DAY).replace(day=1)
    elif name in ("this_quarter", "last_quarter"):
        start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        previous = (start - ONE_DAY).replace(day=1) - relativedelta(months=2)
    elif name in ("this_year", "last_year"):
        start = dt.date(today.year, 1, 1)
        previous = dt.date(today.year - 1, 1, 1)
    else:
        raise AssertionError(name)
    if name == "today" or name.startswith("this_"):
        return as_time(start), as_of, True
    return as_time(previous), as_time(start), False


def text_of(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def number(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def compare(value, c: t.Comparison, as_of: dt.datetime) -> bool:
    """value OP c, two-valued: unknown is False; negated operators are complements."""
    negated = {"not_equals": "equals", "not_in": "in", "not_contains": "contains",
               "not_within_last": "within_last"}
    if c.op in negated:
        return not compare(value, t.Comparison(negated[c.op], c.value, c.ignore_case), as_of)
    if c.op == "is_set":  # docs/semantics.md: NULL and a value whose text form is empty are not set
        present = value is not None and text_of(value) != ""
        return present == c.value
    if value is None:
        return False
    op, want = c.op, c.value

    def fold(x):
        return x.lower() if c.ignore_case and isinstance(x, str) else x

    def is_time(x):
        return isinstance(x, (dt.date, dt.datetime, t.Ago))

    if op == "equals":
        if is_time(want):
            return time_compare(value, "equals", want, as_of)
        return fold(value) == fold(want) if isinstance(want, str) else number(value) == number(want)
    if op == "in":
        return any(compare(value, t.Comparison("equals", w, c.ignore_case), as_of) for w in want)
    if op in ("gt", "gte", "lt", "lte"):
        if is_time(want):
            return time_compare(value, op, want, as_of)
        left, right = number(value), number(want)
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
    if op == "between":
        low, high = want
        if is_time(low) or is_time(high):
            return time_compare(value, "gte", low, as_of) and time_compare(value, "lte", high, as_of)
        return number(low) <= number(value) <= number(high)
    if op == "contains":
        return fold(want) in fold(value)
    if op == "starts_with":
        return fold(value).startswith(fold(want))
    if op == "ends_with":
        return fold(value).endswith(fold(want))
    if op == "matches":
        return re.search(want, value, re.I if c.ignore_case else 0) is not None
    v = as_time(value)
    if op in ("after", "before"):
        return time_compare(value, op, want, as_of)
    if op == "during":
        start, end, included = calendar_period(as_of, want)
        return start <= v and (v <= end if included else v < end)
    if op == "within_last":
        return shift(as_of, want, -1) < v <= as_of
    if op == "within_next":
        return as_of < v <= shift(as_of, want, +1)
    if op == "anniversary_within":
        start, end = as_of.date(), shift(as_of, want, +1).date()
        day = start
        while day < end:
            if (v.month, v.day) == (day.month, day.day):
                return True
            if (v.month, v.day) == (2, 29) and (day.month, day.day) == (3, 1) and not calendar.isleap(day.year):
                return True
            day += dt.timedelta(days=1)
        return False
    raise AssertionError(op)


class Oracle:
    def __init__(self, world: World, as_of: dt.datetime):
        self.world, self.as_of = world, as_of
        self._buckets: dict[int, dict] = {}

    def bucket(self, node: t.Condition, value_of, row: dict, buckets: int):
        """[1.1] The quantile bucket of row's value among every entity row with a non-NULL value
        (and a key): r = 1 + #strictly smaller, c = #non-NULL, floor(N(r-1)/c) + 1; None for NULL."""
        key = self.world.entity.key
        if id(node) not in self._buckets:
            values = {}
            for other in self.world.rows:
                if other.get(key) is not None:
                    values[other[key]] = value_of(other)
            present = sorted(v for v in values.values() if v is not None)
            self._buckets[id(node)] = (values, present)
        values, present = self._buckets[id(node)]
        mine = values.get(row.get(key))
        if mine is None:
            return None
        smaller = sum(1 for v in present if v < mine)
        return buckets * smaller // len(present) + 1

    def test(self, node: t.Condition, value_of, comparison: t.Comparison, row: dict) -> bool:
        if comparison.op == "bucket":
            spec = comparison.value
            return compare(self.bucket(node, value_of, row, spec.buckets), spec.test, self.as_of)
        return compare(value_of(row), comparison, self.as_of)

    def holds(self, node: t.Condition, row: dict) -> bool:
        if isinstance(node, t.All):
            return all(self.holds(c, row) for c in node.children)
        if isinstance(node, t.Any):
            return any(self.holds(c, row) for c in node.children)
        if isinstance(node, t.NoneOf):
            return not any(self.holds(c, row) for c in node.children)
        if isinstance(node, t.Not):
            return not self.holds(node.child, row)
        if isinstance(node, t.Property):
            return self.test(node, lambda r: r.get(node.column), node.test, row)
        if isinstance(node, t.InSegment):
            return self.is_member(self.world.segments[node.segment], row)
        if isinstance(node, t.InList):
            return text_of(row[self.world.entity.key]) in self.world.lists[node.list_name]
        if isinstance(node, t.Near):
            return self.near(node, row)
        if isinstance(node, t.Related):
            return self.related(node, row)
        raise NotImplementedError(type(node))

    def near(self, node: t.Near, row: dict) -> bool:
        lat, lon = row.get(node.lat_column), row.get(node.lon_column)
        if lat is None or lon is None:
            return False
        p1, p2 = math.radians(node.lat), math.radians(float(lat))
        dlat, dlon = math.radians(float(lat) - node.lat), math.radians(float(lon) - node.lon)
        h = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
        return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h))) <= node.within_km

    def related(self, node: t.Related, row: dict) -> bool:
        return self.test(node, lambda r: self.measure(node, r), node.measure.test, row)

    def measure(self, node: t.Related, row: dict):
        """The value of a related leaf's measure for an entity row (its comparison aside)."""
        entity = self.world.entity
        if node.event is not None and not node.relation:
            relation = next(r for r in entity.relations.values() if r.event_name)
        else:
            relation = entity.relations[node.relation]
        key = row[entity.key]
        matching = []
        for r in self.world.related[relation.name]:
            if r.get(relation.foreign_key) is None or r[relation.foreign_key] != key:
                continue
            if relation.time:
                when = as_time(r.get(relation.time))
                if when is not None and when > self.as_of:
                    continue
                if node.window is not None and (when is None or not compare(when, node.window, self.as_of)):
                    continue
            if node.event is not None and r.get(relation.event_name) != node.event:
                continue
            if node.where is not None and not self.holds(node.where, r):
                continue
            matching.append(r)
        m = node.measure
        if m.kind == "count":
            value = len(matching)
        elif m.kind in ("first", "last"):
            times = [as_time(r[relation.time]) for r in matching if r.get(relation.time) is not None]
            value = (min(times) if m.kind == "first" else max(times)) if times else None
        else:
            values = [number(r[m.of]) for r in matching if r.get(m.of) is not None]
            if m.kind == "sum":
                value = sum(values, Decimal(0))
            elif m.kind == "count_distinct":
                value = len(set(values))
            elif not values:
                value = None
            elif m.kind == "avg":
                value = Decimal(sum(values, Decimal(0))) / len(values)
            else:
                value = min(values) if m.kind == "min" else max(values)
        return value

    def traits(self, segment: t.Segment) -> dict[str, dict]:
        """key (as text) -> {trait name: value} of every member [1.1]."""
        out = {}
        for row in self.world.rows:
            if self.is_member(segment, row):
                out[text_of(row[self.world.entity.key])] = {
                    trait.name: self.measure(trait.measure, row) for trait in segment.traits}
        return out

    def source(self, name: str, row: dict) -> bool:
        if name in self.world.lists:
            return text_of(row[self.world.entity.key]) in self.world.lists[name]
        return self.is_member(self.world.segments[name], row)

    def is_member(self, segment: t.Segment, row: dict) -> bool:
        if row.get(self.world.entity.key) is None:
            return False
        inside = (segment.rules is not None and self.holds(segment.rules, row)) or any(
            self.source(n, row) for n in segment.include)
        return inside and not any(self.source(n, row) for n in segment.exclude)

    def members(self, segment: t.Segment) -> dict[str, str | None]:
        """key (as text) -> split (or None) of every member."""
        out = {}
        for row in self.world.rows:
            if self.is_member(segment, row):
                key = text_of(row[self.world.entity.key])
                out[key] = split_of(segment, key)
        return out


def split_of(segment: t.Segment, key: str) -> str | None:
    if not segment.splits:
        return None
    bucket = int(hashlib.md5(f"{segment.split_seed or segment.name}:{key}".encode()).hexdigest()[:8], 16) % 10000
    upper = Decimal(0)
    for split in segment.splits:
        upper += split.percent * 100
        if bucket < upper:
            return split.name
    return segment.splits[-1].name
