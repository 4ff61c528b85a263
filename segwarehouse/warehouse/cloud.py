"""Snowflake, BigQuery and Databricks through their SQLAlchemy dialects (not executed in our CI)."""
from __future__ import annotations

import sqlglot
from sqlalchemy.engine import URL
from sqlglot import exp

from ..errors import SegwError
from .sqlalchemy_engines import ServerAdapter

EXTRAS = {"snowflake": "snowflake", "bigquery": "bigquery", "databricks": "databricks"}


def url_for(target) -> URL:
    """The SQLAlchemy URL for a dbt-style profile output of these engines."""
    c = target.credentials  # project/credentials.py: typed keys (extra dbt keys allowed, unread)
    if target.type == "snowflake":
        query = {k: str(getattr(c, k)) for k in ("warehouse", "role") if getattr(c, k)}
        return URL.create("snowflake", username=c.user, password=c.password,
                          host=c.account, database=f"{c.database or ''}/{target.schema}", query=query)
    if target.type == "bigquery":
        query = {"credentials_path": str(c.keyfile)} if c.keyfile else {}
        return URL.create("bigquery", host=c.project, database=target.schema, query=query)
    if target.type == "databricks":
        query = {k: str(getattr(c, k)) for k in ("http_path", "catalog") if getattr(c, k)}
        query["schema"] = target.schema
        return URL.create("databricks", username="token", password=c.token, host=c.host, query=query)
    raise ValueError(target.type)


class CloudAdapter(ServerAdapter):
    """A SQLAlchemy connection; only engines with multi-statement transactions may build."""

    # Snowflake commits before and after every DDL statement, inside a transaction or not: a DROP
    # cannot be rolled back. Relations are built aside and swapped in (ALTER TABLE ... SWAP WITH).
    transactional_ddl = False
    max_identifier = 255

    def __init__(self, target):
        self.dialect = target.dialect
        self.extra = EXTRAS[target.type]
        if target.type != "snowflake":
            raise SegwError(
                f"building on {target.type} is not supported yet: it has no multi-statement "
                "transactions, so segwarehouse could not keep each segment whole",
                target.location, f"run `segw compile --dialect {target.dialect}` and schedule the SQL there")
        super().__init__(target)

    def url(self, target) -> URL:
        return url_for(target)

    def _stored(self, schema: str, name: str) -> tuple[str, str]:
        """(schema, name) as the warehouse stores them: the names the compiled SQL resolves to
        (Snowflake folds unquoted names, dbt's default `quoting:`, to upper case)."""
        written = self.sql(exp.table_(name, db=schema, quoted=True))
        stored = sqlglot.parse_one(written, read=self.dialect, into=exp.Table)
        return stored.db, stored.name

    def relation_kind(self, schema: str, name: str) -> str | None:
        return super().relation_kind(*self._stored(schema, name))

    def column_types(self, schema: str, name: str) -> list[tuple[str, str]]:
        rows = super().column_types(*self._stored(schema, name))
        folded = {self._stored("s", column.lower())[1]: column.lower() for column, _ in rows}
        return [(folded.get(column, column), kind) for column, kind in rows]

    def swap_in(self, schema: str, name: str, new: str, then=None) -> None:
        """Snowflake's ALTER TABLE ... SWAP WITH exchanges two tables in one atomic step."""
        kind = self.relation_kind(schema, name)
        if kind == "view":
            self.drop(schema, name, "view")
        if kind != "table":
            self.rename_table(schema, new, name)
        else:
            self.execute(exp.Alter(this=exp.table_(name, db=schema, quoted=True), kind="TABLE",
                                   actions=[exp.SwapTable(this=exp.table_(new, db=schema, quoted=True))]))
            self.drop(schema, new, "table")  # the old rows, now under the new name
        if then is not None:
            then()
