"""Builds seeds and SQL models in dependency order, each swapped in whole."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlglot import exp

from .errors import Location, WarehouseError
from .outputs import table
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
                 restore: Callable[[], None] = lambda: None) -> list[str]:
    """Load seeds, then create every model in DAG order. Returns the names built.

    `restore()` runs in the transaction that replaces each relation: it recreates the segment
    views that PostgreSQL's DROP ... CASCADE took with the old relation."""
    rendered = render_models(project, as_of)
    schema = project.model_schema
    adapter.ensure_schema(schema)
    built = []
    for name, model in project.models.items():
        if model.kind == "seed":
            on_model(name)
            _load_seed(adapter, schema, name, model, restore)
            built.append(name)
    for name in build_order(rendered):
        if name not in rendered:
            continue
        on_model(name)
        item = rendered[name]
        try:
            _create_model(adapter, schema, name, item, restore)
        except WarehouseError as exc:
            raise WarehouseError(f"model '{name}' failed to build: {exc.message}",
                                 Location(item.model.shown), "fix the model's SQL") from None
        built.append(name)
    return built


def _load_seed(adapter: Adapter, schema: str, name: str, model, restore) -> None:
    seed = read_seed(model)
    tmp = name + TMP_SUFFIX
    adapter.drop(schema, tmp, "table")
    adapter.create_table(schema, tmp, [(c, exp.DataType.build(ty)) for c, ty in zip(seed.columns, seed.types)])
    adapter.insert_rows(schema, tmp, seed.columns, seed.rows)
    adapter.swap_in(schema, name, tmp, restore)


def _create_model(adapter: Adapter, schema: str, name: str, item: RenderedModel, restore) -> None:
    body = f"({item.sql})"
    if item.materialized == "view":
        target = adapter.sql(table(schema, name))
        if adapter.transactional_ddl:
            with adapter.transaction():
                adapter.drop(schema, name)
                adapter.execute(f"CREATE VIEW {target} AS {item.sql}")
                restore()
        else:
            if adapter.relation_kind(schema, name) == "table":
                adapter.drop(schema, name, "table")
            adapter.execute(f"CREATE OR REPLACE VIEW {target} AS {item.sql}")
        return
    tmp = name + TMP_SUFFIX
    adapter.drop(schema, tmp, "table")
    adapter.execute(f"CREATE TABLE {adapter.sql(table(schema, tmp))} AS SELECT * FROM {body} AS m")
    adapter.swap_in(schema, name, tmp, restore)
