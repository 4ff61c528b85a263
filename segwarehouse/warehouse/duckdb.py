"""DuckDB, the embedded default: one file, one writer process."""
from __future__ import annotations

from pathlib import Path

from sqlglot import exp

from ..errors import SegwError, WarehouseBusy
from .base import Adapter, is_work_table

WORK = "_segw_work"  # an in-memory database beside the file: the build's work tables
CHECKPOINT_THRESHOLD = "256MiB"  # WAL size that makes DuckDB checkpoint at a commit


class DuckDBAdapter(Adapter):
    dialect = "duckdb"
    transactional_ddl = True
    max_identifier = 255
    placeholder = "?"
    wants_indexes = False
    concurrent_writers = False  # one writer per file: --threads builds one segment at a time
    other_writers = False  # the process that opened the file for writing is its only writer
    commits_together = True
    # It scans anyway: the changed keys' rows are found by a hash semi-join over whole relations,
    # so evaluating them costs as much as everyone at about 15% of the keys (bench_incremental.py:
    # 14% changed, 5.60 s incremental against 5.75 s full at 1M customers).
    incremental_up_to = 0.15

    def __init__(self, target):
        super().__init__(target)
        import duckdb

        credentials = target.credentials  # project/credentials.py: DuckDBCredentials
        path = credentials.path
        if path != ":memory:" and not path.startswith("md:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.connection = duckdb.connect(path, config=credentials.connect_config())
        except duckdb.InvalidInputException as exc:  # an unknown or invalid `settings:` entry
            raise SegwError(f"DuckDB refused a setting of target '{target.name}': {' '.join(str(exc).split())}",
                            target.location, "check `settings:` and `config_options:` of the target in "
                            "profiles.yml (https://duckdb.org/docs/configuration/overview)") from None
        except duckdb.IOException as exc:
            detail = " ".join(str(exc).split())
            if not any(text in detail.lower() for text in ("could not set lock", "conflicting lock")):
                # a folder, a file that is not DuckDB's, no permission: waiting will not help
                raise SegwError(f"cannot open DuckDB file {path}: {detail}", target.location,
                                "check `path:` of the target in profiles.yml") from None
            # Busy, not wrong: a build-time failure (exit 1) that runner.connect_waiting retries.
            raise WarehouseBusy(f"cannot open DuckDB file {path}: {detail}", target.location,
                                "another process may be writing to it; wait and retry") from None
        self.connection.execute("SET TimeZone = 'UTC'")
        if not {"checkpoint_threshold", "wal_autocheckpoint"} & set(credentials.connect_config()):
            # DuckDB checkpoints at the commit that grows the WAL past 16 MiB, then again on close:
            # one segment's large change made a build rewrite the output tables twice. One
            # checkpoint per build instead (bounded): 1% incremental run at 1M customers
            # 5.8 s -> 5.3 s, first build 15.7 s -> 14.8 s. A user's own setting wins.
            try:
                self.connection.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
            except duckdb.Error:  # an attached service that manages its own storage (MotherDuck)
                pass
        # Work tables live in memory, not in the file: written faster (no compression, no blocks
        # to flush at the next checkpoint) and gone with the process; measured 15-40% per work
        # table at 1M customers. One per DuckDB instance, shared by its connections.
        self.connection.execute(f'ATTACH IF NOT EXISTS \':memory:\' AS "{WORK}"')
        self._work_schemas: set[str] = set()
        for extension in credentials.extension_names():
            self.load_extension(extension, target)

    def load_extension(self, name: str, target) -> None:
        """dbt-duckdb's `extensions:`: install (when missing) and load each one."""
        import duckdb

        try:
            self.connection.load_extension(name)
        except duckdb.Error:
            try:
                self.connection.install_extension(name)
                self.connection.load_extension(name)
            except duckdb.Error as exc:
                self.connection.close()
                raise SegwError(f"cannot load DuckDB extension '{name}': {' '.join(str(exc).split())}",
                                target.location, "check `extensions:` of the target in profiles.yml "
                                "(installing an extension needs the network once)") from None

    def sql(self, statement) -> str:
        """Work tables (base.is_work_table) are read and written in the in-memory database, in a
        schema of the same name as the one the build names."""
        if isinstance(statement, str):
            return statement
        moved = [node for node in statement.find_all(exp.Table)
                 if node.db and not node.catalog and is_work_table(node.name)]
        for node in moved:  # in place, and put back after writing: statements are shared and large
            if node.db not in self._work_schemas:
                self._execute(f"CREATE SCHEMA IF NOT EXISTS {_name(WORK)}.{_name(node.db)}")
                self._work_schemas.add(node.db)
            node.set("catalog", exp.to_identifier(WORK, quoted=True))
        try:
            return super().sql(statement)
        finally:
            for node in moved:
                node.set("catalog", None)

    def _execute(self, sql, params=None):
        return self.connection.execute(sql, params) if params else self.connection.execute(sql)

    def close(self) -> None:
        self.connection.close()

    # DuckDB's own catalog functions answer in a fraction of the time its information_schema views
    # take (a build asks several times per segment); same answers, the same schema/name matching.
    def relation_kind(self, schema: str, name: str) -> str | None:
        database = _in_database(name)
        rows = self.fetchall_text(
            f"SELECT 'table' FROM duckdb_tables() WHERE schema_name = {_text(schema)} AND table_name = {_text(name)} "
            f"AND {database} UNION ALL SELECT 'view' FROM duckdb_views() WHERE NOT internal AND "
            f"schema_name = {_text(schema)} AND view_name = {_text(name)} AND {database}")
        return rows[0][0] if rows else None

    def enforces_unique(self, schema: str, name: str, column: str) -> bool:
        return bool(self.fetchall_text(
            f"SELECT 1 FROM duckdb_constraints() WHERE schema_name = {_text(schema)} AND table_name = {_text(name)} "
            f"AND {_in_database(name)} AND constraint_type IN ('PRIMARY KEY', 'UNIQUE') "
            f"AND constraint_column_names = [{_text(column)}] UNION ALL "
            f"SELECT 1 FROM duckdb_indexes() WHERE schema_name = {_text(schema)} AND table_name = {_text(name)} "
            f"AND {_in_database(name)} AND is_unique AND expressions = {_text(f'[{column}]')}"))

    def finds_ranges(self, schema: str, name: str, column: str) -> bool:
        # A table's COUNT(*) is read from its metadata, and a filter on one column skips the row
        # groups whose min/max rule it out: the rows past a mark cost a fraction of one scan, even
        # unordered. A view would be computed once per count: not there.
        return self.relation_kind(schema, name) == "table"

    def column_types(self, schema: str, name: str) -> list[tuple[str, str]]:
        rows = self.fetchall_text(f"SELECT column_name, data_type FROM duckdb_columns() WHERE NOT internal AND "
                                  f"schema_name = {_text(schema)} AND table_name = {_text(name)} AND "
                                  f"{_in_database(name)} ORDER BY column_index")
        return [(row[0], str(row[1]).lower()) for row in rows]

    def table_columns(self, schema: str, names) -> dict[str, list[tuple[str, str]]]:
        names = list(names)
        if not names:
            return {}
        listed = ", ".join(_text(name) for name in names)
        # outside the work database, where column_types looks up a relation that is not a work table
        return self._columns_by_table(self.fetchall_text(
            f"SELECT c.table_name, c.column_name, c.data_type FROM duckdb_columns() AS c JOIN duckdb_tables() AS t "
            f"ON t.table_oid = c.table_oid WHERE NOT c.internal AND c.schema_name = {_text(schema)} AND "
            f"c.table_name IN ({listed}) AND c.database_name <> {_text(WORK)} ORDER BY c.table_name, c.column_index"))

    def table_names(self, schema: str, like: str) -> set[str]:
        rows = self.fetchall_text(
            f"SELECT table_name, database_name FROM duckdb_tables() WHERE schema_name = {_text(schema)} AND "
            f"table_name LIKE {_text(like)} UNION "
            f"SELECT view_name, database_name FROM duckdb_views() WHERE NOT internal AND schema_name = "
            f"{_text(schema)} AND view_name LIKE {_text(like)}")
        return {str(row[0]) for row in rows if (row[1] == WORK) == is_work_table(str(row[0]))}


# Catalog queries carry their values as literals: a parameter list makes the DuckDB driver import
# pandas (0.3 s in every process that asks).
def _text(value: str) -> str:
    return exp.Literal.string(value).sql("duckdb")


def _in_database(name: str) -> str:
    """Where a relation of this name is looked up: the work database, or any other (attached ones too)."""
    return f"database_name {'=' if is_work_table(name) else '<>'} {_text(WORK)}"


def _name(value: str) -> str:
    return exp.to_identifier(value, quoted=True).sql("duckdb")
