"""The one small interface every engine adapter implements; the only room that talks to a database."""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterable, Sequence

from sqlglot import exp

from ..compiler.dialects import to_sql
from ..errors import WarehouseError
from ..project.jinja import SECRETS


class Adapter:
    """An open connection to one warehouse. Subclasses set the class attributes and the hooks."""

    dialect: str = ""
    transactional_ddl: bool = True   # can CREATE/DROP run inside a transaction we roll back?
    max_identifier: int = 63
    placeholder: str = "?"
    text_key_type: str = "VARCHAR(255)"

    def __init__(self, target):
        self.target = target
        self.in_transaction = False

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

    def execute(self, statement: exp.Expression | str, params: Sequence | None = None) -> None:
        text = self.sql(statement)
        try:
            self._execute(text, params)
        except Exception as exc:  # driver errors differ by engine; report them the same way
            raise WarehouseError(self.describe_error(exc)) from exc

    def fetchall(self, statement: exp.Expression | str) -> list[tuple]:
        text = self.sql(statement)
        try:
            cursor = self._execute(text)
            return [tuple(row) for row in cursor.fetchall()]
        except Exception as exc:
            raise WarehouseError(self.describe_error(exc)) from exc

    def scalar(self, statement: exp.Expression | str):
        rows = self.fetchall(statement)
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
            raise WarehouseError(self.describe_error(exc)) from exc

    @staticmethod
    def describe_error(exc: Exception) -> str:
        text = " ".join(str(exc).split())
        return SECRETS.mask(text[:2000])

    @contextmanager
    def transaction(self):
        """All statements inside commit together or not at all."""
        self.execute(self.begin_statement)
        self.in_transaction = True
        try:
            yield self
        except BaseException:
            try:
                self._execute("ROLLBACK")
            finally:
                self.in_transaction = False
            raise
        self.execute("COMMIT")
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

    def columns(self, schema: str, name: str) -> list[str] | None:
        """Column names of a relation in order, or None if it does not exist."""
        query = (exp.select("column_name").from_("information_schema.columns")
                 .where(exp.column("table_schema").eq(exp.Literal.string(schema)))
                 .where(exp.column("table_name").eq(exp.Literal.string(name)))
                 .order_by("ordinal_position"))
        names = [row[0] for row in self.fetchall(query)]
        return names or None

    def drop(self, schema: str, name: str, kind: str | None = None) -> None:
        kind = kind or self.relation_kind(schema, name)
        if kind is None:
            return
        self.execute(exp.Drop(tables=[exp.table_(name, db=schema, quoted=True)],
                              kind="VIEW" if kind == "view" else "TABLE", exists=True,
                              cascade=self.drop_cascades))

    drop_cascades = False
    wants_indexes = True  # servers plan correlated diffs with indexes; DuckDB hashes without them

    def create_index(self, schema: str, table: str, columns: list[str]) -> None:
        if not self.wants_indexes:
            return
        digest = hashlib.md5(f"{table}:{','.join(columns)}".encode()).hexdigest()[:8]
        name = exp.to_identifier(f"{table[:40]}__idx_{digest}", quoted=True)
        target = exp.table_(table, db=schema, quoted=True)
        names = ", ".join(self.sql(exp.to_identifier(c, quoted=True)) for c in columns)
        self.execute(f"CREATE INDEX {self.sql(name)} ON {self.sql(target)} ({names})")

    def rename_table(self, schema: str, old: str, new: str) -> None:
        self.execute(exp.Alter(this=exp.table_(old, db=schema, quoted=True), kind="TABLE",
                               actions=[exp.AlterRename(this=exp.table_(new, quoted=True))]))
