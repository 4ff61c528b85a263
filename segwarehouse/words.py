"""Rules in plain words, for the catalog, explain, funnel, plan and the docs site."""
from __future__ import annotations

import datetime as dt

from .language import types as t

OP_WORDS = {"equals": "is", "not_equals": "is not", "in": "is one of", "not_in": "is none of",
            "gt": "is greater than", "gte": "is at least", "lt": "is less than", "lte": "is at most",
            "between": "is between", "contains": "contains", "not_contains": "does not contain",
            "starts_with": "starts with", "ends_with": "ends with", "matches": "matches",
            "after": "is after", "before": "is before", "within_last": "is within the last",
            "not_within_last": "is not within the last", "within_next": "is within the next",
            "anniversary_within": "has its anniversary within the next", "during": "is during"}
TIME_WORDS = {"gt": "is after", "gte": "is on or after", "lt": "is before", "lte": "is on or before"}


def value_words(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, t.Ago):
        return f"{value.duration} ago"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}" if (value.hour, value.minute, value.second) != (0, 0, 0) \
            else f"{value:%Y-%m-%d}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, t.Duration):
        return str(value)
    if isinstance(value, (tuple, list)):
        return ", ".join(value_words(v) for v in value)
    return str(value)


def comparison_words(test: t.Comparison | None) -> str:
    if test is None:  # a trait's measure: not compared
        return ""
    op, value = test.op, test.value
    if op == "bucket" and hasattr(value, "buckets") and hasattr(value, "test"):
        return f"in {value.buckets} quantile buckets: bucket {comparison_words(value.test)}"
    case = " (ignoring case)" if getattr(test, "ignore_case", False) else ""
    if op == "is_set":
        return ("is set" if value else "is not set") + case
    if op == "between" and isinstance(value, (tuple, list)) and len(value) == 2:
        return f"is between {value_words(value[0])} and {value_words(value[1])}" + case
    if op in ("in", "not_in") and isinstance(value, (tuple, list)):
        return f"{OP_WORDS[op]} {value_words(value)}" + case
    if op == "matches":
        return f"matches /{value}/" + case
    if op in TIME_WORDS and isinstance(value, (dt.date, t.Ago)):
        return f"{TIME_WORDS[op]} {value_words(value)}" + case
    if op == "during":
        return f"is during {str(value).replace('_', ' ')}"
    if op in OP_WORDS:
        return f"{OP_WORDS[op]} {value_words(value)}" + case
    extra = {k: v for k, v in getattr(test, "__dict__", {}).items() if k not in ("op", "value", "ignore_case")
             and v not in (None, False)}
    return f"{op.replace('_', ' ')} {value_words(value)}" + "".join(f", {k} {v}" for k, v in extra.items())


def window_words(window: t.Comparison) -> str:
    if window.op == "within_last":
        return f"in the last {value_words(window.value)}"
    if window.op == "between" and isinstance(window.value, (tuple, list)):
        return f"between {value_words(window.value[0])} and {value_words(window.value[1])}"
    if window.op == "during":
        return f"during {str(window.value).replace('_', ' ')}"
    if window.op in ("after", "before"):
        return f"{window.op} {value_words(window.value)}"
    return comparison_words(window)


def condition_words(node: t.Condition | None) -> str:
    """A condition in plain words, e.g. `number of orders in the last 90 days is 0`."""
    if node is None:
        return "nobody by rules"
    if isinstance(node, (t.All, t.Any, t.NoneOf)):
        word = {t.All: "all of", t.Any: "any of", t.NoneOf: "none of"}[type(node)]
        return f"{word} (" + "; ".join(condition_words(c) for c in node.children) + ")"
    if isinstance(node, t.Not):
        return f"not ({condition_words(node.child)})"
    if isinstance(node, t.Property):
        return f"{node.column} {comparison_words(node.test)}"
    if isinstance(node, t.Related):
        rows = f"'{node.event}' events" if node.event else node.relation
        details = []
        if node.where is not None:
            details.append(f"where {condition_words(node.where)}")
        if node.window is not None:
            details.append(window_words(node.window))
        scope = f"{rows} ({', '.join(details)})" if details else rows
        measure = node.measure
        if measure.kind == "count":
            subject = f"number of {scope}"
        elif measure.kind in ("first", "last"):
            subject = f"time of the {measure.kind} of {scope}"
        elif measure.kind == "count_distinct":
            subject = f"number of distinct {measure.of} over {scope}"
        else:
            subject = f"{measure.kind} of {measure.of} over {scope}"
        return f"{subject} {comparison_words(measure.test)}"
    if isinstance(node, t.InSegment):
        return f"member of segment {node.segment}"
    if isinstance(node, t.InList):
        return f"in list {node.list_name}"
    if isinstance(node, t.Near):
        return f"within {node.within_km:g} km of ({node.lat:g}, {node.lon:g})"
    if isinstance(node, t.Sql):
        return f"SQL: {node.text}"
    return type(node).__name__


def segment_words(segment: t.Segment) -> str:
    parts = [condition_words(segment.rules)] if segment.rules is not None else []
    if segment.include:
        parts.append(f"or in {', '.join(segment.include)}")
    if segment.exclude:
        parts.append(f"but never in {', '.join(segment.exclude)}")
    return "; ".join(parts) or "nobody"
