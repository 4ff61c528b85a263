"""`segw validate` against a live warehouse: columns and their types, `sql:` conditions, warnings."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from sqlglot import exp

from .columns import Catalog, check_metric_columns, check_segment_columns, type_kind
from .errors import Location, SegwError, WarehouseError, did_you_mean
from .project.loader import Project, relation_for
from .language import types as t
from .warehouse import connect

MAX_DISTINCT = 200  # a text column with at most this many values is checked for values that never occur


@dataclasses.dataclass(frozen=True)
class ValidationWarning:
    """A likely mistake that is not an error: the project still builds."""
    message: str
    location: Location | None = None

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def check_columns_live(project: Project, as_of: dt.datetime | None = None, adapter=None) -> str:
    """'columns checked ...' or raises SegwError (exit 2): an unknown column, an operator that does
    not fit the column's type, a `sql:` condition the warehouse refuses, or no connection at all."""
    own = adapter is None
    adapter = adapter or connect(project.target)  # a connection fault is a SegwError: exit 2
    try:
        catalog = Catalog(adapter, project, skip_unbuilt=True)
        for segment in project.segments.values():
            check_segment_columns(project, segment, catalog, typed=True)
        for entity in project.entities.values():  # `metrics:` of `segw report`
            check_metric_columns(adapter, project, entity, list(entity.metrics.values()), catalog, skip_unbuilt=True)
        for segment in project.segments.values():
            if not _reads_unbuilt(project, segment, catalog):
                check_runs(project, segment, adapter, as_of)
        return "columns checked against the warehouse" + (
            f"; not checked, not built yet: {', '.join(sorted(catalog.unbuilt))}" if catalog.unbuilt else "")
    finally:
        if own:
            adapter.close()


def _reads_unbuilt(project: Project, segment: t.Segment, catalog: Catalog) -> bool:
    if not catalog.unbuilt:
        return False
    return any(m in catalog.unbuilt for m in _models_read(project, segment))


def _models_read(project: Project, segment: t.Segment) -> set[str]:
    names: set[str] = set()
    for name in [segment.name, *project.dependencies(segment.name)]:
        seg = project.segments[name]
        entity = project.entities[seg.entity]
        names.add(entity.model)
        for list_name in seg.references():
            if list_name in project.lists:
                source = project.lists[list_name].source
                names.add(Path(source).stem if source.endswith(".csv") else source)
        if seg.rules is not None:
            names.update(relation_for(entity, n).model for n in t.walk(seg.rules) if isinstance(n, t.Related))
    return names


def check_runs(project: Project, segment: t.Segment, adapter, as_of: dt.datetime | None = None) -> None:
    """Run the segment's query with LIMIT 0, so the warehouse checks what we cannot (`sql:`)."""
    from .materialize import utcnow

    as_of = as_of or utcnow()
    try:
        _limit0(project, segment, adapter, as_of)
        return
    except WarehouseError as exc:
        failure = exc
    sql_nodes = [n for n in t.walk(segment.rules) if isinstance(n, t.Sql)] if segment.rules else []
    for node in sql_nodes:
        alone = dataclasses.replace(segment, rules=node, include=(), exclude=(), splits=(), columns=())
        try:
            _limit0(project, alone, adapter, as_of)
        except WarehouseError as exc:
            raise SegwError(f"`sql:` condition is refused by the warehouse: {exc.message}", node.loc,
                            "write one boolean expression over the entity's own columns; no window "
                            "functions or aggregates") from None
    raise SegwError(f"segment '{segment.name}' does not run on {project.target.type}: {failure.message}",
                    segment.loc, "check the types of the columns its conditions compare") from None


def _limit0(project: Project, segment: t.Segment, adapter, as_of: dt.datetime) -> None:
    from .compiler.segment import segment_query

    query = segment_query(project, segment, None if segment.materialized == "view" else as_of)
    adapter.fetchall(query.limit(0))


# -- warnings ----------------------------------------------------------------------------------

def collect_warnings(project: Project, adapter, names=None) -> list[ValidationWarning]:
    """Likely mistakes found in the data: an `event:`, `equals` or `in` value that never occurs in
    a low-cardinality text column, and a list whose keys match no entity row, for the segments
    `names` (default: all) and the lists they read. Relations not built yet are skipped. Each
    warning has `.message` and `.location`."""
    catalog = Catalog(adapter, project, skip_unbuilt=True)
    values = _DistinctValues(project, adapter, catalog)
    segments = [project.segments[n] for n in names] if names is not None else list(project.segments.values())
    found: list[ValidationWarning] = []
    lists_read: set[str] = set()
    for segment in segments:
        lists_read |= {n for n in segment.references() if n in project.lists}
        if segment.rules is None:
            continue
        entity = project.entities[segment.entity]
        for node in t.walk(segment.rules):
            if isinstance(node, t.Property):
                found += _value_warnings(values, entity.model, node)
            elif isinstance(node, t.Related):
                relation = relation_for(entity, node)
                if node.event is not None and relation.event_name:
                    absent, known = values.missing(relation.model, relation.event_name, [node.event])
                    if absent:
                        found.append(_never(f"event '{node.event}'", relation.model, relation.event_name,
                                            node.event, known, node.loc))
                if node.where is not None:
                    for inner in t.walk(node.where):
                        if isinstance(inner, t.Property):
                            found += _value_warnings(values, relation.model, inner)
    for item in project.lists.values():
        if names is not None and item.name not in lists_read:
            continue
        warning = _list_warning(project, adapter, catalog, item)
        if warning:
            found.append(warning)
    unique: dict[str, ValidationWarning] = {}
    for warning in found:
        unique.setdefault(str(warning), warning)
    return list(unique.values())


class _DistinctValues:
    """The distinct values of text columns with at most MAX_DISTINCT of them (else None), read only
    for a column in which a wanted value was not found: finding a value that occurs stops at its
    first row, while listing the distinct values reads the whole table."""

    def __init__(self, project: Project, adapter, catalog: Catalog):
        self.project, self.adapter, self.catalog = project, adapter, catalog
        self.cache: dict[tuple[str, str, str], set[str] | None] = {}
        self.found: dict[tuple[str, str, str, str, bool], bool] = {}  # (schema, table, column, value, ignore_case)

    def missing(self, model: str, column: str, wanted, ignore_case: bool = False) -> tuple[list[str], set[str]]:
        """The text values of `wanted` that never occur in the column, and the column's values to
        suggest from; nothing unless the column is text with few values."""
        wanted = [v for v in wanted if isinstance(v, str)]
        schema, name = self.project.relation_of(model)
        types = self.catalog.types(schema, name) or {}
        if not wanted or type_kind(types.get(column)) != "text":
            return [], set()
        if all(self._occurs(schema, name, column, value, ignore_case) for value in wanted):
            return [], set()
        known = self.of(model, column)
        if not known:
            return [], set()
        present = {k.lower() for k in known} if ignore_case else known
        return [v for v in wanted if (v.lower() if ignore_case else v) not in present], known

    def _occurs(self, schema: str, name: str, column: str, value: str, ignore_case: bool) -> bool:
        key = (schema, name, column, value.lower() if ignore_case else value, ignore_case)
        if key not in self.found:
            column_ref = exp.column(column, quoted=True)
            test = (exp.Lower(this=column_ref.copy()).eq(exp.Literal.string(value.lower())) if ignore_case
                    else column_ref.copy().eq(exp.Literal.string(value)))
            rows = self.adapter.fetchall(exp.select(column_ref).from_(exp.table_(name, db=schema, quoted=True))
                                         .where(test).limit(1))
            # Compared here too: an engine's collation may match another case or accent.
            same = (lambda v: str(v).lower() == value.lower()) if ignore_case else (lambda v: str(v) == value)
            self.found[key] = bool(rows) and same(rows[0][0])
        return self.found[key]

    def of(self, model: str, column: str) -> set[str] | None:
        schema, name = self.project.relation_of(model)
        key = (schema, name, column)
        if key not in self.cache:
            self.cache[key] = None
            types = self.catalog.types(schema, name) or {}
            if type_kind(types.get(column)) == "text":
                column_ref = exp.column(column, quoted=True)
                query = (exp.select(column_ref).distinct()
                         .from_(exp.table_(name, db=schema, quoted=True))
                         .where(exp.not_(exp.Is(this=column_ref.copy(), expression=exp.null())))
                         .limit(MAX_DISTINCT + 1))
                rows = self.adapter.fetchall(query)
                if len(rows) <= MAX_DISTINCT:
                    self.cache[key] = {str(r[0]) for r in rows}
        return self.cache[key]


def _value_warnings(values: _DistinctValues, model: str, node: t.Property) -> list[ValidationWarning]:
    test = node.test
    if test.op not in ("equals", "in"):
        return []
    wanted = test.value if test.op == "in" else (test.value,)
    absent, known = values.missing(model, node.column, wanted, test.ignore_case)
    return [_never(f"value '{value}'", model, node.column, value, known, node.loc) for value in absent]


def _never(what: str, model: str, column: str, value: str, known: set[str], loc) -> ValidationWarning:
    hint = did_you_mean(value, known)
    message = f"{what} never occurs in {model}.{column}" + (f"; {hint}" if hint else "")
    return ValidationWarning(message, loc)


def _list_warning(project: Project, adapter, catalog: Catalog, item: t.StaticList) -> ValidationWarning | None:
    from .project.models import seed_header

    entity = project.entities[item.entity]
    if item.source.endswith(".csv"):
        model = Path(item.source).stem
        header = seed_header(project.models[model])
        column = item.key_column or (entity.key if entity.key in header else header[0])
    else:
        model, column = item.source, item.key_column or entity.key
    list_schema, list_name = project.relation_of(model)
    entity_schema, entity_name = project.relation_of(entity.model)
    if catalog.columns(list_schema, list_name) is None or catalog.columns(entity_schema, entity_name) is None:
        return None
    list_key = exp.cast(exp.column(column, table="l", quoted=True), "TEXT")
    keys = exp.select(list_key).from_(exp.alias_(exp.table_(list_name, db=list_schema, quoted=True), "l",
                                                 table=True, quoted=True))
    total = adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(
        exp.alias_(exp.table_(list_name, db=list_schema, quoted=True), "l", table=True, quoted=True))
        .where(exp.not_(exp.Is(this=exp.column(column, table="l", quoted=True), expression=exp.null()))))
    if not total:
        return None
    entity_key = exp.cast(exp.column(entity.key, table="e", quoted=True), "TEXT")
    matched = adapter.fetchall(exp.select(exp.Literal.number(1)).from_(
        exp.alias_(exp.table_(entity_name, db=entity_schema, quoted=True), "e", table=True, quoted=True))
        .where(entity_key.isin(query=keys)).limit(1))
    if matched:
        return None
    return ValidationWarning(f"none of the {total} keys of list '{item.name}' ({model}.{column}) matches a "
                             f"row of entity {entity.name} ({entity.model}.{entity.key})", item.loc)
