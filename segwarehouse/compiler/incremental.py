"""Incremental segments: what a segment reads, and the keys whose inputs may have changed between two runs."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from ..language import types as t
from ..language.types import relation_for
from .conditions import Scope, test, two_valued
from .dialects import TimeColumn
from .timeexpr import Clock, timestamp_literal

if TYPE_CHECKING:
    from ..project.loader import Project

ENTITY_SOURCE = "entity"


def relation_source(name: str) -> str:
    return f"relation:{name}"


@dataclass
class Reads:
    """Everything one segment's members depend on, with its `in_segment`, include and exclude
    segments expanded (they are evaluated inline, on the same entity row)."""
    entity: t.Entity
    relations: dict[str, t.RelationSpec] = field(default_factory=dict)
    lists: set[str] = field(default_factory=set)
    entity_tests: list[t.Comparison | tuple[str, t.Comparison]] = field(default_factory=list)
    row_tests: dict[str, list[tuple[str, t.Comparison]]] = field(default_factory=dict)  # relation -> (column, test)
    columns: dict[str, set[str]] = field(default_factory=dict)  # relation -> every column of it read
    blockers: list[str] = field(default_factory=list)  # why it cannot be evaluated incrementally


def reads_of(project: Project, segment: t.Segment) -> Reads:
    """Walk the segment's rules, include/exclude, in_segment definitions and traits."""
    reads = Reads(project.entities[segment.entity])
    seen: set[str] = set()

    def visit_segment(item: t.Segment) -> None:
        if item.name in seen:
            return
        seen.add(item.name)
        if item.rules is not None:
            visit(item.rules)
        for name in (*item.include, *item.exclude):
            if name in project.lists:
                reads.lists.add(name)
            else:
                visit_segment(project.segments[name])

    def visit(node: t.Condition) -> None:
        if isinstance(node, (t.All, t.Any, t.NoneOf)):
            for child in node.children:
                visit(child)
        elif isinstance(node, t.Not):
            visit(node.child)
        elif isinstance(node, t.Property):
            if node.test.op == "bucket":
                reads.blockers.append(f"`bucket` at {node.loc} ranks every {reads.entity.name}")
            else:
                reads.entity_tests.append((node.column, node.test))
        elif isinstance(node, t.Related):
            visit_related(node)
        elif isinstance(node, t.InSegment):
            visit_segment(project.segments[node.segment])
        elif isinstance(node, t.InList):
            reads.lists.add(node.list_name)
        elif isinstance(node, t.Sql):
            reads.blockers.append(f"the `sql:` condition at {node.loc} may read anything")
        # Near reads entity columns only: their changes come with the entity's loaded_at.

    def visit_related(node: t.Related) -> None:
        relation = relation_for(reads.entity, node)
        reads.relations[relation.name] = relation
        tests = reads.row_tests.setdefault(relation.name, [])
        reads.columns.setdefault(relation.name, set()).update(filter(None, (
            relation.foreign_key, relation.time, relation.loaded_at, node.measure.of,
            relation.event_name if node.event else None)))
        if node.measure.test is not None and node.measure.test.op == "bucket":
            reads.blockers.append(f"`bucket` at {node.loc} ranks every {reads.entity.name}")
        if relation.time and node.window is not None:
            tests.append((relation.time, node.window))
        if relation.time and node.measure.kind in t.TIME_MEASURES and node.measure.test is not None:
            tests.append((relation.time, node.measure.test))  # first/last is some row's time
        if node.where is not None:
            visit_where(node.where, tests, reads.columns[relation.name])

    def visit_where(node: t.Condition, tests: list, columns: set[str]) -> None:
        for item in t.walk(node):
            if isinstance(item, t.Property):
                columns.add(item.column)
                if item.test.op == "bucket":
                    reads.blockers.append(f"`bucket` at {item.loc} ranks every row")
                else:
                    tests.append((item.column, item.test))
            elif isinstance(item, t.Sql):
                reads.blockers.append(f"the `sql:` condition at {item.loc} may read anything")

    visit_segment(segment)
    for trait in segment.traits:
        visit_related(trait.measure)
    return reads


def blockers(project: Project, segment: t.Segment) -> list[str]:
    """Why a segment cannot be evaluated incrementally ([]: it can), read from its definition."""
    reads = reads_of(project, segment)
    found = list(reads.blockers)
    if not reads.entity.loaded_at:
        found.append(f"entity '{reads.entity.name}' has no `loaded_at`")
    for relation in reads.relations.values():
        if not relation.loaded_at:
            found.append(f"relation '{relation.name}' of entity '{reads.entity.name}' has no `loaded_at`")
    return list(dict.fromkeys(found))


def sources(reads: Reads) -> dict[str, tuple[str, str]]:
    """Each source whose high-water mark is kept: name -> (model, loaded_at column)."""
    out = {ENTITY_SOURCE: (reads.entity.model, reads.entity.loaded_at)}
    for name, relation in sorted(reads.relations.items()):
        out[relation_source(name)] = (relation.model, relation.loaded_at)
    return out


def high_water(project: Project, model: str, loaded_at: str) -> exp.Select:
    schema, name = project.relation_of(model)
    return exp.select(exp.Max(this=exp.column(loaded_at, quoted=True))).from_(
        exp.table_(name, db=schema, quoted=True))


def loaded_rows(project: Project, model: str, loaded_at: str, old_mark: dt.datetime | None,
                new_mark: dt.datetime | None) -> exp.Select:
    """One scan of a model: (rows loaded up to the old mark, rows without loaded_at, rows loaded up
    to the new mark); a mark of None counts nothing. An update moves a row past the old mark and a
    delete removes it, so either lowers the first count below what was counted then."""
    schema, name = project.relation_of(model)
    loaded = TimeColumn(this=exp.column(loaded_at, quoted=True))

    def up_to(mark: dt.datetime | None) -> exp.Expression:
        if mark is None:
            return exp.Literal.number(0)
        return exp.Count(this=exp.Case().when(exp.LTE(this=loaded.copy(), expression=timestamp_literal(mark)),
                                              exp.Literal.number(1)))
    nulls = exp.Count(this=exp.Case().when(exp.Is(this=exp.column(loaded_at, quoted=True),
                                                  expression=exp.null()), exp.Literal.number(1)))
    return exp.select(up_to(old_mark), nulls, up_to(new_mark)).from_(exp.table_(name, db=schema, quoted=True))


def loaded_tails(project: Project, model: str, loaded_at: str, old_mark: dt.datetime | None,
                 new_mark: dt.datetime | None) -> exp.Select:
    """The same counts as `loaded_rows` from a model's few recent rows, in one statement (one
    snapshot): (all rows, rows without loaded_at, rows loaded after the old mark, after the new
    one; 0 for a mark of None). Rows up to a mark are all rows but those without and those after
    it. For an engine that finds such rows by an index or by blocks' min/max (`finds_ranges`)."""
    schema, name = project.relation_of(model)
    loaded = TimeColumn(this=exp.column(loaded_at, quoted=True))

    def count(where: exp.Expression | None = None) -> exp.Expression:
        query = exp.select(exp.Count(this=exp.Star())).from_(exp.table_(name, db=schema, quoted=True))
        return (query.where(where) if where is not None else query).subquery()

    def after(mark: dt.datetime | None) -> exp.Expression:
        return exp.Literal.number(0) if mark is None else count(
            exp.GT(this=loaded.copy(), expression=timestamp_literal(mark)))
    return exp.select(count(), count(exp.Is(this=exp.column(loaded_at, quoted=True), expression=exp.null())),
                      after(old_mark), after(new_mark))


def _changed_between(column: str, tests: list[t.Comparison], before: Scope, now: Scope,
                     ranges: dict[str, list[tuple[str, str]]], others: list[exp.Expression]) -> None:
    """For each test that depends on as_of: where its outcome may differ between the two runs.

    A time test compares the column with bounds that move with as_of; a value can change sides only
    if it lies between a bound's two positions, so the test becomes ranges on the column (merged,
    and served by indexes and zone maps). Tests whose moving parts are not timestamps
    (anniversaries) are compared whole at both as_ofs, into `others`."""
    value = exp.column(column, table=ROW, quoted=True)
    for comparison in tests:
        then, later = test(value.copy(), comparison, before), test(value.copy(), comparison, now)
        if then.sql() == later.sql():
            continue
        bands = _moving_bounds(then, later)
        if bands is None:
            others.append(exp.NEQ(this=two_valued(then), expression=two_valued(later)))
        else:
            ranges.setdefault(column, []).extend(bands)


def _moving_bounds(then: exp.Expression, later: exp.Expression) -> list[tuple[str, str]] | None:
    """The (lower, upper) positions, as timestamp text, of every timestamp bound that moved, if the
    two compiled tests differ only in timestamp literals; else None."""
    first, second = list(then.walk()), list(later.walk())
    if len(first) != len(second):
        return None
    bands = []
    for a, b in zip(first, second):
        if type(a) is not type(b):
            return None
        if isinstance(a, exp.Literal) and a.this != b.this:
            if not (_is_timestamp(a.parent) and _is_timestamp(b.parent)):
                return None
            low, high = sorted((a.this, b.this))  # one text format: text order is time order
            bands.append((low, high))
    return bands


def _is_timestamp(node) -> bool:
    return isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.TIMESTAMP


def _stamp(value: dt.datetime) -> str:
    return timestamp_literal(value).this.this


def _in_ranges(column: str, ranges: list[tuple[str, str]]) -> list[exp.Expression]:
    """Closed ranges on a time column, overlapping ones merged."""
    merged: list[list[str]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    value = TimeColumn(this=exp.column(column, table=ROW, quoted=True))
    return [exp.and_(exp.GTE(this=value.copy(), expression=exp.cast(exp.Literal.string(low), "TIMESTAMP")),
                     exp.LTE(this=value.copy(), expression=exp.cast(exp.Literal.string(high), "TIMESTAMP")))
            for low, high in merged]


def _loaded_since(column: str, mark: dt.datetime | None) -> exp.Expression:
    """Rows loaded after the last run's mark (the latest loaded_at it saw), and rows that do not say
    when they were loaded."""
    if mark is None:
        return exp.true()
    value = exp.column(column, table=ROW, quoted=True)
    return exp.or_(exp.GT(this=TimeColumn(this=value), expression=timestamp_literal(mark)),
                   exp.Is(this=value.copy(), expression=exp.null()))


ROW = "s"  # the alias of a source's rows in the conditions below


@dataclass
class Changed:
    """Where one source's rows say their key must be re-evaluated (a predicate over alias ROW)."""
    model: str
    key: str  # the entity key or the relation's foreign key
    condition: exp.Expression


def changed_conditions(project: Project, segment: t.Segment, since: dt.datetime, as_of: dt.datetime,
                       marks: dict[str, dt.datetime | None], dialect: str) -> dict[str, Changed]:
    """Per source: rows loaded since the last run's marks, and rows that the passing of time from
    `since` to `as_of` moved across an edge of some test (a window, a relative date, a calendar
    period, an anniversary, or as_of itself for related rows dated in between)."""
    reads = reads_of(project, segment)
    before, now = Scope(project, Clock(since), dialect), Scope(project, Clock(as_of), dialect)
    entity = reads.entity
    out: dict[str, Changed] = {}
    ranges: dict[str, list[tuple[str, str]]] = {}
    others: list[exp.Expression] = []
    for column_name, comparison in reads.entity_tests:
        _changed_between(column_name, [comparison], before, now, ranges, others)
    parts = [_loaded_since(entity.loaded_at, marks.get(ENTITY_SOURCE)), *others]
    parts += [p for column_name, found in ranges.items() for p in _in_ranges(column_name, found)]
    out[ENTITY_SOURCE] = Changed(entity.model, entity.key, exp.or_(*parts) if len(parts) > 1 else parts[0])
    for rel_name, relation in sorted(reads.relations.items()):
        ranges, others = {}, []
        if relation.time and since != as_of:  # rows dated between the two as_ofs came into view
            ranges[relation.time] = [(_stamp(since), _stamp(as_of))]
        for column_name, comparison in reads.row_tests.get(rel_name, []):
            _changed_between(column_name, [comparison], before, now, ranges, others)
        parts = [_loaded_since(relation.loaded_at, marks.get(relation_source(rel_name))), *others]
        parts += [p for column_name, found in ranges.items() for p in _in_ranges(column_name, found)]
        out[relation_source(rel_name)] = Changed(relation.model, relation.foreign_key, exp.or_(*parts))
    return out


def _changed_rows(project: Project, changes: list[list[Changed]], outputs,
                  tables: dict[str, tuple[str, str]] | None = None) -> exp.Query:
    """One scan per source for all segments' `changes`: the key (`k`, may repeat) of each row where
    any of their conditions holds, beside `outputs(conditions of each segment on this source)`;
    UNION ALL over the sources. `tables`: model -> (schema, table) to read instead (moved_row_copies)."""
    by_source: dict[tuple[str, str], list[list[exp.Expression]]] = {}
    for number, segment_changes in enumerate(changes):
        for change in segment_changes:
            by_source.setdefault((change.model, change.key), [[] for _ in changes])[number].append(change.condition)
    queries = []
    for (model, key), per_segment in by_source.items():
        schema, name = (tables or {}).get(model) or project.relation_of(model)
        unique = unique_disjuncts([c for conditions in per_segment for c in conditions])
        column = exp.column(key, table=ROW, quoted=True)
        # every node below is new (copies of shared conditions), so no builder step copies again
        queries.append(exp.select(exp.alias_(column, "k", quoted=True), *outputs(per_segment), copy=False)
                       .from_(exp.alias_(exp.table_(name, db=schema, quoted=True), ROW, table=True, quoted=True),
                              copy=False)
                       .where(exp.and_(exp.not_(exp.Is(this=column.copy(), expression=exp.null())),
                                       exp.paren(exp.or_(*[c.copy() for c in unique], copy=False), copy=False),
                                       copy=False), copy=False))
    return queries[0] if len(queries) == 1 else exp.union(*queries, distinct=False, copy=False)


def disjuncts(conditions: list[exp.Expression]) -> dict[str, exp.Expression]:
    """The disjuncts of these conditions by their text, each once: the same ones recur across
    segments (loaded since the mark, the same windows)."""
    return {d.sql(): d for c in conditions for d in (c.flatten() if isinstance(c, exp.Or) else [c])}


def unique_disjuncts(conditions: list[exp.Expression]) -> list[exp.Expression]:
    return list(disjuncts(conditions).values())


def moved_row_copies(project: Project, changes: list[list[Changed]], but: str,
                     readers: list[str]) -> dict[str, tuple[exp.Select, set[str]]]:
    """Per model the changes read (but model `but`): a query of its rows where some segment's
    condition holds, and those conditions' disjuncts as text (`disjuncts`). A copy of them serves
    every reader of the same rows (the changed keys, the kept measures' delta) with one scan of the
    model. It holds the columns that the segments `readers` and the conditions read, not the whole
    row: an event table is often wide, and the scan fetches every column it copies."""
    by_model: dict[str, list[exp.Expression]] = {}
    for segment_changes in changes:
        for change in segment_changes:
            if change.model != but:
                by_model.setdefault(change.model, []).append(change.condition)
    read: dict[str, set[str]] = {}
    for name in readers:
        reads = reads_of(project, project.segments[name])
        for relation_name, relation in reads.relations.items():
            read.setdefault(relation.model, set()).update(reads.columns.get(relation_name, ()))
    out = {}
    for model, conditions in sorted(by_model.items()):
        schema, name = project.relation_of(model)
        unique = disjuncts(conditions)
        columns = set(read.get(model, ()))
        for condition in conditions:
            columns.update(c.name for c in condition.find_all(exp.Column) if c.table == ROW)
        out[model] = (exp.select(*[exp.column(c, table=ROW, quoted=True) for c in sorted(columns)])
                      .from_(exp.alias_(exp.table_(name, db=schema, quoted=True), ROW, table=True, quoted=True))
                      .where(exp.or_(*[c.copy() for c in unique.values()], copy=False), copy=False), set(unique))
    return out


def flagged_keys(project: Project, changes: list[list[Changed]], key_text, text_column: str,
                 tables: dict[str, tuple[str, str]] | None = None) -> exp.Select:
    """Each key (`k`) that some segment re-evaluates, once, with its exact text (`text_column`,
    written by `key_text`) and a flag per segment (`f0`, `f1`, ...: 1 where that segment's own
    conditions hold): one scan per source for all segments, and each segment still learns whether
    it has anything to re-evaluate. `tables`: copies of the moved rows to read instead (moved_row_copies)."""
    def flags(per_segment: list[list[exp.Expression]]) -> list[exp.Expression]:
        return [exp.alias_(exp.Case().when(exp.or_(*[c.copy() for c in conditions], copy=False), exp.Literal.number(1),
                                           copy=False)
                           .else_(exp.Literal.number(0)) if conditions else exp.Literal.number(0),
                           f"f{number}", quoted=True) for number, conditions in enumerate(per_segment)]

    key = exp.column("k", table="u", quoted=True)
    return (exp.select(key, exp.alias_(key_text(key.copy()), text_column, quoted=True),
                       *[exp.alias_(exp.Max(this=exp.column(f"f{number}", table="u", quoted=True)), f"f{number}",
                                    quoted=True) for number in range(len(changes))])
            .from_(_changed_rows(project, changes, flags, tables).subquery(exp.to_identifier("u", quoted=True),
                                                                           copy=False), copy=False)
            .group_by(key.copy(), copy=False))


def changed_keys(project: Project, segment: t.Segment, since: dt.datetime, as_of: dt.datetime,
                 marks: dict[str, dt.datetime | None], dialect: str) -> exp.Query:
    """The keys to re-evaluate for one segment (column `k` of the entity key's type; may repeat)."""
    changes = list(changed_conditions(project, segment, since, as_of, marks, dialect).values())
    return _changed_rows(project, [changes], lambda per_segment: [])
