"""Spark SQL through pyspark: an in-process SparkSession (`method: session`) or Spark Connect.

Plain Spark tables (parquet) have no UPDATE, DELETE or transactions. This adapter keeps the output
contract anyway. Inside a transaction nothing touches the real tables: an INSERT's rows go to a
table of their own, an UPDATE or DELETE writes the table's new contents to a new table (one
CREATE TABLE ... AS SELECT), and reads in the transaction see all of that. COMMIT appends the
inserted rows (one job per table) and swaps rewritten tables in (DROP and RENAME in the metastore).
A failure before COMMIT drops what was written aside and leaves every table as it was. See docs/targets.md."""
from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import sqlglot
from sqlglot import exp

from ..errors import SegwError, WarehouseError, WarehouseUnavailable
from .base import Adapter

log = logging.getLogger("segwarehouse.run")

_SESSIONS: dict[str, object] = {}
_LOCK = threading.Lock()

# Session defaults for a local SparkSession: small and quiet. `server_side_parameters` (dbt-spark's
# key) overrides any of them.
LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.legacy.createHiveTableByDefault": "false",  # CREATE TABLE makes parquet tables
    "spark.sql.sources.default": "parquet",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
}

# A Spark Connect session's own settings (runtime SQL settings, set per session on the server).
CONNECT_DEFAULTS = {"spark.sql.session.timeZone": "UTC"}


def _connect_builder(target):
    """The Spark Connect client's own builder. pyspark's generic `SparkSession.builder.remote()`
    refuses to connect while a local SparkSession runs in the process and switches the whole process
    to Connect mode; this one opens a session on the server and nothing else."""
    try:
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    except ImportError as exc:  # grpcio, pyarrow, pandas ... (pyspark's `connect` extra)
        raise SegwError(f"method: connect needs Spark Connect's client libraries ({exc})", target.location,
                        "pip install 'pyspark[connect]' (the same version as pyspark)") from None
    return ConnectSession.builder


def _check_reachable(target, host: str) -> None:
    """Fail at once when nothing listens at the Connect URL: the Connect client would retry an
    unreachable server with growing pauses for many minutes before it gave up."""
    url = urlparse(host)
    where = (url.hostname or "localhost", url.port or 15002)  # 15002: Spark Connect's default port
    try:
        socket.create_connection(where, timeout=15).close()
    except OSError as exc:
        raise WarehouseUnavailable(f"cannot reach the Spark Connect server at {where[0]}:{where[1]}: {exc}",
                                   target.location, "check that the server is up and the target's `host` "
                                   "(sc://HOST:PORT) in profiles.yml") from None


def session_for(target):
    """The SparkSession of a target; one per process (Spark allows one local session per JVM)."""
    credentials = target.credentials  # project/credentials.py: SparkCredentials
    method = credentials.method
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SegwError("type: spark needs pyspark", target.location,
                        "pip install 'segwarehouse[spark]' (Java 17 or newer must be installed)") from None
    key = f"{method}:{credentials.host or ''}"
    with _LOCK:
        if key in _SESSIONS:
            return _SESSIONS[key]
        if method == "connect":
            _check_reachable(target, str(credentials.host))
            builder = _connect_builder(target).remote(str(credentials.host))
            options = {**CONNECT_DEFAULTS, **{str(k): str(v) for k, v in
                                              (credentials.server_side_parameters or {}).items()}}
            for name, value in options.items():
                builder = builder.config(name, value)
        else:
            options = {**LOCAL_DEFAULTS, **{str(k): str(v) for k, v in
                                            (credentials.server_side_parameters or {}).items()}}
            builder = SparkSession.builder.master(credentials.master).appName("segwarehouse")
            if options.get("spark.sql.catalogImplementation", "hive") == "hive":
                # dbt-spark's session method: a Hive metastore, so tables outlive the process. Its
                # embedded Derby database lives next to the warehouse directory.
                where = Path(options.get("spark.sql.warehouse.dir", "spark-warehouse")).resolve()
                options.setdefault("spark.hadoop.javax.jdo.option.ConnectionURL",
                                   f"jdbc:derby:;databaseName={where.parent / 'metastore_db'};create=true")
                options.setdefault("spark.sql.warehouse.dir", str(where))
                builder = builder.enableHiveSupport()
            for name, value in options.items():
                builder = builder.config(name, value)
        try:
            session = builder.create() if method == "connect" else _launch_local(builder)
        except Exception as exc:  # no Java, a bad master URL, an unreachable Connect server
            raise WarehouseError(f"cannot start Spark ({method}): {' '.join(str(exc).split())[:500]}",
                                 target.location, "check Java 17+ is installed and the target's "
                                 "`method`/`host` in profiles.yml") from None
        if method != "connect":
            session.sparkContext.setLogLevel("ERROR")
        _SESSIONS[key] = session
        return session


def _launch_local(builder):
    """A local session; a JVM that died before answering is started once more (a launch can lose a
    race for a port or for memory when several start at once), anything else fails at once."""
    try:
        return builder.getOrCreate()
    except Exception as exc:
        if "JAVA_GATEWAY_EXITED" not in str(exc):
            raise
        log.warning("the Spark JVM exited while starting; starting it once more")
        time.sleep(2)
        return builder.getOrCreate()


@dataclass
class _Pending:
    """A table written in the open transaction: `base` replaces it at COMMIT (after an UPDATE or
    DELETE rewrote it), `appends` are the inserted rows appended at COMMIT: tables the rows were
    written to, or a SELECT of them (literal rows, or a query of tables the transaction leaves alone,
    which reads at COMMIT what it would have read at once: those tables are not written until then)."""
    base: str | None = None
    appends: list = field(default_factory=list)  # table names, or the rows as a SELECT


def _type(kind: str) -> exp.DataType:
    return exp.DataType.build(kind, dialect="databricks")


class _Result:
    """A cursor-like over a Spark DataFrame: fetchall() collects it."""

    def __init__(self, frame):
        self.frame = frame
        self.rowcount = -1

    def fetchall(self):
        return [tuple(row) for row in self.frame.collect()] if self.frame is not None else []

    @property
    def description(self):
        return [(name,) for name in self.frame.columns] if self.frame is not None else []


class SparkAdapter(Adapter):
    """Spark SQL (written in sqlglot's Databricks dialect, which Spark runs)."""

    dialect = "databricks"
    transactional_ddl = False
    max_identifier = 255
    placeholder = "?"
    wants_indexes = False
    full_outer_join = True
    # A transaction writes aside and swaps tables in at COMMIT: two at once would swap over each
    # other's tables (lost rows, reused change_ids). --threads builds one segment at a time.
    concurrent_writers = False
    other_writers = False  # no lock orders them: one writer at a time (docs/targets.md)
    commits_together = True  # one rewrite of each output table for all the segments, not one each

    def __init__(self, target):
        super().__init__(target)
        self.session = session_for(target)
        self.pending: dict[tuple[str, str], _Pending] = {}  # what the open transaction wrote

    def _execute(self, sql, params=None):
        text = sql.strip()
        if text.upper() in ("BEGIN", "COMMIT", "ROLLBACK"):
            return _Result(None)  # transactions are kept aside by the adapter (see _transaction)
        frame = self.session.sql(text, args=list(params)) if params else self.session.sql(text)
        return _Result(frame)

    def close(self) -> None:
        self._drop_pending()  # the session is shared by the process; it stops when the process ends

    def describe_error(self, exc: Exception) -> str:
        text = str(exc).split("\nJVM stacktrace:")[0]
        return super().describe_error(Exception(text))

    # -- statements: DML as table rewrites and buffered appends ----------------------------
    def execute(self, statement, params=None) -> None:
        if isinstance(statement, (exp.Update, exp.Delete)) or (
                isinstance(statement, exp.Insert) and (self.in_transaction or self._literal_rows(statement, params))):
            if not self.in_transaction:
                with self._transaction():  # one statement, swapped in whole
                    self._dml(statement)
            else:
                self._dml(statement)
            return
        if self._column_change(statement):
            if not self.in_transaction:
                with self._transaction():  # the table rewritten, swapped in whole
                    self._alter_columns(statement)
            else:
                self._alter_columns(statement)
            return
        if isinstance(statement, exp.Expression) and self.pending:
            statement = self._on_pending(statement)
        super().execute(statement, params)

    def execute_text(self, sql: str, params=None) -> None:
        """Hand-written UPDATE, DELETE, INSERT ... VALUES and column changes take the same path as
        the adapter's own statements (plain Spark tables cannot run them as written)."""
        if params is None and sql.lstrip()[:6].upper() in ("UPDATE", "DELETE", "INSERT", "ALTER "):
            try:
                statement = sqlglot.parse_one(sql, read=self.dialect)
            except sqlglot.errors.ParseError:
                statement = None  # Spark itself says what is wrong with it
            if isinstance(statement, (exp.Update, exp.Delete)) or self._column_change(statement) or (
                    isinstance(statement, exp.Insert) and self._literal_rows(statement, None)):
                return self.execute(statement)
        return super().execute_text(sql, params)

    @staticmethod
    def _column_change(statement) -> bool:
        """ALTER TABLE ... RENAME COLUMN / DROP COLUMN: plain Spark (v1, parquet) tables refuse both."""
        return isinstance(statement, exp.Alter) and bool(statement.args.get("actions")) and all(
            isinstance(a, exp.RenameColumn) or (isinstance(a, exp.Drop) and str(a.args.get("kind")).upper() == "COLUMN")
            for a in statement.args["actions"])

    def _alter_columns(self, statement: exp.Alter) -> None:
        """A column renamed or dropped by writing the table's contents anew (one CREATE TABLE AS SELECT),
        swapped in at COMMIT like an UPDATE's rewrite."""
        schema, name = statement.this.db, statement.this.name
        state = self.pending.get((schema, name))
        types = self._column_types(schema, state.base if state and state.base else name)
        renamed, dropped = {}, set()
        for action in statement.args["actions"]:
            if isinstance(action, exp.RenameColumn):
                renamed[action.this.name.lower()] = action.args["to"].name
            else:
                dropped.update(c.name.lower() for c in action.args.get("tables") or action.expressions)
        known = {c.lower() for c, _ in types}
        missing = sorted((set(renamed) | dropped) - known)
        if missing:
            raise WarehouseError(f"table {schema}.{name} has no column {', '.join(missing)}", None,
                                 f"its columns are: {', '.join(c for c, _ in types)}")
        columns = [exp.alias_(exp.column(c, table=name, quoted=True), renamed.get(c.lower(), c), quoted=True)
                   for c, _ in types if c.lower() not in dropped]
        self._rewrite(schema, name, exp.select(*columns).from_(self._current(schema, name, alias=name)))

    @staticmethod
    def _literal_rows(statement: exp.Insert, params) -> bool:
        """An INSERT of literal VALUES into a named table: Spark's ANSI store assignment refuses
        '2024-06-01 00:00:00' for a TIMESTAMP column (other engines cast it), so such rows go
        through the transaction's path, which casts each value to its column's type."""
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        return (params is None and not statement.args.get("overwrite") and isinstance(target, exp.Table)
                and bool(target.db) and isinstance(statement.expression, exp.Values))

    def fetchall(self, statement):
        if isinstance(statement, exp.Expression):
            statement = self._information_schema(statement)
            if self.pending:
                statement = self._on_pending(statement)
        return super().fetchall(statement)

    def _information_schema(self, statement: exp.Expression) -> exp.Expression:
        """Spark's session catalog has no information_schema: a query of `information_schema.tables`
        reads the tables of the schemas it names (`table_schema = '...'`) from the catalog instead."""
        def listed(node) -> bool:
            return node.db.lower() == "information_schema" and node.name.lower() == "tables"
        if not any(listed(t) for t in statement.find_all(exp.Table)):
            return statement
        statement = statement.copy()
        found = [t for t in statement.find_all(exp.Table) if listed(t)]
        schemas = {eq.expression.this for eq in statement.find_all(exp.EQ)
                   if isinstance(eq.this, exp.Column) and eq.this.name.lower() == "table_schema"
                   and isinstance(eq.expression, exp.Literal)}
        rows = [(schema, t.name, "VIEW" if "VIEW" in str(t.tableType).upper() else "BASE TABLE")
                for schema in sorted(schemas) if self.session.catalog.databaseExists(schema)
                for t in self.session.catalog.listTables(schema) if not t.isTemporary]
        names = ("table_schema", "table_name", "table_type")
        if rows:
            listing = exp.values([tuple(exp.Literal.string(v) for v in row) for row in rows], alias="t",
                                 columns=list(names))
            listing = exp.select(*names).from_(listing)
        else:
            listing = exp.select(*(exp.alias_(exp.cast(exp.null(), "STRING"), n) for n in names)).where(exp.false())

        def swap(node):
            if any(node is t for t in found):
                return exp.Subquery(this=listing.copy(), alias=exp.TableAlias(this=exp.to_identifier(
                    node.alias or "tables", quoted=True)))
            return node
        return statement.transform(swap, copy=False)

    def insert_rows(self, schema, table, columns, rows) -> None:
        if not self.in_transaction:
            return super().insert_rows(schema, table, columns, rows)
        rows = list(rows)  # inside a transaction: kept aside like any INSERT
        if rows:
            self.execute(exp.Insert(
                this=exp.Schema(this=exp.table_(table, db=schema, quoted=True),
                                expressions=[exp.to_identifier(c, quoted=True) for c in columns]),
                expression=exp.values([tuple(exp.convert(v) for v in row) for row in rows])))

    def _dml(self, statement: exp.Expression) -> None:
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        schema, name = target.db, target.name
        state = self.pending.setdefault((schema, name), _Pending())
        types = self._column_types(schema, state.base or name)
        if isinstance(statement, exp.Insert):
            state.appends.append(self._stage_rows(schema, name, statement, types))
            return
        source = self._current(schema, name, alias=name)
        where = statement.args.get("where")
        condition = self._on_pending(where.this) if where is not None else exp.true()
        if isinstance(statement, exp.Delete):
            keep = exp.not_(exp.Coalesce(this=exp.paren(condition), expressions=[exp.false()]))
            rows = exp.select("*").from_(source).where(keep)
        else:
            new_values = {}
            for assignment in statement.expressions:
                value = self._on_pending(assignment.expression)
                if isinstance(value, exp.Subquery) and isinstance(value.this, exp.Select) \
                        and len(value.this.expressions) == 1:
                    # Spark requires correlated scalar subqueries to aggregate; at most one row matches
                    inner = value.this
                    inner.set("expressions", [exp.Max(this=inner.expressions[0].unalias())])
                new_values[assignment.this.name] = value
            columns = []
            for column, kind in types:
                value = exp.column(column, table=name, quoted=True)
                if column in new_values:
                    value = exp.Cast(this=exp.Case(ifs=[exp.If(this=condition.copy(), true=new_values[column])],
                                                   default=value), to=_type(kind))
                columns.append(exp.alias_(value, column, quoted=True))
            rows = exp.select(*columns).from_(source)
        self._rewrite(schema, name, rows)

    def _rewrite(self, schema: str, name: str, rows: exp.Query) -> None:
        """The table's new contents written aside; COMMIT swaps them in."""
        state = self.pending.setdefault((schema, name), _Pending())
        replacement = self._stage_query(schema, name, rows)
        stale = ([state.base] if state.base else []) + [a for a in state.appends if isinstance(a, str)]
        state.base, state.appends = replacement, []
        for table in stale:
            self._drop_table(schema, table)

    def _stage_rows(self, schema: str, name: str, insert: exp.Insert, types):
        """The rows of an INSERT in the target's column order and types, kept as a SELECT that
        COMMIT's append runs (nothing to run now); the rows of a query that reads a table this
        transaction writes go to a table of their own now (what it reads changes by COMMIT)."""
        named = [c.name for c in insert.this.expressions] if isinstance(insert.this, exp.Schema) \
            else [c for c, _ in types]
        source = self._on_pending(insert.expression)
        alias = exp.TableAlias(this=exp.to_identifier("_segw_rows", quoted=True),
                               columns=[exp.to_identifier(c, quoted=True) for c in named])
        if isinstance(source, exp.Values):
            source.set("alias", alias)
            origin = source
        else:
            origin = exp.Subquery(this=source, alias=alias)
        columns = [exp.alias_(exp.Cast(this=exp.column(c, table="_segw_rows", quoted=True) if c in named
                                       else exp.null(), to=_type(kind)), c, quoted=True)
                   for c, kind in types]
        rows = exp.select(*columns).from_(origin)
        if not self._reads_pending(insert.expression):
            return rows  # run by COMMIT's append: one job instead of two
        return self._stage_query(schema, name, rows)

    def _reads_pending(self, query: exp.Expression) -> bool:
        """Whether a query reads a table this transaction writes (its own target included)."""
        return any((node.db, node.name) in self.pending for node in query.find_all(exp.Table))

    def _stage_query(self, schema: str, name: str, rows: exp.Select) -> str:
        """The rows written to a table of their own, named after `name`, now."""
        table = self._fresh_name(name)
        super().execute(exp.Create(this=exp.table_(table, db=schema, quoted=True), kind="TABLE", expression=rows))
        return table

    @staticmethod
    def _rows_of(schema: str, part) -> exp.Select:
        return exp.select("*").from_(exp.table_(part, db=schema, quoted=True)) if isinstance(part, str) \
            else part.copy()

    def _union(self, schema: str, parts) -> exp.Query:
        rows = [self._rows_of(schema, part) for part in parts]
        return rows[0] if len(rows) == 1 else exp.union(*rows, distinct=False, copy=False)

    def _current(self, schema: str, name: str, alias: str | None) -> exp.Expression:
        """What a statement of this transaction reads for a table: its rewrite plus buffered rows."""
        state = self.pending.get((schema, name))
        parts = [state.base or name, *state.appends] if state else [name]
        if len(parts) == 1:
            node = exp.table_(parts[0], db=schema, quoted=True)
            if alias is not None:
                node.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
            return node
        return exp.Subquery(this=self._union(schema, parts),
                            alias=exp.TableAlias(this=exp.to_identifier(alias or name, quoted=True)))

    def _on_pending(self, expression: exp.Expression) -> exp.Expression:
        """The statement reading what this transaction has written so far."""
        def swap(node):
            if isinstance(node, exp.Table) and (node.db, node.name) in self.pending:
                alias = node.alias or node.name
                return self._current(node.db, node.name, alias)
            return node
        return expression.copy().transform(swap)

    def _column_types(self, schema: str, name: str) -> list[tuple[str, str]]:
        # The analysed schema of the table (no job, unlike catalog.listColumns).
        fields = self.session.table(f"`{schema}`.`{name}`").schema.fields
        return [(f.name, f.dataType.simpleString()) for f in fields]

    def _fresh_name(self, name: str) -> str:
        return f"{name[:180]}__segw_tx_{secrets.token_hex(4)}"

    def _drop_table(self, schema: str, name: str) -> None:
        super().execute(exp.Drop(tables=[exp.table_(name, db=schema, quoted=True)], kind="TABLE", exists=True))

    def _drop_pending(self) -> None:
        pending, self.pending = self.pending, {}
        for (schema, _), state in pending.items():
            for table in ([state.base] if state.base else []) + [a for a in state.appends if isinstance(a, str)]:
                try:
                    self._drop_table(schema, table)
                except WarehouseError:
                    pass

    @contextmanager
    def _transaction(self):
        """Statements write aside; COMMIT appends the buffered rows and swaps rewritten tables in;
        a failure before COMMIT drops what was written aside."""
        if self.in_transaction:
            raise RuntimeError("a transaction is already open on this connection")
        self.in_transaction = True
        self.pending = {}
        try:
            yield self
        except BaseException:
            self.in_transaction = False
            self._drop_pending()
            raise
        self.in_transaction = False
        try:
            for (schema, name), state in self.pending.items():
                # A query of a table that later statements wrote reads it now, before COMMIT writes it.
                state.appends = [self._stage_query(schema, name, part)
                                 if isinstance(part, exp.Expression) and self._reads_pending(part) else part
                                 for part in state.appends]
        except BaseException:
            self._drop_pending()  # nothing is written yet
            raise
        pending, self.pending = self.pending, {}
        # Every append before any swap: an append's query reads the tables as they were.
        for (schema, name), state in pending.items():
            if state.appends:  # one append job: Spark publishes its files at the job's commit
                super().execute(exp.Insert(this=exp.table_(state.base or name, db=schema, quoted=True),
                                           expression=self._union(schema, state.appends)))
        for (schema, name), state in pending.items():
            if state.base:
                # One metastore operation each: readers see the old table or the new one (between
                # the two, for milliseconds, no table: "table not found", retry).
                self._drop_table(schema, name)
                super().execute(exp.Alter(this=exp.table_(state.base, db=schema, quoted=True), kind="TABLE",
                                          actions=[exp.AlterRename(this=exp.table_(name, db=schema, quoted=True))]))
            for table in state.appends:
                if isinstance(table, str):
                    self._drop_table(schema, table)

    transaction = Adapter.transaction if hasattr(Adapter, "_transaction") else _transaction

    # -- catalog ----------------------------------------------------------------------------
    def relation_kind(self, schema: str, name: str) -> str | None:
        if not self.session.catalog.tableExists(f"`{schema}`.`{name}`"):
            return None
        kind = self.session.catalog.getTable(f"`{schema}`.`{name}`").tableType
        return "view" if "VIEW" in str(kind).upper() else "table"

    def column_types(self, schema: str, name: str) -> list[tuple[str, str]]:
        if not self.session.catalog.databaseExists(schema) or self.relation_kind(schema, name) is None:
            return []
        return [(c, str(kind).lower()) for c, kind in self._column_types(schema, name)]

    def rename_table(self, schema: str, old: str, new: str) -> None:
        self.execute(exp.Alter(this=exp.table_(old, db=schema, quoted=True), kind="TABLE",
                               actions=[exp.AlterRename(this=exp.table_(new, db=schema, quoted=True))]))

