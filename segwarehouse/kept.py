"""Kept measures in the warehouse: per entity and relation, one table of every measure the entity's
incremental segments need, per key, brought forward each run from the rows loaded since the last one
and the rows time moved, so that re-evaluating a key does not read its whole history again."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from sqlglot import exp

from .compiler import kept as sql
from .compiler.incremental import blockers, disjuncts, high_water, relation_source
from .errors import SegwError
from .incremental import as_datetime, count_loaded
from .outputs import col, insert, replace_row, table, text
from .project.loader import Project
from .warehouse.base import Adapter

log = logging.getLogger("segwarehouse.run")

KEPT = "_segw_kept"  # one row per (entity, relation): what its kept table holds (JSON)
KEPT_PREFIX = "_segw_m_"


@dataclass
class Kept:
    """A kept table current at this run's as_of: where, and which column holds each measure."""
    table: tuple[str, str]
    columns: dict[str, str]  # measure key (compiler.kept.measure_key) -> column


def kept_segments(project: Project, entity: str) -> list[str]:
    """The segments whose measures an entity's kept tables hold: every `incremental` one of the
    project that can be evaluated incrementally, whether or not this run builds it, so that runs
    of different segments keep the same tables."""
    return sorted(name for name, segment in project.segments.items()
                  if segment.entity == entity and segment.materialized == "incremental"
                  and not blockers(project, segment))


def _prefix(entity: str, relation: str) -> str:
    return f"{KEPT_PREFIX}{hashlib.md5(f'{entity}/{relation}'.encode()).hexdigest()[:12]}_"


def _read(adapter: Adapter, schema: str, entity: str) -> dict[str, dict]:
    rows = adapter.fetchall(exp.select(col("relation"), col("state")).from_(table(schema, KEPT))
                            .where(col("entity").eq(text(entity))))
    out = {}
    for relation, state in rows:
        try:
            out[relation] = json.loads(state)
        except (TypeError, ValueError):
            continue
    return out


def _write(adapter: Adapter, schema: str, entity: str, relation: str, state: dict, now: dt.datetime) -> None:
    from .compiler.timeexpr import timestamp_literal

    replace_row(adapter, table(schema, KEPT), ["entity", "relation", "state", "updated_at"],
                [text(entity), text(relation), text(json.dumps(state)), timestamp_literal(now)], keys=2)


def _row_of(entity: str, relation: str) -> exp.Expression:
    return exp.and_(col("entity").eq(text(entity)), col("relation").eq(text(relation)))


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _digest(keys: list[str]) -> str:
    return hashlib.md5(json.dumps(keys).encode()).hexdigest()


def keep_measures(adapter: Adapter, project: Project, entity: str, as_of: dt.datetime,
                  marks: dict[str, dt.datetime | None], inputs: str | None, refresh: bool,
                  now: dt.datetime, copies: dict | None = None) -> dict[str, Kept]:
    """Bring the entity's kept tables to this run's as_of and marks (`marks`: source -> the run's
    high-water mark), building one where there is none, and return those that are current.

    A kept table is brought forward only when no row it counted can have changed: as many rows of
    the relation are loaded up to its mark as when it was made, and none lacks loaded_at (an update
    or delete lowers that count). After such a change it is dropped, and made again by the next run
    that sees none. `copies`: model -> (copy, disjuncts), the run's copies of a relation's moved
    rows (incremental._copy_moved_rows), read instead of the relation where they hold every row a
    delta reads. Call holding the entity's lock."""
    schema = project.segment_schema
    names = kept_segments(project, entity)
    if not names or adapter.broken:
        return {}
    stored = _read(adapter, schema, entity)
    thens = {as_datetime(state.get("as_of")) for state in stored.values() if state.get("table")}
    then = thens.pop() if len(thens) == 1 else None
    plans = sql.plan_kept(project, entity, names, as_of, then if then is not None and then <= as_of else None)
    if plans is None and then is not None:
        then, plans = None, sql.plan_kept(project, entity, names, as_of, None)
    if plans is None:
        return {}
    _drop_unknown(adapter, schema, entity, stored, set(plans))
    moved: dict[str, list[exp.Expression]] = {}

    def bands(source: str) -> list[exp.Expression]:
        """Where each segment's rows of a source moved since the kept tables' as_of and marks: found
        for every relation at once, when the first table is brought forward."""
        if not moved:
            marks_then = {relation_source(name): as_datetime(state.get("mark")) for name, state in stored.items()}
            moved.update(sql.moved_rows(project, names, then, as_of, marks_then,
                                        project.config.models_dialect or project.dialect))
        return moved.get(source, [])

    out = {}
    for relation_name, plan in plans.items():
        try:
            found = _keep(adapter, project, entity, plan, bands, stored.get(relation_name), then, as_of,
                          marks, inputs, refresh, now, (copies or {}).get(plan.relation.model))
        except SegwError as exc:  # the segments then read the relation themselves
            log.debug("no kept measures for %s.%s: %s", entity, relation_name, exc)
            found = None
        if found is not None:
            out[relation_name] = found
    return out


def _keep(adapter: Adapter, project: Project, entity: str, plan: sql.KeptPlan, bands,
          state: dict | None, then: dt.datetime | None, as_of: dt.datetime, marks: dict, inputs: str | None,
          refresh: bool, now: dt.datetime, copy: tuple | None = None) -> Kept | None:
    schema = project.segment_schema
    relation = plan.relation
    source = relation_source(relation.name)
    mark = marks.get(source) if source in marks else as_datetime(adapter.scalar(
        high_water(project, relation.model, relation.loaded_at)))
    old_mark = as_datetime(state.get("mark")) if state else None
    counted, nulls, up_to_mark = count_loaded(adapter, project, relation.model, relation.loaded_at, old_mark, mark)
    unchanged = state is not None and old_mark is not None and not nulls and \
        int(counted) == int(state.get("count", -1))
    old_table = state.get("table") if state else None
    record = {"as_of": as_of.isoformat(), "mark": _stamp(mark), "count": int(up_to_mark or 0), "inputs": inputs,
              "measures": _digest(list(plan.columns())), "table": None}
    if mark is None or nulls or (state is not None and not unchanged):
        # Empty, rows without loaded_at, or rows changed in place: nothing to keep this run.
        with adapter.transaction():
            _write(adapter, schema, entity, relation.name, record, now)
        if old_table:
            adapter.drop_quietly(schema, old_table)
        return None
    current = old_table is not None and then is not None and then <= as_of and not refresh \
        and state.get("inputs") == inputs \
        and state.get("measures") == _digest(plan.keys_then()) \
        and as_datetime(state.get("as_of")) == then and adapter.relation_kind(schema, old_table) == "table"
    record["table"] = old_table
    if current and (then, old_mark) == (as_of, mark):
        return Kept((schema, old_table), plan.columns())
    if current:
        band = bands(source)
        read = copy[0] if copy is not None and set(disjuncts(band)) <= copy[1] else None
        _bring_forward(adapter, plan, band, schema, old_table, then, as_of, old_mark, mark,
                       record=lambda: _write(adapter, schema, entity, relation.name, record, now), read=read)
        return Kept((schema, old_table), plan.columns())
    prefix = _prefix(entity, relation.name)
    generation = int(old_table.rsplit("_", 1)[1]) + 1 if old_table and old_table[len(prefix):].isdigit() else 1
    new_table = f"{prefix}{generation}"
    adapter.drop(schema, new_table, "table")
    adapter.execute(exp.Create(this=table(schema, new_table), kind="TABLE", expression=sql.build(plan, mark)))
    adapter.create_work_index(schema, new_table, ["k"])
    adapter.analyze(schema, new_table)
    record["table"] = new_table
    with adapter.transaction():
        _write(adapter, schema, entity, relation.name, record, now)
    if old_table and old_table != new_table:
        adapter.drop_quietly(schema, old_table)
    return Kept((schema, new_table), plan.columns())


def _bring_forward(adapter: Adapter, plan: sql.KeptPlan, bands: list[exp.Expression], schema: str,
                   kept: str, then: dt.datetime, as_of: dt.datetime, old_mark: dt.datetime,
                   mark: dt.datetime, record, read: tuple[str, str] | None = None) -> None:
    """Apply to the kept table what the rows loaded since `old_mark` and the rows time moved changed:
    the keys whose measures add up are brought forward, the others recomputed from their rows. The
    kept table changes in one transaction with `record()`, which records its new as_of and mark.
    `read`: a copy of the relation's rows that holds every row in `bands`, scanned instead of it."""
    work = "_segw_kw_" + kept[len(KEPT_PREFIX):]  # a work table (warehouse.base.WORK_TABLE_PREFIXES)
    deltas, recomputed, rows = work + "_d", work + "_r", work + "_n"
    made = [deltas, recomputed, rows]
    try:
        for name in made:
            adapter.drop(schema, name, "table")
        adapter.execute(exp.Create(this=table(schema, deltas), kind="TABLE", expression=sql.delta(
            plan, bands, then, as_of, old_mark, mark, read)))
        adapter.create_work_index(schema, deltas, ["k"])
        dirty = exp.select(col("k")).from_(table(schema, deltas)).where(col("dirty").eq(exp.Literal.number(1)))
        adapter.execute(exp.Create(this=table(schema, recomputed), kind="TABLE",
                                   expression=sql.build(plan, mark, keys=dirty)))
        adapter.execute(exp.Create(this=table(schema, rows), kind="TABLE", expression=exp.union(
            sql.merged(plan, table(schema, deltas), table(schema, kept)),
            exp.select(exp.Star()).from_(table(schema, recomputed)), distinct=False)))
        columns = ["k", *[m.column for m in plan.measures]]
        with adapter.transaction():
            adapter.execute(exp.delete(table(schema, kept), where=exp.In(
                this=col("k"), query=exp.select(col("k")).from_(table(schema, deltas)).subquery())))
            adapter.execute(insert(table(schema, kept), columns,
                                   exp.select(*[col(c) for c in columns]).from_(table(schema, rows))))
            record()
    finally:
        adapter.drop_quietly(schema, *made)


def _drop_unknown(adapter: Adapter, schema: str, entity: str, stored: dict[str, dict], relations: set[str]) -> None:
    """Kept tables no state names (a killed run's) and states of relations no longer kept."""
    for relation_name, state in stored.items():
        if relation_name not in relations:
            with adapter.transaction():
                adapter.execute(exp.delete(table(schema, KEPT), where=_row_of(entity, relation_name)))
            if state.get("table"):
                adapter.drop_quietly(schema, state["table"])
    named = {state.get("table") for state in stored.values()}
    for relation_name in relations:
        prefix = _prefix(entity, relation_name)
        for name in adapter.table_names(schema, prefix + "%"):
            if name.startswith(prefix) and name not in named:
                adapter.drop_quietly(schema, name)
