"""The output contract of SEGMENTS.md §8: the tables segwarehouse keeps in the segment schema."""
from __future__ import annotations

from sqlglot import exp

from .warehouse.base import Adapter

TEXT = "VARCHAR(255)"
OUTPUT_TABLES: dict[str, list[tuple[str, str]]] = {
    "memberships": [("segment", TEXT), ("entity", TEXT), ("key", TEXT), ("split", TEXT),
                    ("entered_at", "TIMESTAMP")],
    "membership_history": [("segment", TEXT), ("entity", TEXT), ("key", TEXT), ("split", TEXT),
                           ("valid_from", "TIMESTAMP"), ("valid_to", "TIMESTAMP")],
    "membership_changes": [("change_id", "BIGINT"), ("run_id", "VARCHAR(64)"), ("segment", TEXT),
                           ("entity", TEXT), ("key", TEXT), ("change", "VARCHAR(16)"),
                           ("as_of", "TIMESTAMP")],
    "segment_runs": [("run_id", "VARCHAR(64)"), ("segment", TEXT), ("as_of", "TIMESTAMP"),
                     ("started_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"),
                     ("status", "VARCHAR(16)"), ("size", "BIGINT"), ("entered", "BIGINT"),
                     ("exited", "BIGINT"), ("error", "TEXT")],
    "_segw_state": [("name", "VARCHAR(64)"), ("value", "BIGINT")],
}
WRITER_ROW = "writer"
INDEXES = {"memberships": ["segment", "key"], "membership_history": ["segment", "key"],
           "membership_changes": ["run_id", "segment"]}


def table(schema: str, name: str, alias: str | None = None) -> exp.Expression:
    node = exp.table_(name, db=schema, quoted=True)
    return exp.alias_(node, alias, table=True, quoted=True) if alias else node


def col(name: str, alias: str | None = None) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


def text(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def ensure_output_tables(adapter: Adapter, schema: str) -> None:
    adapter.ensure_schema(schema)
    for name, columns in OUTPUT_TABLES.items():
        if adapter.relation_kind(schema, name) is not None:
            continue
        definition = exp.Schema(this=table(schema, name), expressions=[
            exp.ColumnDef(this=exp.to_identifier(c, quoted=True),
                          kind=exp.DataType.build(ty, dialect=adapter.dialect)) for c, ty in columns])
        adapter.execute(exp.Create(this=definition, kind="TABLE", exists=True))
        if name in INDEXES:
            adapter.create_index(schema, name, INDEXES[name])
    state = table(schema, "_segw_state")
    exists = exp.select("1").from_(state).where(col("name").eq(text(WRITER_ROW)))
    if not adapter.fetchall(exists):
        adapter.execute(insert(state, ["name", "value"],
                               exp.values([(text(WRITER_ROW), exp.Literal.number(0))])))


def insert(target: exp.Expression, columns: list[str], source: exp.Expression) -> exp.Insert:
    """INSERT INTO target (columns) source."""
    return exp.Insert(this=exp.Schema(this=target, expressions=[exp.to_identifier(c, quoted=True)
                                                                for c in columns]),
                      expression=source)
