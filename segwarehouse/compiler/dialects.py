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


@dataclass(frozen=True)
class Node:
    """One of segwarehouse's semantic nodes, which each dialect writes its own way (see to_sql).

    sqlglot's compiled build (sqlglotc, which `sqlglot[c]` installs and sqlglot loads whenever it is
    there) admits no subclass of its expressions or generators. So a node is a call of a function
    with a reserved name, marked in its meta (a `sql:` condition's own function of that name is not
    ours), and its arguments in the order of `args`; to_sql replaces it just before writing."""
    name: str
    args: tuple[str, ...]

    def __call__(self, **values: exp.Expression | None) -> exp.Anonymous:
        unknown = set(values) - set(self.args)
        if unknown:
            raise TypeError(f"{self.name} takes {', '.join(self.args)}, not {', '.join(sorted(unknown))}")
        given = [values.get(arg) for arg in self.args]
        while given and given[-1] is None:  # trailing optional arguments
            given.pop()
        node = exp.Anonymous(this=self.name, expressions=given)
        node.meta[_NODE] = self.name
        return node

    def is_(self, node: exp.Expression | None) -> bool:
        return type(node) is exp.Anonymous and node.meta.get(_NODE) == self.name

    def arg(self, node: exp.Anonymous, name: str) -> exp.Expression | None:
        values = node.expressions
        index = self.args.index(name)
        return values[index] if index < len(values) else None

    def set(self, node: exp.Anonymous, name: str, value: exp.Expression) -> None:
        values = list(node.expressions)
        index = self.args.index(name)
        values.extend([exp.null()] * (index + 1 - len(values)))
        values[index] = value
        node.set("expressions", values)

    def find_all(self, tree: exp.Expression):
        return (node for node in tree.find_all(exp.Anonymous) if self.is_(node))


_NODE = "segw_node"  # meta key of our nodes: the node's name

# An 8-digit lower-case hex string read as a non-negative integer (for splits).
HexToInt = Node("SEGW_HEX_TO_INT", ("this",))
# Marks a text literal whose comparison must respect case whatever the column's collation.
# `collation`: the exact (binary, NO PAD) collation of the server, set by its adapter.
CaseSensitive = Node("SEGW_CASE_SENSITIVE", ("this", "collation"))
# An aggregate over only the rows where a condition holds: `this` is the aggregate (COUNT(*),
# SUM(x), COUNT(DISTINCT x), ...), `expression` the condition.
FilteredAgg = Node("SEGW_FILTERED_AGG", ("this", "expression"))


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


# A DATE or timestamp column compared with timestamp values (as_of, windows, literals).
TimeColumn = Node("SEGW_TIME_COLUMN", ("this",))


# Engines whose sessions run in UTC and that compare a DATE (as midnight), a naive timestamp and a
# zoned timestamp with a TIMESTAMP literal exactly as CAST(column AS TIMESTAMP) would: there the
# column stays bare, so an index on it can be used. Elsewhere (not executed in our tests) the
# column is cast, as before, so the types always match.
BARE_TIME_COLUMNS = ("duckdb", "postgres", "mysql")


# Dialects whose generator writes a plain tree (only nodes the compiler made, no parsed `sql:`)
# without rewriting it, so the same tree can be written twice without a copy (checked on every
# example segment by tests/unit/test_compile_reuse.py). Snowflake, for one, rewrites DATE_SUB in place.
WRITES_PLAIN_TREES_AS_IS = ("duckdb", "postgres", "mysql")


# The current time as a timestamp without time zone, in UTC (live view segments).
UtcNow = Node("SEGW_UTC_NOW", ())


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


# How each dialect writes a node of ours (`to_sql`); `node.expressions` are its arguments in order,
# read when the node is written (a node of ours inside it may have been written first).
def _node_writer(name: str, node: exp.Anonymous):
    kind = node.meta[_NODE]
    arg = lambda index: node.expressions[index]  # noqa: E731
    if kind == HexToInt.name:
        return lambda: HEX_TO_INT[name](arg(0))
    if kind == UtcNow.name:
        return UTC_NOW[name]
    if kind == CaseSensitive.name:
        if name == "mysql":
            # COLLATE, not BINARY: BINARY would make LEFT/RIGHT/LOCATE count bytes, not characters.
            # On the literal: an explicit collation wins the coercibility contest against a text
            # column, and a DATE/DATETIME column compares with the string as a temporal value.
            # COLLATE binds before every other operator: no parentheses needed.
            return lambda: exp.Collate(this=arg(0), expression=CaseSensitive.arg(node, "collation")
                                       or exp.var("utf8mb4_bin"))
        return lambda: arg(0)
    if kind == TimeColumn.name:
        return (lambda: arg(0)) if name in BARE_TIME_COLUMNS else (lambda: _cast(arg(0), "TIMESTAMP"))
    if kind == FilteredAgg.name:
        if name in FILTER_CLAUSE:
            return lambda: exp.Filter(this=arg(0), expression=exp.Where(this=arg(1)))
        return lambda: _case_aggregate(arg(0), arg(1))
    raise ValueError(f"unknown node {kind}")


def _regexp_search(name: str, node: exp.RegexpLike):
    # MariaDB has no REGEXP_LIKE(), and Snowflake's must match the whole value; `matches` searches
    # anywhere: REGEXP_INSTR finds the first match anywhere (0 when there is none, NULL on NULL).
    return lambda: exp.GT(this=_fn("REGEXP_INSTR", node.this, node.expression), expression=exp.Literal.number(0))


_MYSQL_DATETIME = exp.DataType.build("DATETIME(6)", dialect="mysql")  # parsed once: every cast asks


def _mysql_datatype(name: str, node: exp.DataType):
    # CAST(x AS DATETIME) drops fractional seconds in MySQL; keep microseconds like other engines.
    if node.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME) and not node.expressions:
        return _MYSQL_DATETIME.copy
    return None


def _mysql_select(name: str, node: exp.Select):
    if not node.meta.get(MANY_GROUPS) or node.args.get("operation_modifiers"):
        return None

    def mark() -> exp.Select:
        node.set("operation_modifiers", [exp.var("SQL_BIG_RESULT")])
        return node
    return mark


def _clickhouse_datatype(name: str, node: exp.DataType):
    # ClickHouse's DateTime (sqlglot's TIMESTAMP) keeps whole seconds, and a literal is read in
    # the server's time zone: timestamps are DateTime64(6, 'UTC'), microseconds in UTC as elsewhere.
    if node.this != exp.DataType.Type.TIMESTAMP or node.expressions:
        return None
    return lambda: exp.DataType(this=exp.DataType.Type.DATETIME64, nullable=node.args.get("nullable"),
                                expressions=[exp.DataTypeParam(this=exp.Literal.number(6)),
                                             exp.DataTypeParam(this=exp.Literal.string("UTC"))])


# ClickHouse fills the columns of an unmatched LEFT JOIN row with their type's default ('' or 0),
# not NULL, unless join_use_nulls is set: `in_list` (the list key IS NOT NULL) would match everyone.
CLICKHOUSE_SETTINGS = {"join_use_nulls": 1}


def _clickhouse_settings(root: exp.Expression):
    """The outermost query takes the settings (a CREATE or INSERT: the query it holds)."""
    query = root.expression if isinstance(root, (exp.Insert, exp.Create)) else root
    if not isinstance(query, exp.Select) or query.args.get("settings"):
        return None

    def settle() -> exp.Select:
        query.set("settings", [exp.EQ(this=exp.var(name), expression=exp.Literal.number(value))
                               for name, value in CLICKHOUSE_SETTINGS.items()])
        return query
    return query, settle


# ClickHouse's lower/upper/left/right/length work on bytes (ASCII case only); the UTF8 variants
# count characters and fold every letter's case, as the other engines do.
CLICKHOUSE_UTF8 = {exp.Lower: "lowerUTF8", exp.Upper: "upperUTF8", exp.Left: "leftUTF8",
                   exp.Right: "rightUTF8", exp.Length: "lengthUTF8"}


def _clickhouse_utf8(name: str, node: exp.Func):
    function = CLICKHOUSE_UTF8[type(node)]
    return lambda: _fn(function, *[a for a in (node.this, node.args.get("expression")) if a is not None])


def _live_clock_shift(name: str, node: exp.DateAdd | exp.DateSub):
    """Spark/Databricks DATE_ADD(ts, n) adds days and returns a DATE. A shift of the live clock
    (`within_last: 2 hours` in a view) is written as timestamp +/- INTERVAL, keeping its unit and
    its timestamp type; other date arithmetic (from `sql:` conditions) is left as sqlglot writes it."""
    if not UtcNow.is_(node.this):
        return None
    unit = node.args.get("unit")
    interval = exp.Interval(this=exp.Literal.string(str(node.expression.name)),
                            unit=exp.var(unit.name if unit is not None else "DAY"))
    shift = exp.Add if isinstance(node, exp.DateAdd) else exp.Sub
    return lambda: exp.Paren(this=shift(this=node.this, expression=interval))


def _folded_identifier(name: str, node: exp.Identifier):
    """Snowflake folds unquoted names to upper case: a name dbt would leave unquoted is written as
    the warehouse stores it ("CUSTOMERS"), still quoted so that reserved words stay names. Names
    that need quotes anyway (spaces, dashes) stay as written. A table's parts follow `database`,
    `schema` and `identifier` of the `quoting:` config (and `identifier` too, as columns do)."""
    if not node.quoted or not PLAIN_NAME.match(node.name):
        return None
    config = quoting(name)
    keep = config.identifier
    if keep and type(node.parent) is exp.Table:
        keep = {"catalog": config.database, "db": config.schema, "this": config.identifier}.get(node.arg_key, True)
    if keep:
        return None
    return lambda: exp.to_identifier(node.name.upper(), quoted=True)


def _rules(name: str, fixes: bool) -> dict:
    """node type -> rule(dialect, node): None, or a function that builds what the node is written as
    (from the node's own parts; it may also change the node in place and return it)."""
    rules: dict = {exp.Anonymous: lambda dialect_name, node: (
        _node_writer(dialect_name, node) if node.meta.get(_NODE) else None)}
    if not fixes:
        return rules
    if name == "mysql":
        rules.update({exp.RegexpLike: _regexp_search, exp.DataType: _mysql_datatype, exp.Select: _mysql_select})
    if name == "snowflake":
        rules.update({exp.RegexpLike: _regexp_search, exp.Identifier: _folded_identifier})
    if name == "clickhouse":
        rules.update({node: _clickhouse_utf8 for node in CLICKHOUSE_UTF8})
        rules[exp.DataType] = _clickhouse_datatype
    if name == "databricks":
        rules.update({exp.DateAdd: _live_clock_shift, exp.DateSub: _live_clock_shift})
    return rules


_RULES = {(name, fixes): _rules(name, fixes) for name in DIALECTS for fixes in (True, False)}
_ROOT_RULES = {"clickhouse": _clickhouse_settings}


@lru_cache(maxsize=None)
def dialect(name: str) -> Dialect:
    """sqlglot's dialect `name` (one of DIALECTS)."""
    if name not in DIALECTS:
        raise ValueError(name)
    return Dialect.get_or_raise(name)


def to_sql(expression: exp.Expression, dialect_name: str, pretty: bool = False, copy: bool = True,
           fixes: bool = True) -> str:
    """Write an expression in a dialect, refusing anything sqlglot cannot translate faithfully.
    copy=False (faster) lets sqlglot's generator rewrite the tree in place: only for a tree that is
    built for this one call and has no node shared between two parents.

    Our nodes (and, with `fixes`, the dialect's fixes) are written by replacing them in the tree
    just before sqlglot writes it, deepest first, and putting them back after: the caller's tree
    is left as it was built (sqlglot's compiled build admits no subclass of its generators)."""
    generator = dialect(dialect_name)
    if copy:
        expression = expression.copy()
    rules = _RULES[dialect_name, fixes]
    planned = _plan(expression, dialect_name, rules)
    root_rule = _ROOT_RULES.get(dialect_name) if fixes else None
    if root_rule is not None:
        found = root_rule(expression)
        if found is not None:
            planned.insert(0, found)
    done: list = []  # (node, what it was written as, its arguments before)
    try:
        root = _rewrite(expression, planned, dialect_name, rules, done)
        return generator.generate(root, copy=False, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
    finally:
        for node, written, before in reversed(done):
            if written is not node and written.parent is not None:
                written.replace(node)
            for key in set(node.args) | set(before):
                node.set(key, before.get(key))  # also gives back the parts `written` took


def _plan(tree: exp.Expression, dialect_name: str, rules: dict, skip: set[int] | None = None) -> list:
    """(node, build) for each node of `tree` a rule rewrites, parents before children; `skip`: ids
    of subtrees already planned."""
    planned = []
    for node in tree.walk(prune=(lambda n: id(n) in skip) if skip else None):
        if skip and id(node) in skip:
            continue
        rule = rules.get(type(node))
        if rule is not None:
            build = rule(dialect_name, node)
            if build is not None:
                planned.append((node, build))
    return planned


def _rewrite(root: exp.Expression, planned: list, dialect_name: str, rules: dict, done: list) -> exp.Expression:
    """Apply `planned` deepest first, recording in `done` how to undo it; the new nodes a rule
    made (a cast, say) are rewritten in turn. Returns the root as rewritten."""
    for node, build in reversed(planned):
        before = dict(node.args)
        written = build()
        done.append((node, written, before))
        if written is node:  # changed in place
            continue
        if node is root:
            root = written
        else:
            node.replace(written)
        parts = {id(value) for values in before.values()
                 for value in (values if isinstance(values, list) else [values])}
        if type(written) is type(node):  # written as itself (a name folded, a type widened): done
            parts.add(id(written))
        _rewrite(written, _plan(written, dialect_name, rules, parts), dialect_name, rules, done)
    return root
