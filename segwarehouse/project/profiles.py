"""Reads dbt-format profiles.yml: profile -> target -> outputs, with env_var() rendered and each
target's keys validated as the typed credentials of its warehouse type (credentials.py)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Location, SegwError, did_you_mean
from .credentials import (Credentials, DuckDBCredentials, SparkCredentials, is_secret_key,
                          parse_credentials)
from .jinja import SECRETS, make_environment, render
from .yamlfile import load_yaml

ENGINE_DIALECTS = {
    "duckdb": "duckdb", "postgres": "postgres", "postgresql": "postgres", "mysql": "mysql",
    "mariadb": "mysql", "snowflake": "snowflake", "bigquery": "bigquery",
    "databricks": "databricks", "redshift": "redshift", "trino": "trino", "clickhouse": "clickhouse",
    "spark": "databricks",  # Spark SQL: sqlglot's Databricks dialect, run by the Spark adapter
}


@dataclass
class Target:
    """One output of a profile: the engine type, its typed credentials and the schema models go to.
    `settings` holds the keys the profile set (a plain dict, for readers outside the adapters);
    built by hand (tests), a Target validates `settings` into `credentials` itself."""
    profile: str
    name: str
    type: str
    schema: str
    settings: dict = field(default_factory=dict, repr=False)  # holds secrets; credentials' repr hides them
    location: Location | None = None
    credentials: Credentials | None = None

    def __post_init__(self):
        if self.credentials is None:
            self.credentials = parse_credentials(self.type, self.settings, self.name, self.profile,
                                                 lambda key: self.location)

    @property
    def dialect(self) -> str:
        return ENGINE_DIALECTS[self.type]


def find_profiles(project_dir: Path, profiles_dir: Path | None, dbt_dir: Path | None = None) -> Path:
    """As dbt looks: --profiles-dir, SEGW_PROFILES_DIR / DBT_PROFILES_DIR, the project (then the dbt
    project named by `dbt_project:`), ~/.dbt."""
    candidates = []
    if profiles_dir is not None:
        candidates.append(Path(profiles_dir) / "profiles.yml")
    for variable in ("SEGW_PROFILES_DIR", "DBT_PROFILES_DIR"):
        if os.environ.get(variable):
            candidates.append(Path(os.environ[variable]).expanduser() / "profiles.yml")
    candidates.append(project_dir / "profiles.yml")
    if dbt_dir is not None:
        candidates.append(dbt_dir / "profiles.yml")
    candidates.append(Path.home() / ".dbt" / "profiles.yml")
    for path in candidates:
        if path.is_file():
            return path
    raise SegwError("no profiles.yml found", Location(str(project_dir)),
                    "create profiles.yml in the project (dbt format), or pass --profiles-dir")


def load_target(project_dir: Path, profile_name: str, target_name: str | None,
                profiles_dir: Path | None = None, profile_location: Location | None = None,
                config_missing: bool = False, dbt_dir: Path | None = None) -> Target:
    """The target to use. `profile_location` is where segwarehouse.yml names the profile;
    `config_missing` says there is no segwarehouse.yml and the profile is named after the folder.
    The target is --target, else DBT_TARGET, else the profile's `target:` (as dbt chooses)."""
    path = find_profiles(project_dir, profiles_dir, dbt_dir)
    shown = str(path.relative_to(project_dir)) if path.is_relative_to(project_dir) else str(path)
    doc = load_yaml(path, shown)
    if not isinstance(doc.data, dict):
        raise SegwError("profiles.yml must be a mapping of profile names", doc.at(doc.data))
    if profile_name not in doc.data:
        defined = ", ".join(map(str, doc.data)) or "none"
        if config_missing:
            raise SegwError(f"segwarehouse.yml is missing, and {shown} has no profile named after the "
                            f"project folder ('{profile_name}')", Location(str(project_dir / "segwarehouse.yml")),
                            f"create segwarehouse.yml with `profile: NAME` (profiles in {shown}: {defined}), "
                            "or pass --project-dir pointing at the project")
        hint = did_you_mean(profile_name, doc.data)
        hint = f"{hint} (profiles in {shown}: {defined})" if hint else f"profiles in {shown}: {defined}"
        raise SegwError(f"profile '{profile_name}' not found in {shown}",
                        profile_location or doc.at(doc.data), hint)
    profile = doc.data[profile_name]
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise SegwError(f"profile '{profile_name}' needs `outputs:` with at least one target",
                        doc.at(doc.data, profile_name))
    env = _profile_environment()
    name = target_name or os.environ.get("DBT_TARGET") or profile.get("target")
    if isinstance(name, str) and "{" in name:  # target: "{{ env_var('DBT_TARGET', 'dev') }}"
        name = render(env, name, doc.at(profile, "target"))
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
    values = {str(key): _rendered(env, value, doc, raw, key) for key, value in raw.items()}
    kind = str(values.pop("type", "")).lower()
    if kind not in ENGINE_DIALECTS:
        raise SegwError(f"unknown warehouse type {kind!r} in target '{name}'", location,
                        did_you_mean(kind, ENGINE_DIALECTS) or
                        f"supported: {', '.join(sorted(set(ENGINE_DIALECTS)))}")
    written = {str(key): key for key in raw}
    credentials = parse_credentials(kind, values, str(name), profile_name,
                                    lambda key: doc.at(raw, written[key]) if key in written else location)
    credentials = _resolve_paths(project_dir, credentials)
    return Target(profile_name, str(name), kind, credentials.schema_name, settings_of(credentials),
                  location, credentials)


def _rendered(env, value, doc, parent, key, secret: bool = False):
    """A value with env_var() rendered, in nested mappings and lists too (as dbt does); the values
    of secret keys (password, token, ...) are registered to be masked everywhere."""
    secret = secret or is_secret_key(str(key))
    if isinstance(value, dict):
        return {str(k): _rendered(env, v, doc, value, k, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_rendered(env, v, doc, parent, key, secret) for v in value]
    if isinstance(value, str):
        value = _native(render(env, value, doc.at(parent, key)), value)
        if secret and isinstance(value, str) and value:
            SECRETS.add(value)
    return value


def settings_of(credentials: Credentials) -> dict:
    """The keys the profile set (dbt's names after aliases), for readers of `Target.settings`."""
    return credentials.model_dump(by_alias=True, exclude_unset=True)


def _resolve_paths(project_dir: Path, credentials: Credentials) -> Credentials:
    """DuckDB's `path` and a local Spark session's warehouse directory are relative to the project."""
    if isinstance(credentials, DuckDBCredentials) and credentials.path != ":memory:" \
            and not credentials.path.startswith("md:"):
        return credentials.model_copy(update={"path": str((project_dir / credentials.path).resolve())})
    if isinstance(credentials, SparkCredentials):
        method = credentials.method.lower()
        update: dict = {"method": method}
        if method == "session":
            parameters = dict(credentials.server_side_parameters or {})
            folder = parameters.get("spark.sql.warehouse.dir", "spark-warehouse")
            if "://" not in str(folder):
                parameters["spark.sql.warehouse.dir"] = str((project_dir / str(folder)).resolve())
            update["server_side_parameters"] = parameters
        return credentials.model_copy(update=update)
    return credentials


def _profile_environment():
    """Jinja for profiles.yml with dbt's filters: as_number, as_bool, as_native, as_text."""
    env = make_environment()
    for name in ("as_number", "as_bool", "as_native", "as_text"):
        env.filters[name] = lambda value: value
    return env


def _native(rendered: str, template: str):
    """`{{ ... | as_number }}` (as_bool, as_native) gives a number (a boolean, a value), as in dbt."""
    if not any(f in template for f in ("as_number", "as_bool", "as_native")):
        return rendered
    from ruamel.yaml import YAML
    try:
        value = YAML(typ="safe").load(rendered)
    except Exception:  # not a YAML scalar: keep the text
        return rendered
    return value if isinstance(value, (int, float, bool)) or "as_native" in template else rendered


def missing_duckdb_file(target: Target) -> str | None:
    """The path of the target's DuckDB file when it does not exist yet (only `build` creates one)."""
    if target.type != "duckdb":
        return None
    path = target.credentials.path
    if path == ":memory:" or path.startswith("md:") or Path(path).exists():
        return None
    return path


def require_existing_warehouse(target: Target) -> None:
    """Refuse a DuckDB file that does not exist yet: only `segw build` may create it."""
    path = missing_duckdb_file(target)
    if path is None:
        return
    raise SegwError(f"no warehouse at {path}; run `segw build` first to create it", target.location,
                    "or fix `path:` of the target in profiles.yml")
