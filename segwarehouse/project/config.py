"""segwarehouse.yml: project name, profile, segment schema, vars, default schedule, models dialect."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from ..errors import SegwError, did_you_mean
from .yamlfile import load_yaml

CONFIG_FILE = "segwarehouse.yml"
DEFAULT_SCHEDULE = "0 0 * * *"


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


def valid_cron(value: Any) -> bool:
    """Five cron fields croniter understands that fire on some real date (not `0 0 30 2 *`)."""
    import datetime as dt
    from croniter import croniter
    if not isinstance(value, str) or len(value.split()) != 5 or not croniter.is_valid(value):
        return False
    try:
        croniter(value, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
    except Exception:  # CroniterBadDateError: no such day in any year
        return False
    return True


def load_config(project_dir: Path) -> ProjectConfig:
    path = project_dir / CONFIG_FILE
    if not path.is_file():
        return ProjectConfig(name=project_dir.resolve().name, profile=None)
    doc = load_yaml(path, CONFIG_FILE)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise SegwError(f"{CONFIG_FILE} must be a mapping", doc.at(data))
    try:
        config = ProjectConfig(**{str(k): v for k, v in data.items()})
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        key = error["loc"][0] if error["loc"] else None
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
                        "write five fields in UTC, e.g. \"0 6 * * *\"")
    if config.profile is None:
        config = config.model_copy(update={"profile": config.name})
    return config
