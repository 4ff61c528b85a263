"""Every dialect quirk in one place: our semantic nodes and the fixes sqlglot needs per dialect."""
from __future__ import annotations

import contextvars
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel

DIALECTS = ("duckdb", "postgres", "mysql", "snowflake", "bigquery", "databricks", "redshift", "trino",
            "clickhouse")


class HexToInt(exp.Expression, exp.Func):
    """An 8-digit lower-case hex string read as a non-negative integer (for splits)."""
    arg_types = {"this": True}


class CaseSensitive(exp.Expression, exp.Func):
    """Marks a text literal whose comparison must respect case whatever the column's collation.
    `collation`: the exact (binary, NO PAD) collation of the server, set by its adapter."""
    arg_types = {"this": True, "collation": False}


class FilteredAgg(exp.Expression, exp.Func):
    """An aggregate over only the rows where a condition holds: `this` is the aggregate
    (COUNT(*), SUM(x), COUNT(DISTINCT x), ...), `expression` the condition."""
    arg_types = {"this": True, "expression": True}


def _case_aggregate(aggregate: exp.Expression, condition: exp.Expression) -> exp.Expression:
    """AGG(CASE WHEN condition THEN x END): the portable form of AGG(x) FILTER (WHERE condition)."""
    aggregate = aggregate.copy()
    inner = aggregate.this
    if isinstance(inner, exp.Star):
        aggregate.set("this", exp.Case().when(condition.copy(), exp.Literal.number(1)))
    elif isinstance(inner, exp.Distinct):
        inner.set("expressions", [exp.Case().when(condition.copy(), inner.expressions[0])])
    else:
        aggregate.set("this", exp.Case().when(condition.copy(), inner))
    return aggregate


# How each dialect writes an aggregate over the rows where a condition holds. FILTER lets DuckDB
# and PostgreSQL skip the other rows before aggregating; every engine understands the CASE form.
FILTER_CLAUSE = ("duckdb", "postgres")


# Marks (in a Select's meta) a grouped scan of a relation with about one group per entity key.
# MariaDB/MySQL otherwise read such a scan through an index on the grouped column, to get the rows
# in group order, and fetch every row by a random lookup (minutes at 4M rows when the table is not
# in memory), or group into a temporary table that spills to disk: SQL_BIG_RESULT makes them read
# the table once and sort (seconds).
MANY_GROUPS = "segw_many_groups"


def many_groups(select: exp.Select) -> exp.Select:
    """The grouped scan `select`, marked as having about one group per entity key (see MANY_GROUPS)."""
    select.meta[MANY_GROUPS] = True
    return select


class TimeColumn(exp.Expression, exp.Func):
    """A DATE or timestamp column compared with timestamp values (as_of, windows, literals)."""
    arg_types = {"this": True}


# Engines whose sessions run in UTC and that compare a DATE (as midnight), a naive timestamp and a
# zoned timestamp with a TIMESTAMP literal exactly as CAST(column AS TIMESTAMP) would: there the
# column stays bare, so an index on it can be used. Elsewhere (not executed in our tests) the
# column is cast, as before, so the types always match.
BARE_TIME_COLUMNS = ("duckdb", "postgres", "mysql")


# Dialects whose generator writes a plain tree (only nodes the compiler made, no parsed `sql:`)
# without rewriting it, so the same tree can be written twice without a copy (checked on every
# example segment by tests/unit/test_compile_reuse.py). Snowflake, for one, rewrites DATE_SUB in place.
WRITES_PLAIN_TREES_AS_IS = ("duckdb", "postgres", "mysql")


class UtcNow(exp.Expression, exp.Func):
    """The current time as a timestamp without time zone, in UTC (live view segments)."""
    arg_types = {}


def _lit(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _cast(value: exp.Expression, to: str) -> exp.Cast:
    return exp.Cast(this=value, to=exp.DataType.build(to))


def _concat(*parts: exp.Expression) -> exp.Concat:
    return exp.Concat(expressions=list(parts), safe=True)


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


# How each dialect reads an 8-digit hex string as an integer.
HEX_TO_INT = {
    "duckdb": lambda x: _cast(_concat(_lit("0x"), x), "BIGINT"),
    "postgres": lambda x: _cast(exp.Cast(this=_concat(_lit("x"), x),
                                         to=exp.DataType.build("BIT(32)", dialect="postgres")), "BIGINT"),
    "mysql": lambda x: exp.Cast(this=_fn("CONV", x, exp.Literal.number(16), exp.Literal.number(10)),
                                to=exp.DataType.build("UNSIGNED", dialect="mysql")),
    "snowflake": lambda x: _fn("TO_NUMBER", x, _lit("XXXXXXXX")),
    "bigquery": lambda x: _cast(_concat(_lit("0x"), x), "BIGINT"),
    "databricks": lambda x: _cast(_fn("CONV", x, exp.Literal.number(16), exp.Literal.number(10)), "BIGINT"),
    "redshift": lambda x: _fn("STRTOL", x, exp.Literal.number(16)),
    "trino": lambda x: _fn("FROM_BASE", x, exp.Literal.number(16)),
    "clickhouse": lambda x: _fn("reinterpretAsUInt32", exp.Reverse(this=exp.Unhex(this=x))),
}

# The current UTC time as a naive timestamp.
UTC_NOW = {
    "duckdb": lambda: _cast(exp.AtTimeZone(this=exp.CurrentTimestamp(), zone=_lit("UTC")), "TIMESTAMP"),
    "postgres": lambda: exp.AtTimeZone(this=exp.CurrentTimestamp(), zone=_lit("UTC")),
    "mysql": lambda: _fn("UTC_TIMESTAMP", exp.Literal.number(6)),
    "snowflake": lambda: _fn("SYSDATE"),
    "bigquery": lambda: _fn("CURRENT_DATETIME", _lit("UTC")),
    "databricks": lambda: _fn("TO_UTC_TIMESTAMP", exp.CurrentTimestamp(), _fn("CURRENT_TIMEZONE")),
    "redshift": lambda: _fn("GETDATE"),
    "trino": lambda: _cast(exp.AtTimeZone(this=exp.CurrentTimestamp(), zone=_lit("UTC")), "TIMESTAMP"),
    "clickhouse": lambda: _fn("now64", exp.Literal.number(6), _lit("UTC")),
}


def _mysql_regexp(self, expression: exp.RegexpLike) -> str:
    # MariaDB has no REGEXP_LIKE(); the REGEXP operator works on MySQL and MariaDB alike.
    return f"{self.sql(expression, 'this')} REGEXP {self.sql(expression, 'expression')}"


def _mysql_datatype(base):
    def datatype(self, expression: exp.DataType) -> str:
        # CAST(x AS DATETIME) drops fractional seconds in MySQL; keep microseconds like other engines.
        if expression.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME) \
                and not expression.expressions:
            return "DATETIME(6)"
        return base(self, expression)
    return datatype


def _clickhouse_datatype(base):
    def datatype(self, expression: exp.DataType) -> str:
        # ClickHouse's DateTime (sqlglot's TIMESTAMP) keeps whole seconds, and a literal is read in
        # the server's time zone: timestamps are DateTime64(6, 'UTC'), microseconds in UTC as elsewhere.
        if expression.this == exp.DataType.Type.TIMESTAMP and not expression.expressions:
            expression = exp.DataType(this=exp.DataType.Type.DATETIME64, nullable=expression.args.get("nullable"),
                                      expressions=[exp.DataTypeParam(this=exp.Literal.number(6)),
                                                   exp.DataTypeParam(this=exp.Literal.string("UTC"))])
        return base(self, expression)
    return datatype


# ClickHouse fills the columns of an unmatched LEFT JOIN row with their type's default ('' or 0),
# not NULL, unless join_use_nulls is set: `in_list` (the list key IS NOT NULL) would match everyone.
CLICKHOUSE_SETTINGS = {"join_use_nulls": 1}


def _clickhouse_generate(base):
    def generate(self, expression: exp.Expression, copy: bool = True) -> str:
        query = expression.expression if isinstance(expression, (exp.Insert, exp.Create)) else expression
        if isinstance(query, exp.Select) and not query.args.get("settings"):
            if copy:
                expression, copy = expression.copy(), False
                query = expression.expression if isinstance(expression, (exp.Insert, exp.Create)) else expression
            query.set("settings", [exp.EQ(this=exp.var(name), expression=exp.Literal.number(value))
                                   for name, value in CLICKHOUSE_SETTINGS.items()])
        return base(self, expression, copy=copy)
    return generate


# ClickHouse's lower/upper/left/right/length work on bytes (ASCII case only); the UTF8 variants
# count characters and fold every letter's case, as the other engines do.
CLICKHOUSE_UTF8 = {exp.Lower: "lowerUTF8", exp.Upper: "upperUTF8", exp.Left: "leftUTF8",
                   exp.Right: "rightUTF8", exp.Length: "lengthUTF8"}


def _clickhouse_utf8(name: str):
    return lambda self, e: self.func(name, e.this, e.args.get("expression"))


def _snowflake_regexp(self, expression: exp.RegexpLike) -> str:
    # Snowflake's REGEXP_LIKE/RLIKE must match the whole value; `matches` searches anywhere.
    # REGEXP_INSTR finds the first match anywhere (0 when there is none).
    found = _fn("REGEXP_INSTR", expression.this.copy(), expression.expression.copy())
    return self.sql(exp.GT(this=found, expression=exp.Literal.number(0)))


def _interval_shift(base_sql, sign: int):
    """Spark/Databricks DATE_ADD(ts, n) adds days and returns a DATE. A shift of the live clock
    (`within_last: 2 hours` in a view) is written as timestamp +/- INTERVAL, keeping its unit and
    its timestamp type; other date arithmetic (from `sql:` conditions) is left as sqlglot writes it."""
    def shift(self, expression) -> str:
        if not isinstance(expression.this, UtcNow):
            return base_sql(self, expression)
        unit = expression.args.get("unit")
        interval = exp.Interval(this=exp.Literal.string(str(expression.expression.name)),
                                unit=exp.var(unit.name if unit is not None else "DAY"))
        node = exp.Add if sign > 0 else exp.Sub
        return self.sql(exp.Paren(this=node(this=expression.this.copy(), expression=interval)))
    return shift


@dataclass(frozen=True)
class Quoting:
    """dbt's `quoting:` config: whether database, schema and relation names are quoted as written.
    Unquoted names are folded as the warehouse folds them (Snowflake: to upper case); column
    names follow `identifier`, like the unquoted columns dbt models create."""
    database: bool = True
    schema: bool = True
    identifier: bool = True


# dbt's defaults per adapter: dbt-snowflake quotes nothing, so tables dbt built are stored upper-case.
DEFAULT_QUOTING = {"snowflake": Quoting(False, False, False)}
_QUOTING: contextvars.ContextVar[dict[str, Quoting]] = contextvars.ContextVar("segw_quoting", default={})
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")


def quoting(dialect_name: str) -> Quoting:
    return _QUOTING.get().get(dialect_name) or DEFAULT_QUOTING.get(dialect_name, Quoting())


def use_project_quoting(dialect_name: str, database: bool | None, schema: bool | None,
                        identifier: bool | None) -> None:
    """A project's `quoting:` for the rest of this context (each loaded project sets it anew)."""
    default = DEFAULT_QUOTING.get(dialect_name, Quoting())
    chosen = Quoting(default.database if database is None else database,
                     default.schema if schema is None else schema,
                     default.identifier if identifier is None else identifier)
    _QUOTING.set({dialect_name: chosen} if chosen != default else {})


@contextmanager
def quoting_config(dialect_name: str, config: Quoting):
    """Compile with a project's `quoting:` config instead of the dialect's default."""
    token = _QUOTING.set({**_QUOTING.get(), dialect_name: config})
    try:
        yield
    finally:
        _QUOTING.reset(token)


def _folding_identifiers(name: str, base):
    """identifier_sql/table_parts for a warehouse that folds unquoted names to upper case: a name
    dbt would leave unquoted is written as the warehouse stores it ("CUSTOMERS"), still quoted so
    that reserved words stay names. Names that need quotes anyway (spaces, dashes) stay as written."""
    def fold(self, identifier: exp.Identifier, quoted: bool) -> exp.Identifier:
        if quoted or not identifier.quoted or not PLAIN_NAME.match(identifier.name):
            return identifier
        return exp.to_identifier(identifier.name.upper(), quoted=True)

    def table_parts(self, expression: exp.Table) -> str:
        config = quoting(name)
        parts = []
        for part, keep in (("catalog", config.database), ("db", config.schema), ("this", config.identifier)):
            value = expression.args.get(part)
            if value is None:
                continue
            parts.append(self.sql(fold(self, value, keep) if isinstance(value, exp.Identifier) else value))
        return ".".join(parts)

    def identifier_sql(self, expression: exp.Identifier) -> str:
        return base.identifier_sql(self, fold(self, expression, quoting(name).identifier))

    return {"table_parts": table_parts, "identifier_sql": identifier_sql}


def _filter_clause(self, expression: FilteredAgg) -> str:
    """AGG(x) FILTER(WHERE condition), written from the aggregate and condition themselves (no
    copies: a cold compile writes many), which are then handed back to the FilteredAgg."""
    aggregate, condition = expression.this, expression.expression
    try:
        return self.sql(exp.Filter(this=aggregate, expression=exp.Where(this=condition)))
    finally:
        expression.set("this", aggregate)
        expression.set("expression", condition)


def _mysql_select(base_sql):
    def select_sql(self, expression: exp.Select) -> str:
        if not expression.meta.get(MANY_GROUPS) or expression.args.get("operation_modifiers"):
            return base_sql(self, expression)
        expression.set("operation_modifiers", [exp.var("SQL_BIG_RESULT")])
        try:
            return base_sql(self, expression)
        finally:
            expression.set("operation_modifiers", None)
    return select_sql


def _dialect_transforms(name: str, base: type[Dialect]) -> dict:
    transforms = {
        HexToInt: lambda self, e: self.sql(HEX_TO_INT[name](e.this)),
        UtcNow: lambda self, e: self.sql(UTC_NOW[name]()),
        CaseSensitive: lambda self, e: self.sql(e, "this"),
        TimeColumn: (lambda self, e: self.sql(e, "this")) if name in BARE_TIME_COLUMNS
        else (lambda self, e: self.sql(_cast(e.this.copy(), "TIMESTAMP"))),
        FilteredAgg: _filter_clause if name in FILTER_CLAUSE
        else (lambda self, e: self.sql(_case_aggregate(e.this, e.expression))),
    }
    if name == "mysql":
        # COLLATE, not BINARY: BINARY would make LEFT/RIGHT/LOCATE count bytes, not characters.
        # On the literal: an explicit collation wins the coercibility contest against a text
        # column, and a DATE/DATETIME column compares with the string as a temporal value.
        transforms[CaseSensitive] = lambda self, e: (
            f"({self.sql(e, 'this')} COLLATE {e.args.get('collation') or 'utf8mb4_bin'})")
        transforms[exp.RegexpLike] = _mysql_regexp
    if name == "snowflake":
        transforms[exp.RegexpLike] = _snowflake_regexp
    if name == "clickhouse":
        transforms.update({node: _clickhouse_utf8(function) for node, function in CLICKHOUSE_UTF8.items()})
    if name == "databricks":
        transforms[exp.DateAdd] = _interval_shift(base.Generator.TRANSFORMS[exp.DateAdd], +1)
        transforms[exp.DateSub] = _interval_shift(base.Generator.TRANSFORMS[exp.DateSub], -1)
    return transforms


@lru_cache(maxsize=None)
def dialect(name: str) -> Dialect:
    """Our subclass of sqlglot's dialect `name`, which knows segwarehouse's semantic nodes."""
    if name not in DIALECTS:
        raise ValueError(name)
    base = type(Dialect.get_or_raise(name))
    generator_attrs = {"TRANSFORMS": {**base.Generator.TRANSFORMS, **_dialect_transforms(name, base)}}
    if name == "mysql":
        generator_attrs["datatype_sql"] = _mysql_datatype(base.Generator.datatype_sql)
        generator_attrs["select_sql"] = _mysql_select(base.Generator.select_sql)
    if name == "snowflake":
        generator_attrs.update(_folding_identifiers(name, base.Generator))
    if name == "clickhouse":
        generator_attrs["datatype_sql"] = _clickhouse_datatype(base.Generator.datatype_sql)
        generator_attrs["generate"] = _clickhouse_generate(base.Generator.generate)
    generator = type("Generator", (base.Generator,), generator_attrs)
    cls = type(f"Segw{base.__name__}", (base,), {"Generator": generator})
    return cls()


def to_sql(expression: exp.Expression, dialect_name: str, pretty: bool = False, copy: bool = True) -> str:
    """Write an expression in a dialect, refusing anything sqlglot cannot translate faithfully.
    copy=False (faster) lets sqlglot's generator rewrite the tree in place: only for a tree that is
    built for this one call and has no node shared between two parents."""
    return dialect(dialect_name).generate(expression, copy=copy, pretty=pretty,
                                          unsupported_level=ErrorLevel.RAISE)
