"""Commits several staged segments in one transaction, each output table written once for all."""
from __future__ import annotations

import datetime as dt

from sqlglot import exp

from .catalog import COLUMNS as CATALOG_COLUMNS, catalog_row, check_may_write, stored_segments
from .compiler.timeexpr import timestamp_literal
from .materialize import (CHANGE_ORDER, RUN_COLUMNS, SegmentResult, Staged, record_changes, refresh_statistics,
                          run_values, take_writer_row, write_outputs)
from .incremental import INCREMENTS, STATE_COLUMNS, state_row
from .outputs import col, insert, replace_rows, table, text, union_all

def commit_together(staged: list[Staged]) -> list[SegmentResult]:
    """Commit the segments of one run (same connection, schema, run and as_of) as one transaction:
    one statement per output table for all of them (changes, history, memberships, catalog rows,
    incremental state, run records), and each segment's own relation. change_ids follow the
    list's order, as if each had committed alone in turn. On an error nothing is committed and
    every segment keeps its work tables: the caller commits them one at a time (`Staged.commit`),
    so one segment's fault fails that segment only."""
    first = staged[0].ctx
    adapter, schema = first.adapter, first.schema
    adapter.take_timings()
    finished: dict[str, dt.datetime] = {}
    with adapter.transaction():
        take_writer_row(adapter, schema)
        stored = stored_segments(adapter, schema, [s.name for s in staged], known_to_exist=True)
        for s in staged:
            check_may_write(adapter, s.ctx.project.config.name, schema, s.name, stored.get(s.name), s.ctx.as_of,
                            s.ctx.as_of_given)
        _apply_deltas(staged)
        for s in staged:
            finished[s.name] = write_outputs(s, stored.get(s.name), rows=False)
        replace_rows(adapter, table(schema, "segment_catalog"), CATALOG_COLUMNS, [
            catalog_row(s.ctx.project, s.ctx.segment, s.size, s.ctx.as_of, finished[s.name]) for s in staged],
            [s.name in stored for s in staged])
        states = [(s, state_row(adapter, s.ctx.project, s.ctx.segment, s.increment, s.ctx.as_of, finished[s.name]))
                  for s in staged]
        replace_rows(adapter, table(schema, INCREMENTS), STATE_COLUMNS, [row for _, row in states if row is not None],
                     [s.increment.stored for s, row in states if row is not None])
        adapter.execute(insert(table(schema, "segment_runs"), RUN_COLUMNS, exp.values([
            run_values(s.ctx.run_id, s.name, s.ctx.as_of, s.ctx.started_at, finished[s.name], "success", s.size,
                       s.counts["entered"], s.counts["exited"], None) for s in staged])))
    commit = adapter.take_timings().get("commit", 0.0)
    for s in staged:
        s.add_timings({"commit": commit / len(staged)})  # the shared transaction, shared out
        refresh_statistics(s)
        s.discard()
    return [s.result(finished[s.name]) for s in staged]


def _deltas(staged: list[Staged], changes: tuple[str, ...], *columns: str) -> exp.Subquery:
    """The rows of the segments' deltas with one of `changes`, as one relation `d`: the segment's
    place in the list (`o`), its name and entity, then `columns` of the delta."""
    parts = [exp.select(exp.alias_(exp.Literal.number(i), "o", quoted=True),
                        exp.alias_(text(s.name), "segment", quoted=True),
                        exp.alias_(text(s.ctx.segment.entity), "entity", quoted=True), *[col(c) for c in columns])
             .from_(table(s.ctx.schema, s.delta))
             .where(exp.In(this=col("change"), expressions=[text(c) for c in changes]))
             for i, s in enumerate(staged) if any(s.counts[c] for c in changes)]
    return union_all(parts).subquery(exp.to_identifier("d", quoted=True), copy=False)


def _matching(staged: list[Staged], changes: tuple[str, ...]) -> exp.Expression:
    """The rows of memberships or history whose segment and key have one of `changes`: one
    uncorrelated semi-join on both (a correlated EXISTS over the union made DuckDB probe every row
    of the table: 40x slower), after the segments named as literals where such a list skips
    storage (`value_lists_prune`)."""
    pairs = exp.select(col("segment", "d"), col("key", "d")).from_(_deltas(staged, changes, "key"))
    semi_join = exp.In(this=exp.Tuple(expressions=[col("segment"), col("key")]), query=pairs.subquery())
    if not staged[0].ctx.adapter.value_lists_prune:
        return semi_join
    names = [text(s.name) for s in staged if any(s.counts[c] for c in changes)]
    return exp.and_(exp.In(this=col("segment"), expressions=names), semi_join)


def _apply_deltas(staged: list[Staged]) -> None:
    """What `materialize._apply_delta` does for one segment, for all of them at once."""
    changing = [s for s in staged if sum(s.counts.values())]
    if not changing:
        return
    ctx = changing[0].ctx
    adapter, schema, at = ctx.adapter, ctx.schema, timestamp_literal(ctx.as_of)
    total = {change: sum(s.counts[change] for s in changing) for change in CHANGE_ORDER}
    record_changes(adapter, schema, ctx.run_id, at, _deltas(changing, tuple(CHANGE_ORDER), "key", "change", "split"),
                   col("segment"), col("entity"), [col("o")], sum(total.values()))
    if total["exited"] or total["moved"]:
        adapter.execute(exp.update(
            table(schema, "membership_history"), {"valid_to": at.copy()},
            where=exp.and_(exp.Is(this=col("valid_to"), expression=exp.null()),
                           _matching(changing, ("exited", "moved")))))
    if total["exited"]:
        adapter.execute(exp.delete(table(schema, "memberships"),
                                   where=_matching(changing, ("exited",))))
    if total["moved"]:
        new_split = (exp.select(col("split", "d")).from_(_deltas(changing, ("moved",), "key", "split"))
                     .where(col("segment", "d").eq(col("segment", "memberships")),
                            col("key", "d").eq(col("key", "memberships"))))
        adapter.execute(exp.update(table(schema, "memberships"), {"split": new_split.subquery()},
                                   where=_matching(changing, ("moved",))))
    if total["entered"] or total["moved"]:
        adapter.execute(insert(table(schema, "membership_history"),
                               ["segment", "entity", "key", "split", "valid_from", "valid_to"],
                               exp.select(col("segment"), col("entity"), col("key"), col("split"), at.copy(),
                                          exp.cast(exp.null(), "TIMESTAMP"))
                               .from_(_deltas(changing, ("entered", "moved"), "key", "split"))))
    if total["entered"]:
        adapter.execute(insert(table(schema, "memberships"), ["segment", "entity", "key", "split", "entered_at"],
                               exp.select(col("segment"), col("entity"), col("key"), col("split"), at.copy())
                               .from_(_deltas(changing, ("entered",), "key", "split"))))
