"""A run's shared relation passes: per entity, one wide table of the columns and every measure the
run's fully evaluated segments need, each relation read by one grouped scan with conditional
aggregates (the feature table an expert writes by hand); each segment is then a predicate over it."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from sqlglot import exp

from ..language import types as t
from .conditions import RelationPass, Scope
from .timeexpr import Clock

if TYPE_CHECKING:
    from ..project.loader import Project

FEATURE_PREFIX = "_segw_f_"


@dataclass
class Features:
    """The relation passes of one run at one as_of, per entity one wide table: the entity's rows
    with every measure its segments need as columns, each relation read by one grouped scan.

    Planning (`plan_features`) compiles every participating segment once against the planned wide
    tables, collecting the measures and which segments read each entity; `share` keeps the entities
    that two or more segments read; the run materializes their tables (`statements`,
    `materialized`), and each segment is then a predicate over its entity's table: the query built
    while planning (`query`) or, where a table could not be made, one compiled anew that scans on
    its own. Nothing here touches the warehouse."""
    project: "Project"
    as_of: dt.datetime
    sql_dialect: str
    schema: str  # where the run materializes the wide tables
    passes: dict[tuple[str, str], RelationPass] = field(default_factory=dict)  # (entity, relation) ->
    readers: dict[str, set[str]] = field(default_factory=dict)  # entity -> segments that read it
    planning: str | None = None  # the segment being compiled while planning
    planned: set[str] = field(default_factory=set)  # segments whose measures the passes hold
    queries: dict[str, exp.Select] = field(default_factory=dict)  # segment -> its query built while planning
    entities: list[str] = field(default_factory=list)  # entities whose wide table the run makes
    wide: dict[str, tuple[str, str]] = field(default_factory=dict)  # entity -> its materialized table
    aliases: dict[str, set[str]] = field(default_factory=dict)  # segment -> aliases its frames read the table by
    columns: dict[str, list[exp.Identifier]] = field(default_factory=dict)  # entity -> columns its segments read
    frozen: bool = False
    keys: tuple[str, str] | None = None  # (schema, table) of an incremental run's changed keys, column `k`
    # (entity, relation) -> ((schema, table), {measure_key: column}): kept measures current at as_of
    # (kept.py), read instead of scanning the relation when they hold every measure of its pass
    kept: dict[tuple[str, str], tuple[tuple[str, str], dict[str, str]]] = field(default_factory=dict)

    def _serves(self, scope: Scope) -> bool:
        """A frame evaluating this run's keys (every key, or the changed keys the tables were
        narrowed to) at its as_of, reading the models themselves (not a live evaluation)."""
        return scope.keys == self.keys and scope.tables is None and not scope.clock.live and \
            scope.clock.as_of == self.as_of

    def _scope(self) -> Scope:
        """The scope the run's own scans are compiled in: its as_of, its keys."""
        return Scope(self.project, Clock(self.as_of), self.sql_dialect, keys=self.keys)

    def relation_pass(self, scope: Scope, entity: t.Entity, relation: t.RelationSpec) -> RelationPass | None:
        """The shared pass of this entity's relation for a frame of `scope`, or None where the frame
        must scan on its own: its measures are then columns of the entity's wide table."""
        if not self._serves(scope):
            return None
        key = (entity.name, relation.name)
        if self.frozen:
            return self.passes.get(key) if entity.name in self.wide else None
        if key not in self.passes:
            own = self._scope()
            number = len(self.passes) + 1
            self.passes[key] = RelationPass(own, relation, f"fr{number}", f"f{number}", wide=True)
        return self.passes[key]

    def entity_table(self, scope: Scope, entity: t.Entity, alias: str) -> tuple[str, str] | None:
        """Where a frame of `scope` (named `alias`) reads the entity's rows: its wide table, or None
        (the entity's model)."""
        if not self._serves(scope):
            return None
        if self.frozen:
            return self.wide.get(entity.name)
        if self.planning is not None:
            self.readers.setdefault(entity.name, set()).add(self.planning)
            self.aliases.setdefault(self.planning, set()).add(alias)
        return (self.schema, self.table_name(entity.name))

    def table_name(self, entity: str) -> str:
        return table_name(entity) + ("_k" if self.keys is not None else "")

    def query(self, name: str) -> exp.Select | None:
        """The segment's query built while planning, once its entity's wide table is materialized
        (it is final then); None: compile it anew. Each query is handed out once."""
        query = self.queries.pop(name, None)
        if query is None or self.project.segments[name].entity not in self.wide:
            return None
        return query

    def share(self, readers_at_least: int = 2) -> None:
        """Keep the entities that enough segments read and that have a relation to pass over."""
        with_passes = {entity for entity, _ in self.passes}
        self.entities = sorted(entity for entity, readers in self.readers.items()
                               if len(readers) >= readers_at_least and entity in with_passes)
        self.passes = {key: p for key, p in self.passes.items() if key[0] in self.entities}
        self.columns = {entity: self._columns_read(entity) for entity in self.entities}
        self.frozen = True

    def _columns_read(self, entity: str) -> list[exp.Identifier]:
        """The entity's columns that its segments' frames read, the key first, each as written (a
        `sql:` condition's unquoted name folds as the engine folds it)."""
        key = exp.to_identifier(self.project.entities[entity].key, quoted=True)
        read: dict[str, exp.Identifier] = {key.name.lower(): key}
        for name in sorted(self.readers[entity] & set(self.queries)):
            for column in self.queries[name].find_all(exp.Column):
                if column.table in self.aliases.get(name, ()) and not column.name.startswith("_segw_"):
                    if column.name.lower() not in read or column.this.quoted:
                        read.setdefault(column.name.lower(), column.this)
        return [read.pop(key.name.lower()), *[read[n] for n in sorted(read)]]

    def passes_of(self, entity: str) -> list[RelationPass]:
        return [relation_pass for (owner, _), relation_pass in self.passes.items() if owner == entity]

    def statements(self) -> Iterable[tuple[str, str, exp.Select]]:
        """(entity, table name, query) of each wide table the run makes in `schema`."""
        for entity_name in self.entities:
            entity = self.project.entities[entity_name]
            schema, name = self.project.relation_of(entity.model)
            key = exp.column(entity.key, table="e", quoted=True)
            entity_rows = exp.alias_(exp.table_(name, db=schema, quoted=True), "e", table=True, quoted=True,
                                     copy=False)
            query = exp.select(*[exp.Column(this=c.copy(), table=exp.to_identifier("e", quoted=True))
                                 for c in self.columns[entity_name]])
            if self.keys is None:
                query = query.from_(entity_rows, copy=False)
            else:  # an incremental run's table: the changed keys' rows only, found from the (few,
                # distinct) keys, not by probing every row of the entity and its kept measures
                changed = exp.column("k", table="c", quoted=True)
                query = query.from_(exp.alias_(exp.table_(self.keys[1], db=self.keys[0], quoted=True), "c",
                                               table=True, quoted=True, copy=False), copy=False).join(
                    entity_rows, on=exp.EQ(this=key.copy(), expression=changed), join_type="INNER", copy=False)
            for relation_pass in self.passes_of(entity_name):
                columns, rows = self._kept_columns(entity_name, relation_pass)
                for alias, *_ in relation_pass.measures.values():
                    query = query.select(exp.alias_(exp.column(columns.get(alias, alias), table=relation_pass.derived,
                                                               quoted=True),
                                                    relation_pass.wide_column(alias), quoted=True), copy=False)
                query = query.join(
                    exp.alias_(rows, relation_pass.derived, table=True, quoted=True, copy=False),
                    on=exp.EQ(this=exp.column("k", table=relation_pass.derived, quoted=True), expression=key.copy()),
                    join_type="LEFT", copy=False)
            yield entity_name, self.table_name(entity_name), query

    def _kept_columns(self, entity: str, relation_pass: RelationPass) -> tuple[dict[str, str], exp.Expression]:
        """Where a pass's measures are read: its kept table ({measure alias: kept column}, the
        table) where that holds them all, else its grouped scan ({}, the scan)."""
        found = self.kept.get((entity, relation_pass.relation.name))
        if found is not None:
            (schema, name), kept_columns = found
            columns = {alias: kept_columns.get(measure_key(relation_pass, aggregate, condition))
                       for alias, aggregate, condition, _ in relation_pass.measures.values()}
            if all(columns.values()):
                return columns, exp.table_(name, db=schema, quoted=True)
        return {}, relation_pass.grouped().subquery(copy=False)

    def materialized(self, entity: str) -> None:
        self.wide[entity] = (self.schema, self.table_name(entity))
        for relation_pass in self.passes_of(entity):
            relation_pass.frozen = True

    def drop(self, entity: str) -> None:
        """A wide table that could not be made: its segments scan on their own."""
        if entity in self.entities:
            self.entities.remove(entity)


def measure_key(rows: RelationPass, aggregate: exp.Expression, condition: exp.Expression | None) -> str:
    """What a measure computes, whatever alias its pass reads the relation by."""
    def named(node: exp.Expression) -> str:
        node = node.copy()
        for column in node.find_all(exp.Column):
            if column.table == rows.row:
                column.set("table", exp.to_identifier("r", quoted=True))
        return node.sql()
    return named(aggregate) + " | " + (named(condition) if condition is not None else "")


def table_name(entity: str) -> str:
    """The work table of an entity's wide features: short (any engine's identifier limit) and the
    same in every run, so a killed run's leftover is found and dropped."""
    return f"{FEATURE_PREFIX}{hashlib.md5(entity.encode()).hexdigest()[:12]}"


def plan_features(project: "Project", names: Iterable[str], as_of: dt.datetime,
                  readers_at_least: int = 2, schema: str | None = None,
                  keys: tuple[str, str] | None = None, kept: dict | None = None) -> Features:
    """Compile each named segment once against the planned wide tables (in `schema`, by default
    the segment schema) and keep the entities that at least `readers_at_least` of them read. Each
    query is kept: once its entity's table is made it is final. A segment that does not compile
    is left out (it fails on its own). With `keys` (an incremental run's changed keys), the tables
    hold those keys' rows only and serve segments evaluated among them."""
    from sqlglot.errors import SqlglotError

    from ..errors import SegwError
    from .segment import segment_query

    features = Features(project, as_of, project.config.models_dialect or project.dialect,
                        schema or project.segment_schema, keys=keys, kept=kept or {})
    for name in names:
        features.planning = name
        try:
            query = segment_query(project, project.segments[name], as_of, keys=keys, features=features)
        except (SegwError, SqlglotError, ValueError):
            continue
        features.planned.add(name)
        features.queries[name] = query
    features.planning = None
    features.share(readers_at_least)
    return features


def plan_sql(project: "Project", names: Iterable[str], as_of: dt.datetime, dialect: str, schema: str) -> str:
    """A run's plan as SQL text: each entity's wide table made, then each segment a query over it
    (what `segw build` runs, bookkeeping aside); for reading and golden tests."""
    from .dialects import to_sql
    from .segment import segment_query

    names = list(names)
    features = plan_features(project, names, as_of, schema=schema)
    parts = []
    for entity, name, query in list(features.statements()):
        relations = sorted(relation_pass.relation.name for relation_pass in features.passes_of(entity))
        parts.append(f"-- entity {entity}: one pass over {', '.join(relations)}; read by "
                     f"{', '.join(sorted(features.readers[entity]))}\n"
                     f"CREATE TABLE {to_sql(exp.table_(name, db=schema, quoted=True), dialect)} AS\n"
                     f"{to_sql(query, dialect, pretty=True)};\n")
        features.materialized(entity)
    for name in names:
        query = features.query(name) if name in features.planned else None
        if query is None:
            query = segment_query(project, project.segments[name], as_of)
        parts.append(f"-- segment: {name}\n{to_sql(query, dialect, pretty=True)};\n")
    return "\n".join(parts)
