"""Checks every column a segment reads against the live warehouse (names, and for validate, types)."""
from __future__ import annotations

from pathlib import Path


from .errors import SegwError, did_you_mean
from .project.loader import Project, relation_for
from .language import types as t
from .warehouse.base import Adapter

TEXT_ONLY = t.TEXT_OPS + ("matches",)
ORDERED = t.ORDER_OPS + ("between",)
TIME_ONLY = t.POINT_OPS + t.DURATION_OPS
KIND_NAMES = {"text": "text", "number": "a number", "date": "a date", "timestamp": "a timestamp",
              "time": "a time of day", "boolean": "a boolean"}


def type_kind(data_type: str | None) -> str | None:
    """text, number, date, timestamp, time or boolean for a warehouse data_type; None: not checked."""
    name = str(data_type or "").lower()
    if "timestamp" in name or "datetime" in name:
        return "timestamp"
    if name == "date":
        return "date"
    if name.startswith("time"):
        return "time"
    if "bool" in name:
        return "boolean"
    if "char" in name or name in ("text", "string", "tinytext", "mediumtext", "longtext", "clob", "enum"):
        return "text"
    if any(word in name for word in ("int", "numeric", "decimal", "double", "float", "real", "number")):
        return "number"
    return None


class Catalog:
    """Column names (and types, when asked) per relation, read once per run.

    With `skip_unbuilt`, a model of the project that is not in the warehouse yet is recorded in
    `unbuilt` and its columns are not checked (validate before the first build)."""

    def __init__(self, adapter: Adapter, project: Project | None = None, skip_unbuilt: bool = False):
        self.adapter = adapter
        self.project = project
        self.skip_unbuilt = skip_unbuilt
        self.unbuilt: set[str] = set()
        self.cache: dict[tuple[str, str], list[str] | None] = {}
        self.type_cache: dict[tuple[str, str], dict[str, str] | None] = {}

    def columns(self, schema: str, name: str) -> list[str] | None:
        if (schema, name) not in self.cache:
            types = self.types(schema, name)  # one query answers both
            self.cache[(schema, name)] = list(types) if types else None
        return self.cache[(schema, name)]

    def types(self, schema: str, name: str) -> dict[str, str] | None:
        """{column: data_type} of a relation with one information_schema query, or None."""
        if (schema, name) not in self.type_cache:
            rows = self.adapter.column_types(schema, name)
            self.type_cache[(schema, name)] = {str(c): ty for c, ty in rows} or None
        return self.type_cache[(schema, name)]

    def is_unbuilt(self, schema: str, name: str) -> bool:
        project = self.project
        return (self.skip_unbuilt and project is not None and schema == project.model_schema
                and name in project.models)


def check_segment_columns(project: Project, segment: t.Segment, catalog: Catalog, typed: bool = False) -> None:
    """Check a segment and every segment it reads (they are compiled into its query).
    `typed` also checks each operator against the column's type (segw validate)."""
    for name in [segment.name, *sorted(project.dependencies(segment.name))]:
        _check_own_columns(project, project.segments[name], catalog, typed)


def _check_own_columns(project: Project, segment: t.Segment, catalog: Catalog, typed: bool) -> None:
    entity = project.entities[segment.entity]

    def need(model: str, column: str, loc, what: str, declared: bool = False) -> str | None:
        """Check the column exists; returns its type kind (typed) or None. `declared`: the column
        is named in models/*.yml, so the message does not blame the segment."""
        schema, name = project.relation_of(model)
        columns = catalog.columns(schema, name)
        if columns is None:
            if catalog.is_unbuilt(schema, name):
                catalog.unbuilt.add(name)
                return None
            raise SegwError(f"relation {schema}.{name} ({what}) does not exist in the warehouse", loc,
                            "build the model first, or fix `model:` in models/*.yml")
        if column not in columns:
            hint = did_you_mean(column, columns) or f"columns: {', '.join(columns)}"
            used = "" if declared else f" (segment '{segment.name}')"
            raise SegwError(f"unknown column '{column}' in {what}{used}", loc, hint)
        if not typed:
            return None
        return type_kind((catalog.types(schema, name) or {}).get(column))

    entity_what = f"entity {entity.name}"
    need(entity.model, entity.key, entity.at("key"), entity_what, declared=True)
    if entity.loaded_at:
        _check_loaded_at(entity.loaded_at, need(entity.model, entity.loaded_at, entity.at("loaded_at"),
                                                entity_what, declared=True), entity_what, entity.at("loaded_at"))
    for column in segment.columns:
        need(entity.model, column, segment.loc, entity_what)
    for name in segment.include + segment.exclude:
        if name in project.lists:
            _check_list(project, project.lists[name], catalog, need)
    if segment.rules is None:
        return
    for node in t.walk(segment.rules):
        if isinstance(node, t.Property):
            kind = need(entity.model, node.column, node.loc, entity_what)
            check_operator(node.test, kind, f"{entity.model}.{node.column}", node.loc)
        elif isinstance(node, t.Near):
            for column in (node.lat_column, node.lon_column):
                kind = need(entity.model, column, node.loc, entity_what)
                if kind not in (None, "number"):
                    raise SegwError(f"`near:` needs numeric coordinates, but {entity.model}.{column} is "
                                    f"{KIND_NAMES[kind]}", node.loc, "point lat_column/lon_column at numbers")
        elif isinstance(node, t.InList):
            _check_list(project, project.lists[node.list_name], catalog, need)
        elif isinstance(node, t.Related):
            _check_related(project, entity, node, need)


def _check_related(project: Project, entity: t.Entity, node: t.Related, need) -> None:
    relation = relation_for(entity, node)
    what = f"relation {relation.name} of entity {entity.name}"
    need(relation.model, relation.foreign_key, relation.at("foreign_key"), what, declared=True)
    if relation.time:
        kind = need(relation.model, relation.time, relation.at("time"), what, declared=True)
        uses_time = node.window is not None or node.measure.kind in t.TIME_MEASURES
        if uses_time and kind not in (None, "date", "timestamp"):
            raise SegwError(f"`time:` column '{relation.time}' of {what} is {KIND_NAMES[kind]}, not a date or "
                            f"timestamp, so it cannot take a time window or first/last", relation.at("time"),
                            "point `time:` at a DATE or TIMESTAMP column (cast it in the model)")
    if relation.loaded_at:
        _check_loaded_at(relation.loaded_at, need(relation.model, relation.loaded_at, relation.at("loaded_at"),
                                                  what, declared=True), what, relation.at("loaded_at"))
    if node.event:
        need(relation.model, relation.event_name, relation.at("name"), what, declared=True)
    if node.measure.of:
        kind = need(relation.model, node.measure.of, node.loc, what)
        if node.measure.kind in ("sum", "avg") and kind not in (None, "number"):
            raise SegwError(f"`{node.measure.kind}` needs a numeric column, but {relation.model}."
                            f"{node.measure.of} is {KIND_NAMES[kind]}", node.loc,
                            "use count, count_distinct, min or max, or cast the column in the model")
    if node.where is not None:
        for inner in t.walk(node.where):
            if isinstance(inner, t.Property):
                kind = need(relation.model, inner.column, inner.loc, what)
                check_operator(inner.test, kind, f"{relation.model}.{inner.column}", inner.loc)


def _check_loaded_at(column: str, kind: str | None, what: str, loc) -> None:
    if kind not in (None, "date", "timestamp"):
        raise SegwError(f"`loaded_at:` column '{column}' of {what} is {KIND_NAMES[kind]}, not a timestamp",
                        loc, "point `loaded_at:` at the TIMESTAMP column that says when a row arrived or changed")


def _value_kind(value) -> str:
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, (dt.date, dt.datetime)):
        return "date"
    return "text"


def check_operator(test: t.Comparison, kind: str | None, column: str, loc) -> None:
    """Refuse an operator that cannot work on the column's type (None: unknown type, allowed)."""
    if kind is None or test.op == "is_set":
        return
    op, is_a = test.op, KIND_NAMES[kind]
    if op in TEXT_ONLY and kind != "text":
        raise SegwError(f"`{op}` works on text, but {column} is {is_a}", loc,
                        "compare numbers and dates with gt/lt/between, or cast the column in the model")
    if op in TIME_ONLY and kind not in ("date", "timestamp"):
        raise SegwError(f"`{op}` works on dates and timestamps, but {column} is {is_a}", loc,
                        "store the value as DATE or TIMESTAMP (cast it in the model)")
    values = test.value if op in ORDERED + t.LIST_OPS and isinstance(test.value, tuple) else (test.value,)
    if op in ORDERED:
        if kind == "boolean":
            raise SegwError(f"`{op}` orders values, but {column} is a boolean", loc, "use `equals: true`")
        wanted = {"number": "number", "date": "date", "timestamp": "date", "time": "text", "text": "text"}[kind]
        for value in values:
            if _value_kind(value) != wanted and not (kind == "time" and _value_kind(value) == "text"):
                raise SegwError(f"`{op}` compares {column} ({is_a}) with {_describe(value)}", loc,
                                "compare a column with a value of its own type")
    if op in t.SCALAR_OPS + t.LIST_OPS:
        for value in values:
            got = _value_kind(value)
            if kind == "boolean" and got != "boolean":
                raise SegwError(f"{column} is a boolean; `{op}` needs true or false, got {value!r}", loc,
                                "write `equals: true` or `equals: false`")
            if kind == "number" and got in ("text", "date") and not _numeric_text(value):
                raise SegwError(f"{column} is a number; `{op}` got {_describe(value)}", loc,
                                "compare with a number, or quote nothing: `equals: 42`")
            if kind in ("date", "timestamp") and got in ("number", "boolean"):
                raise SegwError(f"{column} is {is_a}; `{op}` got {_describe(value)}", loc,
                                "write a date such as 2024-01-31")


def _numeric_text(value) -> bool:
    from decimal import Decimal, InvalidOperation
    try:
        Decimal(str(value))
        return isinstance(value, str)
    except InvalidOperation:
        return False


def _describe(value) -> str:
    return {"boolean": "a boolean", "number": "a number", "date": "a date", "text": "text"}[
        _value_kind(value)] + f" ({value!s})"


def _check_list(project: Project, item: t.StaticList, catalog: Catalog, need) -> None:
    if item.source.endswith(".csv"):
        if item.key_column:
            need(Path(item.source).stem, item.key_column, item.loc, f"list {item.name}", declared=True)
        return
    key = item.key_column or project.entities[item.entity].key
    need(item.source, key, item.loc, f"list {item.name}", declared=True)


def check_metric_columns(adapter: Adapter, project: Project, entity: t.Entity, metrics: list[t.Metric],
                         catalog: "Catalog | None" = None, skip_unbuilt: bool = False) -> None:
    """Every column a metric reads exists, else an error at the line that names it (not a
    warehouse error from the query). `segw validate` skips models not built yet."""
    catalog = catalog or Catalog(adapter)
    for metric in metrics:
        relation = relation_for(entity, metric.related)
        schema, name = project.relation_of(relation.model)
        columns = catalog.columns(schema, name)
        if columns is None and skip_unbuilt and catalog.is_unbuilt(schema, name):
            catalog.unbuilt.add(name)
            continue
        if columns is None:
            raise SegwError(f"relation {schema}.{name} (metric '{metric.name}') does not exist in the warehouse",
                            metric.loc, "build the models first, or fix `model:` in models/*.yml")
        wanted = [(relation.foreign_key, relation.at("foreign_key")), (relation.time, relation.at("time"))]
        if metric.related.event is not None:
            wanted.append((relation.event_name, relation.at("name")))
        if metric.related.measure.of:
            wanted.append((metric.related.measure.of, metric.loc))
        if metric.related.where is not None:
            wanted += [(node.column, node.loc) for node in t.walk(metric.related.where)
                       if isinstance(node, t.Property)]
        for column, loc in wanted:
            if column not in columns:
                raise SegwError(f"unknown column '{column}' in {schema}.{name} (metric '{metric.name}')", loc,
                                did_you_mean(column, columns) or f"columns: {', '.join(columns)}")
