"""Strict parser from YAML nodes into the segment language types; every fault names file:line."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any as AnyValue

from ..errors import Location, SegwError, did_you_mean
from . import types as t

if TYPE_CHECKING:
    from ..project.yamlfile import YamlDoc  # any document with at(node, key) serves

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME = 50
DURATION_RE = re.compile(r"^\s*(\d+)\s*(minute|hour|day|week|month|year)s?\s*$", re.I)
AGO_RE = re.compile(r"^\s*(\d+\s*[a-z]+)\s+ago\s*$", re.I)
GROUPS = ("all", "any", "none", "not")
LEAVES = ("property", "related", "event", "in_segment", "in_list", "near", "sql")
CASE_OPS = t.SCALAR_OPS + t.LIST_OPS + t.TEXT_OPS + ("matches",)
TIME_MEASURE_OPS = ("after", "before", "within_last", "not_within_last", "within_next", "between",
                    "equals", "gt", "gte", "lt", "lte", "during", "bucket")
SEGMENT_KEYS = ("name", "title", "description", "entity", "category", "tags", "rules", "exclude",
                "include", "splits", "materialized", "schedule", "columns", "split_seed", "traits")
MATERIALIZATIONS = ("view", "table", "incremental")
METRIC_KEYS = ("related", "event", "where", "within", "count", "sum", "description")  # entity `metrics:`


def type_name(value: AnyValue) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (dt.date, dt.datetime)):
        return "a date"
    return type(value).__name__


class Parser:
    """Reads one YAML document's segments, lists or entities, reporting faults at their line."""

    def __init__(self, doc: "YamlDoc"):
        self.doc = doc

    # -- helpers ---------------------------------------------------------------------------
    def fail(self, message: str, node: AnyValue = None, key: AnyValue = None, hint: str | None = None):
        raise SegwError(message, self.doc.at(node, key), hint)

    def mapping(self, node: AnyValue, what: str, parent: AnyValue = None, key: AnyValue = None) -> dict:
        if not isinstance(node, dict):
            where = (parent, key) if parent is not None else (node, None)
            self.fail(f"{what} must be a mapping, got {type_name(node)}", *where,
                      hint="write it as `key: value` lines indented under it")
        return node

    def sequence(self, node: AnyValue, what: str, parent: AnyValue, key: AnyValue) -> list:
        if not isinstance(node, list):
            self.fail(f"{what} must be a list, got {type_name(node)}", parent, key,
                      hint="write it as `- item` lines or as [a, b]")
        return node

    def check_keys(self, node: dict, allowed: tuple[str, ...], what: str) -> None:
        for key in node:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed) or f"allowed keys: {', '.join(allowed)}"
                self.fail(f"unknown key '{key}' in {what}", node, key, hint)

    def text(self, node: dict, key: str, what: str, required: bool = True) -> str | None:
        if key not in node:
            if required:
                self.fail(f"{what} needs `{key}:`", node)
            return None
        value = node[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(f"`{key}` in {what} must be non-empty text, got {type_name(value)}", node, key)
        return value.strip()

    def name(self, node: dict, key: str, what: str) -> str:
        value = self.text(node, key, what)
        self.check_name(value, node, key, what)
        return value

    def check_name(self, value: str, node: AnyValue, key: AnyValue, what: str) -> None:
        if not NAME_RE.match(value) or len(value) > MAX_NAME:
            self.fail(f"invalid name '{value}' for {what}", node, key,
                      f"names are lower-case letters, digits and _, start with a letter, "
                      f"at most {MAX_NAME} characters")

    def names(self, node: dict, key: str, what: str) -> tuple[str, ...]:
        if key not in node or node[key] is None:
            return ()
        value = node[key]
        if isinstance(value, str):
            value = [value]
        items = self.sequence(value, f"`{key}` of {what}", node, key)
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item:
                self.fail(f"`{key}` of {what} must list names, got {type_name(item)}", items, i)
        return tuple(items)

    # -- values ----------------------------------------------------------------------------
    def scalar(self, value: AnyValue, node: dict, key: str) -> t.Scalar:
        if value is None:
            self.fail(f"`{key}` needs a value, got nothing", node, key,
                      "to test for a missing value use `is_set: false`")
        if isinstance(value, (list, dict)):
            self.fail(f"`{key}` takes a single value, got {type_name(value)}", node, key,
                      "use `in:` to compare with several values")
        if isinstance(value, float):
            return Decimal(repr(value))
        if isinstance(value, dt.datetime):
            return to_utc(value)
        return value

    def ordered(self, value: AnyValue, node: dict, key: str):
        """A number, date or timestamp (ISO text is read as a date or timestamp)."""
        if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
            self.fail(f"`{key}` compares with a number, date or timestamp, got {type_name(value)}",
                      node, key, "write one value such as 42, 2024-01-31 or 2024-01-31 08:00:00; "
                      "use `between: [low, high]` for a range")
        if isinstance(value, str):
            parsed = parse_iso(value)
            if parsed is None:
                try:
                    return Decimal(value)
                except InvalidOperation:
                    self.fail(f"`{key}` compares with a number, date or timestamp, got text "
                              f"'{value}'", node, key, "write 42, 2024-01-31 or 2024-01-31 08:00:00")
            return parsed
        return self.scalar(value, node, key)

    def duration(self, value: AnyValue, node: AnyValue, key: AnyValue) -> t.Duration:
        match = DURATION_RE.match(value) if isinstance(value, str) else None
        if not match or int(match.group(1)) <= 0:
            self.fail(f"invalid duration {value!r} for `{key}`", node, key,
                      "write a positive whole number and a unit, e.g. `30 days`, `3 months`, "
                      "`1 year` (units: minutes, hours, days, weeks, months, years)")
        return t.Duration(int(match.group(1)), match.group(2).lower())

    def time_point(self, value: AnyValue, node: AnyValue, key: AnyValue) -> t.TimePoint:
        if isinstance(value, dt.datetime):
            return to_utc(value)
        if isinstance(value, dt.date):  # a day: day-granular against timestamps [1.1]
            return value
        if isinstance(value, str):
            ago = AGO_RE.match(value)
            if ago:
                return t.Ago(self.duration(ago.group(1), node, key))
            parsed = parse_iso(value)
            if parsed is not None:
                return parsed
        self.fail(f"`{key}` needs a date, a timestamp or `N days ago`, got {value!r}", node, key,
                  "write 2024-01-31, 2024-01-31 08:00:00 or `30 days ago`")

    def comparison(self, node: dict, op: str, allowed: tuple[str, ...], what: str) -> t.Comparison:
        value = node[op]
        if op in t.SCALAR_OPS:
            return t.Comparison(op, self.scalar(value, node, op))
        if op in t.LIST_OPS:
            items = self.sequence(value, f"`{op}`", node, op)
            return t.Comparison(op, tuple(self.scalar(v, items, i) for i, v in enumerate(items)))
        if op in t.ORDER_OPS:
            return t.Comparison(op, self.ordered(value, node, op))
        if op == "between":
            items = self.sequence(value, "`between`", node, op)
            if len(items) != 2:
                self.fail(f"`between` takes [low, high], got {len(items)} values", node, op)
            if what == "time":
                return t.Comparison(op, tuple(self.time_point(v, node, op) for v in items))
            low, high = (self.ordered(v, node, op) for v in items)
            return t.Comparison(op, (low, high))
        if op in t.TEXT_OPS or op == "matches":
            if not isinstance(value, str):
                self.fail(f"`{op}` takes text, got {type_name(value)}", node, op,
                          "quote the value, e.g. '123'")
            if op == "matches":
                try:
                    re.compile(value)
                except re.error as exc:
                    self.fail(f"invalid regular expression for `matches`: {exc}", node, op)
            return t.Comparison(op, value)
        if op == "is_set":
            if not isinstance(value, bool):
                self.fail(f"`is_set` takes true or false, got {type_name(value)}", node, op,
                          "write `is_set: true` (has a value) or `is_set: false` (missing or empty)")
            return t.Comparison(op, value)
        if op in t.POINT_OPS:
            return t.Comparison(op, self.time_point(value, node, op))
        if op in t.DURATION_OPS:
            return t.Comparison(op, self.duration(value, node, op))
        if op == "during":
            if value not in t.PERIODS:
                self.fail(f"unknown period {value!r} for `during`", node, op,
                          did_you_mean(str(value), t.PERIODS) or f"one of: {', '.join(t.PERIODS)}")
            return t.Comparison(op, value)
        raise AssertionError(op)

    def bucket(self, node: dict, what: str, extra: tuple[str, ...]) -> t.Comparison:
        """`bucket: N` with one comparison of the bucket number: `{bucket: 5, gte: 4}` [1.1]."""
        buckets = node["bucket"]
        if isinstance(buckets, bool) or not isinstance(buckets, int) \
                or not t.MIN_BUCKETS <= buckets <= t.MAX_BUCKETS:
            self.fail(f"`bucket` takes a whole number of buckets from {t.MIN_BUCKETS} to "
                      f"{t.MAX_BUCKETS}, got {buckets!r}", node, "bucket",
                      "write e.g. `bucket: 5, gte: 4` (quintiles, the top two)")
        op = self.one_operator(node, t.BUCKET_COMPARISONS, f"`bucket` of {what}", extra + ("bucket",))
        test = self.comparison(node, op, t.BUCKET_COMPARISONS, "number")
        values = test.value if isinstance(test.value, tuple) else (test.value,)
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= buckets:
                self.fail(f"`{op}` of `bucket: {buckets}` compares with a bucket number from 1 to "
                          f"{buckets}, got {value!r}", node, op,
                          f"buckets are numbered 1 (lowest values) to {buckets} (highest)")
        return t.Comparison("bucket", t.Bucket(buckets, test))

    def one_operator(self, node: dict, allowed: tuple[str, ...], what: str, extra: tuple[str, ...]) -> str:
        ops = [k for k in node if k in allowed]
        if len(ops) > 1:
            self.fail(f"{what} has several operators ({', '.join(ops)}); it takes exactly one",
                      node, ops[1], "split it into several conditions under `all:`")
        for key in node:
            if key not in allowed and key not in extra:
                hint = did_you_mean(str(key), allowed + extra) or f"operators: {', '.join(allowed)}"
                self.fail(f"unknown operator '{key}' in {what}", node, key, hint)
        if not ops:
            self.fail(f"{what} needs an operator", node, hint=f"one of: {', '.join(allowed)}")
        return ops[0]

    # -- conditions ------------------------------------------------------------------------
    def condition(self, node: AnyValue, parent: AnyValue = None, key: AnyValue = None,
                  in_related: bool = False) -> t.Condition:
        if isinstance(node, list):
            return t.All(tuple(self.condition(c, node, i, in_related) for i, c in enumerate(node)),
                         loc=self.doc.at(node))
        node = self.mapping(node, "a condition", parent, key)
        loc = self.doc.at(node)
        kinds = [k for k in node if k in GROUPS or k in LEAVES]
        if not kinds:
            first = next(iter(node), None)
            hint = did_you_mean(str(first), GROUPS + LEAVES) if first is not None else None
            self.fail(f"unknown condition '{first}'" if first is not None else "empty condition",
                      node, first, hint or f"a condition starts with one of: {', '.join(GROUPS + LEAVES)}")
        kind = kinds[0]
        if kind in GROUPS:
            if len(node) != 1:
                other = next(k for k in node if k != kind)
                self.fail(f"`{kind}:` group cannot share its mapping with '{other}'", node, other,
                          f"put '{other}' inside the `{kind}:` list, or in its own condition")
            body = node[kind]
            if kind == "not":
                if isinstance(body, list):
                    return t.Not(t.All(tuple(self.condition(c, body, i, in_related)
                                             for i, c in enumerate(body)), loc=loc), loc=loc)
                return t.Not(self.condition(body, node, kind, in_related), loc=loc)
            items = [] if body is None else self.sequence(body, f"`{kind}:`", node, kind)
            children = tuple(self.condition(c, items, i, in_related) for i, c in enumerate(items))
            return {"all": t.All, "any": t.Any, "none": t.NoneOf}[kind](children, loc=loc)
        if in_related and kind != "property":
            self.fail(f"`{kind}` cannot be used inside `where:` of a related condition", node, kind,
                      "`where:` filters the related rows by their own columns with `property:`")
        if kind == "property":
            return self.leaf_property(node, loc, in_related)
        return getattr(self, f"leaf_{kind}")(node, loc)

    def leaf_property(self, node: dict, loc: Location, in_related: bool = False) -> t.Property:
        column = self.text(node, "property", "a property condition")
        if "bucket" in node:
            if in_related:
                self.fail("`bucket` cannot be used inside `where:` of a related condition", node, "bucket",
                          "bucket a measure instead, e.g. `sum: {of: amount, bucket: 5, gte: 4}`")
            return t.Property(column, self.bucket(node, f"property '{column}'", ("property",)), loc=loc)
        op = self.one_operator(node, t.PROPERTY_OPS, f"property '{column}'", ("property", "ignore_case"))
        ignore_case = node.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            self.fail("`ignore_case` takes true or false", node, "ignore_case")
        if ignore_case and op not in CASE_OPS:
            self.fail(f"`ignore_case` does not apply to `{op}`", node, "ignore_case",
                      f"it applies to: {', '.join(CASE_OPS)}")
        test = self.comparison(node, op, t.PROPERTY_OPS, "property")
        return t.Property(column, t.Comparison(test.op, test.value, ignore_case), loc=loc)

    def leaf_event(self, node: dict, loc: Location) -> t.Related:
        return self.leaf_related(node, loc)

    def leaf_related(self, node: dict, loc: Location, trait: bool = False) -> t.Related:
        allowed = ("related", "event", "where") + t.WINDOW_OPS + t.MEASURES + t.TIME_MEASURES
        self.check_keys(node, allowed, "a related condition")
        if "related" in node and "event" in node:
            self.fail("use either `related:` or `event:`, not both", node, "event")
        event = self.text(node, "event", "an event condition") if "event" in node else None
        relation = self.text(node, "related", "a related condition") if "related" in node else ""
        where = None
        if "where" in node and node["where"] is not None:
            where = self.condition(node["where"], node, "where", in_related=True)
        windows = [k for k in t.WINDOW_OPS if k in node]
        if len(windows) > 1:
            self.fail(f"a related condition takes one time window, got {', '.join(windows)}",
                      node, windows[1], "use `between: [from, to]` for a range")
        window = self.comparison(node, windows[0], t.WINDOW_OPS, "time") if windows else None
        measures = [k for k in t.MEASURES + t.TIME_MEASURES if k in node]
        if len(measures) > 1:
            self.fail(f"a related condition takes one measure, got {', '.join(measures)}",
                      node, measures[1], "combine several measures with `all:`")
        if trait:
            if not measures:
                self.fail("a trait needs a measure", node, hint="e.g. `count: true`, `sum: {of: amount}`, "
                          "`last: true`")
            measure = self.trait_measure(node, measures[0])
        else:
            measure = (self.measure(node, measures[0]) if measures
                       else t.Measure("count", t.Comparison("gte", 1)))
        return t.Related(relation, measure, where, window, event, loc=loc)

    def trait_measure(self, node: dict, kind: str) -> t.Measure:
        """A trait's measure: `count: true`, `first: true`, `last: true` or `{of: COLUMN}`, no comparison."""
        body = node[kind]
        needs_of = kind not in ("count",) + t.TIME_MEASURES
        if body is True and not needs_of:
            return t.Measure(kind, None)
        if isinstance(body, dict) and needs_of:
            for key in body:
                if key != "of":
                    self.fail(f"a trait's `{kind}:` takes only `of:`, got '{key}'", body, key,
                              "a trait is the measure itself; compare it in `rules:`")
            return t.Measure(kind, None, self.text(body, "of", f"`{kind}:`"))
        example = f"{kind}: {{of: COLUMN}}" if needs_of else f"{kind}: true"
        self.fail(f"a trait's `{kind}` takes no comparison; write `{example}`", node, kind,
                  "a trait is the measure itself; compare it in `rules:`")

    def measure(self, node: dict, kind: str) -> t.Measure:
        body = node[kind]
        if kind == "count" and isinstance(body, int) and not isinstance(body, bool):
            if body < 0:
                self.fail("`count` cannot be negative", node, kind)
            return t.Measure("count", t.Comparison("equals", body))
        body = self.mapping(body, f"`{kind}:`", node, kind)
        if kind in t.TIME_MEASURES:
            if "bucket" in body:
                return t.Measure(kind, self.bucket(body, f"`{kind}:`", ()))
            op = self.one_operator(body, TIME_MEASURE_OPS, f"`{kind}:`", ())
            if op in t.ORDER_OPS + t.SCALAR_OPS:
                value = body[op]
                return t.Measure(kind, t.Comparison(op, self.time_point(value, body, op)))
            return t.Measure(kind, self.comparison(body, op, TIME_MEASURE_OPS, "time"))
        needs_of = kind != "count"
        extra = ("of",) if needs_of else ()
        if "bucket" in body:
            of = self.text(body, "of", f"`{kind}:`") if needs_of else None
            return t.Measure(kind, self.bucket(body, f"`{kind}:`", extra), of)
        op = self.one_operator(body, t.MEASURE_COMPARISONS, f"`{kind}:`", extra)
        of = self.text(body, "of", f"`{kind}:`") if needs_of else None
        test = self.comparison(body, op, t.MEASURE_COMPARISONS, "number")
        values = test.value if op == "between" else (test.value,)
        if kind in ("count", "count_distinct", "sum", "avg") and any(
                not isinstance(v, (int, float, Decimal)) or isinstance(v, bool) for v in values):
            self.fail(f"`{kind}` compares with a number, got {values[0]!r}", body, op)
        return t.Measure(kind, test, of)

    def leaf_in_segment(self, node: dict, loc: Location) -> t.InSegment:
        self.check_keys(node, ("in_segment",), "an in_segment condition")
        return t.InSegment(self.text(node, "in_segment", "an in_segment condition"), loc=loc)

    def leaf_in_list(self, node: dict, loc: Location) -> t.InList:
        self.check_keys(node, ("in_list",), "an in_list condition")
        return t.InList(self.text(node, "in_list", "an in_list condition"), loc=loc)

    def leaf_near(self, node: dict, loc: Location) -> t.Near:
        self.check_keys(node, ("near",), "a near condition")
        body = self.mapping(node["near"], "`near:`", node, "near")
        self.check_keys(body, ("lat", "lon", "within_km", "lat_column", "lon_column"), "`near:`")
        numbers = {}
        for key, low, high in (("lat", -90, 90), ("lon", -180, 180), ("within_km", 0, 20040)):
            value = body.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(f"`near:` needs `{key}:` as a number, got {type_name(value)}", body,
                          key if key in body else None)
            if not low <= value <= high:
                self.fail(f"`{key}` must be between {low} and {high}, got {value}", body, key)
            numbers[key] = float(value)
        columns = {k: self.text(body, k, "`near:`") for k in ("lat_column", "lon_column") if k in body}
        return t.Near(numbers["lat"], numbers["lon"], numbers["within_km"], **columns, loc=loc)

    def leaf_sql(self, node: dict, loc: Location) -> t.Sql:
        self.check_keys(node, ("sql",), "a sql condition")
        return t.Sql(self.text(node, "sql", "a sql condition"), loc=loc)

    # -- top level -------------------------------------------------------------------------
    def segment(self, node: AnyValue, parent: list, index: int) -> t.Segment:
        node = self.mapping(node, "a segment", parent, index)
        self.check_keys(node, SEGMENT_KEYS, "a segment")
        title = self.text(node, "title", "a segment", required=False)
        if "name" in node:
            name = self.name(node, "name", "a segment")
        elif title:
            name = slug(title)
            self.check_name(name, node, "title", "a segment (made from its title)")
        else:
            self.fail("a segment needs `name:` (or a `title:` to make one from)", node)
        what = f"segment '{name}'"
        entity = self.text(node, "entity", what)
        rules = None
        if node.get("rules") is not None:
            rules = self.condition(node["rules"], node, "rules")
        include = self.names(node, "include", what)
        exclude = self.names(node, "exclude", what)
        if rules is None and not include:
            self.fail(f"{what} has neither `rules:` nor `include:`", node,
                      hint="add `rules:` (conditions) or `include:` (lists or segments)")
        materialized = node.get("materialized", "incremental")
        if materialized not in MATERIALIZATIONS:
            self.fail(f"unknown materialization {materialized!r} in {what}", node, "materialized",
                      did_you_mean(str(materialized), MATERIALIZATIONS)
                      or f"one of: {', '.join(MATERIALIZATIONS)}")
        schedule = None
        if "schedule" in node:
            schedule = self.schedule(node["schedule"], node, "schedule")
        tags = self.names(node, "tags", what)
        columns = self.names(node, "columns", what)
        traits = self.traits(node, what, columns)
        return t.Segment(
            name=name, entity=entity, rules=rules, include=include, exclude=exclude,
            splits=self.splits(node, what), materialized=materialized, schedule=schedule,
            columns=columns, title=title,
            description=self.text(node, "description", what, required=False),
            category=self.text(node, "category", what, required=False),
            tags=tags, loc=self.doc.at(parent, index),
            split_seed=self.text(node, "split_seed", what, required=False), traits=traits)

    def traits(self, node: dict, what: str, columns: tuple[str, ...]) -> tuple[t.Trait, ...]:
        """`traits: {NAME: {related: R, MEASURE: ...}}` [1.1]: named measures per member."""
        if node.get("traits") is None:
            return ()
        body = self.mapping(node["traits"], f"`traits` of {what}", node, "traits")
        out = []
        for name, leaf in body.items():
            self.check_name(str(name), body, name, "a trait")
            if name == "split" or name in columns:
                clash = "the split column" if name == "split" else "a column listed in `columns:`"
                self.fail(f"trait '{name}' of {what} has the name of {clash}", body, name,
                          "give the trait another name: traits, `columns:`, `split` and the key share "
                          "the segment's relation")
            leaf = self.mapping(leaf, f"trait '{name}'", body, name)
            if "related" not in leaf and "event" not in leaf:
                self.fail(f"trait '{name}' must be a related measure", body, name,
                          "write e.g. `{related: orders, sum: {of: amount}}` or `{event: purchase, "
                          "count: true}`")
            related = self.leaf_related(leaf, self.doc.at(body, name), trait=True)
            out.append(t.Trait(str(name), related, loc=self.doc.at(body, name)))
        return tuple(out)

    def priority_list(self, node: AnyValue, parent: list, index: int) -> t.PriorityList:
        """`{name: lifecycle, segments: [a, b, c]}` [1.1]: highest priority first."""
        node = self.mapping(node, "a priority list", parent, index)
        self.check_keys(node, ("name", "segments", "title", "description"), "a priority list")
        name = self.name(node, "name", "a priority list")
        what = f"priority list '{name}'"
        if "segments" not in node:
            self.fail(f"{what} needs `segments:`", node, hint="list segments of one entity, highest priority first")
        names = self.names(node, "segments", what)
        if len(names) < 1:
            self.fail(f"{what} lists no segments", node, "segments")
        items = node["segments"]
        locs = tuple(self.doc.at(items, i) if isinstance(items, list) else self.doc.at(node, "segments")
                     for i in range(len(names)))
        return t.PriorityList(name, names, loc=self.doc.at(parent, index), item_locs=locs)

    def schedule(self, value: AnyValue, node: AnyValue, key: AnyValue) -> str:
        from .cron import valid_cron

        if not valid_cron(value):
            self.fail(f"invalid cron schedule {value!r}", node, key,
                      "write five fields in UTC: minute hour day-of-month month day-of-week, "
                      "e.g. \"0 6 * * *\" for daily at 06:00, or @daily, @hourly, @weekly, @monthly")
        return value

    def splits(self, node: dict, what: str) -> tuple[t.Split, ...]:
        if node.get("splits") is None:
            return ()
        body = self.mapping(node["splits"], f"`splits` of {what}", node, "splits")
        out = []
        for name, pct in body.items():
            self.check_name(str(name), body, name, "a split")
            if isinstance(pct, bool) or not isinstance(pct, (int, float)) or pct <= 0:
                self.fail(f"split '{name}' needs a positive percentage, got {pct!r}", body, name)
            percent = Decimal(repr(pct)) if isinstance(pct, float) else Decimal(pct)
            if percent * 100 != int(percent * 100):
                self.fail(f"split '{name}' is finer than 0.01%", body, name)
            out.append(t.Split(str(name), percent))
        total = sum(s.percent for s in out)
        if total != 100:
            self.fail(f"splits of {what} add up to {total}, not 100", node, "splits",
                      "make the percentages sum to exactly 100")
        return tuple(out)

    def static_list(self, node: AnyValue, parent: list, index: int) -> t.StaticList:
        node = self.mapping(node, "a list", parent, index)
        self.check_keys(node, ("name", "entity", "from", "key", "title", "description"), "a list")
        name = self.name(node, "name", "a list")
        return t.StaticList(name, self.text(node, "entity", f"list '{name}'"),
                            self.text(node, "from", f"list '{name}'"),
                            self.text(node, "key", f"list '{name}'", required=False),
                            loc=self.doc.at(parent, index))

    def entity(self, node: AnyValue, parent: list, index: int) -> t.Entity:
        node = self.mapping(node, "an entity", parent, index)
        self.check_keys(node, ("name", "model", "key", "relations", "description", "loaded_at", "metrics"),
                        "an entity")
        name = self.name(node, "name", "an entity")
        what = f"entity '{name}'"
        relations = {}
        body = node.get("relations") or {}
        body = self.mapping(body, f"`relations` of {what}", node, "relations")
        for rel_name, rel in body.items():
            self.check_name(str(rel_name), body, rel_name, "a relation")
            rel = self.mapping(rel, f"relation '{rel_name}'", body, rel_name)
            rwhat = f"relation '{rel_name}' of {what}"
            self.check_keys(rel, ("model", "foreign_key", "time", "name", "description", "loaded_at"), rwhat)
            relations[rel_name] = t.RelationSpec(
                rel_name, self.text(rel, "model", rwhat), self.text(rel, "foreign_key", rwhat),
                self.text(rel, "time", rwhat, required=False),
                self.text(rel, "name", rwhat, required=False), loc=self.doc.at(body, rel_name),
                locs={k: self.doc.at(rel, k) for k in ("model", "foreign_key", "time", "name", "loaded_at")
                      if k in rel},
                loaded_at=self.text(rel, "loaded_at", rwhat, required=False))
        return t.Entity(name, self.text(node, "model", what), self.text(node, "key", what),
                        relations, loc=self.doc.at(parent, index),
                        locs={k: self.doc.at(node, k) for k in ("model", "key", "loaded_at") if k in node},
                        loaded_at=self.text(node, "loaded_at", what, required=False),
                        metrics=self.metrics(node, what))

    def metrics(self, node: dict, what: str) -> dict[str, t.Metric]:
        """`metrics: {NAME: {event: E | related: R, where:, count: true | sum: {of: C}, within: D}}`:
        the outcomes `segw report` reads; without a measure a metric is a rate (did it happen)."""
        if node.get("metrics") is None:
            return {}
        body = self.mapping(node["metrics"], f"`metrics` of {what}", node, "metrics")
        out: dict[str, t.Metric] = {}
        for name, spec in body.items():
            self.check_name(str(name), body, name, "a metric")
            loc = self.doc.at(body, name)
            spec = self.mapping(spec, f"metric '{name}'", body, name)
            mwhat = f"metric '{name}' of {what}"
            for key in spec:
                if key in METRIC_KEYS:
                    continue
                if key in t.WINDOW_OPS:
                    hint = "a metric's only window is `within: DURATION` after entering the segment"
                elif key in t.MEASURES + t.TIME_MEASURES:
                    hint = "a metric is a rate (no measure), `count: true` or `sum: {of: COLUMN}`"
                else:
                    hint = did_you_mean(str(key), METRIC_KEYS) or f"allowed keys: {', '.join(METRIC_KEYS)}"
                self.fail(f"unknown key '{key}' in {mwhat}", spec, key, hint)
            if ("related" in spec) == ("event" in spec):
                self.fail(f"{mwhat} needs exactly one of `related:` or `event:`", spec,
                          "event" if "event" in spec else None,
                          "e.g. `{event: purchase, within: 14 days}` or `{related: orders, sum: {of: amount}}`")
            if "count" in spec and "sum" in spec:
                self.fail(f"{mwhat} takes one measure, got count and sum", spec, "sum")
            kind, measure = "rate", t.Measure("count", None)
            if "count" in spec:
                if spec["count"] is not True:
                    self.fail(f"`count` of {mwhat} takes `true`, got {spec['count']!r}", spec, "count",
                              "write `count: true`; a metric is the measure itself, not a comparison")
                kind = "count"
            if "sum" in spec:
                sum_body = self.mapping(spec["sum"], f"`sum` of {mwhat}", spec, "sum")
                for key in sum_body:
                    if key != "of":
                        self.fail(f"`sum` of {mwhat} takes only `of:`, got '{key}'", sum_body, key,
                                  "write `sum: {of: COLUMN}`; a metric is the measure itself, not a comparison")
                kind, measure = "sum", t.Measure("sum", None, self.text(sum_body, "of", f"`sum` of {mwhat}"))
            where = None
            if spec.get("where") is not None:
                where = self.condition(spec["where"], spec, "where", in_related=True)
            related = t.Related(self.text(spec, "related", mwhat) if "related" in spec else "", measure,
                                where, None, self.text(spec, "event", mwhat) if "event" in spec else None,
                                loc=loc)
            within = self.duration(spec["within"], spec, "within") if "within" in spec else None
            out[str(name)] = t.Metric(str(name), kind, related, within,
                                      self.text(spec, "description", mwhat, required=False), loc=loc)
        return out


def slug(title: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", title.lower())).strip("_")


def to_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def parse_iso(text: str):
    text = text.strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return to_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None
