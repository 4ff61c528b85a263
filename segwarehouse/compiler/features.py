"""A run's shared relation passes: one grouped scan per entity and relation for every segment a run
evaluates in full, computing all their measures as conditional aggregates (the wide feature table
an expert writes by hand); each segment is then a predicate over the materialized passes."""
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
    """The passes of one run at one as_of. Planning (`plan`) compiles every participating segment
    once, collecting every measure and which segments read each pass; `share` then keeps the passes
    that two or more segments read, which the run materializes (`materialized`) before compiling
    the segments again, now reading those tables. Nothing here touches the warehouse."""
    project: "Project"
    as_of: dt.datetime
    sql_dialect: str
    passes: dict[tuple[str, str], RelationPass] = field(default_factory=dict)
    readers: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    planning: str | None = None  # the segment being compiled while planning
    planned: set[str] = field(default_factory=set)  # segments whose measures the passes hold
    schema: str | None = None  # where the run materializes the passes (queries built while planning read there)
    reads: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # segment -> the passes it reads
    queries: dict[str, exp.Select] = field(default_factory=dict)  # segment -> its query built while planning
    frozen: bool = False

    def relation_pass(self, scope: Scope, entity: t.Entity, relation: t.RelationSpec) -> RelationPass | None:
        """The shared pass of this entity's relation for a frame of `scope`, or None where the frame
        must scan on its own (a narrowed incremental evaluation, another clock, a pass not shared)."""
        if scope.keys is not None or scope.tables is not None or scope.clock.live or \
                scope.clock.as_of != self.as_of:
            return None
        key = (entity.name, relation.name)
        if self.frozen:
            found = self.passes.get(key)
            return found if found is not None and found.table is not None else None
        if key not in self.passes:
            own = Scope(self.project, Clock(self.as_of), self.sql_dialect)
            number = len(self.passes) + 1
            self.passes[key] = RelationPass(own, relation, f"fr{number}", f"f{number}",
                                            planned=(self.schema, self.table_name(key)) if self.schema else None)
            self.readers[key] = set()
        if self.planning is not None:
            self.readers[key].add(self.planning)
            self.reads.setdefault(self.planning, set()).add(key)
        return self.passes[key]

    def query(self, name: str) -> exp.Select | None:
        """The segment's query built while planning, once every pass it reads is materialized
        (then it is final: the passes' measures and tables are fixed); None: compile it anew.
        Each query is handed out once."""
        query = self.queries.pop(name, None)
        if query is None or not all(key in self.passes and self.passes[key].table is not None
                                    for key in self.reads.get(name, ())):
            return None
        return query

    def share(self, readers_at_least: int = 2) -> None:
        """Keep the passes that enough segments read; the rest scan inside their one segment's query."""
        self.passes = {key: p for key, p in self.passes.items() if len(self.readers[key]) >= readers_at_least}
        self.frozen = True

    def drop(self, key: tuple[str, str]) -> None:
        """A pass that could not be materialized: its segments scan on their own."""
        self.passes.pop(key, None)

    def table_name(self, key: tuple[str, str]) -> str:
        return table_name(*key)

    def statements(self, schema: str) -> Iterable[tuple[tuple[str, str], str, exp.Select]]:
        """(pass, table name, grouped query) for each shared pass, to materialize in `schema`."""
        for key, relation_pass in self.passes.items():
            yield key, self.table_name(key), relation_pass.grouped()

    def materialized(self, key: tuple[str, str], schema: str) -> None:
        self.passes[key].table = (schema, self.table_name(key))


def table_name(entity: str, relation: str) -> str:
    """The work table of an entity's shared pass over a relation: short (any engine's identifier
    limit) and the same in every run, so a killed run's leftover is found and dropped."""
    digest = hashlib.md5(f"{entity}\0{relation}".encode()).hexdigest()[:12]
    return f"{FEATURE_PREFIX}{digest}"


def plan_features(project: "Project", names: Iterable[str], as_of: dt.datetime,
                  readers_at_least: int = 2, schema: str | None = None) -> Features:
    """Compile each named segment once against one set of passes and keep those read by at least
    `readers_at_least` segments. A segment that does not compile is left out (it fails on its own).
    With `schema` (where the run will materialize the passes), each segment's query is kept: once
    its passes are materialized it is final, and the run need not compile it again."""
    from sqlglot.errors import SqlglotError

    from ..errors import SegwError
    from .segment import segment_query

    features = Features(project, as_of, project.config.models_dialect or project.dialect, schema=schema)
    for name in names:
        features.planning = name
        try:
            query = segment_query(project, project.segments[name], as_of, features=features)
        except (SegwError, SqlglotError, ValueError):
            continue
        features.planned.add(name)
        if schema is not None:
            features.queries[name] = query
    features.planning = None
    features.share(readers_at_least)
    return features


def plan_sql(project: "Project", names: Iterable[str], as_of: dt.datetime, dialect: str, schema: str) -> str:
    """A run's plan as SQL text: each shared pass materialized, then each segment a query over
    the passes (what `segw build` runs, bookkeeping aside); for reading and golden tests."""
    from .dialects import to_sql
    from .segment import segment_query

    names = list(names)
    features = plan_features(project, names, as_of)
    parts = []
    for key, name, query in list(features.statements(schema)):
        parts.append(f"-- shared pass: {key[0]}.{key[1]}, read by {', '.join(sorted(features.readers[key]))}\n"
                     f"CREATE TABLE {to_sql(exp.table_(name, db=schema, quoted=True), dialect)} AS\n"
                     f"{to_sql(query, dialect, pretty=True)};\n")
        features.materialized(key, schema)
    for name in names:
        segment = project.segments[name]
        query = segment_query(project, segment, as_of, features=features if name in features.planned else None)
        parts.append(f"-- segment: {name}\n{to_sql(query, dialect, pretty=True)};\n")
    return "\n".join(parts)
