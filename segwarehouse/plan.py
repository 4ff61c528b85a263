"""`segw plan`: what a build would change for segments whose definition changed since they were
last built, computed in the warehouse against stored memberships; writes nothing.

A segment's definition is its `segment_catalog.definition_hash` (the md5 of its compiled SQL at a
fixed as_of, its splits, split seed, columns and materialization). For a new or changed segment the
plan evaluates it at as_of and diffs it against `memberships` exactly as a build does: who would
enter, who would exit, whose split would move (counts and a sample). Segments stored but no longer
defined show the exits `segw retire` would send. Exit code of the command: 0 nothing to change,
3 something would change."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlglot import exp

from .catalog import definition_hash, orphans
from .compiler.segment import segment_query
from .outputs import col, table, text, union_all
from .project.loader import Project
from .language import types as t
from .warehouse.base import Adapter

CHANGES = ("entered", "exited", "moved")
EXIT_CHANGES = 3


@dataclass
class Sample:
    key: str
    split_before: str | None = None
    split_after: str | None = None


@dataclass
class SegmentPlan:
    segment: str
    status: str            # new | changed | unchanged | retire
    reason: str
    materialized: str | None = None
    size_before: int = 0
    size_after: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: {c: 0 for c in CHANGES})
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {c: [] for c in CHANGES})

    @property
    def changes(self) -> bool:
        return self.status != "unchanged"

    def to_json(self) -> dict:
        return {"segment": self.segment, "status": self.status, "reason": self.reason,
                "materialized": self.materialized, "size_before": self.size_before,
                "size_after": self.size_after, **self.counts,
                "samples": {c: [{"key": s.key, "split_before": s.split_before, "split_after": s.split_after}
                                for s in items] for c, items in self.samples.items()}}


@dataclass
class Plan:
    as_of: dt.datetime
    segments: list[SegmentPlan]

    @property
    def changed(self) -> list[SegmentPlan]:
        return [s for s in self.segments if s.changes]

    @property
    def exit_code(self) -> int:
        return EXIT_CHANGES if self.changed else 0

    def to_json(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "changes": bool(self.changed),
                "segments": [s.to_json() for s in self.segments]}


def stored_definitions(adapter: Adapter, schema: str) -> dict[str, tuple]:
    """{segment: (definition_hash or None, status, size)} from segment_catalog."""
    if adapter.relation_kind(schema, "segment_catalog") is None:
        return {}
    has_hash = "definition_hash" in (adapter.columns(schema, "segment_catalog") or [])
    digest = col("definition_hash") if has_hash else exp.cast(exp.null(), "TEXT")
    rows = adapter.fetchall(exp.select(col("segment"), digest, col("status"), col("size"))
                            .from_(table(schema, "segment_catalog")))
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _stored_size(adapter: Adapter, schema: str, name: str, memberships: bool) -> int:
    if not memberships:
        return 0
    return int(adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, "memberships"))
                              .where(col("segment").eq(text(name)))) or 0)


def _alias(expression: exp.Expression, name: str) -> exp.Expression:
    return exp.alias_(expression, name, quoted=True)


def _diff(adapter: Adapter, project: Project, segment: t.Segment | None, name: str, as_of: dt.datetime,
          limit: int, plan: SegmentPlan) -> None:
    """Entries, exits and moves of `segment` at as_of against its stored memberships, with samples,
    in one query (the same joins as the build's diff). segment None: every stored member exits."""
    schema = project.segment_schema
    null_text = exp.cast(exp.null(), "TEXT")
    stored = (exp.select(_alias(col("key"), "key"), _alias(col("split"), "split"))
              .from_(table(schema, "memberships")).where(col("segment").eq(text(name))))
    branches = []
    q, m = (lambda c: col(c, "q")), (lambda c: col(c, "m"))
    if segment is not None and segment.materialized != "view":
        key = project.entities[segment.entity].key
        new = segment_query(project, segment, as_of).subquery(exp.to_identifier("n", quoted=True))
        members = exp.select(_alias(adapter.key_text(col(key, "n")), "key"),
                             _alias(col("split", "n") if segment.splits else null_text.copy(), "split")).from_(new)
        on = m("key").eq(q("key"))
        branches.append(exp.select(_alias(q("key"), "key"), _alias(text("entered"), "change"),
                                   _alias(null_text.copy(), "before"), _alias(q("split"), "after"))
                        .from_(exp.table_("q", quoted=True))
                        .join(exp.table_("m", quoted=True), on=on.copy(), join_type="LEFT")
                        .where(exp.Is(this=m("key"), expression=exp.null())))
        branches.append(exp.select(m("key"), text("exited"), m("split"), null_text.copy())
                        .from_(exp.table_("m", quoted=True))
                        .join(exp.table_("q", quoted=True), on=on.copy(), join_type="LEFT")
                        .where(exp.Is(this=q("key"), expression=exp.null())))
        branches.append(exp.select(q("key"), text("moved"), m("split"), q("split"))
                        .from_(exp.table_("q", quoted=True))
                        .join(exp.table_("m", quoted=True), on=on.copy())
                        .where(exp.NEQ(this=exp.Coalesce(this=q("split"), expressions=[text("")]),
                                       expression=exp.Coalesce(this=m("split"), expressions=[text("")]))))
    else:
        members = None
        branches.append(exp.select(_alias(m("key"), "key"), _alias(text("exited"), "change"),
                                   _alias(m("split"), "before"), _alias(null_text.copy(), "after"))
                        .from_(exp.table_("m", quoted=True)))
    changes = union_all(branches, copy=True)
    c = lambda name_: col(name_, "c")  # noqa: E731
    ranked = exp.select(c("key"), c("change"), c("before"), c("after"),
                        _alias(exp.Window(this=exp.RowNumber(), partition_by=[c("change")],
                                          order=exp.Order(expressions=[exp.Ordered(this=c("key"))])), "rn"),
                        _alias(exp.Window(this=exp.Count(this=exp.Star()), partition_by=[c("change")]), "n")
                        ).from_(changes.subquery(exp.to_identifier("c", quoted=True)))
    w = lambda name_: col(name_, "w")  # noqa: E731
    query = (exp.select(w("key"), w("change"), w("before"), w("after"), w("n"))
             .from_(ranked.subquery(exp.to_identifier("w", quoted=True)))
             .where(w("rn") <= exp.Literal.number(limit)).order_by(w("change"), w("rn")))
    query = query.with_(exp.to_identifier("m", quoted=True), as_=stored)
    if members is not None:
        query = query.with_(exp.to_identifier("q", quoted=True), as_=members)
    for key, change, before, after, count in adapter.fetchall(query):
        plan.counts[change] = int(count)
        plan.samples[change].append(Sample(str(key), before, after))


def _new_size(adapter: Adapter, project: Project, segment: t.Segment, as_of: dt.datetime) -> int:
    query = segment_query(project, segment, None if segment.materialized == "view" else as_of)
    return int(adapter.scalar(exp.select(exp.Count(this=exp.Star()))
                              .from_(query.subquery(exp.to_identifier("p", quoted=True)))) or 0)


def plan(adapter: Adapter, project: Project, names: list[str], as_of: dt.datetime, limit: int = 10) -> Plan:
    """The plan for the named segments (default: every defined segment, and every segment stored
    but no longer defined)."""
    schema = project.segment_schema
    stored = stored_definitions(adapter, schema)
    memberships = adapter.relation_kind(schema, "memberships") is not None
    result = Plan(as_of, [])
    for name in names or list(project.segments):
        segment = project.segments[name]
        digest, status, _ = stored.get(name, (None, None, None))
        item = SegmentPlan(name, "changed", "", segment.materialized,
                           _stored_size(adapter, schema, name, memberships))
        if status != "active":
            item.status = "new"
            item.reason = "never built" if status is None else "built before, then retired"
        elif digest is None:
            item.reason = "built before definitions were recorded"
        elif digest != definition_hash(project, segment):
            item.reason = "definition changed"
        else:
            item.status, item.reason = "unchanged", "same definition as the last build"
        if item.changes:
            if memberships:
                _diff(adapter, project, segment, name, as_of, limit, item)
            item.size_after = _new_size(adapter, project, segment, as_of)
            if not memberships or segment.materialized == "view":
                item.counts["entered"] = item.size_after if segment.materialized != "view" else 0
        result.segments.append(item)
    if not names:
        for name in orphans(adapter, project):
            item = SegmentPlan(name, "retire", "stored but no longer defined: `segw retire` would send "
                               "these exits (a build leaves it as it is)", None,
                               _stored_size(adapter, schema, name, memberships), 0)
            if memberships:
                _diff(adapter, project, None, name, as_of, limit, item)
            result.segments.append(item)
    return result


def plan_report(result: Plan):
    """A summary table, then the sampled keys of each change."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table

    summary = Table(title=f"plan as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC", title_justify="left")
    for name, justify in (("segment", "left"), ("plan", "left"), ("size", "right"), ("entered", "right"),
                          ("exited", "right"), ("moved", "right"), ("why", "left")):
        summary.add_column(name, justify=justify, overflow="fold")
    color = {"new": "green", "changed": "yellow", "retire": "red", "unchanged": "dim"}
    for item in result.segments:
        if item.status == "unchanged":
            continue
        size = f"{item.size_before:,} → {item.size_after:,}" if item.size_after is not None else f"{item.size_before:,}"
        summary.add_row(item.segment, f"[{color[item.status]}]{item.status}[/]", size,
                        f"+{item.counts['entered']:,}", f"−{item.counts['exited']:,}", f"{item.counts['moved']:,}",
                        escape(item.reason))
    parts = [summary] if result.changed else []
    unchanged = [s.segment for s in result.segments if s.status == "unchanged"]
    if unchanged:
        parts.append(f"[dim]unchanged: {escape(', '.join(unchanged))}[/]")
    for item in result.changed:
        for change in CHANGES:
            sample = item.samples[change]
            if not sample:
                continue
            if change == "moved":
                keys = ", ".join(f"{s.key} ({s.split_before} → {s.split_after})" for s in sample)
            else:
                keys = ", ".join(s.key + (f" ({s.split_after or s.split_before})"
                                          if (s.split_after or s.split_before) else "") for s in sample)
            more = item.counts[change] - len(sample)
            parts.append(f"{escape(item.segment)} {change}: {escape(keys)}" + (f" … and {more:,} more" if more > 0 else ""))
    if not result.changed:
        parts.append("[green]no changes[/]: every segment is as last built")
    return Group(*parts)
