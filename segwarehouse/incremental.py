"""Whether an incremental segment's run may evaluate only changed keys, and the state that lets it."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Collection, Iterator

from sqlglot import exp

from .catalog import definition_hash
from .compiler.incremental import ENTITY_SOURCE, blockers, high_water, loaded_rows, loaded_tails, reads_of, sources
from .outputs import KEY, col, insert, replace_row, table, text, union_all
from .project.loader import Project
from .errors import SegwError
from .language import types as t
from .warehouse.base import Adapter

log = logging.getLogger("segwarehouse.run")

INCREMENTS = "_segw_increments"  # one row per incremental segment: its mode and what the next run needs
FULL, INCREMENTAL = "full", "incremental"
FULL_REFRESH = "a full evaluation was asked for"


@dataclass
class Increment:
    """How this run evaluates a segment: every key (full) or only the changed ones since `since`."""
    mode: str
    reason: str | None  # why a full evaluation (None when incremental)
    since: dt.datetime | None = None
    marks: dict[str, dt.datetime | None] = field(default_factory=dict)  # high-water marks of the last run
    new_marks: dict[str, dt.datetime | None] = field(default_factory=dict)  # read before this evaluation
    tracked: bool = False  # state is kept for the next run
    entity_rows: int | None = None  # entity rows loaded up to the new mark (kept for the next run)
    rows_may_be_gone: bool = True  # whether some entity row the last run saw may have been deleted
    tables: dict[str, tuple[str, str]] | None = None  # narrowed copies of the models it reads (shared)
    keys_table: tuple[str, str] | None = None  # (schema, table) of the run's changed keys of its entity (shared)
    # every key of keys_table this segment may lose has its typed `k` (its gone members were found
    # in its relation, or none were looked for): its delta may join its relation on the typed key
    keys_typed: bool = False
    nothing_changed: bool = False  # the run's shared scan found no key this segment must re-evaluate
    inputs: str | None = None  # inputs_digest as this run read it (one read per run)
    # (entity, relation) -> kept measures current at this as_of (kept.py), shared by the entity's segments
    kept: dict | None = None
    stored: bool | None = None  # whether the segment has a row in _segw_increments (None: not read)

    @property
    def incremental(self) -> bool:
        return self.mode == INCREMENTAL


def static_mode(project: Project, segment: t.Segment) -> tuple[str, str | None]:
    """The mode a segment's runs take when nothing else forces a full one, with the reason."""
    if segment.materialized != "incremental":
        return segment.materialized, None
    found = blockers(project, segment)
    return (FULL, "; ".join(found)) if found else (INCREMENTAL, None)


def inputs_digest(project: Project, adapter: Adapter) -> str:
    """A digest of every model and seed as last built (its fingerprint: rendered SQL and upstream,
    so a model whose SQL depends on as_of differs every run) or, without one, its file, and the
    vars: a change may alter any row, so the next run of each incremental segment evaluates everyone."""
    from .modelbuild import stored_fingerprints

    try:
        built = stored_fingerprints(adapter, project)
    except SegwError:
        built = {}
    digest = hashlib.md5(json.dumps(project.config.vars, sort_keys=True, default=str).encode())
    for name in sorted(project.models):
        digest.update(name.encode())
        digest.update(built[name].encode() if name in built else project.models[name].path.read_bytes())
    return digest.hexdigest()


def read_state(adapter: Adapter, schema: str, segment: str) -> dict | None:
    """The segment's stored state; None: no row; {}: a row whose state is unusable."""
    return read_states(adapter, schema, [segment]).get(segment)


def read_states(adapter: Adapter, schema: str, segments: list[str]) -> dict[str, dict]:
    """The stored state of each of these segments that has a row (one query for all)."""
    rows = adapter.fetchall(exp.select(col("segment"), col("state")).from_(table(schema, INCREMENTS))
                            .where(exp.In(this=col("segment"), expressions=[text(name) for name in segments])))
    states = {}
    for segment, state in rows:
        try:
            states[segment] = json.loads(state) if state else {}
        except ValueError:
            states[segment] = {}  # the row exists, its state is unusable: a full evaluation
    return states


def stored_modes(adapter: Adapter, schema: str) -> dict[str, tuple[str, str | None]]:
    """segment -> (mode, reason) of its last run, for `segw status`."""
    if adapter.relation_kind(schema, INCREMENTS) is None:
        return {}
    rows = adapter.fetchall(exp.select(col("segment"), col("mode"), col("reason")).from_(table(schema, INCREMENTS)))
    return {segment: (mode, reason) for segment, mode, reason in rows}


def as_datetime(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=None) if value.tzinfo is None else \
        value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def plan_increment(adapter: Adapter, project: Project, segment: t.Segment, as_of: dt.datetime,
                   full_refresh: bool, run_reads: dict | None = None) -> Increment:
    """Decide full or incremental for this run, and read the new high-water marks first, so rows
    that arrive while the segment is evaluated are picked up by the next run."""
    mode, reason = static_mode(project, segment)
    if segment.materialized != "incremental":
        return Increment(mode, None)
    if mode == FULL:
        return Increment(FULL, reason)
    reads = reads_of(project, segment)
    # What a run reads once for all its segments: each (model, column) mark, the inputs digest,
    # each entity row count.
    run_reads = {} if run_reads is None else run_reads
    if "inputs" not in run_reads:
        run_reads["inputs"] = inputs_digest(project, adapter)
    inputs = run_reads["inputs"]
    for model, loaded_at in sources(reads).values():
        if (model, loaded_at) not in run_reads:
            run_reads[model, loaded_at] = as_datetime(adapter.scalar(high_water(project, model, loaded_at)))
    new_marks = {name: run_reads[model, loaded_at] for name, (model, loaded_at) in sources(reads).items()}
    states = run_reads.get("states", {})  # None: no row (plan_increments read them all at once)
    state = states[segment.name] if segment.name in states else read_state(adapter, project.segment_schema,
                                                                             segment.name)
    stored = state is not None
    since = as_datetime(state.get("as_of")) if state else None
    if full_refresh:
        reason = FULL_REFRESH
    elif state is None or since is None:
        reason = "first run"
    elif state.get("definition") != definition_hash(project, segment):
        reason = "its definition changed"
    elif state.get("inputs") != inputs:
        reason = "a model, seed or var changed"
    elif since > as_of:
        reason = "as_of is earlier than its last run"
    else:
        marks = {name: as_datetime(value) for name, value in state.get("marks", {}).items()}
        if set(marks) != set(new_marks):
            return Increment(FULL, "what it reads changed", new_marks=new_marks, tracked=True, inputs=inputs,
                             stored=stored)
        then, nulls, now = _entity_rows(adapter, project, reads.entity, marks[ENTITY_SOURCE],
                                        new_marks[ENTITY_SOURCE], run_reads)
        gone = bool(nulls) or state.get("entity_rows") is None or int(then) != int(state["entity_rows"])
        return Increment(INCREMENTAL, None, since, marks, new_marks, tracked=True, entity_rows=int(now),
                         rows_may_be_gone=gone, inputs=inputs, stored=stored)
    now = _entity_rows(adapter, project, reads.entity, None, new_marks[ENTITY_SOURCE], run_reads)[2]
    return Increment(FULL, reason, new_marks=new_marks, tracked=True, entity_rows=int(now), inputs=inputs,
                     stored=stored)


def _entity_rows(adapter: Adapter, project: Project, entity: t.Entity, old_mark, new_mark, read: dict) -> tuple:
    """(rows up to the old mark, rows without a mark, rows up to the new mark), once per run. If
    the first equals what the last run counted up to that mark, and no row lacks loaded_at, no row
    the last run saw was deleted (or its count would have dropped)."""
    key = ("entity_rows", entity.name, old_mark, new_mark)
    if key not in read:
        read[key] = count_loaded(adapter, project, entity.model, entity.loaded_at, old_mark, new_mark)
    return read[key]


def count_loaded(adapter: Adapter, project: Project, model: str, loaded_at: str, old_mark, new_mark
                 ) -> tuple[int, int, int]:
    """(rows loaded up to the old mark, rows without loaded_at, rows loaded up to the new mark) of
    a model: from its recent rows where the engine finds them without a scan (an index on
    loaded_at, blocks' min/max), else in one scan of it (compiler.incremental.loaded_rows)."""
    if not adapter.finds_ranges(*project.relation_of(model), loaded_at):
        return tuple(int(n or 0) for n in adapter.fetchall(loaded_rows(project, model, loaded_at, old_mark,
                                                                       new_mark))[0])
    rows, nulls, after_old, after_new = (int(n or 0) for n in adapter.fetchall(
        loaded_tails(project, model, loaded_at, old_mark, new_mark))[0])
    return (rows - nulls - after_old if old_mark is not None else 0, nulls,
            rows - nulls - after_new if new_mark is not None else 0)


def write_state(adapter: Adapter, project: Project, segment: t.Segment, increment: Increment,
                as_of: dt.datetime, now: dt.datetime) -> None:
    """Replace the segment's row; call inside the segment's transaction, with its memberships."""
    row = state_row(adapter, project, segment, increment, as_of, now)
    if row is not None:
        replace_row(adapter, table(project.segment_schema, INCREMENTS), STATE_COLUMNS, row, increment.stored)


STATE_COLUMNS = ["segment", "mode", "reason", "state", "updated_at"]


def state_row(adapter: Adapter, project: Project, segment: t.Segment, increment: Increment, as_of: dt.datetime,
              now: dt.datetime) -> list | None:
    """The segment's row of _segw_increments (STATE_COLUMNS) as literals; None: not incremental."""
    from .compiler.timeexpr import timestamp_literal

    if segment.materialized != "incremental":
        return None
    state = None
    if increment.tracked:
        state = json.dumps({"as_of": as_of.isoformat(), "definition": definition_hash(project, segment),
                            "inputs": increment.inputs or inputs_digest(project, adapter),
                            "entity_rows": increment.entity_rows,
                            "marks": {k: v.isoformat() if v else None for k, v in increment.new_marks.items()}})
    return [text(segment.name), text(increment.mode), text(increment.reason) if increment.reason else exp.null(),
            text(state) if state else exp.null(), timestamp_literal(now)]


def plan_increments(adapter: Adapter, project: Project, names: list[str], as_of: dt.datetime,
                    full_refresh: bool) -> dict[str, Increment]:
    """The plan of every incremental segment of a run, reading each source's mark once. A segment
    built later under its lock may find a newer state; evaluating from this older one re-evaluates
    a superset of the keys, which gives the same members."""
    incremental = [name for name in names if project.segments[name].materialized == "incremental"]
    run_reads: dict = {}
    if incremental:
        try:
            found = read_states(adapter, project.segment_schema, incremental)
            run_reads["states"] = {name: found.get(name) for name in incremental}
        except SegwError:  # each segment reads its own below, and meets the fault itself
            if adapter.broken:
                return {}
    plans = {}
    for name in names:
        if project.segments[name].materialized == "incremental":
            try:
                plans[name] = plan_increment(adapter, project, project.segments[name], as_of, full_refresh,
                                             run_reads)
            except SegwError:  # the segment's own build meets the fault again and reports it
                if adapter.broken:
                    break
    return plans


SHARED_PREFIX = "_segw_inc_"
COPY_AT_MOST = 0.01  # narrowed copies are made while the changed keys are at most 1% of the entity


def gone_members(adapter: Adapter, project: Project, entity_name: str, segments: list[str],
                 present: tuple[str, str] | None = None, in_relations: Collection[str] = ()) -> exp.Query:
    """Members (segment, key, and `k`: the key as typed where known, else NULL) of these segments
    whose entity row no longer exists: one anti-join for all.
    `present`: a table of the entity's keys as text (column `x`, indexed), where the engine joins
    by nested loops (see `stage_present_keys`).
    `in_relations`: segments whose own relation holds exactly their members (`member_relations`):
    theirs are found on the typed key, an anti-join of integers instead of the text keys of every
    membership (PostgreSQL, 200k customers: 0.48 s instead of 0.89 s)."""
    entity = project.entities[entity_name]
    entity_schema, entity_table = project.relation_of(entity.model)
    parts: list[exp.Query] = []
    typed = [exp.select(exp.alias_(text(name), "segment", quoted=True), exp.alias_(col(entity.key), "k", quoted=True))
             .from_(table(project.segment_schema, name)) for name in segments if name in in_relations]
    if typed:  # one anti-join of all their members (one hash table of the entity's keys)
        members = union_all(typed)
        row = exp.select(exp.Literal.number(1)).from_(table(entity_schema, entity_table, "e")).where(
            col(entity.key, "e").eq(col("k", "r")))
        parts.append(exp.select(col("segment", "r"), exp.alias_(adapter.key_text(col("k", "r")), "key", quoted=True),
                                col("k", "r"))
                     .from_(members.subquery(exp.to_identifier("r", quoted=True)))
                     .where(exp.not_(exp.Exists(this=row))))
    rest = [n for n in segments if n not in in_relations]
    if rest or not parts:
        keys = table(*present, "p") if present is not None else exp.select(
            exp.alias_(adapter.key_text(col(entity.key, "e")), "x", quoted=True),
            exp.alias_(col(entity.key, "e"), "k", quoted=True)).from_(
            table(entity_schema, entity_table, "e")).subquery(exp.to_identifier("p", quoted=True))
        # no typed key for these: `p.k` is NULL after the anti-join, with the entity key's type
        unknown = exp.alias_(exp.null() if present is not None else col("k", "p"), "k", quoted=True)
        parts.append(exp.select(col("segment", "m"), col("key", "m"), unknown).distinct()
                     .from_(table(project.segment_schema, "memberships", "m"))
                     .join(keys, on=col("x", "p").eq(col("key", "m")), join_type="LEFT")
                     .where(exp.In(this=col("segment", "m"), expressions=[text(n) for n in rest]),
                            exp.Is(this=col("x", "p"), expression=exp.null())))
    return union_all(parts)


def member_relations(adapter: Adapter, project: Project, entity_name: str, segments: list[str]) -> set[str]:
    """The segments among these whose own relation holds exactly their members, keyed by the
    entity key as typed: a table of keys (and splits) whose key has the entity key's type, written
    in the same transaction as memberships (`relation_rows_commit_with_memberships`; elsewhere
    none), and not waiting for a recreated one to be swapped in (`relation_swap`: the run looks
    before any segment's build finishes the swap). One catalog read for all."""
    from .materialize import holds_memberships, output_columns
    from .relation_swap import pending_swaps

    if not adapter.relation_rows_commit_with_memberships or not segments:
        return set()
    if not adapter.relation_commits_with_data:
        waiting = pending_swaps(adapter, project.segment_schema, segments)
        segments = [name for name in segments if name not in waiting]
    entity = project.entities[entity_name]
    key_type = dict(adapter.column_types(*project.relation_of(entity.model))).get(entity.key)
    found = adapter.table_columns(project.segment_schema, segments)
    return {name for name in segments
            if holds_memberships(output_columns(project, project.segments[name]), found.get(name, []), key_type)}


def stage_present_keys(adapter: Adapter, project: Project, entity_name: str, schema: str,
                       name: str) -> tuple[str, str] | None:
    """On engines that join by nested loops (MariaDB), the entity's keys as text in an indexed work
    table, so the anti-join above looks each member up instead of scanning per member; elsewhere
    None (a hash join needs no copy)."""
    if not adapter.indexes_work_tables:
        return None
    entity = project.entities[entity_name]
    entity_schema, entity_table = project.relation_of(entity.model)
    adapter.drop(schema, name, "table")
    adapter.execute(exp.Create(this=table(schema, name), kind="TABLE", expression=exp.select(
        exp.alias_(adapter.key_text(col(entity.key, "e")), "x", quoted=True)).from_(
        table(entity_schema, entity_table, "e"))))
    adapter.create_work_index(schema, name, ["x"])
    return schema, name


FLAGGED_AT_MOST = 200  # segments of one entity whose own changes the shared scan flags one by one


@contextmanager
def shared_inputs(adapter: Adapter, project: Project, increments: dict[str, Increment], as_of: dt.datetime,
                  lock) -> Iterator[None]:
    """Per entity, for the segments of this run evaluated incrementally: one table of the keys
    any of them re-evaluates (one scan per source, not one per segment), each flagged with the
    segments whose own changes name it, and the members whose entity row is gone. Each segment
    then evaluates those keys (a superset of its own: the same members) or, with none of its own,
    only moves its as_of on. Where few segments have changes, copies of the entity's and the
    relations' rows of those keys, which they read instead of the whole tables. An accelerator:
    when another run holds the entity's lock (`lock(entity)`), or a table cannot be made, each
    segment finds its own keys. The tables are dropped at the end."""
    from .compiler.incremental import changed_conditions, flagged_keys
    from .kept import keep_measures, kept_segments
    from .materialize import utcnow

    tracked: dict[str, list[str]] = {}
    for name, increment in increments.items():
        if increment.tracked:
            tracked.setdefault(project.segments[name].entity, []).append(name)
    schema = project.segment_schema
    with ExitStack() as stack:
        made: list[str] = []
        stack.callback(lambda: adapter.drop_quietly(schema, *made))
        for entity, all_names in sorted(tracked.items()):
            names = [name for name in all_names if increments[name].incremental]
            if len(names) > FLAGGED_AT_MOST or not stack.enter_context(lock(entity)):
                continue
            prefix = shared_prefix(entity)
            kept: dict = {}
            copies: dict[str, tuple[str, str]] = {}
            moved: dict[str, tuple[tuple[str, str], set[str]]] = {}
            own: dict[str, int] = {}
            typed: set[str] = set()
            try:
                _drop_leftovers(adapter, schema, prefix)
                count = 0
                if names:
                    changes = [list(changed_conditions(project, project.segments[name], increments[name].since,
                                                       as_of, increments[name].marks, project.dialect).values())
                               for name in names]
                    if kept_segments(project, entity):
                        # The kept measures' delta reads the same moved rows: copy them once.
                        moved = _copy_moved_rows(adapter, project, schema, prefix, entity, changes,
                                                 sorted({*names, *kept_segments(project, entity)}), made)
                    keys = f"{prefix}keys"
                    adapter.execute(exp.Create(this=table(schema, keys), kind="TABLE", expression=flagged_keys(
                        project, changes, adapter.key_text, KEY, {m: where for m, (where, _) in moved.items()})))
                    made.append(keys)
                    count, own, typed = _flagged_counts(adapter, project, schema, prefix, keys, entity, names,
                                                        increments, made)
                if any(own.values()) or len(names) < len(all_names):
                    # Some segment evaluates keys: bring the kept measures forward (or make them).
                    marks: dict = {}
                    for name in all_names:
                        marks.update(increments[name].new_marks)
                    inputs = next((increments[n].inputs for n in all_names if increments[n].inputs), None)
                    refresh = any(increments[n].reason == FULL_REFRESH for n in all_names)
                    kept = {(entity, relation): (found.table, found.columns) for relation, found in
                            keep_measures(adapter, project, entity, as_of, marks, inputs, refresh,
                                          utcnow(), moved).items()}
                if names:
                    read = {relation for name in names
                            for relation in reads_of(project, project.segments[name]).relations}
                    covered = all((entity, relation) in kept for relation in read)
                    everyone = max(increments[name].entity_rows or 0 for name in names)
                    if count > everyone * adapter.incremental_up_to and not covered:
                        # So many keys changed that evaluating everyone costs less on this engine
                        # (not where kept measures spare reading each key's rows).
                        share = f"{min(count / max(everyone, 1), 1):.0%}"
                        for name in names:
                            increments[name] = Increment(
                                FULL, f"{share} of the keys changed; a full evaluation is cheaper here",
                                new_marks=increments[name].new_marks, tracked=True,
                                entity_rows=increments[name].entity_rows, inputs=increments[name].inputs,
                                stored=increments[name].stored)
                        names = []
                    else:
                        adapter.create_work_index(schema, keys, ["k"])
                        adapter.create_work_index(schema, keys, [KEY])
                        adapter.analyze(schema, keys, ["k", KEY])  # the segments join on them; flags are only summed
                        busy = [name for name in names if own[name]]
                        if len(busy) == 1 and count <= everyone * COPY_AT_MOST and not covered:
                            # One segment reads them (two or more share a wide table of these keys
                            # instead, shared_passes.py); copies as large as the tables would cost
                            # more than they save.
                            copies = _copy_rows_of_keys(adapter, project, schema, prefix, keys,
                                                        changes[names.index(busy[0])], made)
            except SegwError as exc:  # the segments will meet the fault themselves, one by one
                log.debug("no shared inputs for entity %s: %s", entity, exc)
                continue
            for name in all_names:
                increments[name].kept = kept or None
            for name in names:
                increments[name].tables = copies or None
                increments[name].keys_table = (schema, keys)
                increments[name].nothing_changed = not own[name]
                increments[name].keys_typed = name in typed
        yield


def _flagged_counts(adapter: Adapter, project: Project, schema: str, prefix: str, keys: str, entity: str,
                    names: list[str], increments: dict[str, Increment],
                    made: list[str]) -> tuple[int, dict[str, int], set[str]]:
    """How many keys the flagged table holds and how many each segment re-evaluates of its own,
    after adding the members whose entity row is gone; and the segments whose gone members were
    found with their typed key (all of them when none was looked for)."""
    sums = adapter.fetchall(exp.select(exp.Count(this=exp.Star()), *[
        exp.func("SUM", col(f"f{number}")) for number in range(len(names))]).from_(table(schema, keys)))[0]
    count, own = int(sums[0] or 0), {name: int(v or 0) for name, v in zip(names, sums[1:])}
    typed = set(names)
    if any(increments[name].rows_may_be_gone for name in names):
        gone = f"{prefix}gone"
        made.append(f"{prefix}present")
        present = stage_present_keys(adapter, project, entity, schema, f"{prefix}present")
        typed = member_relations(adapter, project, entity, names)
        adapter.execute(exp.Create(this=table(schema, gone), kind="TABLE", expression=gone_members(
            adapter, project, entity, names, present, typed)))
        made.append(gone)
        for segment, members_gone in adapter.fetchall(
                exp.select(col("segment"), exp.Count(this=exp.Star())).from_(table(schema, gone))
                .group_by(col("segment"))):
            own[segment] = own.get(segment, 0) + int(members_gone)
        # a key may come twice (typed from one segment's relation, NULL from memberships): harmless
        adapter.execute(insert(table(schema, keys), ["k", KEY], exp.select(col("k"), col("key")).distinct().from_(
            table(schema, gone))))
    return count, own, typed


def _copy_moved_rows(adapter: Adapter, project: Project, schema: str, prefix: str, entity: str,
                     changes: list, readers: list[str], made: list[str]) -> dict[str, tuple[tuple[str, str], set[str]]]:
    """Copies of each relation's rows that moved for some segment (compiler.incremental.
    moved_row_copies), with the columns the segments `readers` read: model -> ((schema, table), the
    conditions' disjuncts it holds the rows of)."""
    from .compiler.incremental import moved_row_copies

    out = {}
    for index, (model, (query, covers)) in enumerate(moved_row_copies(
            project, changes, project.entities[entity].model, readers).items()):
        name = f"{prefix}moved{index}"
        adapter.execute(exp.Create(this=table(schema, name), kind="TABLE", expression=query))
        made.append(name)
        out[model] = ((schema, name), covers)
    return out


def _copy_rows_of_keys(adapter: Adapter, project: Project, schema: str, prefix: str, keys: str,
                       changes: list, made: list[str]) -> dict[str, tuple[str, str]]:
    """Copies of each source's rows of the changed keys (model -> (schema, table)), indexed."""
    key_columns: dict[str, set[str]] = {}
    for change in changes:
        key_columns.setdefault(change.model, set()).add(change.key)
    copies = {}
    for index, (model, columns) in enumerate(sorted(key_columns.items())):
        copy_name = f"{prefix}{index}"
        source_schema, source_name = project.relation_of(model)
        wanted = exp.or_(*[exp.In(this=col(c), query=exp.select(col("k")).from_(table(schema, keys)).subquery())
                           for c in sorted(columns)])
        adapter.execute(exp.Create(this=table(schema, copy_name), kind="TABLE", expression=exp.select(
            exp.Star()).from_(table(source_schema, source_name)).where(wanted)))
        made.append(copy_name)
        for c in sorted(columns):
            adapter.create_work_index(schema, copy_name, [c])
        copies[model] = (schema, copy_name)
    return copies


def shared_prefix(entity: str) -> str:
    """`_segw_inc_<entity>_`, within every engine's identifier limit (64) with room for a suffix."""
    if len(entity) > 40:
        entity = entity[:31] + "_" + hashlib.md5(entity.encode()).hexdigest()[:8]
    return f"{SHARED_PREFIX}{entity}_"


def _drop_leftovers(adapter: Adapter, schema: str, prefix: str) -> None:
    """Copies a killed run left behind (this run holds the entity's lock: nobody reads them)."""
    for name in adapter.table_names(schema, prefix + "%"):
        rest = name[len(prefix):]
        if name.startswith(prefix) and (rest.isdigit() or rest in ("keys", "gone", "present")
                                        or (rest.startswith("moved") and rest[5:].isdigit())):
            adapter.drop(schema, name, "table")
