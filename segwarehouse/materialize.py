"""Writes one segment: stage its members, diff them against memberships, commit everything at once."""
from __future__ import annotations

import datetime as dt
import functools
import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

from sqlglot import exp

from .catalog import StoredSegment, check_may_write, mark_retired, owned_by_another, stored_segment, write_catalog
from .compiler.dialects import many_groups
from .compiler.segment import segment_query
from .compiler.timeexpr import timestamp_literal
from .compiler.features import Features
from .compiler.incremental import changed_keys
from . import relation_swap
from .errors import SegwError, WarehouseError
from .incremental import FULL, Increment, gone_members, plan_increment, stage_present_keys, write_state
from .outputs import KEY, LAST_CHANGE_ROW, STATE, WRITER_ROW, col, insert, number, table, text
from .project.loader import Project
from .language import types as t
from .warehouse.base import Adapter

TYPED_KEY = "_segw_typed_key"  # the delta's entity key, as the entity types it
CHANGE_ORDER = {"exited": 1, "moved": 2, "entered": 3}  # within one run: exits, moves, then entries
BIG_DELTA = 1000  # changes after which the output tables' statistics are refreshed
RELATIONS = "relations"  # `facts` key: the run's segments' relations that are tables, read at its start


@dataclass
class SegmentResult:
    segment: str
    status: str  # success | failed | skipped
    size: int = 0
    entered: int = 0
    exited: int = 0
    error: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    moved: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds: stage, diff, commit
    mode: str | None = None  # full | incremental (table and incremental segments)
    mode_reason: str | None = None  # why an incremental segment was evaluated in full


log = logging.getLogger("segwarehouse.run")


def _phase(name: str):
    """Time a step of one segment's write (its first argument is the Context) as phase `name`."""
    def wrap(step):
        @functools.wraps(step)
        def timed(ctx, *args, **kwargs):
            with ctx.adapter.phase(name):
                return step(ctx, *args, **kwargs)
        return timed
    return wrap


def _timings(build):
    """Record the seconds of each phase of one segment's write in its SegmentResult (and the log)."""
    @functools.wraps(build)
    def timed(adapter, project, segment, *args, **kwargs):
        adapter.take_timings()
        result = build(adapter, project, segment, *args, **kwargs)
        result.timings = adapter.take_timings()
        log.debug("segment %s: %s", segment.name,
                  ", ".join(f"{k} {v:.3f}s" for k, v in result.timings.items()) or "no timings")
        return result
    return timed


def prefetch_relations(adapter: Adapter, schema: str, names: list[str], facts: dict) -> None:
    """Read the relations of a run's segments that are tables, with their columns, in one query
    (`Context.relation` asks per segment otherwise: two catalog queries each), on engines where
    no other process writes while the run does (`other_writers`), so none can be reshaped before
    its segment's build."""
    if not adapter.other_writers and names:
        facts[RELATIONS] = adapter.table_columns(schema, names)


def output_columns(project: Project, segment: t.Segment) -> list[str]:
    """Columns of a segment's own relation: key, split, `columns:`, then traits [1.1]."""
    key = project.entities[segment.entity].key
    return ([key] + (["split"] if segment.splits else []) + [c for c in segment.columns if c != key]
            + [trait.name for trait in segment.traits])


def stage_name(segment: t.Segment) -> str:
    return f"_segw_stage_{segment.name}"


def delta_name(segment: t.Segment) -> str:
    return f"_segw_delta_{segment.name}"


def changed_name(segment: t.Segment) -> str:
    """Work table of the keys an incremental run re-evaluates."""
    return f"_segw_keys_{segment.name}"  # short: with a 50-character name it fits PostgreSQL's 63 bytes


@dataclass
class Context:
    """One segment's write: where it goes and when."""
    adapter: Adapter
    project: Project
    segment: t.Segment
    run_id: str
    as_of: dt.datetime
    started_at: dt.datetime
    clock: Callable[[], dt.datetime]
    as_of_given: bool
    facts: dict | None = None  # what the run learned once for all its segments (see build_segment)
    _relation: tuple | None = field(default=None, repr=False)

    @property
    def schema(self) -> str:
        return self.project.segment_schema

    def relation(self) -> tuple[str | None, list[tuple[str, str]]]:
        """The segment's own relation as the build found it: its kind (table, view, None) and a
        table's columns with their types. Read once: the idle, diff and reshape checks all ask
        before the commit, the only step that changes it. Where the run read every segment's
        relation at its start (`prefetch_relations`), a table found then is taken from there."""
        if self._relation is None:
            known = (self.facts or {}).get(RELATIONS, {})
            if self.segment.name in known:
                self._relation = ("table", known[self.segment.name])
                return self._relation
            kind = self.adapter.relation_kind(self.schema, self.segment.name)
            self._relation = (kind, self.adapter.column_types(self.schema, self.segment.name)
                              if kind == "table" else [])
        return self._relation

    def check(self) -> StoredSegment | None:
        """Ownership and as_of order, read under the writer lock so the last writer is known."""
        stored = stored_segment(self.adapter, self.schema, self.segment.name)
        check_may_write(self.adapter, self.project.config.name, self.schema, self.segment.name, stored,
                        self.as_of, self.as_of_given)
        return stored


@_timings
def build_segment(adapter: Adapter, project: Project, segment: t.Segment, run_id: str,
                  as_of: dt.datetime, started_at: dt.datetime,
                  clock: Callable[[], dt.datetime] | None = None, full_refresh: bool = False,
                  as_of_given: bool = True, increment: Increment | None = None,
                  features: Features | None = None, present: set[str] | None = None,
                  facts: dict | None = None, defer: bool = False) -> SegmentResult | Staged:
    """Stage and diff one segment, then commit its changes, history, memberships, relation, catalog
    row and run record in one transaction. full_refresh also recreates its own relation from scratch.

    The caller holds the segment's writer lock, so its memberships cannot change meanwhile; the
    transaction itself is short (the evaluation and the diff happen before it). `features`: the
    run's shared relation passes, read by a full evaluation of a segment they were planned for.
    `present`: the work tables the run found in the schema at its start (None: not looked).
    `facts`: what the run learned once for all its segments (e.g. whether entity keys are unique).
    `defer`: return the segment staged (`Staged`) for the caller to commit, alone or together with
    others (`commit_together`), unless its relation must be recreated (then it commits now)."""
    ctx = Context(adapter, project, segment, run_id, as_of, started_at, clock or utcnow, as_of_given, facts)
    ctx.check()  # early: no evaluation for a segment that may not be written
    if segment.materialized == "view":
        return _build_view(ctx)
    schema = ctx.schema
    stage, delta, changed = stage_name(segment), delta_name(segment), changed_name(segment)
    columns = output_columns(project, segment)
    work_tables = (stage, delta, adapter.aside_name(segment.name), changed, f"{changed}_p")
    _check_name_lengths(adapter, segment, work_tables)
    if not adapter.relation_commits_with_data and (present is None or adapter.aside_name(segment.name) in present):
        if relation_swap.finish(adapter, schema, segment.name):  # a killed run committed it, did not swap it in
            (facts or {}).get(RELATIONS, {}).pop(segment.name, None)  # read before the swap
    for leftover in work_tables:  # a killed run's (`present`: what the run found at its start)
        if present is None or leftover in present:
            adapter.drop(schema, leftover, "table")
    if increment is None:
        increment = plan_increment(adapter, project, segment, as_of, full_refresh)
    made: list[str] = []  # the work tables this build may have made, dropped at its end
    handed_over = False  # a deferred commit drops them once it is done
    committed_aside = False  # committed, not yet swapped in: the next run swaps it in (relation_swap)
    try:
        idle = False  # an incremental run with no key to re-evaluate: only the as_of moves on
        if increment.incremental:
            if increment.keys_table is not None:  # the run's keys of this entity (shared, not ours to drop)
                changed = increment.keys_table[1]
            elif not increment.nothing_changed:
                made += [changed, f"{changed}_p"]
            idle = (increment.nothing_changed or (increment.keys_table is None and
                                                  _stage_changed_keys(ctx, increment, changed) == 0)) and \
                _relation_has(ctx, columns)
        reshape, size = False, 0
        shared = features if features is not None and segment.name in features.planned else None
        members = None  # the members as a query, diffed without a stage table (see `_diff_directly`)
        keys_against_relation = False  # the re-evaluated keys diffed against it (`_keys_against_relation`)
        if not idle:
            made.append(delta)
            if increment.incremental:  # the re-evaluated keys' members, straight against the relation
                keys_against_relation = _keys_against_relation(ctx, increment, columns, facts)
                if keys_against_relation:
                    members = _staged_select(ctx, columns, (schema, changed), increment.tables, shared)
            elif not full_refresh and _diff_directly(ctx, columns, facts):
                members = _staged_select(ctx, columns, features=shared)
            if members is None:
                made.append(stage)
                size = _stage(ctx, stage, columns, (schema, changed) if increment.incremental else None,
                              increment.tables if increment.incremental else None, shared, facts)
                reshape = full_refresh or _needs_reshape(ctx, stage, columns)
            if reshape:
                made.append(adapter.aside_name(segment.name))
        if reshape and increment.incremental:  # a new relation needs every member: evaluate them all
            increment = Increment(FULL, "its relation must be recreated", new_marks=increment.new_marks,
                                  tracked=True, entity_rows=increment.entity_rows, inputs=increment.inputs,
                                  stored=increment.stored)
            adapter.drop(schema, stage, "table")
            size = _stage(ctx, stage, columns, facts=facts)
        staged = Staged(ctx, columns, stage, delta, changed if increment.incremental else None, increment,
                        idle, members is not None, size, made if present is not None else list(work_tables))
        if defer and not reshape:  # the caller commits it, alone or with others (`commit_together`)
            if not idle:
                staged.counts = _stage_delta(ctx, stage, delta, staged.changed, members,
                                             keys_against_relation)
            handed_over = True
            return staged
        # A new relation commits with the data: the adapter creates it in the transaction, or
        # fills it aside now and swaps it in after the commit (engines whose DDL commits at once;
        # a marker committed with the data lets the next run finish a swap left undone).
        swapped_after = reshape and not adapter.relation_commits_with_data
        if swapped_after:
            relation_swap.forget(adapter, schema, segment.name)
        relation = (adapter.replacing_relation(
            schema, segment.name, lambda name: _create_relation(ctx, name, stage, columns, fill=True))
            if reshape else nullcontext(None))
        with relation as replace:
            if swapped_after:
                replace = relation_swap.marking(adapter, schema, segment.name, replace)
            if not idle:
                staged.counts = _stage_delta(ctx, stage, delta, staged.changed, members,
                                             keys_against_relation)
            finished = _commit_alone(staged, replace)
            committed_aside = swapped_after  # the table aside now holds what was committed
        if swapped_after:
            relation_swap.forget(adapter, schema, segment.name)
        refresh_statistics(staged)
    finally:
        if not handed_over:
            kept = {adapter.aside_name(segment.name)} if committed_aside else set()
            adapter.drop_quietly(schema, *[name for name in (work_tables if present is None else made)
                                           if name not in kept])
    return staged.result(finished)


@dataclass
class Staged:
    """One segment evaluated and diffed, its changes waiting in its delta table to be committed."""
    ctx: Context
    columns: list[str]
    stage: str
    delta: str
    changed: str | None  # the re-evaluated keys' table (an incremental run)
    increment: Increment
    idle: bool  # nothing to re-evaluate: only the as_of moves on
    direct: bool  # diffed straight from the members' query: no stage counted them
    size: int
    work_tables: list[str]  # dropped once committed
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANGE_ORDER, 0))
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase so far

    @property
    def name(self) -> str:
        return self.ctx.segment.name

    @property
    def staged_rows(self) -> int:
        """Rows waiting in its stage table (none when diffed straight from the members' query)."""
        return 0 if self.direct else self.size

    def commit(self) -> SegmentResult:
        """Commit alone (in its own transaction), then drop the work tables."""
        self.ctx.adapter.take_timings()
        try:
            finished = _commit_alone(self)
            refresh_statistics(self)
        finally:
            self.discard()
            self.add_timings(self.ctx.adapter.take_timings())
        return self.result(finished)

    def add_timings(self, timings: dict[str, float]) -> None:
        for phase, seconds in timings.items():
            self.timings[phase] = round(self.timings.get(phase, 0.0) + seconds, 3)

    def discard(self) -> None:
        self.ctx.adapter.drop_quietly(self.ctx.schema, *self.work_tables)

    def result(self, finished: dt.datetime) -> SegmentResult:
        return SegmentResult(self.name, "success", self.size, self.counts["entered"], self.counts["exited"],
                             None, self.ctx.started_at, finished, self.counts["moved"], dict(self.timings),
                             mode=self.increment.mode, mode_reason=self.increment.reason)


def _commit_alone(staged: Staged, replace=None) -> dt.datetime:
    """The segment's changes, history, memberships, relation, catalog row and run record in one
    transaction; `replace` swaps in a recreated relation. Returns when it finished."""
    ctx, adapter = staged.ctx, staged.ctx.adapter
    with adapter.transaction():
        take_writer_row(adapter, ctx.schema)
        stored = ctx.check()
        _apply_delta(ctx, staged.delta, staged.counts)
        finished = write_outputs(staged, stored, replace)
        record_run(adapter, ctx.schema, ctx.run_id, staged.name, ctx.as_of, ctx.started_at, finished, "success",
                   staged.size, staged.counts["entered"], staged.counts["exited"], None)
    return finished


def write_outputs(staged: Staged, stored: StoredSegment | None, replace=None, rows: bool = True) -> dt.datetime:
    """After the memberships took the delta: the segment's relation, size, catalog row and
    incremental state (`rows`; else the caller writes them), in the transaction. Returns when it
    finished."""
    ctx, adapter, counts = staged.ctx, staged.ctx.adapter, staged.counts
    schema, segment = ctx.schema, ctx.segment
    if replace is not None:
        replace()
    elif not staged.idle and (segment.materialized == "table" or _keys_only(staged.columns)):
        _refresh_relation(ctx, staged.stage, staged.columns, staged.delta, counts)
    elif not staged.idle:
        _refresh_relation(ctx, staged.stage, staged.columns,
                          staged.delta if staged.increment.incremental else None)
    if staged.increment.incremental or staged.direct:  # no stage counted the members
        staged.size = (stored.size + counts["entered"] - counts["exited"]
                       if stored is not None and stored.size is not None
                       else current_size(adapter, schema, segment.name) or 0)  # memberships, changed
    finished = ctx.clock()
    if rows:
        write_catalog(adapter, schema, ctx.project, segment, staged.size, ctx.as_of, finished,
                      stored=stored is not None)
        write_state(adapter, ctx.project, segment, staged.increment, ctx.as_of, finished)
    return finished


def refresh_statistics(staged: Staged) -> None:
    """After a large change, keep the planner's picture of the output tables current."""
    if sum(staged.counts.values()) <= BIG_DELTA:
        return
    adapter, schema, name = staged.ctx.adapter, staged.ctx.schema, staged.name
    mine = col("segment").eq(text(name))
    try:
        adapter.refresh_statistics(schema, "memberships", mine, staged.size)
        adapter.refresh_statistics(schema, "membership_history", exp.and_(
            mine.copy(), exp.Is(this=col("valid_to"), expression=exp.null())), staged.size)
    except SegwError as exc:  # committed already: statistics only help the next plans
        log.warning("statistics of %s not refreshed after segment %s: %s", schema, name, exc)


def _check_name_lengths(adapter: Adapter, segment: t.Segment, names) -> None:
    """Work tables carry the segment's name: refuse a name the engine would cut or reject."""
    over = adapter.identifier_overflow(names)
    if over is not None:
        name, excess = over
        raise SegwError(f"segment name '{segment.name}' is too long for this warehouse: its work table "
                        f"'{name}' would be {excess} character{'s' if excess > 1 else ''} over the "
                        "engine's limit for names", segment.loc,
                        f"shorten the segment name by at least {excess} character{'s' if excess > 1 else ''}")


@_phase("stage")
def _stage_changed_keys(ctx: Context, increment: Increment, changed: str) -> int:
    """The keys an incremental run re-evaluates: those whose rows were loaded or crossed a time
    edge since the last run (typed `k` and exact text), and members whose entity row is gone.
    Returns how many."""
    adapter, schema, project, segment = ctx.adapter, ctx.schema, ctx.project, ctx.segment
    keys = changed_keys(project, segment, increment.since, ctx.as_of, increment.marks, project.dialect)
    rows = exp.select(col("k"), exp.alias_(adapter.key_text(col("k")), KEY, quoted=True)).distinct().from_(
        keys.subquery(exp.to_identifier("u", quoted=True)))
    adapter.execute(exp.Create(this=table(schema, changed), kind="TABLE", expression=rows))
    if increment.rows_may_be_gone:
        present = stage_present_keys(adapter, project, segment.entity, schema, f"{changed}_p")
        gone = gone_members(adapter, project, segment.entity, [segment.name], present)
        adapter.execute(insert(table(schema, changed), ["k", KEY], exp.select(exp.null(), col("key")).from_(
            gone.subquery(exp.to_identifier("g", quoted=True)))))
    count = int(adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, changed))) or 0)
    if count:
        adapter.create_work_index(schema, changed, ["k"])
        adapter.create_work_index(schema, changed, [KEY])
        adapter.analyze(schema, changed)
    return count


@_phase("stage")
def _entity_keys_unique(ctx: Context, facts: dict) -> bool:
    """Whether the entity's keys are unique, checked once per run (`facts` lives as long as the run)."""
    entity = ctx.project.entities[ctx.segment.entity]
    if ("unique keys", entity.name) not in facts:
        schema, name = ctx.project.relation_of(entity.model)
        if ctx.adapter.enforces_unique(schema, name, entity.key):  # a primary key: nothing to count
            facts["unique keys", entity.name] = True
            return True
        key = exp.column(entity.key, quoted=True)
        # Integers have one text each, so they are counted as they are (no cast of every row).
        integer = _integer_type(ctx.adapter, _entity_key_type(ctx, facts)) is not None
        rows, distinct = ctx.adapter.fetchall(exp.select(
            exp.Count(this=key.copy()),
            exp.Count(this=exp.Distinct(expressions=[key.copy() if integer else ctx.adapter.key_text(key)])))
            .from_(table(schema, name)))[0]
        facts["unique keys", entity.name] = int(rows) == int(distinct)
    return facts["unique keys", entity.name]


def _keys_only(columns: list[str]) -> bool:
    """A relation of keys (and splits) holds exactly the memberships: their changes are its changes."""
    return set(columns[1:]) <= {"split"}


def _diff_directly(ctx: Context, columns: list[str], facts: dict | None) -> bool:
    """Whether a full evaluation may diff the members' query against the segment's relation without
    writing them to a stage table first: the relation stands for the memberships
    (`_relation_stands_for_memberships`: it takes the diff too, nothing to count). One FULL JOIN,
    or on an engine without it one grouped pass over both (`_delta_by_grouping`)."""
    return _relation_stands_for_memberships(ctx, columns, facts)


def _keys_against_relation(ctx: Context, increment: Increment, columns: list[str], facts: dict | None) -> bool:
    """Whether an incremental run may diff the re-evaluated keys' members, straight from their
    query, against the segment's relation on the typed key (the text keys of memberships cost
    twice as much, and no stage table is written): a relation whose rows commit with its
    memberships (`relation_rows_commit_with_memberships`: DuckDB, PostgreSQL, MariaDB), the run's
    shared keys each with its typed key (`Increment.keys_typed`: a gone member found only in
    memberships has none), and a relation that stands for the memberships (no reshape: it has
    exactly the columns and key type)."""
    return (ctx.adapter.relation_rows_commit_with_memberships and increment.keys_typed
            and increment.keys_table is not None and _relation_stands_for_memberships(ctx, columns, facts))


def _relation_stands_for_memberships(ctx: Context, columns: list[str], facts: dict | None) -> bool:
    """The segment's relation holds only keys and splits (so exactly its memberships), has the
    entity key's type, and the entity's keys are unique."""
    if not (ctx.segment.materialized in ("table", "incremental") and _keys_only(columns) and facts is not None
            and _entity_keys_unique(ctx, facts)):
        return False
    kind, have = ctx.relation()
    return kind == "table" and holds_memberships(columns, have, _entity_key_type(ctx, facts))


def holds_memberships(columns: list[str], have: list[tuple[str, str]], key_type: str | None) -> bool:
    """Whether a table read as `have` (columns and their types) holds exactly a segment's
    memberships: the segment's relation `columns` are keys (and split) only, the table has exactly
    them (it needs no reshape), and its key has the entity key's type."""
    return _keys_only(columns) and [c for c, _ in have] == columns and have[0][1] == key_type


def _relation_has(ctx: Context, columns: list[str]) -> bool:
    """The segment's relation is a table with exactly these columns."""
    kind, have = ctx.relation()
    return kind == "table" and [c for c, _ in have] == columns


def _entity_key_type(ctx: Context, facts: dict) -> str | None:
    """The type of the entity's key column in its model, read once per run (`facts`)."""
    entity = ctx.project.entities[ctx.segment.entity]
    if ("key type", entity.name) not in facts:
        facts["key type", entity.name] = dict(ctx.adapter.column_types(*ctx.project.relation_of(entity.model))).get(entity.key)
    return facts["key type", entity.name]


def _staged_select(ctx: Context, columns: list[str], keys: tuple[str, str] | None = None,
                   tables: dict[str, tuple[str, str]] | None = None,
                   features: Features | None = None) -> exp.Select:
    """The members: exact text key, then the relation's columns (among `keys` only, incrementally)."""
    served = features is not None and keys == features.keys and tables is None
    query = features.query(ctx.segment.name) if served else None
    if query is None:
        query = segment_query(ctx.project, ctx.segment, ctx.as_of, keys=keys, tables=tables,
                              features=features if served else None)
    return exp.select(exp.alias_(ctx.adapter.key_text(col(columns[0], "q")), KEY, quoted=True),
                      *[col(c, "q") for c in columns]).from_(query.subquery(exp.to_identifier("q", quoted=True)))


def _stage(ctx: Context, stage: str, columns: list[str], keys: tuple[str, str] | None = None,
           tables: dict[str, tuple[str, str]] | None = None, features: Features | None = None,
           facts: dict | None = None) -> int:
    """The members as a table: exact text key, split and carried columns (among `keys` only, in an
    incremental run). Returns the number of rows staged. Duplicate member keys are refused (checked
    on the entity once per run with `facts`, and among the members only when it has duplicates)."""
    adapter, schema = ctx.adapter, ctx.schema
    staged = _staged_select(ctx, columns, keys, tables, features)
    adapter.execute(exp.Create(this=table(schema, stage), kind="TABLE", expression=staged))
    adapter.create_work_index(schema, stage, [KEY])  # the diff against memberships joins on it
    adapter.create_work_index(schema, stage, [columns[0]])  # the relation's refresh joins on the typed key
    if facts is not None and _entity_keys_unique(ctx, facts):
        # One row per entity row (every join is on a key): unique entity keys give unique members.
        size = int(adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, stage))) or 0)
    else:
        size, distinct = adapter.fetchall(exp.select(exp.Count(this=exp.Star()), exp.Count(
            this=exp.Distinct(expressions=[col(KEY)]))).from_(table(schema, stage)))[0]
        if size != distinct:
            entity = ctx.project.entities[ctx.segment.entity]
            raise WarehouseError(
                f"entity '{entity.name}' has duplicate keys in '{entity.model}' ({size} rows, "
                f"{distinct} distinct {entity.key}); segment '{ctx.segment.name}' was not changed",
                entity.loc, f"make `{entity.key}` unique in '{entity.model}', or declare another `key:`")
    if size > BIG_DELTA:  # a few rows plan well without statistics
        adapter.analyze(schema, stage)
    return int(size)


def _needs_reshape(ctx: Context, stage: str, columns: list[str]) -> bool:
    """A new or changed column list rebuilds the relation; a changed column type is refused."""
    adapter, schema, name = ctx.adapter, ctx.schema, ctx.segment.name
    kind, have = ctx.relation()
    if kind != "table":
        return True
    if [c for c, _ in have] != columns:
        return True
    want = dict(adapter.column_types(schema, stage))
    drifted = [f"{c} ({kind} -> {want[c]})" for c, kind in have if want.get(c) != kind]
    if drifted:
        raise WarehouseError(
            f"the type of {', '.join(drifted)} changed since segment '{name}' was created; its "
            f"relation {schema}.{name} was not changed", ctx.segment.loc,
            f"run `segw rebuild {name} --full-refresh` to recreate the relation with the new types "
            "(members, history and the change feed are kept)")
    return False


def _create_relation(ctx: Context, name: str, stage: str, columns: list[str], fill: bool) -> None:
    rows = exp.select(*[col(c) for c in columns]).from_(table(ctx.schema, stage))
    if not fill:
        rows = rows.where(exp.false())
    ctx.adapter.execute(exp.Create(this=table(ctx.schema, name), kind="TABLE", expression=rows))
    ctx.adapter.create_index(ctx.schema, name, [columns[0]])


@_phase("diff")
def _stage_delta(ctx: Context, stage: str, delta: str, changed: str | None = None,
                 members: exp.Select | None = None, keys_against_relation: bool = False) -> dict[str, int]:
    """Entries, exits and split moves against memberships, as a keyed table (set-based joins);
    in an incremental run only members among the `changed` keys may exit. The members come from
    the `stage` table, or straight from their query (`members`: diffed against the
    segment's relation, by one FULL JOIN or, without it, one grouped pass). The delta
    keeps the typed key of entries and moves, which a relation of keys takes as its new rows.
    `keys_against_relation`: the stored members among the changed keys are read from the
    segment's relation on the typed key (`_keys_against_relation`)."""
    adapter, schema = ctx.adapter, ctx.schema
    among = None if changed is None else exp.select(col(KEY)).from_(table(schema, changed)).subquery()
    key_column = ctx.project.entities[ctx.segment.entity].key
    staged = (table(schema, stage, "s") if members is None
              else members.subquery(exp.to_identifier("s", quoted=True)))
    typed_among = (exp.select(col("k")).from_(table(schema, changed)).subquery()
                   if changed is not None and keys_against_relation else None)
    if members is not None and not adapter.full_outer_join:
        changes = _delta_by_grouping(adapter, schema, ctx.segment.name, members, key_column,
                                     bool(ctx.segment.splits), typed_among)
    elif members is not None and adapter.relation_rows_commit_with_memberships:
        changes = _delta_against_relation(adapter, schema, ctx.segment.name, staged, key_column,
                                          bool(ctx.segment.splits), typed_among)
    elif adapter.full_outer_join:
        changes = _delta_in_one_pass(schema, ctx.segment.name, staged, key_column, bool(ctx.segment.splits), among)
    else:
        changes = _delta_by_union(schema, ctx.segment.name, stage, key_column, bool(ctx.segment.splits), among)
    adapter.execute(exp.Create(this=table(schema, delta), kind="TABLE",
                               expression=exp.select("*").from_(changes.subquery("c"))))
    counts = dict(adapter.fetchall(exp.select(col("change"), exp.Count(this=exp.Star()))
                                   .from_(table(schema, delta)).group_by(col("change"))))
    if counts:  # the writes join on it; an empty delta is not read again
        adapter.create_work_index(schema, delta, ["key"])
    if sum(counts.values()) > BIG_DELTA:  # a few rows plan well without statistics
        adapter.analyze(schema, delta)
    return {change: int(counts.get(change, 0)) for change in CHANGE_ORDER}


def _staged_split(has_split: bool) -> exp.Expression:
    return col("split", "s") if has_split else exp.cast(exp.null(), "TEXT")


def _split_changed(has_split: bool, stored_split: exp.Expression | None = None) -> exp.Expression:
    stored_split = col("split", "m") if stored_split is None else stored_split
    return exp.NEQ(this=exp.Coalesce(this=_staged_split(has_split), expressions=[text("")]),
                   expression=exp.Coalesce(this=stored_split, expressions=[text("")]))


def _delta_in_one_pass(schema: str, name: str, staged: exp.Expression, key_column: str, has_split: bool,
                       among: exp.Subquery | None = None) -> exp.Select:
    """Entries, exits and moves from one FULL JOIN of the staged members (aliased `s`) and the
    stored ones in memberships (those whose key is `among` the re-evaluated ones, when given)."""
    stored = (exp.select(col("key"), col("split")).from_(table(schema, "memberships"))
              .where(col("segment").eq(text(name)), *([exp.In(this=col("key"), query=among)] if among else [])))
    return _full_join_delta(staged, stored.subquery(exp.to_identifier("m", quoted=True)), col("key", "m"),
                            col("key", "m"), col(KEY, "s"), col("split", "m"), key_column, has_split)


def _delta_against_relation(adapter: Adapter, schema: str, name: str, staged: exp.Expression, key_column: str,
                            has_split: bool, among: exp.Subquery | None = None) -> exp.Select:
    """The same against the segment's own relation of keys (and splits), joined on the typed key:
    cheaper than the text keys of memberships. The relation holds exactly the memberships: it is
    written in the same transaction as they are (`relation_commits_with_data`: a replaced
    relation cannot lag behind them). `among`: only its rows whose typed key is among these."""
    typed = col(key_column, "r")
    stored = table(schema, name, "r") if among is None else exp.select(exp.Star()).from_(table(schema, name)).where(
        exp.In(this=col(key_column), query=among)).subquery(exp.to_identifier("r", quoted=True))
    return _full_join_delta(staged, stored, typed, adapter.key_text(typed.copy()),
                            col(key_column, "s"), col("split", "r") if has_split else exp.cast(exp.null(), "TEXT"),
                            key_column, has_split)


def _full_join_delta(staged: exp.Expression, stored: exp.Expression, stored_key: exp.Expression,
                     stored_text_key: exp.Expression, staged_key: exp.Expression, stored_split: exp.Expression,
                     key_column: str, has_split: bool) -> exp.Select:
    """Entries, exits and moves of staged members `s` against `stored` ones, FULL JOINed on
    stored_key = staged_key: the text key, the change, the split and the staged typed key."""
    gone, new = exp.Is(this=col(KEY, "s"), expression=exp.null()), exp.Is(this=stored_key, expression=exp.null())
    change = exp.Case(ifs=[exp.If(this=new, true=text("entered")), exp.If(this=gone.copy(), true=text("exited"))],
                      default=text("moved"))
    split = exp.Case(ifs=[exp.If(this=gone.copy(), true=stored_split)], default=_staged_split(has_split))
    return (exp.select(exp.alias_(exp.Coalesce(this=col(KEY, "s"), expressions=[stored_text_key]), "key", quoted=True),
                       exp.alias_(change, "change", quoted=True), exp.alias_(split, "split", quoted=True),
                       exp.alias_(col(key_column, "s"), TYPED_KEY, quoted=True))
            .from_(staged)
            .join(stored, on=stored_key.copy().eq(staged_key), join_type="FULL OUTER")
            .where(exp.or_(new.copy(), gone.copy(), _split_changed(has_split, stored_split.copy()))))


def _delta_by_grouping(adapter: Adapter, schema: str, name: str, members: exp.Select, key_column: str,
                       has_split: bool, among: exp.Subquery | None = None) -> exp.Select:
    """The same from one grouped pass over the members' query and the segment's own relation of
    keys (and splits), stacked and grouped by the typed key (engines without FULL JOIN: no stage
    table of the members, no index on it, no second join). A key only among the members entered,
    one only in the relation exited, one in both whose split differs moved. The relation holds
    exactly the memberships: written in their transaction, and a swap a killed run left undone
    was finished at the start of the build (`relation_swap`). `among`: only the relation's rows
    whose typed key is among these."""
    split = (lambda alias: col("split", alias)) if has_split else (lambda alias: exp.cast(exp.null(), "TEXT"))
    members_side = exp.select(exp.alias_(col(key_column, "q"), "k", quoted=True),
                              exp.alias_(exp.Literal.number(0), "o", quoted=True),
                              exp.alias_(split("q"), "split", quoted=True)).from_(
        members.subquery(exp.to_identifier("q", quoted=True)))
    relation_side = exp.select(col(key_column, "r"), exp.Literal.number(1), split("r")).from_(
        table(schema, name, "r"))
    if among is not None:
        relation_side = relation_side.where(exp.In(this=col(key_column, "r"), query=among))
    stacked = exp.union(members_side, relation_side, distinct=False).subquery(exp.to_identifier("u", quoted=True))

    def split_of(side: int) -> exp.Expression:
        return exp.Max(this=exp.Case(ifs=[exp.If(this=col("o", "u").eq(exp.Literal.number(side)),
                                                 true=col("split", "u"))]))
    only_new = exp.Max(this=col("o", "u")).eq(exp.Literal.number(0))
    only_stored = exp.Min(this=col("o", "u")).eq(exp.Literal.number(1))
    change = exp.Case(ifs=[exp.If(this=only_new, true=text("entered")),
                           exp.If(this=only_stored, true=text("exited"))], default=text("moved"))
    moved = exp.NEQ(this=exp.Coalesce(this=split_of(0), expressions=[text("")]),
                    expression=exp.Coalesce(this=split_of(1), expressions=[text("")]))
    return many_groups(
        exp.select(exp.alias_(adapter.key_text(col("k", "u")), "key", quoted=True),
                   exp.alias_(change, "change", quoted=True),
                   exp.alias_(exp.Case(ifs=[exp.If(this=only_stored.copy(), true=split_of(1))], default=split_of(0)),
                              "split", quoted=True),
                   exp.alias_(exp.Case(ifs=[exp.If(this=only_stored.copy(), true=exp.null())],
                                       default=exp.Max(this=col("k", "u"))), TYPED_KEY, quoted=True))
        .from_(stacked).group_by(col("k", "u"))
        .having(exp.or_(exp.Count(this=exp.Star()).eq(exp.Literal.number(1)), moved)))


def _delta_by_union(schema: str, name: str, stage: str, key_column: str, has_split: bool,
                    among: exp.Subquery | None = None) -> exp.Select:
    """The same from two indexed joins (engines without FULL JOIN: MySQL/MariaDB) of the staged
    members and memberships' text keys (only the keys `among` the re-evaluated ones may exit)."""
    return _two_join_delta(schema, stage, table(schema, "memberships", "m"), col("key", "m"), col(KEY, "s"),
                           [col("segment", "m").eq(text(name))], col("key", "m"), col("split", "m"), key_column,
                           has_split, [exp.In(this=col("key", "m"), query=among)] if among else [])


def _two_join_delta(schema: str, stage: str, stored: exp.Expression, stored_key: exp.Column,
                    staged_key: exp.Column, stored_filters: list[exp.Expression], stored_text_key: exp.Expression,
                    stored_split: exp.Expression, key_column: str, has_split: bool,
                    exit_filters: list[exp.Expression] | None = None) -> exp.Select:
    """Entries, exits and moves of the staged members (table `stage`, aliased `s`) against `stored`
    ones (those `stored_filters` keep), joined on stored_key = staged_key, without FULL JOIN: the
    members against the stored ones (entries and moves), then the stored against the members
    (exits, among `exit_filters`). The same columns as `_full_join_delta`."""
    new = exp.Is(this=stored_key.copy(), expression=exp.null())
    entered_or_moved = (
        exp.select(exp.alias_(col(KEY, "s"), "key", quoted=True),
                   exp.alias_(exp.Case(ifs=[exp.If(this=new, true=text("entered"))], default=text("moved")),
                              "change", quoted=True),
                   exp.alias_(_staged_split(has_split), "split", quoted=True),
                   exp.alias_(col(key_column, "s"), TYPED_KEY, quoted=True))
        .from_(table(schema, stage, "s"))
        .join(stored, on=exp.and_(*[f.copy() for f in stored_filters], stored_key.copy().eq(staged_key.copy())),
              join_type="LEFT")
        .where(exp.or_(new.copy(), _split_changed(has_split, stored_split.copy()))))
    exited = (exp.select(stored_text_key, text("exited"), stored_split.copy(), exp.null())
              .from_(stored.copy()).join(table(schema, stage, "s"), on=staged_key.copy().eq(stored_key.copy()),
                                         join_type="LEFT")
              .where(*[f.copy() for f in stored_filters], exp.Is(this=staged_key.copy(), expression=exp.null()),
                     *(exit_filters or [])))
    return exp.union(entered_or_moved, exited, distinct=False)


def take_writer_row(adapter: Adapter, schema: str) -> None:
    """Updating the writer row serialises writers, so change_ids grow in commit order (an engine
    with one writer at a time needs no row for that: on Spark it would rewrite a table)."""
    if not adapter.other_writers:
        return
    adapter.execute(exp.update(table(schema, STATE),
                               {"value": exp.Add(this=col("value"), expression=exp.Literal.number(1))},
                               where=col("name").eq(text(WRITER_ROW))))


def _keys_of(schema: str, delta: str, *changes: str, as_type: exp.DataType | None = None) -> exp.Subquery:
    """The delta's text keys with one of `changes` (cast to `as_type`, given one)."""
    key = col("key") if as_type is None else exp.cast(col("key"), as_type)
    return (exp.select(key).from_(table(schema, delta))
            .where(exp.In(this=col("change"), expressions=[text(c) for c in changes]))).subquery()


def _apply_delta(ctx: Context, delta: str, counts: dict[str, int]) -> None:
    """Record the delta as changes, then bring history and memberships in line. In a transaction."""
    adapter, schema, name = ctx.adapter, ctx.schema, ctx.segment.name
    entity, at = text(ctx.segment.entity), timestamp_literal(ctx.as_of)
    if not sum(counts.values()):
        return
    record_changes(adapter, schema, ctx.run_id, at, table(schema, delta), text(name), entity, [],
                   sum(counts.values()))
    segment_is = col("segment").eq(text(name))
    if counts["exited"] or counts["moved"]:
        adapter.execute(exp.update(
            table(schema, "membership_history"), {"valid_to": at.copy()},
            where=exp.and_(segment_is, exp.Is(this=col("valid_to"), expression=exp.null()),
                           exp.In(this=col("key"), query=_keys_of(schema, delta, "exited", "moved")))))
    if counts["exited"]:
        adapter.execute(exp.delete(table(schema, "memberships"), where=exp.and_(
            segment_is.copy(), exp.In(this=col("key"), query=_keys_of(schema, delta, "exited")))))
    if counts["moved"]:
        _move_splits(adapter, schema, name, delta)
    if counts["entered"] or counts["moved"]:
        _open_history(ctx, delta)
    if counts["entered"]:
        adapter.execute(insert(table(schema, "memberships"), ["segment", "entity", "key", "split", "entered_at"],
                               exp.select(text(name), entity.copy(), col("key"), col("split"), at.copy())
                               .from_(table(schema, delta)).where(col("change").eq(text("entered")))))


def record_changes(adapter: Adapter, schema: str, run_id: str, at: exp.Expression, rows: exp.Expression,
                   segment: exp.Expression, entity: exp.Expression, first: list[exp.Expression], count: int) -> None:
    """Append `rows` (key, change, split; `count` of them) to membership_changes, the next change_ids
    numbered by `first`, then each change's place (exits, moves, entries), then key; and move the
    counter of change_ids on. In the writing transaction."""
    base = int(adapter.scalar(exp.select(col("value")).from_(table(schema, STATE))
                              .where(col("name").eq(text(LAST_CHANGE_ROW)))) or 0)
    rank = exp.Case(ifs=[exp.If(this=col("change").eq(text(c)), true=exp.Literal.number(n))
                         for c, n in CHANGE_ORDER.items()])
    number_rows = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[
        *[exp.Ordered(this=e) for e in first], exp.Ordered(this=rank), exp.Ordered(this=col("key"))]))
    adapter.execute(insert(
        table(schema, "membership_changes"),
        ["change_id", "run_id", "segment", "entity", "key", "change", "split", "as_of"],
        exp.select(exp.Add(this=exp.Literal.number(base), expression=number_rows), text(run_id), segment,
                   entity, col("key"), col("change"), col("split"), at).from_(rows)))
    adapter.execute(exp.update(table(schema, STATE), {"value": exp.Literal.number(base + count)},
                               where=col("name").eq(text(LAST_CHANGE_ROW))))


def _move_splits(adapter: Adapter, schema: str, name: str, delta: str) -> None:
    new_split = (exp.select(col("split", "d")).from_(table(schema, delta, "d"))
                 .where(col("key", "d").eq(col("key", "memberships")), col("change", "d").eq(text("moved"))))
    adapter.execute(exp.update(
        table(schema, "memberships"), {"split": new_split.subquery()},
        where=exp.and_(col("segment").eq(text(name)),
                       exp.In(this=col("key"), query=_keys_of(schema, delta, "moved")))))


def _open_history(ctx: Context, delta: str) -> None:
    opened = exp.In(this=col("change"), expressions=[text("entered"), text("moved")])
    ctx.adapter.execute(insert(table(ctx.schema, "membership_history"),
                               ["segment", "entity", "key", "split", "valid_from", "valid_to"],
                               exp.select(text(ctx.segment.name), text(ctx.segment.entity), col("key"),
                                          col("split"), timestamp_literal(ctx.as_of),
                                          exp.cast(exp.null(), "TIMESTAMP"))
                               .from_(table(ctx.schema, delta)).where(opened)))


def _refresh_relation(ctx: Context, stage: str, columns: list[str], delta: str | None = None,
                      counts: dict[str, int] | None = None) -> None:
    """Bring the segment's own relation to the staged rows: all anew (table) or by difference.
    With `delta` (an incremental run, whose stage holds only re-evaluated keys), rows of members
    who exited go, rows of staged members are replaced where they differ, and the rest stay. A
    `table` whose relation holds only keys and splits takes the run's changes (`delta`, `counts`)."""
    adapter, schema, name = ctx.adapter, ctx.schema, ctx.segment.name
    target = table(schema, name)
    rows = exp.select(*[col(c, "s") for c in columns]).from_(table(schema, stage, "s"))
    if counts is not None and _keys_only(columns):
        # Only keys (and splits): the relation is the memberships, so their changes are its changes.
        if any(counts.values()):
            adapter.execute(exp.delete(target.copy(), where=_relation_keys_in(ctx, columns[0], delta, "exited", "moved")))
            adapter.execute(insert(target, columns, exp.select(
                col(TYPED_KEY), *[col(c) for c in columns[1:]]).from_(table(schema, delta)).where(
                exp.In(this=col("change"), expressions=[text("entered"), text("moved")]))))
        return
    if ctx.segment.materialized == "table":
        adapter.execute(exp.delete(target.copy()))
        adapter.execute(insert(target, columns, rows))
        return
    key = columns[0]
    # Keys join with `=` (hash or index joins); only the other columns compare NULL-safely.
    same_values = [exp.NullSafeEQ(this=col(c, "s"), expression=col(c, name)) for c in columns[1:]]
    if delta is None:
        adapter.execute(exp.delete(target.copy(), where=exp.not_(exp.Exists(
            this=exp.select("1").from_(table(schema, stage, "s")).where(
                exp.and_(col(key, "s").eq(col(key, name)), *same_values))))))
    else:
        adapter.execute(exp.delete(target.copy(), where=_relation_keys_in(ctx, key, delta, "exited")))
        if same_values:
            adapter.execute(exp.delete(target.copy(), where=exp.Exists(
                this=exp.select("1").from_(table(schema, stage, "s")).where(
                    exp.and_(col(key, "s").eq(col(key, name)), exp.not_(exp.and_(*same_values)))))))
    missing = (rows.join(table(schema, name, "r"), on=col(key, "r").eq(col(key, "s")), join_type="LEFT")
               .where(exp.Is(this=col(key, "r"), expression=exp.null())))
    adapter.execute(insert(target, columns, missing))


def _relation_keys_in(ctx: Context, key: str, delta: str, *changes: str) -> exp.Expression:
    """The relation's rows whose key the delta names with one of `changes`. An integer key is
    compared as it is typed, with the delta's text keys cast back (exact for integers): a cast of
    the relation's own column would stop the engine from using the index on it."""
    adapter, schema, name = ctx.adapter, ctx.schema, ctx.segment.name
    typed = _integer_type(adapter, _entity_key_type(ctx, ctx.facts) if ctx.facts is not None else None)
    if typed is None:
        return exp.In(this=adapter.key_text(col(key, name)), query=_keys_of(schema, delta, *changes))
    return exp.In(this=col(key, name), query=_keys_of(schema, delta, *changes, as_type=typed))


def _integer_type(adapter: Adapter, data_type: str | None) -> exp.DataType | None:
    """The warehouse's integer type named `data_type` (as its catalog spells it); None otherwise."""
    name = (data_type or "").lower()
    if "int" not in name or "interval" in name or "point" in name:
        return None
    try:
        built = exp.DataType.build(name, dialect=adapter.dialect)
    except Exception:  # noqa: BLE001 - a spelling sqlglot does not know: compare as text
        return None
    # without a display width (MySQL's `int(11)`), which CAST does not take
    return exp.DataType(this=built.this) if built.is_type(*exp.DataType.INTEGER_TYPES) else None


def _build_view(ctx: Context) -> SegmentResult:
    """A live view; members stored by an earlier table/incremental build exit in the same commit."""
    adapter, schema, segment = ctx.adapter, ctx.schema, ctx.segment
    query = segment_query(ctx.project, segment, None)

    def create(name: str) -> None:
        adapter.execute(exp.Create(this=table(schema, name), kind="VIEW", expression=query, replace=True))
    delta = delta_name(segment)
    try:
        counts = _stage_exits(ctx, delta)
        with adapter.replacing_relation(schema, segment.name, create, kind="view") as replace:
            with adapter.transaction():
                take_writer_row(adapter, schema)
                stored = ctx.check()
                _apply_delta(ctx, delta, counts)
                replace()
    finally:
        adapter.drop_quietly(schema, delta)
    size = int(adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, segment.name))) or 0)
    with adapter.transaction():
        finished = ctx.clock()
        write_catalog(adapter, schema, ctx.project, segment, size, ctx.as_of, finished, stored=stored is not None)
        record_run(adapter, schema, ctx.run_id, segment.name, ctx.as_of, ctx.started_at, finished, "success",
                   size, 0, counts["exited"], None)
    return SegmentResult(segment.name, "success", size, 0, counts["exited"], None, ctx.started_at, finished)


@_phase("diff")
def _stage_exits(ctx: Context, delta: str) -> dict[str, int]:
    """A delta in which every stored member of the segment exits (retire, or a switch to a view)."""
    adapter, schema = ctx.adapter, ctx.schema
    adapter.drop(schema, delta, "table")
    everyone = (exp.select(col("key"), exp.alias_(text("exited"), "change", quoted=True), col("split"))
                .from_(table(schema, "memberships")).where(col("segment").eq(text(ctx.segment.name))))
    adapter.execute(exp.Create(this=table(schema, delta), kind="TABLE", expression=everyone))
    adapter.create_work_index(schema, delta, ["key"])
    adapter.analyze(schema, delta)
    exited = int(adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, delta))) or 0)
    return {"exited": exited, "moved": 0, "entered": 0}


def retire_segment(adapter: Adapter, project: Project, name: str, run_id: str, as_of: dt.datetime,
                   clock: Callable[[], dt.datetime] | None = None) -> int:
    """Every member exits, history closes, the relation is dropped, the catalog says retired.
    The caller holds the segment's writer lock."""
    clock = clock or utcnow
    schema = project.segment_schema
    stored = stored_segment(adapter, schema, name)
    if owned_by_another(stored, project.config.name):
        raise WarehouseError(f"segment '{name}' belongs to project '{stored.project}', not "
                             f"'{project.config.name}'; it was not retired",
                             hint=f"retire it from project '{stored.project}'")
    as_of = max(as_of, stored.last_as_of) if stored is not None and stored.last_as_of else as_of
    ghost = t.Segment(name=name, entity=(stored.entity if stored else None) or "", rules=None)
    ctx = Context(adapter, project, ghost, run_id, as_of, clock(), clock, False)
    delta = delta_name(ghost)
    try:
        counts = _stage_exits(ctx, delta)
        with adapter.replacing_relation(schema, name, None) as drop_relation:
            with adapter.transaction():
                take_writer_row(adapter, schema)
                _apply_delta(ctx, delta, counts)
                finished = clock()
                if stored is not None:
                    mark_retired(adapter, schema, name, finished)
                record_run(adapter, schema, run_id, name, as_of, ctx.started_at, finished, "retired", 0, 0,
                           counts["exited"], None)
                drop_relation()
        if not adapter.relation_commits_with_data:  # no swap a killed run left undone is wanted any more
            relation_swap.forget(adapter, schema, name)
    finally:
        adapter.drop_quietly(schema, delta, adapter.aside_name(name))
    return counts["exited"]


def record_run(adapter: Adapter, schema: str, run_id: str, segment: str, as_of: dt.datetime,
               started_at: dt.datetime, finished_at: dt.datetime, status: str, size: int | None,
               entered: int, exited: int, error: str | None) -> None:
    adapter.execute(insert(table(schema, "segment_runs"), RUN_COLUMNS,
                           exp.values([run_values(run_id, segment, as_of, started_at, finished_at, status, size,
                                                  entered, exited, error)])))


RUN_COLUMNS = ["run_id", "segment", "as_of", "started_at", "finished_at", "status", "size", "entered", "exited",
               "error"]


def run_values(run_id: str, segment: str, as_of: dt.datetime, started_at: dt.datetime, finished_at: dt.datetime,
               status: str, size: int | None, entered: int, exited: int, error: str | None) -> tuple:
    """One row of segment_runs, in its column order."""
    return (text(run_id), text(segment), timestamp_literal(as_of), timestamp_literal(started_at),
            timestamp_literal(finished_at), text(status), number(size), number(entered),
            number(exited), exp.null() if error is None else text(error[:4000]))


def current_size(adapter: Adapter, schema: str, segment: str) -> int | None:
    return adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, "memberships"))
                          .where(col("segment").eq(text(segment))))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def segment_counts(adapter: Adapter, project: Project, segment: str) -> dict[str, int]:
    """Rows of a segment per output table (shown before a full refresh)."""
    schema = project.segment_schema
    return {name: int(adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, name))
                                     .where(col("segment").eq(text(segment)))) or 0)
            for name in ("memberships", "membership_history", "membership_changes")
            if adapter.relation_kind(schema, name) is not None}
