"""Server engines reached through SQLAlchemy: PostgreSQL and MariaDB/MySQL (more by dialect)."""
from __future__ import annotations

import json

import sqlglot
from sqlglot import exp

from ..compiler.dialects import CaseSensitive

from ..errors import SegwError, WarehouseError, WarehouseUnavailable
from .base import Adapter


# A valid index of the table whose first column is the column (PostgreSQL's catalog; the
# placeholders become literals), and one that keeps the column alone unique (no predicate, no
# expression; INCLUDE columns aside).
_PG_INDEX = ("SELECT 1 FROM pg_catalog.pg_index AS i JOIN pg_catalog.pg_class AS t ON t.oid = i.indrelid "
             "JOIN pg_catalog.pg_namespace AS n ON n.oid = t.relnamespace "
             "JOIN pg_catalog.pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] "
             "WHERE n.nspname = :schema AND t.relname = :table AND a.attname = :column AND i.indisvalid")
_PG_LEADING_INDEX = sqlglot.parse_one(_PG_INDEX + " LIMIT 1", read="postgres")
_PG_UNIQUE_INDEX = sqlglot.parse_one(_PG_INDEX + " AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL "
                                     "AND i.indexprs IS NULL LIMIT 1", read="postgres")


def _statistics(alias: str) -> exp.Expression:
    """MariaDB's catalog of index columns (one row per index and column, `seq_in_index` from 1)."""
    return exp.alias_(exp.table_("statistics", db="information_schema"), alias, table=True)


def _filled(template: exp.Expression, **values: str) -> exp.Expression:
    return template.transform(lambda node: exp.Literal.string(values[node.name])
                              if isinstance(node, exp.Placeholder) else node)


class ServerAdapter(Adapter):
    """Holds one DBAPI connection from a SQLAlchemy engine, in autocommit with explicit BEGIN."""

    driver = ""
    default_port = 0
    placeholder = "%s"

    def __init__(self, target):
        super().__init__(target)
        import sqlalchemy

        url = self.url(target)
        try:
            self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool,
                                                   connect_args=self.connect_args(target))
            self.connection = self.engine.raw_connection()
        except ImportError as exc:
            raise SegwError(f"the driver for {target.type} is not installed ({exc.name})",
                            target.location, f"pip install 'segwarehouse[{self.extra}]'") from None
        except Exception as exc:
            # exit 1, not 2: a server that is down or restarting is not a broken project
            raise WarehouseUnavailable(f"cannot connect to {target.type} target '{target.name}': "
                                       f"{self.describe_error(exc)}", target.location,
                                       "check that the server is up, and host, port, user and "
                                       "password in profiles.yml") from None
        self.set_autocommit()
        self.session_setup()

    extra = ""

    def url(self, target):
        import sqlalchemy

        credentials = target.credentials  # project/credentials.py: typed, defaults filled in
        return sqlalchemy.engine.URL.create(
            self.driver, username=credentials.user, password=credentials.password or None,
            host=credentials.host, port=credentials.port or self.default_port,
            database=self.database_name(target))

    def database_name(self, target) -> str | None:
        return target.credentials.database

    def connect_args(self, target) -> dict:
        return {}

    def set_autocommit(self) -> None:
        connection = self.connection.driver_connection
        if callable(getattr(connection, "autocommit", None)):
            connection.autocommit(True)
        else:
            connection.autocommit = True

    def session_setup(self) -> None:
        pass

    disconnect_words = ("server closed the connection", "terminating connection", "connection is closed",
                        "lost connection", "gone away", "connection already closed", "broken pipe",
                        "connection reset", "the connection is closed", "interface error")

    def is_disconnect(self, exc: Exception) -> bool:
        text = str(exc).lower()
        return any(word in text for word in self.disconnect_words) or type(exc).__name__ in (
            "OperationalError", "InterfaceError") and self._closed()

    def _closed(self) -> bool:
        connection = self.connection.driver_connection
        closed = getattr(connection, "closed", None)
        if closed is not None:
            return bool(closed)
        opened = getattr(connection, "open", True)
        return not opened

    def _execute(self, sql, params=None):
        cursor = self.connection.cursor()
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        return cursor

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # closing a connection the server already dropped
            pass
        finally:
            self.engine.dispose()


class PostgresAdapter(ServerAdapter):
    dialect = "postgres"
    driver = "postgresql+psycopg"
    default_port = 5432
    extra = "postgres"
    transactional_ddl = True
    drop_cascades = True
    max_identifier = 63
    commits_together = True
    # A heap has no min/max per block: 13 segment names tested on each of 760k history rows cost
    # 0.1-0.2 s per statement (200k customers), twice what the semi-join on (segment, key) costs.
    value_lists_prune = False

    def connect_args(self, target) -> dict:
        # sslmode, connect_timeout, keepalives_idle, search_path, application_name: libpq's own
        return target.credentials.connect_args()

    def session_setup(self) -> None:
        self._execute("SET TIME ZONE 'UTC'")
        role = self.target.credentials.role  # dbt-postgres' `role:`; the name is quoted by sqlglot
        if role:
            try:
                self._run(f"SET ROLE {self.sql(exp.to_identifier(role, quoted=True))}")
            except WarehouseError as exc:
                self.close()
                raise WarehouseError(f"cannot take role '{role}' on target '{self.target.name}': {exc.message}",
                                     self.target.location, "check `role:` of the target in profiles.yml, "
                                     "and that the user is a member of that role") from None

    def set_lock_timeout(self, seconds: float) -> None:
        super().set_lock_timeout(seconds)
        # 0 in PostgreSQL means "wait forever": the shortest real wait is 1 ms
        self._execute(f"SET lock_timeout = {max(1, int(seconds * 1000))}")

    def is_lock_timeout(self, exc: Exception) -> bool:
        return getattr(exc, "sqlstate", None) == "55P03" or "lock timeout" in str(exc)

    def analyze(self, schema: str, table: str, columns: list[str] | None = None) -> None:
        if not columns:
            self.execute(exp.Analyze(tables=[exp.table_(table, db=schema, quoted=True)]))
            return
        # text: sqlglot spells no column list here; every name is quoted by sqlglot. Each column
        # analysed costs about as much as the sample (22 flags and 2 keys: 0.17 s, the keys: 0.04 s)
        self._run(f"ANALYZE {self.sql(exp.table_(table, db=schema, quoted=True))} "
                  f"({', '.join(self.sql(exp.to_identifier(c, quoted=True)) for c in columns)})")

    def table_columns(self, schema: str, names) -> dict[str, list[tuple[str, str]]]:
        names = list(names)
        if not names:
            return {}
        c, t = (lambda name: exp.column(name, table="c")), (lambda name: exp.column(name, table="t"))
        return self._columns_by_table(self.fetchall(
            exp.select(c("table_name"), c("column_name"), c("data_type"))
            .from_(exp.alias_(exp.table_("columns", db="information_schema"), "c", table=True))
            .join(exp.alias_(exp.table_("tables", db="information_schema"), "t", table=True),
                  on=exp.and_(t("table_schema").eq(c("table_schema")), t("table_name").eq(c("table_name"))))
            .where(c("table_schema").eq(exp.Literal.string(schema)),
                   exp.In(this=c("table_name"), expressions=[exp.Literal.string(name) for name in names]),
                   t("table_type").eq(exp.Literal.string("BASE TABLE")))
            .order_by(c("table_name"), c("ordinal_position"))))

    def finds_ranges(self, schema: str, name: str, column: str) -> bool:
        return bool(self.fetchall(_filled(_PG_LEADING_INDEX, schema=schema, table=name, column=column)))

    def enforces_unique(self, schema: str, name: str, column: str) -> bool:
        return bool(self.fetchall(_filled(_PG_UNIQUE_INDEX, schema=schema, table=name, column=column)))

    MISJUDGED = 2.0  # an estimate off by more than this factor is refreshed

    def refresh_statistics(self, schema: str, table: str, where: exp.Expression, rows: int) -> None:
        """ANALYZE (a sample of 30,000 rows, about 0.1 s on a large table) only when the planner
        misjudges the rows: a segment it believes small gets nested loops over its members (minutes
        instead of a second), while a segment that changed by a few percent plans the same."""
        estimate = max(self.estimated_rows(
            exp.select(exp.Literal.number(1)).from_(exp.table_(table, db=schema, quoted=True)).where(where)), 1.0)
        actual = max(float(rows), 1.0)
        if max(estimate / actual, actual / estimate) > self.MISJUDGED:
            self.analyze(schema, table)

    def estimated_rows(self, query: exp.Select) -> float:
        """The rows the planner expects the query to return (EXPLAIN; nothing is run)."""
        plan = self.fetchall_text("EXPLAIN (FORMAT JSON) " + self.sql(query))[0][0]
        if isinstance(plan, str):  # the driver returns the JSON parsed or as text
            plan = json.loads(plan)
        return float(plan[0]["Plan"]["Plan Rows"])

    def lock(self, name: str, timeout: float) -> bool:
        import time
        deadline = time.monotonic() + timeout
        while True:
            got = self._execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,)).fetchone()[0]
            if got or time.monotonic() >= deadline:
                return bool(got)
            time.sleep(0.2)

    def release_lock(self, name: str) -> None:
        try:
            self._execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
        except Exception:  # a dead session has released its locks already
            self.broken = True


class MySQLAdapter(ServerAdapter):
    dialect = "mysql"
    driver = "mysql+pymysql"
    default_port = 3306
    extra = "mysql"
    transactional_ddl = False  # DDL commits implicitly in MySQL/MariaDB
    indexes_work_tables = True  # joins are nested loops: the stage and delta need indexes
    full_outer_join = False
    max_identifier = 64
    begin_statement = "START TRANSACTION"
    relation_rows_commit_with_memberships = True  # InnoDB: only a recreated relation is swapped in after

    def identifier_length(self, name: str) -> int:
        return len(name)  # MySQL counts characters

    def database_name(self, target) -> str | None:
        # Connect without a default database: schemas are databases here, created on demand.
        return None

    def connect_args(self, target) -> dict:
        args = {"charset": "utf8mb4", "init_command": "SET time_zone = '+00:00'"}
        password = target.credentials.password
        if password:  # the driver sends text passwords as latin-1: send UTF-8 bytes ('€' and beyond)
            args["password"] = str(password).encode("utf-8")
        return args

    def session_setup(self) -> None:
        # READ COMMITTED: CREATE TABLE ... SELECT and INSERT ... SELECT read a snapshot instead of
        # share-locking what they read, so two writers never deadlock on memberships' gaps.
        self._execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        version = str(self._execute("SELECT VERSION()").fetchone()[0])
        # Exact text: binary and NO PAD, so 'bob' and 'bob ' or 'cafe' and 'café' stay two keys.
        self.key_collation = "utf8mb4_nopad_bin" if "mariadb" in version.lower() else "utf8mb4_0900_bin"

    key_collation = "utf8mb4_nopad_bin"

    def set_lock_timeout(self, seconds: float) -> None:
        super().set_lock_timeout(seconds)
        wait = max(1, int(seconds + 0.999))
        self._execute(f"SET SESSION lock_wait_timeout = {wait}")
        self._execute(f"SET SESSION innodb_lock_wait_timeout = {wait}")

    def is_lock_timeout(self, exc: Exception) -> bool:
        code = exc.args[0] if getattr(exc, "args", None) else None
        return code == 1205 or "lock wait timeout" in str(exc).lower()

    def is_disconnect(self, exc: Exception) -> bool:
        code = exc.args[0] if getattr(exc, "args", None) else None
        return code in (2006, 2013, 2014, 2055, 1927) or super().is_disconnect(exc)

    def ensure_schema(self, schema: str) -> None:
        # text: sqlglot has no CREATE DATABASE ... CHARACTER SET; the name is quoted by sqlglot
        self._run(f"CREATE DATABASE IF NOT EXISTS {self.sql(exp.to_identifier(schema, quoted=True))} "
                  "CHARACTER SET utf8mb4")

    def table_properties(self) -> exp.Properties:
        return exp.Properties(expressions=[
            exp.CharacterSetProperty(this=exp.var("utf8mb4"), default=True),
            exp.CollateProperty(this=exp.var(self.key_collation))])

    def key_text(self, value: exp.Expression) -> exp.Expression:
        return exp.Collate(this=exp.cast(value, "CHAR"), expression=exp.var(self.key_collation))

    def sql(self, statement: exp.Expression | str) -> str:
        # Text tests compare exactly: the server's binary NO PAD collation ('a' is not 'a ').
        if not isinstance(statement, str) and next(CaseSensitive.find_all(statement), None) is not None:
            statement = statement.copy()
            for node in list(CaseSensitive.find_all(statement)):
                CaseSensitive.set(node, "collation", exp.var(self.key_collation))
        if isinstance(statement, (exp.Update, exp.Delete)):
            statement = joined_write(statement)
        return super().sql(statement)

    def finds_ranges(self, schema: str, name: str, column: str) -> bool:
        return self._leading_index(schema, name, column)

    def enforces_unique(self, schema: str, name: str, column: str) -> bool:
        second = exp.select(exp.Literal.number(1)).from_(_statistics("o")).where(
            *[exp.column(c, "o").eq(exp.column(c, "s")) for c in ("table_schema", "table_name", "index_name")],
            exp.column("seq_in_index", "o").eq(exp.Literal.number(2)))
        return self._leading_index(schema, name, column, exp.column("non_unique", "s").eq(exp.Literal.number(0)),
                                   exp.not_(exp.Exists(this=second)))  # unique, and on no other column

    def _leading_index(self, schema: str, name: str, column: str, *also: exp.Expression) -> bool:
        """Whether an index of the table has the column first (and meets `also`)."""
        return bool(self.fetchall(exp.select(exp.Literal.number(1)).from_(_statistics("s")).where(
            exp.column("table_schema", "s").eq(exp.Literal.string(schema)),
            exp.column("table_name", "s").eq(exp.Literal.string(name)),
            exp.column("column_name", "s").eq(exp.Literal.string(column)),
            exp.column("seq_in_index", "s").eq(exp.Literal.number(1)), *also).limit(1)))

    def index_column_sql(self, schema: str, table: str, column: str) -> str:
        # TEXT columns are indexed by a prefix; equality lookups then check the whole value.
        kind = self.scalar(exp.select("data_type").from_("information_schema.columns").where(
            exp.column("table_schema").eq(exp.Literal.string(schema)),
            exp.column("table_name").eq(exp.Literal.string(table)),
            exp.column("column_name").eq(exp.Literal.string(column))))
        name = self.sql(exp.to_identifier(column, quoted=True))
        return f"{name}(191)" if str(kind).lower() in ("text", "mediumtext", "longtext", "blob") else name

    def lock(self, name: str, timeout: float) -> bool:
        got = self._execute("SELECT GET_LOCK(%s, %s)", (_lock_name(name), int(timeout))).fetchone()[0]
        return bool(got)

    def release_lock(self, name: str) -> None:
        try:
            self._execute("SELECT RELEASE_LOCK(%s)", (_lock_name(name),))
        except Exception:  # a dead session has released its locks already
            self.broken = True

    def rename_table(self, schema: str, old: str, new: str) -> None:
        self._rename(schema, (old, new))

    def _rename(self, schema: str, *pairs: tuple[str, str]) -> None:
        """One RENAME TABLE of several pairs, atomic in MySQL/MariaDB (text: sqlglot parses this
        statement as an opaque command; every name is quoted by sqlglot)."""
        q = self.sql
        self._run("RENAME TABLE " + ", ".join(
            f"{q(exp.table_(a, db=schema, quoted=True))} TO {q(exp.table_(b, db=schema, quoted=True))}"
            for a, b in pairs))

    def swap_in(self, schema: str, name: str, new: str, then=None) -> None:
        """DDL commits at once here: one multi-table RENAME swaps old and new atomically."""
        if self.relation_kind(schema, name) == "view":
            self.drop(schema, name, "view")
        if self.relation_kind(schema, name) is None:
            self.rename_table(schema, new, name)
            if then is not None:
                then()
            return
        backup = f"{name}__segw_bak"[:self.max_identifier]
        self.drop(schema, backup, "table")
        self._rename(schema, (name, backup), (new, name))
        self.drop(schema, backup, "table")
        if then is not None:
            then()


JOINED = "_segw_in"  # the alias of the rows a write is joined to (see `joined_write`)


def joined_write(statement: exp.Update | exp.Delete) -> exp.Update | exp.Delete:
    """`UPDATE/DELETE t ... WHERE ... AND x IN (SELECT k ...)` as a multi-table write joined to the
    subquery's rows. MariaDB (before 11.1) runs the IN subquery of a single-table UPDATE/DELETE
    once per row of the target: a small delta against a segment of 100k members costs 100k lookups
    (0.6 s a statement at 200k customers). Joined, the delta's rows drive and each finds its row
    of the target through its index. The same rows are written: the IN is a conjunct of the WHERE
    (not under OR or NOT), a NULL matches neither way, and a key the subquery names twice writes
    its row once with the same values. Other writes are returned as they are."""
    target, where = statement.this, statement.args.get("where")
    if not isinstance(target, exp.Table) or target.args.get("joins") or target.alias or where is None:
        return statement
    conjuncts = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
    subqueries = [c for c in conjuncts if isinstance(c, exp.In) and c.args.get("query") is not None]
    if len(subqueries) != 1:
        return statement
    found = subqueries[0]
    query = found.args["query"]
    rows = query.this if isinstance(query, exp.Subquery) else query
    if not isinstance(rows, exp.Select) or len(rows.expressions) != 1:
        return statement
    rows = rows.copy()
    rows.set("expressions", [exp.alias_(rows.expressions[0].unalias(), JOINED, quoted=True)])
    written = statement.copy()
    joined_target = written.this
    joined_target.set("joins", [exp.Join(
        this=rows.subquery(exp.to_identifier(JOINED, quoted=True)),
        on=exp.EQ(this=found.this.copy(), expression=exp.column(JOINED, table=JOINED, quoted=True)))])
    rest = [c.copy() for c in conjuncts if c is not found]
    written.set("where", exp.Where(this=exp.and_(*rest)) if rest else None)
    if isinstance(written, exp.Delete):
        written.set("tables", [exp.table_(target.name, db=target.args.get("db"), quoted=True)])
    return written


def _lock_name(name: str) -> str:
    """MySQL lock names hold 64 characters: long names keep a digest so they never share a lock."""
    if len(name) <= 64:
        return name
    import hashlib
    return name[:47] + ":" + hashlib.md5(name.encode()).hexdigest()[:16]
