"""A segment's recreated relation swapped in after its data committed, finished by the next run if a run was killed in between.

Where DDL commits at once (MySQL/MariaDB, Spark, Snowflake), a relation that must be recreated
(`--full-refresh`, new columns) is filled aside and swapped in right after the transaction that
commits its memberships. A run killed between that commit and the swap would leave the old
relation behind the new memberships, and a relation of keys only takes each later run's changes,
not its members: it would lag for good. So the transaction also writes a marker row in
`_segw_state`; the swap is followed by the marker's removal; and the next build of the segment
that finds the marker swaps in the table left aside (it holds what was committed) or, if the swap
was done, only removes the marker. The marker is removed before a new table is put aside, so it
never vouches for a table whose data did not commit.
"""
from __future__ import annotations

import hashlib
from typing import Callable

from sqlglot import exp

from .outputs import STATE, col, insert, number, table, text
from .warehouse.base import Adapter

PREFIX = "swap:"
ROW_NAME_LENGTH = 64  # _segw_state.name is VARCHAR(64)


def marker(name: str) -> str:
    row = PREFIX + name
    return row if len(row) <= ROW_NAME_LENGTH else PREFIX + hashlib.md5(name.encode("utf-8")).hexdigest()


def forget(adapter: Adapter, schema: str, name: str) -> None:
    """Remove the segment's marker (before a table is put aside, and once it is swapped in)."""
    adapter.execute(exp.delete(table(schema, STATE), where=col("name").eq(text(marker(name)))))


def marking(adapter: Adapter, schema: str, name: str, replace: Callable[[], None]) -> Callable[[], None]:
    """`replace` that also writes the marker, in the data transaction that calls it."""
    def replace_and_mark() -> None:
        replace()
        adapter.execute(insert(table(schema, STATE), ["name", "value"],
                               exp.values([(text(marker(name)), number(1))])))
    return replace_and_mark


def pending_swaps(adapter: Adapter, schema: str, names: list[str]) -> set[str]:
    """The segments among `names` whose recreated relation a killed run committed but did not swap
    in: a marker, and the table aside (a marker alone: the swap was done, its removal was not)."""
    markers = {marker(name): name for name in names}
    marked = {markers[row[0]] for row in adapter.fetchall(exp.select(col("name")).from_(table(schema, STATE)).where(
        exp.In(this=col("name"), expressions=[text(m) for m in markers])))} if markers else set()
    aside = adapter.table_names(schema, "%" + adapter.aside_name("")) if marked else set()
    return {name for name in marked if adapter.aside_name(name) in aside}


def finish(adapter: Adapter, schema: str, name: str) -> bool:
    """Swap in the relation a killed run committed but did not swap in; True if it did."""
    found = adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(table(schema, STATE))
                           .where(col("name").eq(text(marker(name)))))
    if not found:
        return False
    aside = adapter.aside_name(name)
    swapped = adapter.relation_kind(schema, aside) == "table"
    if swapped:
        adapter.swap_in(schema, name, aside)
    forget(adapter, schema, name)
    return swapped
