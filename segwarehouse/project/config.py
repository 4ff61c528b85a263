"""segwarehouse.yml: project name, profile, segment schema, vars, default schedule, models dialect."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ..errors import SegwError, did_you_mean
from ..language.cron import CRON_ALIASES, valid_cron  # noqa: F401  (the language owns cron text)
from .yamlfile import load_yaml

CONFIG_FILE = "segwarehouse.yml"
DEFAULT_SCHEDULE = "0 0 * * *"


SEED_TYPES = ("text", "varchar", "string", "bigint", "integer", "int", "double", "float", "decimal",
              "numeric", "boolean", "date", "timestamp")


class SeedConfig(BaseModel):
    """dbt's per-seed settings: `seeds: {NAME: {column_types: {COLUMN: varchar}}}`."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    column_types: dict[str, str] = Field(default_factory=dict)


class QuotingConfig(BaseModel):
    """dbt's `quoting:`: whether database, schema and relation names are quoted as written (unset:
    the warehouse's dbt default; Snowflake quotes nothing, so names are found upper-case)."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    database: Optional[bool] = None
    schema_: Optional[bool] = Field(None, alias="schema")
    identifier: Optional[bool] = None


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "segwarehouse"
    profile: Optional[str] = None
    target_schema: Optional[str] = None
    segment_schema: str = Field("segments", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    vars: dict[str, Any] = Field(default_factory=dict)
    schedule: str = DEFAULT_SCHEDULE
    models_dialect: Optional[str] = None
    lock_timeout: float = 300
    seeds: dict[str, SeedConfig] = Field(default_factory=dict)
    dbt_project: Optional[str] = None  # a dbt project whose target/manifest.json resolves ref()/source()
    quoting: Optional[QuotingConfig] = None
    _locations: dict = PrivateAttr(default_factory=dict)  # (seed, column) -> Location in the file


def load_config(project_dir: Path) -> ProjectConfig:
    path = project_dir / CONFIG_FILE
    if not path.is_file():
        name = project_dir.resolve().name
        return ProjectConfig(name=name, profile=name)  # dbt's habit: the profile is named after the project
    doc = load_yaml(path, CONFIG_FILE)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise SegwError(f"{CONFIG_FILE} must be a mapping", doc.at(data))
    try:
        config = ProjectConfig(**{str(k): v for k, v in data.items()})
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        key = error["loc"][0] if error["loc"] else None
        if key == "seeds" and len(error["loc"]) > 1:
            _seed_config_error(doc, data, error)
        if error["type"] == "extra_forbidden":
            hint = did_you_mean(str(key), ProjectConfig.model_fields) or \
                f"allowed keys: {', '.join(ProjectConfig.model_fields)}"
            raise SegwError(f"unknown key '{key}' in {CONFIG_FILE}", doc.at(data, key), hint) from None
        raise SegwError(f"`{key}` in {CONFIG_FILE}: {error['msg']}", doc.at(data, key)) from None
    if config.models_dialect is not None:
        from sqlglot.dialects.dialect import Dialect
        try:
            Dialect.get_or_raise(config.models_dialect)
        except ValueError:
            raise SegwError(f"unknown models_dialect {config.models_dialect!r}",
                            doc.at(data, "models_dialect"), "e.g. duckdb, postgres, snowflake") from None
    if not valid_cron(config.schedule):
        raise SegwError(f"invalid cron schedule {config.schedule!r}", doc.at(data, "schedule"),
                        "write five fields in UTC, e.g. \"0 6 * * *\", or @daily / @hourly")
    for seed, settings in config.seeds.items():
        for column, type_name in settings.column_types.items():
            if type_name.strip().lower() not in SEED_TYPES:
                node = data["seeds"][seed]["column_types"]
                raise SegwError(f"unknown type {type_name!r} for column '{column}' of seed '{seed}'",
                                doc.at(node, column),
                                did_you_mean(type_name.lower(), SEED_TYPES) or f"one of: {', '.join(SEED_TYPES)}")
    config._locations.update({
        (seed, column): doc.at(data["seeds"][seed].get("column_types"), column) if isinstance(
            data["seeds"][seed], dict) else doc.at(data["seeds"], seed)
        for seed, settings in config.seeds.items() for column in settings.column_types}
        | {(seed, None): doc.at(data["seeds"], seed) for seed in config.seeds})
    for key in ("profile", "name"):  # the line that names the profile (profile defaults to name)
        if key in data:
            config._locations["profile"] = doc.at(data, key)
            break
    if config.dbt_project is not None:
        config._locations["dbt_project"] = doc.at(data, "dbt_project")
        if config.profile is None:  # dbt's habit: the profile its dbt_project.yml names
            from .dbt import project_file
            dbt_profile = project_file(project_dir / config.dbt_project, doc.at(data, "dbt_project")).get("profile")
            if dbt_profile:
                config = config.model_copy(update={"profile": str(dbt_profile)})
                config._locations.update(dbt_project=doc.at(data, "dbt_project"), profile=doc.at(data, "dbt_project"))
    if config.profile is None:
        config = config.model_copy(update={"profile": config.name})
    return config


def _seed_config_error(doc, data: dict, error: dict) -> None:
    """A mistake under `seeds:`, reported at the deepest line the error names."""
    node, line_node, line_key = data, data, "seeds"
    path = [p for p in error["loc"]]
    for part in path:
        if isinstance(node, dict) and part in node:
            line_node, line_key, node = node, part, node[part]
        else:
            break
    if error["type"] == "extra_forbidden":
        raise SegwError(f"unknown key '{path[-1]}' under seeds: in {CONFIG_FILE}", doc.at(line_node, line_key),
                        did_you_mean(str(path[-1]), SeedConfig.model_fields) or "a seed takes `column_types:`")
    raise SegwError(f"`{'.'.join(map(str, path))}` in {CONFIG_FILE}: {error['msg']}",
                    doc.at(line_node, line_key),
                    "write seeds: {NAME: {column_types: {COLUMN: varchar}}}")


def seed_config_location(config: ProjectConfig, seed: str, column: str | None = None):
    """Where `seeds: {seed: {column_types: {column: ...}}}` stands in segwarehouse.yml, if known."""
    locations = config._locations
    return locations.get((seed, column)) or locations.get((seed, None))
