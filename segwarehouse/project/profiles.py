"""Reads dbt-format profiles.yml: profile -> target -> outputs, with env_var() rendered."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Location, SegwError, did_you_mean
from .jinja import SECRETS, make_environment, render
from .yamlfile import load_yaml

ENGINE_DIALECTS = {
    "duckdb": "duckdb", "postgres": "postgres", "postgresql": "postgres", "mysql": "mysql",
    "mariadb": "mysql", "snowflake": "snowflake", "bigquery": "bigquery",
    "databricks": "databricks", "redshift": "redshift", "trino": "trino",
}
SECRET_KEYS = ("password", "pass", "token", "private_key", "keyfile_json", "client_secret")


@dataclass
class Target:
    """One output of a profile: the engine type, its settings and the schema models go to."""
    profile: str
    name: str
    type: str
    schema: str
    settings: dict = field(default_factory=dict)
    location: Location | None = None

    @property
    def dialect(self) -> str:
        return ENGINE_DIALECTS[self.type]


def find_profiles(project_dir: Path, profiles_dir: Path | None) -> Path:
    candidates = []
    if profiles_dir is not None:
        candidates.append(Path(profiles_dir) / "profiles.yml")
    if os.environ.get("SEGW_PROFILES_DIR"):
        candidates.append(Path(os.environ["SEGW_PROFILES_DIR"]) / "profiles.yml")
    candidates += [project_dir / "profiles.yml", Path.home() / ".dbt" / "profiles.yml"]
    for path in candidates:
        if path.is_file():
            return path
    raise SegwError("no profiles.yml found", Location(str(project_dir)),
                    "create profiles.yml in the project (dbt format), or pass --profiles-dir")


def load_target(project_dir: Path, profile_name: str, target_name: str | None,
                profiles_dir: Path | None = None) -> Target:
    path = find_profiles(project_dir, profiles_dir)
    shown = str(path.relative_to(project_dir)) if path.is_relative_to(project_dir) else str(path)
    doc = load_yaml(path, shown)
    if not isinstance(doc.data, dict):
        raise SegwError("profiles.yml must be a mapping of profile names", doc.at(doc.data))
    if profile_name not in doc.data:
        raise SegwError(f"profile '{profile_name}' not found in {shown}", doc.at(doc.data),
                        did_you_mean(profile_name, doc.data) or
                        f"profiles defined: {', '.join(map(str, doc.data)) or 'none'}")
    profile = doc.data[profile_name]
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise SegwError(f"profile '{profile_name}' needs `outputs:` with at least one target",
                        doc.at(doc.data, profile_name))
    name = target_name or profile.get("target")
    if not name:
        raise SegwError(f"profile '{profile_name}' names no default `target:`",
                        doc.at(doc.data, profile_name), "add `target: dev` or pass --target")
    outputs = profile["outputs"]
    if name not in outputs:
        raise SegwError(f"target '{name}' not found in profile '{profile_name}'",
                        doc.at(profile, "outputs"),
                        did_you_mean(name, outputs) or f"targets: {', '.join(map(str, outputs))}")
    raw = outputs[name]
    location = doc.at(outputs, name)
    if not isinstance(raw, dict):
        raise SegwError(f"target '{name}' must be a mapping", location)
    env = make_environment()
    settings = {}
    for key, value in raw.items():
        if isinstance(value, str):
            value = render(env, value, doc.at(raw, key))
            if str(key) in SECRET_KEYS:
                SECRETS.add(value)
        settings[str(key)] = value
    kind = str(settings.pop("type", "")).lower()
    if kind not in ENGINE_DIALECTS:
        raise SegwError(f"unknown warehouse type {kind!r} in target '{name}'", location,
                        did_you_mean(kind, ENGINE_DIALECTS) or
                        f"supported: {', '.join(sorted(set(ENGINE_DIALECTS)))}")
    schema = settings.pop("schema", None) or settings.get("dataset") or (
        "main" if kind == "duckdb" else "public")
    if kind == "duckdb" and "path" in settings and settings["path"] != ":memory:":
        settings["path"] = str((project_dir / str(settings["path"])).resolve())
    return Target(profile_name, str(name), kind, str(schema), settings, location)
