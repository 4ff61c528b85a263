"""Writes one segment: stage its members, diff against memberships, commit everything at once."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from sqlglot import exp

from .compiler.segment import segment_query
from .compiler.timeexpr import timestamp_literal
from .errors import WarehouseError
from .outputs import WRITER_ROW, col, insert, table, text
from .project.loader import Project
from .spec import types as t
from .warehouse.base import Adapter

KEY = "_segw_key"
FLOOR_ROW = "change_id_floor"  # in _segw_state: the highest change_id a full refresh deleted


@dataclass
class SegmentResult:
    segment: str
    status: str  # success | failed
    size: int = 0
    entered: int = 0
    exited: int = 0
    error: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


def output_columns(project: Project, segment: t.Segment) -> list[str]:
    key = project.entities[segment.entity].key
    return [key] + (["split"] if segment.splits else []) + [c for c in segment.columns if c != key]


def stage_name(segment: t.Segment) -> str:
    return f"_segw_stage_{segment.name}"


def build_segment(adapter: Adapter, project: Project, segment: t.Segment, run_id: str,
                  as_of: dt.datetime, started_at: dt.datetime,
                  clock: Callable[[], dt.datetime] | None = None, full_refresh: bool = False) -> SegmentResult:
    """Stage, diff and commit one segment; full_refresh first forgets its members, history and
    changes in the same transaction, so a refresh that fails changes nothing."""
    clock = clock or utcnow
    schema = project.segment_schema
    if segment.materialized == "view":
        if full_refresh:
            clear_segment(adapter, project, segment)
        return _build_view(adapter, project, segment, run_id, as_of, started_at, clock)
    stage = stage_name(segment)
    query = segment_query(project, segment, as_of)
    adapter.drop(schema, stage)
    columns = output_columns(project, segment)
    staged = exp.select(exp.alias_(exp.cast(col(columns[0], "q"), "VARCHAR(255)"), KEY, quoted=True),
                        *[col(c, "q") for c in columns]).from_(
        query.subquery(exp.to_identifier("q", quoted=True)))
    adapter.execute(exp.Create(this=table(schema, stage), kind="TABLE", expression=staged))
    adapter.create_index(schema, stage, [KEY])
    adapter.create_index(schema, stage, [columns[0]])
    try:
        size, distinct = adapter.fetchall(exp.select(exp.Count(this=exp.Star()), exp.Count(
            this=exp.Distinct(expressions=[col(KEY)]))).from_(table(schema, stage)))[0]
        if size != distinct:
            entity = project.entities[segment.entity]
            raise WarehouseError(
                f"entity '{entity.name}' has duplicate keys in '{entity.model}' ({size} rows, "
                f"{distinct} distinct {entity.key}); segment '{segment.name}' was not changed")
        reshape = (full_refresh and adapter.transactional_ddl) or _needs_reshape(adapter, project, segment)
        if reshape and not adapter.transactional_ddl:
            _recreate_relation(adapter, schema, segment, stage, project)
        with adapter.transaction():
            if full_refresh:
                _forget(adapter, schema, segment.name)
            if reshape and adapter.transactional_ddl:
                _recreate_relation(adapter, schema, segment, stage, project)
            entered, exited = _apply_diff(adapter, project, segment, stage, run_id, as_of)
            _refresh_relation(adapter, project, segment, stage)
            finished = clock()
            record_run(adapter, schema, run_id, segment.name, as_of, started_at, finished,
                       "success", size, entered, exited, None)
    finally:
        adapter.drop(schema, stage, "table")
    return SegmentResult(segment.name, "success", size, entered, exited, None, started_at, finished)


def _build_view(adapter, project, segment, run_id, as_of, started_at, clock) -> SegmentResult:
    schema = project.segment_schema
    query = segment_query(project, segment, None)
    create = exp.Create(this=table(schema, segment.name), kind="VIEW", expression=query,
                        replace=not adapter.transactional_ddl)
    if adapter.transactional_ddl:
        with adapter.transaction():
            adapter.drop(schema, segment.name)
            adapter.execute(create)
    else:
        if adapter.relation_kind(schema, segment.name) == "table":
            adapter.drop(schema, segment.name, "table")
        adapter.execute(create)
    size = adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, segment.name)))
    finished = clock()
    record_run(adapter, schema, run_id, segment.name, as_of, started_at, finished, "success", size,
               0, 0, None)
    return SegmentResult(segment.name, "success", size, 0, 0, None, started_at, finished)


def _needs_reshape(adapter: Adapter, project: Project, segment: t.Segment) -> bool:
    schema = project.segment_schema
    kind = adapter.relation_kind(schema, segment.name)
    if kind != "table":
        return True
    return adapter.columns(schema, segment.name) != output_columns(project, segment)


def _recreate_relation(adapter: Adapter, schema: str, segment: t.Segment, stage: str, project: Project) -> None:
    adapter.drop(schema, segment.name)
    empty = (exp.select(*[col(c) for c in output_columns(project, segment)])
             .from_(table(schema, stage)).where(exp.false()))
    adapter.execute(exp.Create(this=table(schema, segment.name), kind="TABLE", expression=empty))
    adapter.create_index(schema, segment.name, [output_columns(project, segment)[0]])


def _changes_of(schema: str, run_id: str, segment: str, change: str) -> exp.Select:
    return (exp.select(col("key")).from_(table(schema, "membership_changes"))
            .where(col("run_id").eq(text(run_id)), col("segment").eq(text(segment)),
                   col("change").eq(text(change))))


def _apply_diff(adapter: Adapter, project: Project, segment: t.Segment, stage: str, run_id: str,
                as_of: dt.datetime) -> tuple[int, int]:
    """Record entries and exits as changes, then bring history and memberships in line."""
    schema, name = project.segment_schema, segment.name
    entity = text(segment.entity)
    at = timestamp_literal(as_of)
    split = col("split", "s") if segment.splits else exp.cast(exp.null(), "VARCHAR(255)")
    mine = col("segment", "m").eq(text(name))
    # Taking the writer row serialises writers, so change_ids grow in commit order.
    adapter.execute(exp.update(table(schema, "_segw_state"),
                               {"value": exp.Add(this=col("value"), expression=exp.Literal.number(1))},
                               where=col("name").eq(text(WRITER_ROW))))
    entered = (exp.select(exp.alias_(col(KEY, "s"), "key", quoted=True),
                          exp.alias_(text("entered"), "change", quoted=True))
               .from_(table(schema, stage, "s"))
               .where(exp.not_(exp.Exists(this=exp.select("1").from_(table(schema, "memberships", "m"))
                                          .where(mine, col("key", "m").eq(col(KEY, "s")))))))
    exited = (exp.select(exp.alias_(col("key", "m"), "key", quoted=True),
                         exp.alias_(text("exited"), "change", quoted=True))
              .from_(table(schema, "memberships", "m"))
              .where(mine.copy(), exp.not_(exp.Exists(this=exp.select("1").from_(table(schema, stage, "s"))
                                                      .where(col(KEY, "s").eq(col("key", "m")))))))
    base = _top_change_id(schema, "base")
    number = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[
        exp.Ordered(this=col("change", "d"), desc=True), exp.Ordered(this=col("key", "d"))]))
    changes = (exp.select(exp.Add(this=col("base", "b"), expression=number), text(run_id), text(name),
                          entity, col("key", "d"), col("change", "d"), at)
               .from_(exp.union(entered, exited, distinct=False).subquery(exp.to_identifier("d", quoted=True)))
               .join(base.subquery(exp.to_identifier("b", quoted=True)), join_type="CROSS"))
    adapter.execute(insert(table(schema, "membership_changes"),
                           ["change_id", "run_id", "segment", "entity", "key", "change", "as_of"], changes))
    counts = dict(adapter.fetchall(
        exp.select(col("change"), exp.Count(this=exp.Star())).from_(table(schema, "membership_changes"))
        .where(col("run_id").eq(text(run_id)), col("segment").eq(text(name))).group_by(col("change"))))
    n_entered, n_exited = int(counts.get("entered", 0)), int(counts.get("exited", 0))
    if n_exited:
        adapter.execute(exp.update(
            table(schema, "membership_history"), {"valid_to": at.copy()},
            where=exp.and_(col("segment").eq(text(name)), exp.Is(this=col("valid_to"), expression=exp.null()),
                           exp.In(this=col("key"), query=_changes_of(schema, run_id, name, "exited").subquery()))))
        adapter.execute(exp.delete(table(schema, "memberships"), where=exp.and_(
            col("segment").eq(text(name)),
            exp.In(this=col("key"), query=_changes_of(schema, run_id, name, "exited").subquery()))))
    if n_entered:
        new_rows = exp.In(this=col(KEY, "s"), query=_changes_of(schema, run_id, name, "entered").subquery())
        adapter.execute(insert(table(schema, "membership_history"),
                               ["segment", "entity", "key", "split", "valid_from", "valid_to"],
                               exp.select(text(name), entity.copy(), col(KEY, "s"), split.copy(), at.copy(),
                                          exp.cast(exp.null(), "TIMESTAMP"))
                               .from_(table(schema, stage, "s")).where(new_rows)))
        adapter.execute(insert(table(schema, "memberships"),
                               ["segment", "entity", "key", "split", "entered_at"],
                               exp.select(text(name), entity.copy(), col(KEY, "s"), split.copy(), at.copy())
                               .from_(table(schema, stage, "s")).where(new_rows.copy())))
    if segment.splits:
        new_split = (exp.select(col("split", "s")).from_(table(schema, stage, "s"))
                     .where(col(KEY, "s").eq(col("key", "memberships"))))
        adapter.execute(exp.update(
            table(schema, "memberships"), {"split": new_split.subquery()},
            where=exp.and_(col("segment").eq(text(name)), exp.not_(exp.Exists(
                this=exp.select("1").from_(table(schema, stage, "s")).where(
                    col(KEY, "s").eq(col("key", "memberships")),
                    exp.NullSafeEQ(this=col("split", "s"), expression=col("split", "memberships"))))))))
    return n_entered, n_exited


def _refresh_relation(adapter: Adapter, project: Project, segment: t.Segment, stage: str) -> None:
    """Bring the segment's own relation to the staged rows: all anew (table) or by difference."""
    schema = project.segment_schema
    columns = output_columns(project, segment)
    target = table(schema, segment.name)
    rows = exp.select(*[col(c, "s") for c in columns]).from_(table(schema, stage, "s"))
    if segment.materialized == "table":
        adapter.execute(exp.delete(target.copy()))
        adapter.execute(insert(target, columns, rows))
        return
    same_row = exp.and_(*[exp.NullSafeEQ(this=col(c, "s"), expression=col(c, segment.name))
                          for c in columns])
    adapter.execute(exp.delete(target.copy(), where=exp.not_(exp.Exists(
        this=exp.select("1").from_(table(schema, stage, "s")).where(same_row)))))
    key = columns[0]
    missing = rows.where(exp.not_(exp.Exists(this=exp.select("1").from_(table(schema, segment.name, "r"))
                                             .where(col(key, "r").eq(col(key, "s"))))))
    adapter.execute(insert(target, columns, missing))


def record_run(adapter: Adapter, schema: str, run_id: str, segment: str, as_of: dt.datetime,
               started_at: dt.datetime, finished_at: dt.datetime, status: str, size: int | None,
               entered: int, exited: int, error: str | None) -> None:
    def number(value):
        return exp.null() if value is None else exp.Literal.number(int(value))

    values = [text(run_id), text(segment), timestamp_literal(as_of), timestamp_literal(started_at),
              timestamp_literal(finished_at), text(status), number(size), number(entered),
              number(exited), exp.null() if error is None else text(error[:4000])]
    adapter.execute(insert(table(schema, "segment_runs"),
                           ["run_id", "segment", "as_of", "started_at", "finished_at", "status", "size",
                            "entered", "exited", "error"], exp.values([tuple(values)])))


def current_size(adapter: Adapter, schema: str, segment: str) -> int | None:
    return adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, "memberships"))
                          .where(col("segment").eq(text(segment))))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def clear_segment(adapter: Adapter, project: Project, segment: t.Segment) -> None:
    """Forget a segment's members, history and changes (rebuild --full-refresh), all at once."""
    schema = project.segment_schema
    with adapter.transaction():
        _forget(adapter, schema, segment.name)
        if adapter.transactional_ddl:
            adapter.drop(schema, segment.name)
    if not adapter.transactional_ddl:
        adapter.drop(schema, segment.name)


def _forget(adapter: Adapter, schema: str, segment: str) -> None:
    """Delete a segment's memberships, history and changes; call inside a transaction."""
    # Deleted change_ids are never issued again (syncs hold cursors): keep the highest as a floor.
    adapter.execute(exp.update(table(schema, "_segw_state"),
                               {"value": exp.Add(this=col("value"), expression=exp.Literal.number(1))},
                               where=col("name").eq(text(WRITER_ROW))))
    top = int(adapter.scalar(_top_change_id(schema, "top")) or 0)
    adapter.execute(exp.delete(table(schema, "_segw_state"), where=col("name").eq(text(FLOOR_ROW))))
    adapter.execute(insert(table(schema, "_segw_state"), ["name", "value"],
                           exp.values([(text(FLOOR_ROW), exp.Literal.number(top))])))
    for name in ("memberships", "membership_history", "membership_changes"):
        adapter.execute(exp.delete(table(schema, name), where=col("segment").eq(text(segment))))


def _top_change_id(schema: str, alias: str) -> exp.Select:
    """The highest change_id ever issued: in membership_changes, or deleted by a full refresh."""
    ids = exp.union(
        exp.select(exp.alias_(col("change_id"), "id", quoted=True)).from_(table(schema, "membership_changes")),
        exp.select(col("value")).from_(table(schema, "_segw_state")).where(col("name").eq(text(FLOOR_ROW))),
        distinct=False)
    return exp.select(exp.alias_(exp.Coalesce(this=exp.Max(this=col("id")), expressions=[exp.Literal.number(0)]),
                                 alias, quoted=True)).from_(ids.subquery(exp.to_identifier("i", quoted=True)))


def segment_counts(adapter: Adapter, project: Project, segment: str) -> dict[str, int]:
    """Rows a full refresh would delete, per output table."""
    schema = project.segment_schema
    return {name: int(adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, name))
                                     .where(col("segment").eq(text(segment)))) or 0)
            for name in ("memberships", "membership_history", "membership_changes")
            if adapter.relation_kind(schema, name) is not None}
