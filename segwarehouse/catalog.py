"""segment_catalog: what the warehouse knows of each segment (owner, last as_of, status) and its checks."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlglot import exp

from .errors import WarehouseError
from .outputs import col, number, replace_row, table, text
from .compiler.timeexpr import timestamp_literal
from .language import types as t
from .warehouse.base import Adapter

COLUMNS = ["segment", "project", "entity", "title", "description", "category", "tags", "materialized",
           "schedule", "rules", "size", "last_as_of", "status", "updated_at", "definition_hash"]
HASH_AS_OF = dt.datetime(2000, 1, 1)  # definitions are compared at one fixed as_of


@dataclass
class StoredSegment:
    segment: str
    project: str | None
    entity: str | None
    materialized: str | None
    size: int | None
    last_as_of: dt.datetime | None
    status: str | None


class AsOfWentBack(WarehouseError):
    """A build at an as_of earlier than the segment's last one."""


class LostRace(WarehouseError):
    """Another run committed this segment at a later as_of while this run evaluated it: skip it."""


def stored_segments(adapter: Adapter, schema: str, names: list[str] | None = None,
                    known_to_exist: bool = False) -> dict[str, StoredSegment]:
    if not known_to_exist and adapter.relation_kind(schema, "segment_catalog") is None:
        return {}
    query = exp.select(*[col(c) for c in ("segment", "project", "entity", "materialized", "size",
                                           "last_as_of", "status")]).from_(table(schema, "segment_catalog"))
    if names is not None:
        query = query.where(exp.In(this=col("segment"), expressions=[text(n) for n in names] or [text("")]))
    return {row[0]: StoredSegment(row[0], row[1], row[2], row[3], None if row[4] is None else int(row[4]),
                                  row[5], row[6]) for row in adapter.fetchall(query)}


def stored_segment(adapter: Adapter, schema: str, name: str) -> StoredSegment | None:
    """The catalog row of a segment; the output tables exist (the runner made sure)."""
    return stored_segments(adapter, schema, [name], known_to_exist=True).get(name)


def has_history(adapter: Adapter, schema: str, name: str) -> bool:
    """Whether an earlier segwarehouse (before the catalog) built this segment."""
    if adapter.relation_kind(schema, "segment_runs") is None:
        return False
    return bool(adapter.fetchall(exp.select("1").from_(table(schema, "segment_runs"))
                                 .where(col("segment").eq(text(name))).limit(1)))


def owned_by_another(stored: StoredSegment | None, project_name: str) -> bool:
    """Whether another project owns this stored segment (a retired name is free for anyone)."""
    return stored is not None and stored.status != "retired" and stored.project not in (None, project_name)


def check_may_write(adapter: Adapter, project_name: str, schema: str, segment: str,
                    stored: StoredSegment | None, as_of: dt.datetime, as_of_given: bool) -> None:
    """Refuse another project's segment, an as_of that goes back, and relations we did not create."""
    if owned_by_another(stored, project_name):
        raise WarehouseError(
            f"segment '{segment}' in schema {schema} belongs to project '{stored.project}'; project "
            f"'{project_name}' may not write it",
            hint=f"rename the segment, or give project '{project_name}' its own `segment_schema` "
                 "in segwarehouse.yml")
    if stored is not None and stored.status != "retired" and stored.last_as_of is not None \
            and as_of < stored.last_as_of:
        last = f"{stored.last_as_of:%Y-%m-%d %H:%M:%S}"
        if as_of_given:
            raise AsOfWentBack(
                f"segment '{segment}' was last built as of {last} UTC; a build as of "
                f"{as_of:%Y-%m-%d %H:%M:%S} would go back in time", hint=f"read the past with "
                f"`segw preview {segment} --as-of ...`, which writes nothing")
        raise LostRace(f"segment '{segment}' was built as of {last} UTC by another run meanwhile; "
                       f"skipped this run's older evaluation (as of {as_of:%Y-%m-%d %H:%M:%S})")
    if stored is None and adapter.relation_kind(schema, segment) is not None \
            and not has_history(adapter, schema, segment):
        raise WarehouseError(
            f"{schema}.{segment} already exists and segwarehouse did not create it; refusing to "
            f"replace it", hint="rename the segment, or set another `segment_schema` in segwarehouse.yml")


def rules_text(segment: t.Segment) -> str:
    from .words import segment_words
    return segment_words(segment)


def definition_hash(project, segment: t.Segment) -> str:
    """A digest of what decides a segment's members and outputs: its definition and those of the
    segments and lists it reads, its entity, `sql:` conditions as rendered, the model schema and
    dialect, and the compiler's version — not file positions, titles or schedules. Computed once per
    loaded project, without compiling (validation and the build both ask)."""
    import hashlib

    known = definition_hashes(project)
    if segment.name not in known:
        known[segment.name] = hashlib.md5(repr(_definition(project, segment)).encode()).hexdigest()
    return known[segment.name]


def definition_hashes(project) -> dict[str, str]:
    """segment -> definition hash, as computed so far for this loaded project."""
    return project.__dict__.setdefault("_definition_hashes", {})


_NOT_DEFINITION = {"title", "description", "category", "tags", "schedule"}


def _definition(project, segment: t.Segment) -> tuple:
    from .version import __version__

    def canonical(value):
        if dataclasses.is_dataclass(value):
            if isinstance(value, t.Sql):
                return ("sql", project.sql_text(value))
            return (type(value).__name__, *[(f.name, canonical(getattr(value, f.name)))
                                             for f in dataclasses.fields(value)
                                             if f.compare and f.name not in _NOT_DEFINITION])
        if isinstance(value, dict):
            return tuple(sorted((str(k), canonical(v)) for k, v in value.items()))
        if isinstance(value, (list, tuple)):
            return tuple(canonical(v) for v in value)
        return (type(value).__name__, str(value))

    reads = [segment.name, *sorted(project.dependencies(segment.name))]
    lists = sorted({ref for name in reads for ref in project.segments[name].references() if ref in project.lists})
    entities = sorted({project.segments[name].entity for name in reads})
    return (__version__, project.dialect, project.config.models_dialect, project.model_schema,
            tuple(canonical(project.segments[name]) for name in reads),
            tuple(canonical(project.lists[name]) for name in lists),
            tuple(canonical(project.entities[name]) for name in entities))


def write_catalog(adapter: Adapter, schema: str, project, segment: t.Segment, size: int | None,
                  as_of: dt.datetime, now: dt.datetime, stored: bool | None = None) -> None:
    """Replace the segment's catalog row; call inside the segment's transaction. `stored`: whether
    the row exists (read under the segment's lock): one UPDATE then, one INSERT if not, and a
    DELETE and an INSERT when unknown."""
    replace_row(adapter, table(schema, "segment_catalog"), COLUMNS, catalog_row(project, segment, size, as_of, now),
                stored)


def catalog_row(project, segment: t.Segment, size: int | None, as_of: dt.datetime, now: dt.datetime) -> list:
    """The segment's row of segment_catalog (COLUMNS), as literals."""
    def opt(value):
        return exp.null() if value is None else text(str(value))

    return [text(segment.name), text(project.config.name), text(segment.entity), opt(segment.title),
            opt(segment.description), opt(segment.category), text(",".join(segment.tags)),
            text(segment.materialized), text(project.schedule_of(segment)), text(rules_text(segment)[:8000]),
            number(size), timestamp_literal(as_of), text("active"), timestamp_literal(now),
            text(definition_hash(project, segment))]


def mark_retired(adapter: Adapter, schema: str, name: str, now: dt.datetime) -> None:
    adapter.execute(exp.update(table(schema, "segment_catalog"),
                               {"status": text("retired"), "size": number(0),
                                "updated_at": timestamp_literal(now)},
                               where=col("segment").eq(text(name))))


def orphans(adapter: Adapter, project) -> list[str]:
    """Segments this project stored that its files no longer define (to retire)."""
    stored = stored_segments(adapter, project.segment_schema)
    return sorted(name for name, s in stored.items()
                  if s.status == "active" and s.project == project.config.name and name not in project.segments)
