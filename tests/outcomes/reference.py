"""A pure-Python reference of `segw report`'s attribution (docs/outcomes.md), beside tests/oracle.py.

It shares only the language types (and the oracle's reading of `where:`) with segwarehouse, never
the outcomes query: from membership intervals and related rows it gives each counted member's
metric value, per arm."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from segwarehouse.language import types as t
from tests.oracle import Oracle, World


def window_end(start: dt.datetime, within: t.Duration | None) -> dt.datetime | None:
    if within is None:
        return None
    if within.unit == "week":
        return start + relativedelta(days=7 * within.amount)
    return start + relativedelta(**{f"{within.unit}s": within.amount})


def entries(history: list[tuple], since=None, until=None, by_split: bool = True) -> dict[str, tuple]:
    """{key: (arm, start, end)}: each key's first membership start in [since, until); a start is an
    interval that does not continue another one (a move). by_split: the arm is the interval's split
    and it ends with the interval; else the membership ends at its first real exit."""
    ends = {(k, vt) for k, _, vf, vt in history}
    starts = {(k, vf) for k, _, vf, vt in history}
    out: dict[str, tuple] = {}
    for key, split, valid_from, valid_to in sorted(history, key=lambda r: (r[0], r[2])):
        if (key, valid_from) in ends:  # continues a move
            continue
        if since is not None and valid_from < since or until is not None and valid_from >= until:
            continue
        if key in out:
            continue
        if by_split:
            out[key] = (split, valid_from, valid_to)
        else:
            exits = sorted(vt for k, _, vf, vt in history
                           if k == key and vt is not None and vt > valid_from and (k, vt) not in starts)
            out[key] = (None, valid_from, exits[0] if exits else None)
    return out


def member_values(entity: t.Entity, metric: t.Metric, members: dict[str, tuple], rows: list[dict]) -> dict:
    """{key: value} of the metric for each member: rows at t with start < t <= start + within and
    t <= end of membership, matching event and where."""
    if metric.related.event is not None and not metric.related.relation:
        relation = next(r for r in entity.relations.values() if r.event_name)
    else:
        relation = entity.relations[metric.related.relation]
    oracle = Oracle(World(entity, [], {relation.name: rows}), dt.datetime(2100, 1, 1))
    values = {}
    for key, (_, start, end) in members.items():
        limit = window_end(start, metric.within)
        matched = []
        for row in rows:
            time = row.get(relation.time)
            if row.get(relation.foreign_key) is None or str(row[relation.foreign_key]) != key or time is None:
                continue
            if not time > start or (end is not None and time > end) or (limit is not None and time > limit):
                continue
            if metric.related.event is not None and row.get(relation.event_name) != metric.related.event:
                continue
            if metric.related.where is not None and not oracle.holds(metric.related.where, row):
                continue
            matched.append(row)
        if metric.kind == "rate":
            values[key] = 1 if matched else 0
        elif metric.kind == "count":
            values[key] = len(matched)
        else:
            values[key] = sum((Decimal(str(r[metric.related.measure.of])) for r in matched
                               if r.get(metric.related.measure.of) is not None), Decimal(0))
    return values


def per_arm(members: dict[str, tuple], values: dict[str, object], label=None) -> dict[str, list]:
    """{arm: [value, ...]} (label replaces the arm, for whole-segment comparisons)."""
    out: dict[str, list] = {}
    for key, (arm, _, _) in members.items():
        out.setdefault(label or arm, []).append(values[key])
    return out
