"""Segment names that would collide with what a build reads or writes are refused before any SQL."""
from __future__ import annotations

from .errors import SegwError
from .outputs import RESERVED
from .project.loader import Project

WORK_SUFFIXES = ("__segw_new", "__segw_bak", "__segw_tmp", "__segw_old")


def relations_read(project: Project) -> dict[tuple[str, str], str]:
    """(schema, name) of every relation the project builds or reads, with what it is."""
    found: dict[tuple[str, str], str] = {}
    for name, model in project.models.items():
        found[(project.model_schema, name)] = f"{'seed' if model.kind == 'seed' else 'model'} '{name}'"
    for (source, source_table), (schema, name) in project.sources.items():
        found[(schema, name)] = f"source table {source}.{source_table}"
    for entity in project.entities.values():
        found.setdefault(project.relation_of(entity.model), f"the relation of entity '{entity.name}'")
        for relation in entity.relations.values():
            found.setdefault(project.relation_of(relation.model),
                             f"relation '{relation.name}' of entity '{entity.name}'")
    for item in project.lists.values():
        if not item.source.endswith(".csv"):
            found.setdefault(project.relation_of(item.source), f"the source of list '{item.name}'")
    return found


def check_names(project: Project) -> None:
    schema = project.segment_schema
    taken = relations_read(project)
    for name, segment in project.segments.items():
        if name in RESERVED:
            raise SegwError(f"segment name '{name}' is taken by segwarehouse's own output table "
                            f"{schema}.{name}", segment.loc, f"rename the segment (e.g. '{name}_segment')")
        if name.endswith(WORK_SUFFIXES):
            raise SegwError(f"segment name '{name}' ends like segwarehouse's work tables", segment.loc,
                            "rename the segment")
        what = taken.get((schema, name))
        if what is not None:
            raise SegwError(f"segment '{name}' would be written to {schema}.{name}, which is {what}",
                            segment.loc, "rename the segment, or set another `segment_schema` in "
                            "segwarehouse.yml so segments never share a schema with their inputs")
