"""The output contract of SEGMENTS.md §8: the tables segwarehouse keeps in the segment schema."""
from __future__ import annotations

from sqlglot import exp

from .warehouse.base import Adapter

TEXT = "TEXT"
KEY = "_segw_key"  # work tables: the exact text of an entity key, as memberships.key holds it
TIME = "TIMESTAMP"  # DATETIME(6) on MySQL/MariaDB (never TIMESTAMP: 1970-2038 only)
OUTPUT_TABLES: dict[str, list[tuple[str, str]]] = {
    "memberships": [("segment", TEXT), ("entity", TEXT), ("key", TEXT), ("split", TEXT),
                    ("entered_at", TIME)],
    "membership_history": [("segment", TEXT), ("entity", TEXT), ("key", TEXT), ("split", TEXT),
                           ("valid_from", TIME), ("valid_to", TIME)],
    "membership_changes": [("change_id", "BIGINT"), ("run_id", "VARCHAR(64)"), ("segment", TEXT),
                           ("entity", TEXT), ("key", TEXT), ("change", "VARCHAR(16)"), ("split", TEXT),
                           ("as_of", TIME)],
    "segment_runs": [("run_id", "VARCHAR(64)"), ("segment", TEXT), ("as_of", TIME),
                     ("started_at", TIME), ("finished_at", TIME),
                     ("status", "VARCHAR(16)"), ("size", "BIGINT"), ("entered", "BIGINT"),
                     ("exited", "BIGINT"), ("error", TEXT)],
    "segment_catalog": [("segment", TEXT), ("project", TEXT), ("entity", TEXT), ("title", TEXT),
                        ("description", TEXT), ("category", TEXT), ("tags", TEXT),
                        ("materialized", "VARCHAR(16)"), ("schedule", TEXT), ("rules", TEXT),
                        ("size", "BIGINT"), ("last_as_of", TIME), ("status", "VARCHAR(16)"),
                        ("updated_at", TIME), ("definition_hash", "VARCHAR(32)")],
    "segment_outcomes": [("segment", TEXT), ("split", TEXT), ("metric", TEXT), ("kind", "VARCHAR(16)"),
                         ("compared_to", TEXT), ("period_start", TIME), ("period_end", TIME),
                         ("members", "BIGINT"), ("value", "DECIMAL(38, 6)"), ("mean", "DOUBLE"),
                         ("difference", "DOUBLE"), ("lift", "DOUBLE"), ("ci_low", "DOUBLE"),
                         ("ci_high", "DOUBLE"), ("p_value", "DOUBLE"), ("computed_at", TIME)],  # segw report --save
    "_segw_state": [("name", "VARCHAR(64)"), ("value", "BIGINT")],
    "_segw_models": [("model_schema", TEXT), ("model", TEXT), ("fingerprint", "VARCHAR(32)")],
    # [1.1] incremental segments: the mode of the last run and what the next run needs (JSON)
    "_segw_increments": [("segment", TEXT), ("mode", "VARCHAR(16)"), ("reason", TEXT), ("state", TEXT),
                         ("updated_at", TIME)],
    # incremental runs: what each kept table of per-key measures holds (kept.py; JSON)
    "_segw_kept": [("entity", TEXT), ("relation", TEXT), ("state", TEXT), ("updated_at", TIME)],
}
MODELS_TABLE = "_segw_models"  # the fingerprint of each model at its last build
STATE = "_segw_state"
WRITER_ROW = "writer"            # updated by every writing transaction: serialises writers
LAST_CHANGE_ROW = "last_change_id"  # the highest change_id ever issued
VERSION_ROW = "outputs_version"
OUTPUTS_VERSION = 2  # 2: text keys without length cut, split in changes, catalog, DATETIME(6) on MySQL
INDEXES = {"memberships": ["segment", "key"], "membership_history": ["segment", "key"],
           "membership_changes": ["run_id", "segment"], "segment_catalog": ["segment"],
           "_segw_increments": ["segment"], "_segw_kept": ["entity"]}
RESERVED = tuple(OUTPUT_TABLES)


def table(schema: str, name: str, alias: str | None = None) -> exp.Expression:
    node = exp.table_(name, db=schema, quoted=True)
    return exp.alias_(node, alias, table=True, quoted=True) if alias else node


def col(name: str, alias: str | None = None) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


def text(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def number(value: int | None) -> exp.Expression:
    return exp.null() if value is None else exp.Literal.number(int(value))


def insert(target: exp.Expression, columns: list[str], source: exp.Expression) -> exp.Insert:
    """INSERT INTO target (columns) source."""
    return exp.Insert(this=exp.Schema(this=target, expressions=[exp.to_identifier(c, quoted=True)
                                                                for c in columns]),
                      expression=source)


def union_all(parts: list[exp.Query], copy: bool = False) -> exp.Query:
    """The rows of every query in `parts` (one part: itself), as one n-ary UNION ALL (a union folded
    part by part re-copies the growing union once per part). copy=False: the parts are built for it."""
    return parts[0] if len(parts) == 1 else exp.union(*parts, distinct=False, copy=copy)


def replace_row(adapter: Adapter, target: exp.Expression, columns: list[str], values: list[exp.Expression],
                stored: bool | None = None, keys: int = 1) -> None:
    """Make the row of `target` named by its first `keys` columns hold `values` (one row per name):
    one UPDATE where it is known to exist (on Spark one rewrite, no append), one INSERT where it is
    known not to, a DELETE and an INSERT when not known (`stored` None)."""
    where = exp.and_(*[col(c).eq(v.copy()) for c, v in zip(columns[:keys], values[:keys])])
    if stored:
        adapter.execute(exp.update(target, dict(zip(columns[keys:], values[keys:])), where=where))
        return
    if stored is None:
        adapter.execute(exp.delete(target.copy(), where=where))
    adapter.execute(insert(target, columns, exp.values([tuple(values)])))


def replace_rows(adapter: Adapter, target: exp.Expression, columns: list[str], rows: list[list[exp.Expression]],
                 stored: list[bool | None]) -> None:
    """`replace_row` for several rows, each named by its first column, in two statements: one
    DELETE of the names that may exist (`stored` not False), one INSERT of every row."""
    if not rows:
        return
    names = [row[0].copy() for row, there in zip(rows, stored) if there is not False]
    if names:
        adapter.execute(exp.delete(target.copy(), where=exp.In(this=col(columns[0]), expressions=names)))
    adapter.execute(insert(target, columns, exp.values([tuple(row) for row in rows])))


def _create(adapter: Adapter, schema: str, name: str, definition: str) -> None:
    columns = OUTPUT_TABLES[definition]
    adapter.create_table(schema, name, [(c, exp.DataType.build(ty)) for c, ty in columns])
    if definition in INDEXES:
        adapter.create_index(schema, name, INDEXES[definition])


def ensure_output_tables(adapter: Adapter, schema: str) -> None:
    """Create the output tables, or bring tables of an older version to this one (copy and swap)."""
    adapter.ensure_schema(schema)
    present = adapter.table_names(schema, "%")  # one look at the schema, not one per table
    version = 0
    if STATE in present:
        version = int(_state_value(adapter, schema, VERSION_ROW) or 0)
    for name in OUTPUT_TABLES:
        if name not in present:
            _create(adapter, schema, name, name)
        elif version < OUTPUTS_VERSION and name != STATE:
            _migrate(adapter, schema, name)
    if _state_value(adapter, schema, WRITER_ROW) is None:
        _put_state(adapter, schema, WRITER_ROW, 0)
    if _state_value(adapter, schema, LAST_CHANGE_ROW) is None:
        # Older warehouses kept the ids in the table (and a floor after full refreshes).
        top = adapter.scalar(exp.select(exp.Max(this=col("change_id"))).from_(table(schema, "membership_changes")))
        floor = _state_value(adapter, schema, "change_id_floor")
        _put_state(adapter, schema, LAST_CHANGE_ROW, max(int(top or 0), int(floor or 0)))
    if version < OUTPUTS_VERSION:
        with adapter.transaction():
            replace_row(adapter, table(schema, STATE), ["name", "value"], [text(VERSION_ROW), number(OUTPUTS_VERSION)])


def _migrate(adapter: Adapter, schema: str, name: str) -> None:
    """Copy an output table into the current definition and swap it in atomically."""
    new = f"{name}__segw_new"
    adapter.drop(schema, new, "table")
    _create(adapter, schema, new, name)
    have = set(adapter.columns(schema, name) or [])
    common = [c for c, _ in OUTPUT_TABLES[name] if c in have]
    adapter.execute(insert(table(schema, new), common,
                           exp.select(*[col(c) for c in common]).from_(table(schema, name))))
    adapter.swap_in(schema, name, new)


def _state_value(adapter: Adapter, schema: str, row: str):
    return adapter.scalar(exp.select(col("value")).from_(table(schema, STATE)).where(col("name").eq(text(row))))


def _put_state(adapter: Adapter, schema: str, row: str, value: int) -> None:
    adapter.execute(insert(table(schema, STATE), ["name", "value"], exp.values([(text(row), number(value))])))
