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
    "spark": "databricks",  # Spark SQL: sqlglot's Databricks dialect, run by the Spark adapter
}
SPARK_METHODS = ("session", "connect")
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
    settings = {}
    for key, value in raw.items():
        if isinstance(value, str):
            value = _native(render(env, value, doc.at(raw, key)), value)
            if str(key) in SECRET_KEYS:
                SECRETS.add(value)
        settings[str(key)] = value
    kind = str(settings.pop("type", "")).lower()
    if kind not in ENGINE_DIALECTS:
        raise SegwError(f"unknown warehouse type {kind!r} in target '{name}'", location,
                        did_you_mean(kind, ENGINE_DIALECTS) or
                        f"supported: {', '.join(sorted(set(ENGINE_DIALECTS)))}")
    _check_settings(kind, str(name), settings, lambda key: doc.at(raw, key))
    schema = settings.pop("schema", None) or settings.get("dataset") or (
        "main" if kind == "duckdb" else "default" if kind == "spark" else "public")
    if kind == "spark":
        _resolve_spark_dirs(project_dir, settings)
    if kind == "duckdb" and "path" in settings and settings["path"] != ":memory:":
        settings["path"] = str((project_dir / str(settings["path"])).resolve())
    return Target(profile_name, str(name), kind, str(schema), settings, location)


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


TEXT_KEYS = ("host", "user", "username", "dbname", "database", "schema", "path", "role", "warehouse",
             "account", "project", "dataset", "http_path", "catalog", "sslmode", "method", "master")


def _check_settings(kind: str, target: str, settings: dict, where) -> None:
    """Typed keys of a target: a wrong type is reported at its profiles.yml line, not a traceback."""
    for key in ("port", "threads"):
        if key not in settings or settings[key] is None:
            continue
        value = settings[key]
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        low, high = (1, 65535) if key == "port" else (1, 1024)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SegwError(f"`{key}` of target '{target}' must be a whole number from {low} to {high}, "
                            f"got {settings[key]!r}", where(key),
                            "e.g. `port: 5432`" if key == "port" else "e.g. `threads: 4`")
        settings[key] = value
    for key in TEXT_KEYS:
        if key in settings and settings[key] is not None and not isinstance(settings[key], (str, int)):
            got = "a list" if isinstance(settings[key], list) else "a mapping" if isinstance(
                settings[key], dict) else type(settings[key]).__name__
            raise SegwError(f"`{key}` of target '{target}' must be text, got {got}",
                            where(key), f"write `{key}: value` with one value")
        if key in settings and isinstance(settings[key], (int, bool)) and key in ("path", "host", "user"):
            raise SegwError(f"`{key}` of target '{target}' must be text, got {settings[key]!r}",
                            where(key), "quote the value")
    for key in SECRET_KEYS:
        if key in settings and isinstance(settings[key], (list, dict)):
            raise SegwError(f"`{key}` of target '{target}' must be text", where(key), "quote the value")
    if kind == "spark":
        _check_spark(target, settings, where)
    if kind == "duckdb" and "path" in settings and not str(settings["path"]).strip():
        raise SegwError(f"`path` of target '{target}' is empty", where("path"),
                        "write a file name such as warehouse.duckdb, or :memory:")


def _check_spark(target: str, settings: dict, where) -> None:
    """dbt-spark's keys: `method` (session or connect here), `host` (sc://host:port for connect),
    `server_side_parameters` (Spark settings as a mapping)."""
    method = str(settings.get("method", "session")).lower()
    if method not in SPARK_METHODS:
        hint = ("thrift, http and odbc connect to a Thrift server or a cluster: use `method: connect` "
                "with a Spark Connect server, or `type: databricks` for a Databricks SQL warehouse"
                if method in ("thrift", "http", "odbc") else did_you_mean(method, SPARK_METHODS)
                or f"one of {', '.join(SPARK_METHODS)}")
        raise SegwError(f"`method` of spark target '{target}' must be session or connect, got {method!r}",
                        where("method"), hint)
    settings["method"] = method
    if method == "connect":
        host = settings.get("host")
        if not isinstance(host, str) or not host.startswith("sc://"):
            raise SegwError(f"spark target '{target}' with `method: connect` needs `host: sc://HOST:PORT`",
                            where("host") if "host" in settings else where("method"),
                            "the address of a Spark Connect server, e.g. `host: sc://spark.internal:15002`")
    parameters = settings.get("server_side_parameters")
    if parameters is not None and not (isinstance(parameters, dict) and all(
            isinstance(v, (str, int, float, bool)) for v in parameters.values())):
        raise SegwError(f"`server_side_parameters` of spark target '{target}' must map Spark settings "
                        "to values", where("server_side_parameters"),
                        'e.g. `server_side_parameters: {"spark.driver.memory": "4g"}`')


def _resolve_spark_dirs(project_dir: Path, settings: dict) -> None:
    """A local session's warehouse directory is relative to the project, like DuckDB's `path`."""
    if settings.get("method") != "session":
        return
    parameters = dict(settings.get("server_side_parameters") or {})
    folder = parameters.get("spark.sql.warehouse.dir", "spark-warehouse")
    if "://" not in str(folder):
        parameters["spark.sql.warehouse.dir"] = str((project_dir / str(folder)).resolve())
    settings["server_side_parameters"] = parameters


def missing_duckdb_file(target: Target) -> str | None:
    """The path of the target's DuckDB file when it does not exist yet (only `build` creates one)."""
    if target.type != "duckdb":
        return None
    path = str(target.settings.get("path", ":memory:"))
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
