"""Checks every column a segment reads against the live warehouse, with a 'did you mean'."""
from __future__ import annotations

from pathlib import Path

from .errors import SegwError, did_you_mean
from .project.loader import Project, relation_for
from .spec import types as t
from .warehouse.base import Adapter


class Catalog:
    """Column names per relation, read once per run."""

    def __init__(self, adapter: Adapter):
        self.adapter = adapter
        self.cache: dict[tuple[str, str], list[str] | None] = {}

    def columns(self, schema: str, name: str) -> list[str] | None:
        if (schema, name) not in self.cache:
            self.cache[(schema, name)] = self.adapter.columns(schema, name)
        return self.cache[(schema, name)]


def check_segment_columns(project: Project, segment: t.Segment, catalog: Catalog) -> None:
    """Check a segment and every segment it reads (they are compiled into its query)."""
    for name in [segment.name, *sorted(project.dependencies(segment.name))]:
        _check_own_columns(project, project.segments[name], catalog)


def _check_own_columns(project: Project, segment: t.Segment, catalog: Catalog) -> None:
    entity = project.entities[segment.entity]

    def need(model: str, column: str, loc, what: str) -> None:
        schema, name = project.relation_of(model)
        columns = catalog.columns(schema, name)
        if columns is None:
            raise SegwError(f"relation {schema}.{name} ({what}) does not exist in the warehouse", loc,
                            "build the model first, or fix `model:` in models/*.yml")
        if column not in columns:
            hint = did_you_mean(column, columns) or f"columns: {', '.join(columns)}"
            raise SegwError(f"unknown column '{column}' in {what} (segment '{segment.name}')", loc, hint)

    entity_what = f"entity {entity.name}"
    need(entity.model, entity.key, entity.loc, entity_what)
    for column in segment.columns:
        need(entity.model, column, segment.loc, entity_what)
    for name in segment.include + segment.exclude:
        if name in project.lists:
            _check_list(project, project.lists[name], catalog, need)
    if segment.rules is None:
        return
    for node in t.walk(segment.rules):
        if isinstance(node, t.Property):
            need(entity.model, node.column, node.loc, entity_what)
        elif isinstance(node, t.Near):
            need(entity.model, node.lat_column, node.loc, entity_what)
            need(entity.model, node.lon_column, node.loc, entity_what)
        elif isinstance(node, t.InList):
            _check_list(project, project.lists[node.list_name], catalog, need)
        elif isinstance(node, t.Related):
            relation = relation_for(entity, node)
            what = f"relation {relation.name} of entity {entity.name}"
            for column in (relation.foreign_key, relation.time, relation.event_name if node.event else None,
                           node.measure.of):
                if column:
                    need(relation.model, column, node.loc, what)
            if node.where is not None:
                for inner in t.walk(node.where):
                    if isinstance(inner, t.Property):
                        need(relation.model, inner.column, inner.loc, what)


def _check_list(project: Project, item: t.StaticList, catalog: Catalog, need) -> None:
    if item.source.endswith(".csv"):
        if item.key_column:
            need(Path(item.source).stem, item.key_column, item.loc, f"list {item.name}")
        return
    key = item.key_column or project.entities[item.entity].key
    need(item.source, key, item.loc, f"list {item.name}")
