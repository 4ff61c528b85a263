"""Builds seeds and SQL models in dependency order, each swapped in whole."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Callable, Iterable

import sqlglot
from sqlglot import exp

from .errors import Location, WarehouseError
from .outputs import MODELS_TABLE, col, replace_row, table, text
from .project.loader import Project
from .project.models import ModelRenderer, RenderedModel, build_order, read_seed
from .warehouse.base import Adapter

TMP_SUFFIX = "__segw_tmp"


def render_models(project: Project, as_of: dt.datetime, dialect: str | None = None) -> dict[str, RenderedModel]:
    target_dialect = dialect or project.dialect
    source_dialect = project.config.models_dialect or target_dialect
    renderer = ModelRenderer(project.models, project.sources, None, project.model_schema,
                             source_dialect, target_dialect, as_of, project.target)
    renderer.env = project.jinja({"target": renderer.target_context(),
                                  "as_of": as_of.strftime("%Y-%m-%d %H:%M:%S")})
    return {name: renderer.render(model) for name, model in project.models.items() if model.kind == "sql"}


def build_models(adapter: Adapter, project: Project, as_of: dt.datetime,
                 on_model: Callable[[str], None] = lambda name: None,
                 restore: Callable[[], None] = lambda: None, only: Iterable[str] | None = None,
                 force: bool = False) -> list[str]:
    """Load seeds, then create models in DAG order; returns the names built.

    `only` limits the work to these models and what they read. A seed, view or table whose
    fingerprint (file or rendered SQL, and those of what it reads) matches the one stored at its
    last build is kept as it is, unless `force`; a table that reads anything outside the project
    (a source, a table not built here) is rebuilt every run, since its data may have changed.
    `restore()` runs in the transaction that replaces each relation: it recreates the segment
    views that PostgreSQL's DROP ... CASCADE took with the old relation."""
    rendered = render_models(project, as_of)
    schema = project.model_schema
    adapter.ensure_schema(schema)
    wanted = upstream_of(project, rendered, only) if only is not None else set(project.models)
    prints = fingerprints(project, rendered)
    stored = {} if force else stored_fingerprints(adapter, project)
    built = []
    seeds = [n for n, m in project.models.items() if m.kind == "seed"]
    for name in seeds + [n for n in build_order(rendered) if n in rendered]:
        if name not in wanted:
            continue
        if prints[name] is not None and stored.get(name) == prints[name] \
                and adapter.relation_kind(schema, name) is not None:
            continue  # unchanged since its last build
        on_model(name)
        if project.models[name].kind == "seed":
            _load_seed(adapter, schema, name, project.models[name], restore)
        else:
            item = rendered[name]
            try:
                _create_model(adapter, schema, name, item, restore)
            except WarehouseError as exc:
                raise WarehouseError(f"model '{name}' failed to build: {exc.message}",
                                     Location(item.model.shown), "fix the model's SQL") from None
        store_fingerprint(adapter, project, name, prints[name])
        built.append(name)
    return built


def upstream_of(project: Project, rendered: dict[str, RenderedModel], names: Iterable[str]) -> set[str]:
    """These models and every model or seed they read, transitively."""
    out: set[str] = set()
    stack = [n for n in names if n in project.models]
    while stack:
        name = stack.pop()
        if name in out:
            continue
        out.add(name)
        stack.extend(d for d in (rendered[name].depends_on if name in rendered else []) if d in project.models)
    return out


def models_read_by(project: Project, segment_names: Iterable[str]) -> set[str]:
    """Models and seeds that these segments (and the segments they read) read directly."""
    names: set[str] = set()
    for segment_name in segment_names:
        for name in [segment_name, *project.dependencies(segment_name)]:
            segment = project.segments[name]
            entity = project.entities[segment.entity]
            names.add(entity.model)
            names.update(r.model for r in entity.relations.values())
            for item in (project.lists[r] for r in segment.references() if r in project.lists):
                names.add(Path(item.source).stem if item.source.endswith(".csv") else item.source)
    return {n for n in names if n in project.models}


def fingerprints(project: Project, rendered: dict[str, RenderedModel]) -> dict[str, str | None]:
    """A digest per model of everything that decides its rows, or None when that is not known
    (a table reading a source or a relation outside the project: its data may change any time)."""
    out: dict[str, str | None] = {}
    for name, model in project.models.items():
        if model.kind == "seed":
            digest = hashlib.md5(model.path.read_bytes())
            digest.update(repr(sorted(model.column_types.items())).encode())
            out[name] = digest.hexdigest()
    for name in build_order(rendered):
        if name not in rendered:
            continue
        item = rendered[name]
        upstream = [out.get(d) for d in item.depends_on]
        closed = item.materialized == "view" or (
            None not in upstream and not _reads_outside(item, project))
        out[name] = hashlib.md5("\n".join([item.sql, item.materialized, *map(str, upstream)]).encode()
                                ).hexdigest() if closed else None
    return out


def _reads_outside(item: RenderedModel, project: Project) -> bool:
    import sqlglot

    try:
        tree = sqlglot.parse_one(item.sql, read=project.dialect)
    except Exception:  # noqa: BLE001 - unknown: assume it reads outside
        return True
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for node in tree.find_all(exp.Table):
        if node.name in ctes and not node.db:
            continue
        if node.name not in item.depends_on or (node.db and node.db != project.model_schema):
            return True
    return False


def stored_fingerprints(adapter: Adapter, project: Project) -> dict[str, str]:
    rows = adapter.fetchall(exp.select(col("model"), col("fingerprint")).from_(
        table(project.segment_schema, MODELS_TABLE)).where(col("model_schema").eq(text(project.model_schema))))
    return {model: fingerprint for model, fingerprint in rows if fingerprint}


def store_fingerprint(adapter: Adapter, project: Project, name: str, fingerprint: str | None) -> None:
    with adapter.transaction():
        replace_row(adapter, table(project.segment_schema, MODELS_TABLE), ["model_schema", "model", "fingerprint"],
                    [text(project.model_schema), text(name), exp.null() if fingerprint is None else text(fingerprint)],
                    keys=2)


def _load_seed(adapter: Adapter, schema: str, name: str, model, restore) -> None:
    seed = read_seed(model)
    tmp = name + TMP_SUFFIX
    adapter.drop(schema, tmp, "table")
    adapter.create_table(schema, tmp, [(c, exp.DataType.build(ty)) for c, ty in zip(seed.columns, seed.types)])
    adapter.insert_rows(schema, tmp, seed.columns, seed.rows)
    adapter.swap_in(schema, name, tmp, restore)


def _create_model(adapter: Adapter, schema: str, name: str, item: RenderedModel, restore) -> None:
    # The rendered SQL was written by sqlglot in the target's dialect: it reads back as one query.
    try:
        query = sqlglot.parse_one(item.sql, read=adapter.dialect)
    except sqlglot.errors.SqlglotError as exc:
        raise WarehouseError(f"its SQL does not read as one {adapter.dialect} query: {exc}") from None
    if item.materialized == "view":
        def create(relation: str) -> None:
            adapter.execute(exp.Create(this=table(schema, relation), kind="VIEW", expression=query,
                                       replace=True))
        adapter.replace_relation(schema, name, create, kind="view", then=restore)
        return
    tmp = name + TMP_SUFFIX
    adapter.drop(schema, tmp, "table")
    adapter.execute(exp.Create(this=table(schema, tmp), kind="TABLE",
                               expression=exp.select("*").from_(query.subquery(exp.to_identifier("m")))))
    adapter.swap_in(schema, name, tmp, restore)
