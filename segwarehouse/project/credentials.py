"""Typed credentials of each warehouse type: the keys dbt's adapter takes, their types and defaults.

profiles.py renders a target's values (env_var) and hands them to `parse_credentials`, which
translates dbt's aliases (`pass` -> `password`, `dbname` -> `database`, ...), validates them with
the type's pydantic model and turns every mistake into a SegwError at the key's profiles.yml line:
an unknown key (with a did-you-mean), a wrong type, a missing required key. Adapters read the
model's typed fields (`target.credentials.host`), never dict keys. Compile-only types (Snowflake,
BigQuery, Databricks, Redshift, Trino, ClickHouse) allow extra keys: we never connect to them in CI, and their
dbt adapters take many more options than we read. This module lives in project loading (not in
warehouse/) because loading validates profiles and may not import adapters; adapters only read the
attributes of the model they are given."""
from __future__ import annotations

from typing import Annotated, Any, Callable, ClassVar, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..errors import Location, SegwError, did_you_mean


def _no_bool(value):
    """YAML's `true` is not a port or a number of threads (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError("a boolean")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _numbers_to_text(value):
    """`password: 1234` or `database: 2024` in YAML is a number; the driver wants text."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Whole = Annotated[int, BeforeValidator(_no_bool)]


def _port(default):
    return Field(default, ge=1, le=65535, description="a whole number from 1 to 65535", examples=["5432"])


def _count(default):
    return Field(default, ge=0, description="a whole number (0 or more)")


def _secret(default=None):
    return Field(default, repr=False)  # never in a repr, a log line or a traceback


Text = Annotated[str, BeforeValidator(_numbers_to_text)]  # a number is taken as its text
Name = str  # host, user, path: a number here is a mistake ("quote the value")
Scalar = Union[str, int, float, bool]


class Credentials(BaseModel):
    """Keys every target takes: `type` is read by profiles.py, `threads` and `schema` are dbt's."""
    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)

    ALIASES: ClassVar[dict[str, str]] = {}  # dbt's alternative spellings -> the key used here
    DEFAULT_SCHEMA: ClassVar[str] = "public"

    threads: Whole | None = Field(None, ge=1, le=1024, description="a whole number from 1 to 1024",
                                  examples=["4"])
    target_schema: Text | None = Field(None, alias="schema")
    retries: Any = None  # dbt's connection retries: accepted, not used (a run is retried by its scheduler)

    @property
    def schema_name(self) -> str:
        return self.target_schema or self.DEFAULT_SCHEMA

    def __repr_args__(self):
        """Secret keys are left out (`repr=False`); inside mappings (DuckDB's `settings`, a
        `remote:`) their values are starred, so a repr in a log or traceback shows no secret."""
        for name, value in super().__repr_args__():
            yield name, _starred(value)


def _starred(value):
    if isinstance(value, dict):
        return {k: "*****" if is_secret_key(str(k)) and v else _starred(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_starred(v) for v in value]
    return value


class DuckDBCredentials(Credentials):
    """dbt-duckdb's keys. segwarehouse uses path, config_options, settings, extensions and
    motherduck_token (for an `md:` path); the rest are accepted so a dbt profile loads as it is."""
    DEFAULT_SCHEMA: ClassVar[str] = "main"

    path: Name = ":memory:"
    database: Text | None = None
    config_options: dict[str, Scalar] | None = None
    settings: dict[str, Scalar] | None = None
    extensions: list[Union[str, dict[str, str]]] | None = None
    motherduck_token: Text | None = _secret()
    # accepted, not used by segwarehouse:
    secrets: list[dict[str, Any]] | None = None
    external_root: str = "."
    use_credential_provider: str | None = None
    attach: list[dict[str, Any]] | None = None
    filesystems: list[dict[str, Any]] | None = None
    remote: dict[str, Any] | None = None
    plugins: list[dict[str, Any]] | None = None
    disable_transactions: bool = False
    keep_open: bool = True
    module_paths: list[str] | None = None
    flights: dict[str, Any] | None = None
    is_ducklake: bool | None = None

    def connect_config(self) -> dict[str, Scalar]:
        """What duckdb.connect(config=...) takes: `config_options` and `settings` (dbt-duckdb SETs
        the latter after connecting; DuckDB takes both at connect), and the MotherDuck token."""
        config = {**(self.config_options or {}), **(self.settings or {})}
        if self.motherduck_token and self.path.startswith("md:"):
            config.setdefault("motherduck_token", self.motherduck_token)
        return config

    def extension_names(self) -> list[str]:
        """`extensions: [httpfs, {name: spatial, repo: ...}]` -> the names to load."""
        return [e if isinstance(e, str) else str(e.get("name", "")) for e in self.extensions or []]


class PostgresCredentials(Credentials):
    """dbt-postgres' keys (dbt requires host, user, password and port; here they default to a local
    server as libpq does). autocommit and retries are accepted, not used."""
    ALIASES: ClassVar[dict[str, str]] = {"pass": "password", "dbname": "database"}

    host: Name = "127.0.0.1"
    port: Whole = _port(5432)
    user: Name | None = None
    password: Text | None = _secret()
    database: Text | None = None
    connect_timeout: Whole = _count(10)
    role: Text | None = None
    search_path: Text | None = None
    keepalives_idle: Whole = _count(0)  # 0: the server's default
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    sslcert: Text | None = None
    sslkey: Text | None = None
    sslrootcert: Text | None = None
    application_name: Text = "segwarehouse"
    autocommit: bool | None = None

    def connect_args(self) -> dict[str, Any]:
        """libpq parameters beyond host, port, user, password and database."""
        args: dict[str, Any] = {"connect_timeout": self.connect_timeout,
                                "application_name": self.application_name}
        if self.keepalives_idle:
            args["keepalives_idle"] = self.keepalives_idle
        for key in ("sslmode", "sslcert", "sslkey", "sslrootcert"):
            if getattr(self, key) is not None:
                args[key] = getattr(self, key)
        if self.search_path:
            args["options"] = f"-c search_path={self.search_path.replace(' ', '')}"
        return args


class MySQLCredentials(Credentials):
    """dbt-mysql's and dbt-mariadb's keys; `schema` is a database here."""
    ALIASES: ClassVar[dict[str, str]] = {"server": "host", "username": "user", "UID": "user",
                                         "PWD": "password"}

    host: Name = "127.0.0.1"
    port: Whole = _port(3306)
    user: Name | None = None
    password: Text | None = _secret()
    database: Text | None = None  # accepted; a MySQL "database" is a schema, named by `schema`
    charset: Text | None = None  # accepted; connections are utf8mb4
    ssl_disabled: bool | None = None


SPARK_METHODS = ("session", "connect")


class SparkCredentials(Credentials):
    """dbt-spark's keys. `method` is session (an in-process SparkSession) or connect (Spark Connect,
    `host: sc://HOST:PORT`); `master` (ours) picks a session's master. The thrift/http/odbc keys are
    accepted so a dbt-spark profile loads; those methods are refused with a hint."""
    DEFAULT_SCHEMA: ClassVar[str] = "default"

    method: Text = "session"
    host: Text | None = None
    master: Text = "local[2]"
    server_side_parameters: dict[str, Scalar] | None = None
    database: Text | None = None
    port: Whole = _port(443)
    cluster: Text | None = None
    endpoint: Text | None = None
    token: Text | None = _secret()
    user: Text | None = None
    driver: Text | None = None
    auth: Text | None = None
    kerberos_service_name: Text | None = None
    organization: Text = "0"
    connection_string_suffix: Text | None = None
    connect_retries: Whole = _count(0)
    connect_timeout: Whole = _count(10)
    use_ssl: bool = False
    retry_all: bool = False


class CompileOnlyCredentials(Credentials):
    """Types we compile for and never connect to in CI: their dbt adapters take many more keys than
    we read, so extra keys are allowed; the ones we read are typed."""
    model_config = ConfigDict(extra="allow", populate_by_name=False, frozen=True)

    user: Text | None = None
    password: Text | None = _secret()
    database: Text | None = None
    host: Text | None = None
    port: Whole | None = _port(None)


class SnowflakeCredentials(CompileOnlyCredentials):
    account: Text | None = None
    warehouse: Text | None = None
    role: Text | None = None


class BigQueryCredentials(CompileOnlyCredentials):
    ALIASES: ClassVar[dict[str, str]] = {"dataset": "schema"}
    project: Text | None = None
    keyfile: Text | None = None
    keyfile_json: dict[str, Any] | None = _secret()
    method: Text | None = None
    location: Text | None = None


class DatabricksCredentials(CompileOnlyCredentials):
    http_path: Text | None = None
    token: Text | None = _secret()
    catalog: Text | None = None


CREDENTIALS: dict[str, type[Credentials]] = {
    "duckdb": DuckDBCredentials, "postgres": PostgresCredentials, "postgresql": PostgresCredentials,
    "mysql": MySQLCredentials, "mariadb": MySQLCredentials, "spark": SparkCredentials,
    "snowflake": SnowflakeCredentials, "bigquery": BigQueryCredentials,
    "databricks": DatabricksCredentials, "redshift": CompileOnlyCredentials, "trino": CompileOnlyCredentials,
    "clickhouse": CompileOnlyCredentials,
}


def accepted_keys(model: type[Credentials]) -> list[str]:
    """The keys a target of this model may have, as written in profiles.yml (aliases included)."""
    names = [field.alias or name for name, field in model.model_fields.items()]
    return sorted({*names, *model.ALIASES, "type"})


_SECRET_WORDS = ("password", "secret", "token", "private_key", "keyfile_json", "passphrase")


def is_secret_key(key: str) -> bool:
    """Keys whose values are masked in every message (`pass`, `password`, `token`, `*_secret*`...)."""
    key = str(key).lower()
    return key in ("pass", "pwd") or any(word in key for word in _SECRET_WORDS)


_PHRASES = (("int", "a whole number"), ("greater_than", "a whole number"), ("less_than", "a whole number"),
            ("string", "text"), ("bool", "true or false"), ("dict", "a mapping of names to values"),
            ("list", "a list"), ("float", "a number"), ("literal", "one of {expected}"),
            ("value_error", "{reason}"))


def parse_credentials(kind: str, values: dict, target: str, profile: str,
                      where: Callable[[str | None], Location | None]) -> Credentials:
    """Validate a target's rendered values (without `type`) as the model of `kind`. `where(key)` is
    the line of a key in profiles.yml (`where(None)`: the target's own line)."""
    model = CREDENTIALS.get(kind, CompileOnlyCredentials)
    known = set(accepted_keys(model))
    named, written = {}, {}  # key as the model names it -> value; -> the key as written
    for key, value in values.items():
        canonical = model.ALIASES.get(str(key), str(key))
        if value is None and canonical in known:
            continue  # `port:` with nothing after it: the default, as if the key were not there
        if canonical in named:
            alias = key if str(key) != canonical else written[canonical]
            raise SegwError(f"target '{target}' of profile '{profile}' sets `{canonical}` twice "
                            f"(as `{written[canonical]}` and `{key}`)", where(key),
                            f"keep one of them; `{alias}` is dbt's other name for `{canonical}`")
        named[canonical], written[canonical] = value, str(key)
    try:
        credentials = model.model_validate(named)
    except ValidationError as exc:
        order = {key: n for n, key in enumerate(named)}
        first = min(exc.errors(), key=lambda e: order.get(str(e["loc"][0]) if e["loc"] else "", -1))
        raise _error(model, kind, first, written, target, profile, where) from None
    if isinstance(credentials, SparkCredentials):
        _check_spark(credentials, target, where)
    if isinstance(credentials, DuckDBCredentials) and not credentials.path.strip():
        raise SegwError(f"`path` of target '{target}' is empty", where("path"),
                        "write a file name such as warehouse.duckdb, or :memory:")
    return credentials


def _error(model, kind, error, written, target, profile, where) -> SegwError:
    loc = [str(part) for part in error["loc"]]
    key = loc[0] if loc else None
    shown = written.get(key, key)
    if error["type"] == "extra_forbidden":
        keys = [k for k in accepted_keys(model) if k != "type"]
        return SegwError(f"unknown key '{shown}' in target '{target}' of profile '{profile}'", where(shown),
                         did_you_mean(str(shown), keys) or f"a {kind} target takes: {', '.join(keys)}")
    if error["type"] == "missing":
        return SegwError(f"target '{target}' of profile '{profile}' needs `{shown}`", where(None),
                         f"add `{shown}:` to the target")
    field = model.model_fields.get(key) if key else None
    if field is None:  # `target_schema` is written `schema`
        field = next((f for f in model.model_fields.values() if f.alias == key), None)
    wanted = field.description if field is not None and field.description else _phrase(error)
    path = ".".join([str(shown), *loc[1:]])
    message = f"`{path}` of target '{target}' must be {wanted}"
    value = error.get("input")
    if not is_secret_key(str(shown)) and isinstance(value, (str, int, float, bool)):
        message += f", got {value!r}"
    elif isinstance(value, (list, dict)):
        message += ", got a list" if isinstance(value, list) else ", got a mapping"
    examples = field.examples if field is not None and field.examples else None
    hint = (f"e.g. `{shown}: {examples[0]}`" if examples else
            "quote the value" if error["type"] == "string_type" and not isinstance(value, (list, dict))
            else f"write `{shown}:` as {wanted}")
    return SegwError(message, where(shown), hint)


def _phrase(error) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    for prefix, phrase in _PHRASES:
        if kind.startswith(prefix):
            return phrase.format(expected=context.get("expected", ""),
                                 reason=str(context.get("error", error.get("msg", ""))))
    return str(error.get("msg", "valid")).lower()


def _check_spark(credentials: SparkCredentials, target: str, where) -> None:
    """session or connect only; connect needs `host: sc://HOST:PORT`."""
    method = credentials.method.lower()
    if method not in SPARK_METHODS:
        hint = ("thrift, http and odbc connect to a Thrift server or a cluster: use `method: connect` "
                "with a Spark Connect server, or `type: databricks` for a Databricks SQL warehouse"
                if method in ("thrift", "http", "odbc") else did_you_mean(method, SPARK_METHODS)
                or f"one of {', '.join(SPARK_METHODS)}")
        raise SegwError(f"`method` of spark target '{target}' must be session or connect, got {method!r}",
                        where("method"), hint)
    if method == "connect" and not (credentials.host or "").startswith("sc://"):
        raise SegwError(f"spark target '{target}' with `method: connect` needs `host: sc://HOST:PORT`",
                        where("host") if credentials.host is not None else where("method"),
                        "the address of a Spark Connect server, e.g. `host: sc://spark.internal:15002`")
