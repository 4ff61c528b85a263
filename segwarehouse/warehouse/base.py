"""The one small interface every engine adapter implements; the only room that talks to a database.

Statements are sqlglot expressions: `execute`, `fetchall` and `scalar` render them in the engine's
dialect and refuse text (a TypeError), so names are quoted and values are literals everywhere.
Text reaches a driver in two places only: an adapter's own session and driver statements that
sqlglot cannot spell (BEGIN/COMMIT, SET SESSION, CREATE DATABASE, an index on a column prefix,
MySQL's multi-table RENAME), sent through the private `_run`/`_execute` inside the adapter with
every name quoted by sqlglot; and `execute_text`/`fetchall_text`, plainly named for benchmarks and
tests that write engine SQL by hand.

Engine behaviour is decided here and in the subclasses, never by callers: capability flags
(`transactional_ddl`, `max_identifier`, ...) are read only inside this package. The build room
asks for what it needs (`transaction`, `replacing_relation`, `swap_in`, `identifier_fits`)."""
from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Sequence

from sqlglot import exp

from ..compiler.dialects import to_sql
from ..errors import SegwError, WarehouseBusy, WarehouseError, WarehouseUnavailable
from ..project.jinja import SECRETS

log = logging.getLogger("segwarehouse.sql")
SQL_SHOWN = 400  # characters of a statement shown in the log (whitespace collapsed)
# Work tables a build makes and drops (stages, deltas, changed keys, wide tables of features, kept
# measures being brought forward): an engine may keep them apart from the warehouse's own tables
# (DuckDB: in memory, see DuckDBAdapter.sql). Nothing else is named with these prefixes.
WORK_TABLE_PREFIXES = ("_segw_stage_", "_segw_delta_", "_segw_keys_", "_segw_inc_", "_segw_f_", "_segw_kw_")


def is_work_table(name: str) -> bool:
    return name.startswith(WORK_TABLE_PREFIXES)


def one_line(sql: str, limit: int = SQL_SHOWN) -> str:
    """A statement on one line for the log, cut after `limit` characters, secrets masked."""
    text = " ".join(str(sql).split())
    if len(text) > limit:
        text = f"{text[:limit]}… [+{len(text) - limit} chars]"
    return SECRETS.mask(text)


def _timed(run):
    """Wrap an adapter's `_execute` so every statement is logged at DEBUG with its duration and
    row count (when the driver knows it without fetching): one place for every engine."""
    @functools.wraps(run)
    def execute(self, sql, params=None):
        if self._executing:  # a subclass calling its parent's _execute: counted once
            return run(self, sql, params)
        self._executing = True
        started = time.perf_counter()
        try:
            cursor = run(self, sql, params)
        except Exception as exc:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%7.3fs failed | %s | %s", time.perf_counter() - started, one_line(sql),
                          one_line(str(exc), 200))
            raise
        finally:
            self._executing = False
        if log.isEnabledFor(logging.DEBUG):
            rows = getattr(cursor, "rowcount", -1)
            rows = rows if isinstance(rows, int) and rows >= 0 else None
            log.debug("%7.3fs %s| %s", time.perf_counter() - started,
                      "" if rows is None else f"{rows} row{'' if rows == 1 else 's'} ", one_line(sql))
        return cursor
    execute._segw_timed = True
    return execute


class NestedTransaction(RuntimeError):
    """`transaction()` was entered while one is open on the same connection: a programming error.
    Transactions do not nest (a second BEGIN would commit or fail the first on some engines, and
    an inner rollback cannot be partial), so the inner block is refused before any SQL is sent."""


class Adapter:
    """An open connection to one warehouse. Subclasses set the class attributes and the hooks."""

    dialect: str = ""
    # Can CREATE/DROP run inside a transaction we roll back? Read only by this package: callers
    # replace relations through `replacing_relation`, which does the right thing either way.
    transactional_ddl: bool = True
    max_identifier: int = 63  # longest name the engine keeps whole (see `identifier_fits`)
    placeholder: str = "?"

    def __init__(self, target):
        self.target = target
        self.in_transaction = False
        self.lock_timeout: float | None = None
        self.timings: dict[str, float] = {}  # wall seconds per phase (see `phase`)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        run = cls.__dict__.get("_execute")
        if run is not None and not getattr(run, "_segw_timed", False):
            cls._execute = _timed(run)

    _executing = False

    @contextmanager
    def phase(self, name: str):
        """Add the wall time of the block to `timings[name]` (a transaction is the phase `commit`)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started

    def take_timings(self) -> dict[str, float]:
        """The phase timings so far, rounded to milliseconds, and start counting afresh."""
        out, self.timings = {k: round(v, 3) for k, v in self.timings.items()}, {}
        return out

    # -- hooks for subclasses -------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence | None = None):  # returns a cursor-like
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def lock(self, name: str, timeout: float) -> bool:
        """Take the named writer lock (held until release_lock), waiting up to timeout seconds."""
        return True

    def release_lock(self, name: str) -> None:
        pass

    # -- shared behaviour -----------------------------------------------------------------
    def sql(self, statement: exp.Expression | str) -> str:
        return statement if isinstance(statement, str) else to_sql(statement, self.dialect)

    @staticmethod
    def _expression(statement, method: str) -> exp.Expression:
        if not isinstance(statement, exp.Expression):
            raise TypeError(f"Adapter.{method} takes a sqlglot expression, not {type(statement).__name__}: "
                            "build the statement with sqlglot (names quoted, values as literals); hand-written "
                            "engine SQL (benchmarks, tests) goes through execute_text/fetchall_text")
        return statement

    def execute(self, statement: exp.Expression, params: Sequence | None = None) -> None:
        self._run(self.sql(self._expression(statement, "execute")), params)

    def fetchall(self, statement: exp.Expression) -> list[tuple]:
        return self._rows(self.sql(self._expression(statement, "fetchall")))

    def execute_text(self, sql: str, params: Sequence | None = None) -> None:
        """Hand-written SQL in this engine's dialect (benchmarks, tests): nothing is quoted for you."""
        self._run(sql, params)

    def fetchall_text(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        """The rows of hand-written SQL in this engine's dialect (benchmarks, tests)."""
        return self._rows(sql, params)

    def _run(self, sql: str, params: Sequence | None = None):
        """Text to the driver, errors translated: for the adapter's own session and DDL statements."""
        try:
            return self._execute(sql, params)
        except Exception as exc:  # driver errors differ by engine; report them the same way
            raise self.translate_error(exc) from exc

    def _rows(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        try:
            cursor = self._execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]
        except Exception as exc:
            raise self.translate_error(exc) from exc

    # -- faults ---------------------------------------------------------------------------
    def translate_error(self, exc: Exception) -> WarehouseError:
        """A driver error as one message: lost connections and lock waits are named as such."""
        text = self.describe_error(exc)
        if self.is_disconnect(exc):
            self.broken = True
            return WarehouseUnavailable(f"lost the connection to the warehouse: {text}",
                                        hint="the server restarted or closed the session; run again")
        if self.is_lock_timeout(exc):
            waited = f" after {self.lock_timeout:g} s" if self.lock_timeout is not None else ""
            return WarehouseBusy(f"gave up waiting for a lock{waited}: another session holds a lock "
                                 f"on a table this build writes ({text})",
                                 hint="wait for the other session to finish, or raise --lock-timeout")
        return WarehouseError(text)

    broken = False

    def is_disconnect(self, exc: Exception) -> bool:
        return False

    def is_lock_timeout(self, exc: Exception) -> bool:
        return False

    def alive(self) -> bool:
        """Whether the connection still answers (after a fault, the runner reconnects if not)."""
        if self.broken:
            return False
        try:
            self._execute("SELECT 1").fetchall()
            return True
        except Exception:
            self.broken = True
            return False

    def set_lock_timeout(self, seconds: float) -> None:
        """Bound every lock wait of this session (rows, tables, metadata), not only writer locks."""
        self.lock_timeout = seconds

    def scalar(self, statement: exp.Expression):
        rows = self.fetchall(self._expression(statement, "scalar"))
        return rows[0][0] if rows else None

    def insert_rows(self, schema: str, table: str, columns: list[str], rows: Iterable[Sequence]) -> None:
        rows = list(rows)
        if not rows:
            return
        target = exp.table_(table, db=schema, quoted=True)
        names = ", ".join(self.sql(exp.to_identifier(c, quoted=True)) for c in columns)
        row_marks = "(" + ", ".join([self.placeholder] * len(columns)) + ")"
        batch = max(1, min(1000, 30000 // len(columns)))  # multi-row VALUES: far faster than executemany
        try:
            for start in range(0, len(rows), batch):
                chunk = rows[start:start + batch]
                text = (f"INSERT INTO {self.sql(target)} ({names}) VALUES "
                        + ", ".join([row_marks] * len(chunk)))
                self._execute(text, [value for row in chunk for value in row])
        except Exception as exc:
            raise self.translate_error(exc) from exc

    @staticmethod
    def describe_error(exc: Exception) -> str:
        text = " ".join(str(exc).split())
        return SECRETS.mask(text[:2000])

    @contextmanager
    def transaction(self):
        """All statements inside commit together or not at all. Not re-entrant: entering it while
        a transaction is open raises NestedTransaction before any SQL is sent, and the open
        transaction goes on untouched (no code path nests; a nested one is a bug to see at once).
        Its wall time counts as the phase `commit`."""
        if self.in_transaction:
            raise NestedTransaction("a transaction is already open on this connection; transactions "
                                    "do not nest: do this work inside the open one, or after it")
        with self.phase("commit"), self._transaction():
            yield self

    @contextmanager
    def _transaction(self):
        if self.in_transaction:
            raise NestedTransaction("a transaction is already open on this connection")
        self._run(self.begin_statement)
        self.in_transaction = True
        try:
            yield self
        except BaseException:
            self.in_transaction = False
            try:
                self._execute("ROLLBACK")
            except Exception:  # a dead connection rolls back by itself; the first error is the one
                self.broken = True
            raise
        try:
            self._run("COMMIT")
        finally:
            self.in_transaction = False

    begin_statement = "BEGIN"

    def ensure_schema(self, schema: str) -> None:
        self.execute(exp.Create(this=exp.Table(db=exp.to_identifier(schema, quoted=True)), kind="SCHEMA",
                                exists=True))

    def relation_kind(self, schema: str, name: str) -> str | None:
        """'table', 'view' or None."""
        query = (exp.select("table_type").from_("information_schema.tables")
                 .where(exp.column("table_schema").eq(exp.Literal.string(schema)))
                 .where(exp.column("table_name").eq(exp.Literal.string(name))))
        kind = self.scalar(query)
        if kind is None:
            return None
        return "view" if "VIEW" in str(kind).upper() else "table"

    def table_names(self, schema: str, like: str) -> set[str]:
        """Names of the relations in a schema matching a LIKE pattern (`_` matches any character)."""
        query = (exp.select("table_name").from_("information_schema.tables")
                 .where(exp.column("table_schema").eq(exp.Literal.string(schema)))
                 .where(exp.Like(this=exp.column("table_name"), expression=exp.Literal.string(like))))
        return {str(row[0]) for row in self.fetchall(query)}

    def columns(self, schema: str, name: str) -> list[str] | None:
        """Column names of a relation in order, or None if it does not exist."""
        return [column for column, _ in self.column_types(schema, name)] or None

    def column_types(self, schema: str, name: str) -> list[tuple[str, str]]:
        """(column, type name) of a relation in order; empty if it does not exist."""
        query = (exp.select("column_name", "data_type").from_("information_schema.columns")
                 .where(exp.column("table_schema").eq(exp.Literal.string(schema)))
                 .where(exp.column("table_name").eq(exp.Literal.string(name)))
                 .order_by("ordinal_position"))
        return [(row[0], str(row[1]).lower()) for row in self.fetchall(query)]

    def enforces_unique(self, schema: str, name: str, column: str) -> bool:
        """Does the engine itself keep the column's values unique in the relation (a primary key, a
        unique constraint or a unique index on exactly that column)? Then no query need count them."""
        return False

    def finds_ranges(self, schema: str, name: str, column: str) -> bool:
        """Does a filter `column > value` (or IS NULL) find its few rows of the relation without
        reading every row, and does COUNT(*) of it cost no more than a scan? Then counts of the rows
        past a mark are asked that way. Servers: where an index leads with the column."""
        return False

    def table_columns(self, schema: str, names: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """column_types of each of `names` that is a table (views and missing names left out);
        engines with a catalog to ask override this with one query for all."""
        return {name: self.column_types(schema, name) for name in names
                if self.relation_kind(schema, name) == "table"}

    @staticmethod
    def _columns_by_table(rows: Iterable[Sequence]) -> dict[str, list[tuple[str, str]]]:
        """(table, column, type) rows of a catalog query, in column order, as table_columns gives them."""
        out: dict[str, list[tuple[str, str]]] = {}
        for name, column, kind in rows:
            out.setdefault(str(name), []).append((column, str(kind).lower()))
        return out

    def drop(self, schema: str, name: str, kind: str | None = None) -> None:
        kind = kind or self.relation_kind(schema, name)
        if kind is None:
            return
        self.execute(exp.Drop(tables=[exp.table_(name, db=schema, quoted=True)],
                              kind="VIEW" if kind == "view" else "TABLE", exists=True,
                              cascade=self.drop_cascades))

    drop_cascades = False
    wants_indexes = True  # servers plan key joins with indexes; DuckDB hashes without them
    indexes_work_tables = False  # stage and delta tables need indexes (MySQL's nested-loop joins)
    full_outer_join = True
    concurrent_writers = True  # may `--threads N` build segments on N connections at once?
    # Can another connection commit while ours writes? Then each writing transaction first updates
    # the writer row, whose row lock puts commits (and change_ids) in one order.
    other_writers = True
    # May a run commit several segments in one transaction, each output table written once for all
    # (`together.py`)? Engines whose planners were measured to do it well; elsewhere one at a time.
    commits_together = False
    # Does a list of literal values skip storage (min/max per block: DuckDB's row groups, Delta's
    # files)? Then writes to memberships and history name their segments as literals before the
    # semi-join on (segment, key); where the list is only tested row by row it is dropped.
    value_lists_prune = True
    # An incremental run evaluates only the changed keys while they are at most this share of the
    # entity; beyond it a full evaluation is cheaper. Row stores look keys up by index (high);
    # column stores scan anyway, so only a small share pays (see bench_incremental.py).
    incremental_up_to = 0.5

    def drop_quietly(self, schema: str, *names: str) -> None:
        """Drop work tables at the end of their use, never failing the run for it: on a dead
        connection, or when a drop fails, the next run that builds with them drops what is left."""
        for name in names:
            if self.broken:
                return
            try:
                self.drop(schema, name, "table")
            except SegwError as exc:
                log.debug("work table %s.%s left for the next run: %s", schema, name, exc)

    def create_work_index(self, schema: str, table: str, columns: list[str]) -> None:
        """An index on a short-lived work table, where the engine's joins need one."""
        if self.indexes_work_tables:
            self.create_index(schema, table, columns)

    def analyze(self, schema: str, table: str, columns: list[str] | None = None) -> None:
        """Give the planner statistics of a table just filled (PostgreSQL plans blind without);
        `columns`: only of these (those joined or filtered on), where the others are many."""

    def refresh_statistics(self, schema: str, table: str, where: exp.Expression, rows: int) -> None:
        """After many changes to a kept table, where `rows` rows now match `where`: analyze it if the
        planner needs it (PostgreSQL, only where its estimate of those rows is off)."""
        self.analyze(schema, table)

    def create_index(self, schema: str, table: str, columns: list[str]) -> None:
        if not self.wants_indexes:
            return
        # Index names are per schema on PostgreSQL: a random part keeps copies and swaps apart.
        digest = hashlib.md5(f"{table}:{','.join(columns)}:{secrets.token_hex(4)}".encode()).hexdigest()[:10]
        name = exp.to_identifier(f"{table[:40]}__idx_{digest}", quoted=True)
        target = exp.table_(table, db=schema, quoted=True)
        names = ", ".join(self.index_column_sql(schema, table, c) for c in columns)
        # text: sqlglot cannot spell MySQL's column prefix `col(191)`; every name is quoted by it
        self._run(f"CREATE INDEX {self.sql(name)} ON {self.sql(target)} ({names})")

    def index_column_sql(self, schema: str, table: str, column: str) -> str:
        return self.sql(exp.to_identifier(column, quoted=True))

    def create_table(self, schema: str, name: str, columns: list[tuple[str, exp.DataType]]) -> None:
        definition = exp.Schema(this=exp.table_(name, db=schema, quoted=True), expressions=[
            exp.ColumnDef(this=exp.to_identifier(c, quoted=True), kind=kind) for c, kind in columns])
        self.execute(exp.Create(this=definition, kind="TABLE", exists=True,
                                properties=self.table_properties()))

    def table_properties(self) -> exp.Properties | None:
        """Options for tables segwarehouse creates (MySQL: exact, case-sensitive text)."""
        return None

    def key_text(self, value: exp.Expression) -> exp.Expression:
        """A key as text that compares exactly (case, trailing spaces, accents) on this engine."""
        return exp.cast(value, "TEXT")

    def rename_table(self, schema: str, old: str, new: str) -> None:
        self.execute(exp.Alter(this=exp.table_(old, db=schema, quoted=True), kind="TABLE",
                               actions=[exp.AlterRename(this=exp.table_(new, quoted=True))]))

    def swap_in(self, schema: str, name: str, new: str, then=None) -> None:
        """Replace table schema.name by schema.new so that readers see the old or the new one;
        `then()` runs in the same transaction (it restores views a CASCADE dropped)."""
        with self.transaction():
            self.drop(schema, name)
            self.rename_table(schema, new, name)
            if then is not None:
                then()

    # -- replacing a relation in step with a transaction ------------------------------------
    @staticmethod
    def aside_name(name: str) -> str:
        """Where a replacement of `name` is built before it is swapped in (a work table)."""
        return f"{name}__segw_new"

    @property
    def relation_commits_with_data(self) -> bool:
        """Whether a segment's relation, even when replaced, commits in the same transaction as
        its memberships (so it can stand for them); else a replaced one is swapped in after it."""
        return self.transactional_ddl

    @property
    def relation_rows_commit_with_memberships(self) -> bool:
        """Whether a segment's relation takes its rows in the transaction that writes its
        memberships, so that it can stand for them in a diff once a recreated one is swapped in
        (`relation_swap`). Where the relation itself commits with them, always."""
        return self.relation_commits_with_data

    @contextmanager
    def replacing_relation(self, schema: str, name: str, create: Callable[[str], None] | None,
                           kind: str = "table"):
        """Replace the relation schema.name (table or view) by what `create(relation_name)` makes,
        or drop it (`create=None`), in step with the data transaction around which this is entered.
        Readers see the old relation with the old data or the new one with the new data:

            with adapter.replacing_relation(schema, name, create) as replace:
                with adapter.transaction():
                    ...          # the data changes
                    replace()    # must be called, inside the transaction

        Where DDL rolls back (`transactional_ddl`), `replace()` drops the old relation and creates
        the new one inside the transaction. Where DDL commits at once (MySQL/MariaDB, Spark,
        Snowflake), a new table is created and filled aside (`aside_name`) on entry, `replace()`
        does nothing, and the table is swapped in right after the block (`swap_in`: one atomic
        rename); a view is created (`create` must write CREATE OR REPLACE VIEW) and a drop done
        after the block. If the block fails, the old relation stays."""
        if kind not in ("table", "view"):
            raise ValueError(f"kind must be 'table' or 'view', not {kind!r}")
        called = []
        if self.transactional_ddl:
            def replace() -> None:
                if not self.in_transaction:
                    raise RuntimeError("replace() belongs inside the transaction it replaces the relation with")
                called.append(True)
                self.drop(schema, name)
                if create is not None:
                    create(name)
            yield replace
            _check_called(called)
            return

        aside = self.aside_name(name) if create is not None and kind == "table" else None
        if aside is not None:
            self.drop(schema, aside, "table")
            create(aside)
        try:
            yield lambda: called.append(True)
            _check_called(called)
        except BaseException:
            if aside is not None:
                try:
                    self.drop(schema, aside, "table")
                except Exception:  # the first error is the one to report; the next run drops it
                    pass
            raise
        if aside is not None:
            self.swap_in(schema, name, aside)
        elif create is not None:  # a view, created or replaced now
            if self.relation_kind(schema, name) == "table":
                self.drop(schema, name, "table")
            create(name)
        else:
            self.drop(schema, name)

    def replace_relation(self, schema: str, name: str, create: Callable[[str], None] | None,
                         kind: str = "table", then: Callable[[], None] | None = None) -> None:
        """`replacing_relation` with a transaction of its own; `then()` runs in that transaction
        (it restores views that PostgreSQL's DROP ... CASCADE took), or after the swap."""
        with self.replacing_relation(schema, name, create, kind) as replace:
            with self.transaction():
                replace()
                if then is not None and self.transactional_ddl:
                    then()
        if then is not None and not self.transactional_ddl:
            then()

    # -- names ---------------------------------------------------------------------------
    def identifier_length(self, name: str) -> int:
        """A name's length as the engine counts it against `max_identifier` (bytes by default:
        PostgreSQL cuts longer names silently, which would merge two tables into one)."""
        return len(name.encode("utf-8"))

    def identifier_fits(self, name: str) -> bool:
        return self.identifier_length(name) <= self.max_identifier

    def identifier_overflow(self, names: Iterable[str]) -> tuple[str, int] | None:
        """The longest of `names` that does not fit and by how much it is too long, or None."""
        longest = max(names, key=self.identifier_length, default=None)
        if longest is None or self.identifier_fits(longest):
            return None
        return longest, self.identifier_length(longest) - self.max_identifier


def _check_called(called: list) -> None:
    if not called:
        raise RuntimeError("replacing_relation: replace() was not called inside the transaction")
