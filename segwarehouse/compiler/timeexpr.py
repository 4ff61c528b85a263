"""Time in compiled SQL: as_of as a literal (or the live UTC clock for views), windows, anniversaries."""
from __future__ import annotations

import calendar
import datetime as dt
from typing import Callable

from dateutil.relativedelta import relativedelta
from sqlglot import exp

from ..language.types import Ago, Duration
from .dialects import UtcNow

SQL_UNITS = {"minute": "MINUTE", "hour": "HOUR", "day": "DAY", "week": "DAY", "month": "MONTH",
             "year": "YEAR"}


def delta(duration: Duration) -> relativedelta:
    if duration.unit == "week":
        return relativedelta(days=7 * duration.amount)
    return relativedelta(**{f"{duration.unit}s": duration.amount})


TIMESTAMP = exp.DataType.build("TIMESTAMP")  # built once: DataType.build parses its argument


def _timestamp_text(value: dt.datetime | dt.date) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def timestamp_literal(value: dt.datetime | dt.date) -> exp.Expression:
    return exp.cast(exp.Literal.string(_timestamp_text(value)), TIMESTAMP.copy(), copy=False)


# Meta key of a node built from a clock's as_of: what it is at the clock's twin instant (see Clock).
TWIN = "segw_twin"


def as_timestamp(value: exp.Expression) -> exp.Expression:
    return exp.cast(value, TIMESTAMP.copy())


class Clock:
    """The as_of of one compile: a fixed UTC instant, or None for live (view) segments.
    `read` tells whether a query built with it depends on the fixed as_of (it asked for it).

    With a `twin` instant, every node built from as_of also notes (meta TWIN) what it would be at
    the twin, so that one query stands for both (at_twin); the compiler clears `twin_same` when a
    choice it made (two measures found equal, a bound found in a condition) could go the other way
    at the twin, where that query would not be the one built there."""

    def __init__(self, as_of: dt.datetime | None, twin: dt.datetime | None = None):
        self._as_of = as_of
        self.read = False
        self.twin = twin if as_of is not None else None
        self.twin_same = True

    @property
    def as_of(self) -> dt.datetime | None:
        self.read = self.read or self._as_of is not None
        return self._as_of

    @property
    def live(self) -> bool:
        return self._as_of is None

    def _at_twin(self, compute: Callable[[dt.datetime], object]):
        """compute(twin), or None without a twin or where the twin is out of range (then this
        query is not the one at the twin, which fails to build)."""
        if self.twin is None:
            return None
        try:
            return compute(self.twin)
        except (OverflowError, ValueError):
            self.twin_same = False
            return None

    def _stamp(self, value: dt.datetime, twin: dt.datetime | None) -> exp.Expression:
        node = timestamp_literal(value)
        if twin is not None:
            node.meta[TWIN] = _timestamp_text(twin)
        return node

    def now(self) -> exp.Expression:
        return UtcNow() if self.live else self._stamp(self.as_of, self.twin)

    def shift(self, duration: Duration, sign: int) -> exp.Expression:
        """as_of + sign * duration, folded to a literal when as_of is fixed."""
        if not self.live:
            value = self.as_of + delta(duration) * sign
            return self._stamp(value, self._at_twin(lambda twin: twin + delta(duration) * sign))
        amount = duration.amount * (7 if duration.unit == "week" else 1)
        node = exp.DateAdd if sign > 0 else exp.DateSub
        return node(this=UtcNow(), expression=exp.Literal.number(amount),
                    unit=exp.var(SQL_UNITS[duration.unit]))

    def period(self, period: str) -> tuple[exp.Expression, exp.Expression, bool]:
        """`during: period` as literal bounds (see period_bounds); as_of must be fixed."""
        start, end, included = period_bounds(self.as_of, period)
        twin_start, twin_end, _ = self._at_twin(lambda twin: period_bounds(twin, period)) or (None, None, None)
        return self._stamp(start, twin_start), self._stamp(end, twin_end), included

    def anniversary(self, duration: Duration) -> tuple[list[exp.Expression], list[int] | None]:
        """MONTH*100+DAY codes of the anniversary window (anniversary_codes) as literals, and the
        codes at the twin (None without one); as_of must be fixed. No codes at as_of is left to
        the caller; none at the twin only (an error there) clears twin_same."""
        codes = anniversary_codes(self.as_of, duration)
        twin = self._at_twin(lambda twin: anniversary_codes(twin, duration))
        if twin is not None and bool(twin) != bool(codes):
            self.twin_same = False
        return [exp.Literal.number(c) for c in codes], twin

    def point(self, value) -> exp.Expression:
        if isinstance(value, Ago):
            return self.shift(value.duration, -1)
        return timestamp_literal(value)


def at_twin(tree: exp.Expression) -> Callable[[], None] | None:
    """Turn the literals a twin clock noted in `tree` into their values at its twin, in place;
    what turns them back (None: there were none)."""
    undo = []
    stack = [tree]
    while stack:  # not tree.walk(): this runs over every query a cold compile builds
        node = stack.pop()
        for value in node.args.values():
            if type(value) is list:
                stack.extend(v for v in value if isinstance(v, exp.Expression))
            elif isinstance(value, exp.Expression):
                stack.append(value)
        twin = node._meta.get(TWIN) if node._meta is not None else None
        if twin is None:
            continue
        if isinstance(node, exp.In):
            undo.append((node, "expressions", node.expressions))
            node.set("expressions", [exp.Literal.number(c) for c in twin])
        else:  # CAST('...' AS TIMESTAMP)
            undo.append((node.this, "this", node.this.this))
            node.this.set("this", twin)

    def back() -> None:
        for owner, key, value in reversed(undo):
            owner.set(key, value)
    return back if undo else None


def period_bounds(as_of: dt.datetime, period: str) -> tuple[dt.datetime, dt.datetime, bool]:
    """The calendar period `during: period` of as_of in UTC as (start, end, end_included): a value v
    is in it when start <= v < end, or start <= v <= end when end_included. The current periods
    (today, this_*) end at as_of, included (like within_last); the previous ones are whole
    half-open periods. Weeks start on Monday (ISO)."""
    day = dt.datetime(as_of.year, as_of.month, as_of.day)
    if period in ("today", "yesterday"):
        start = day
    elif period in ("this_week", "last_week"):
        start = day - dt.timedelta(days=day.weekday())
    elif period in ("this_month", "last_month"):
        start = day.replace(day=1)
    elif period in ("this_quarter", "last_quarter"):
        start = day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    elif period in ("this_year", "last_year"):
        start = day.replace(month=1, day=1)
    else:
        raise ValueError(period)
    if period == "today" or period.startswith("this_"):
        return start, as_of, True
    length = {"yesterday": relativedelta(days=1), "last_week": relativedelta(days=7),
              "last_month": relativedelta(months=1), "last_quarter": relativedelta(months=3),
              "last_year": relativedelta(years=1)}[period]
    return start - length, start, False


def anniversary_codes(as_of: dt.datetime, duration: Duration) -> list[int]:
    """month*100+day of every day in [as_of's date, date of as_of + duration); Feb 29 counts
    as Mar 1 in non-leap years."""
    start = as_of.date()
    end = (as_of + delta(duration)).date()
    codes: set[int] = set()
    day = start
    while day < end and len(codes) < 366:
        codes.add(day.month * 100 + day.day)
        if day.month == 3 and day.day == 1 and not calendar.isleap(day.year):
            codes.add(229)
        day += dt.timedelta(days=1)
    return sorted(codes)
