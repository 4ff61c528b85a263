"""Kept measures: an entity's incremental segments keep, per key, every measure they need from a
relation, brought forward each run from the rows loaded since and the rows time moved; after an
update or delete they are dropped and made again. What they hold always equals a fresh computation."""
from __future__ import annotations

import re

import pytest

from tests.engines.test_incremental_shared import AS_OF, created, run
from tests.engines.test_incremental_shared import world as shared_world

SEGMENTS = """
segments:
  - {name: buyers, entity: customer, materialized: incremental, rules: {related: orders, count: {gte: 1}}}
  - name: big_buyers
    entity: customer
    materialized: incremental
    rules: {related: orders, sum: {of: amount, gt: 50}}
  - {name: recent, entity: customer, materialized: incremental, rules: {related: orders, within_last: 7 days}}
  - name: recent_big_order
    entity: customer
    materialized: incremental
    rules: {related: orders, within_last: 7 days, max: {of: amount, gte: 40}}
  - name: avg_high
    entity: customer
    materialized: incremental
    rules: {related: orders, within_last: 30 days, avg: {of: amount, gte: 50}}
  - {name: first_old, entity: customer, materialized: incremental, rules: {related: orders, first: {before: 30 days ago}}}
  - {name: germans, entity: customer, materialized: incremental, rules: {property: country, equals: de}}
  - {name: all_buyers, entity: customer, materialized: table, rules: {related: orders, count: {gte: 1}}}
"""
KEPT_TABLE = re.compile(r"_segw_m_[0-9a-f]{12}_(\d+)\b")
ORDERS = re.compile(r"[`\"]orders[`\"]")  # the relation, quoted as any engine quotes it


pytestmark = pytest.mark.usefixtures("evaluate_changed_keys_however_many")


def world(project_factory, engine):
    """The shared-inputs world with these segments, and a second order of customer 3."""
    project = shared_world(project_factory, engine, SEGMENTS)
    run(project, f"INSERT INTO {project.model_schema}.orders VALUES (3, 20, '2024-06-09 00:00:00', "
                 "'2030-01-01 00:00:00')")
    return project


def members(project) -> dict[str, set[str]]:
    return {name: project.members(name) for name in
            ("buyers", "big_buyers", "recent", "recent_big_order", "avg_high", "first_old", "germans")}


def kept_tables(project) -> set[str]:
    adapter = project.adapter()
    try:
        return {name for name in adapter.table_names(project.segment_schema, "_segw_m_%") if KEPT_TABLE.fullmatch(name)}
    finally:
        adapter.close()


def kept_equals_fresh(project, as_of: str, mark: str = "9999-01-01 00:00:00") -> None:
    """The kept table holds, per key, exactly what computing every measure afresh at as_of over the
    rows loaded up to `mark` gives."""
    import datetime as dt

    from segwarehouse.compiler import kept as sql
    from segwarehouse.kept import kept_segments
    from segwarehouse.project.loader import load_project
    from sqlglot import exp

    loaded = load_project(project.root)
    at = dt.datetime.fromisoformat(as_of)
    plans = sql.plan_kept(loaded, "customer", kept_segments(loaded, "customer"), at, None)
    (name,) = kept_tables(project)
    adapter = project.adapter()
    try:
        fresh = adapter.fetchall(sql.build(plans["orders"], dt.datetime.fromisoformat(mark)))
        kept = adapter.fetchall(exp.select("*").from_(exp.table_(name, db=project.segment_schema, quoted=True)))
    finally:
        adapter.close()

    def rows(found):  # a key whose rows all left a measure may stay, with nothing counted
        return sorted((str(r[0]), *[float(v) if v is not None and not hasattr(v, "isoformat") else v
                                   for v in r[1:]]) for r in found)
    nothing = lambda r: all(v in (None, 0) for v in r[1:])  # noqa: E731
    assert [r for r in rows(kept) if not nothing(r)] == [r for r in rows(fresh) if not nothing(r)]


def test_kept_measures_are_brought_forward_and_equal_a_fresh_computation(engine, project_factory, statements):
    project = world(project_factory, engine)
    schema = project.model_schema
    assert project.build(AS_OF).exit_code == 0
    (first,) = kept_tables(project)  # made by the first (full) run
    kept_equals_fresh(project, AS_OF)

    # New orders, one of them late and dated long ago: brought forward, not made again.
    run(project, f"INSERT INTO {schema}.orders VALUES (2, 70, '2024-01-01 00:00:00', '2030-01-02 00:00:00'), "
                 "(4, 55, '2024-06-10 06:00:00', '2030-01-02 00:00:00')")
    statements.clear()
    assert project.build(AS_OF).exit_code == 0
    assert members(project) == {"buyers": {"1", "2", "3", "4"}, "big_buyers": {"2", "3", "4"}, "recent": {"1", "3", "4"},
                                "recent_big_order": {"1", "4"}, "avg_high": {"4"}, "first_old": {"2", "3"},
                                "germans": {"1", "3"}}
    assert kept_tables(project) == {first}
    # The orders that moved are read from the relation once, into a copy that both the changed
    # keys and the kept table's delta read.
    (copy,) = created(statements, r"_segw_inc_customer_moved\d+\b")
    assert ORDERS.search(copy.split(" AS ", 1)[1])
    copy_name = re.search(r"_segw_inc_customer_moved\d+", copy).group(0)
    (delta,) = created(statements, "_segw_kw_" + first[len("_segw_m_"):] + "_d")  # the rows that moved
    assert copy_name in delta and not ORDERS.search(delta)
    assert copy_name in created(statements, "_segw_inc_customer_keys")[0]
    wide = created(statements, r"_segw_f_[0-9a-f]+_k\b")
    assert len(wide) == 1 and first in wide[0]  # the changed keys' measures read from the kept table
    assert not [s for s in created(statements, r"_segw_f_[0-9a-f]+_k\b") if ORDERS.search(s)]
    kept_equals_fresh(project, AS_OF)

    # Time alone, across window edges: rows leave `recent` (a count), the 7-day maximum (recomputed)
    # and the 30-day average (recomputed).
    statements.clear()
    assert project.build("2024-06-20 00:00:00").exit_code == 0
    assert members(project) == {"buyers": {"1", "2", "3", "4"}, "big_buyers": {"2", "3", "4"}, "recent": set(),
                                "recent_big_order": set(), "avg_high": {"4"}, "first_old": {"2", "3"},
                                "germans": {"1", "3"}}
    assert kept_tables(project) == {first}
    kept_equals_fresh(project, "2024-06-20 00:00:00")

    # A run of one segment: the kept table also moves for the others' windows, rows its copy does
    # not hold, so its delta reads the relation; what it keeps stays exact.
    run(project, f"INSERT INTO {schema}.orders VALUES (2, 30, '2024-06-20 06:00:00', '2030-01-02 12:00:00')")
    statements.clear()
    assert project.build("2024-06-20 12:00:00", select=["big_buyers"]).exit_code == 0
    (delta,) = created(statements, "_segw_kw_" + first[len("_segw_m_"):] + "_d")
    assert ORDERS.search(delta)
    assert project.members("big_buyers") == {"2", "3", "4"}
    kept_equals_fresh(project, "2024-06-20 12:00:00")

    # An order changed in place: the kept table cannot be brought forward; dropped, members right.
    run(project, f"UPDATE {schema}.orders SET amount = 5, _loaded_at = '2030-01-03 00:00:00' WHERE customer_id = 3 "
                 "AND amount = 60")
    assert project.build("2024-06-21 00:00:00").exit_code == 0
    assert project.members("big_buyers") == {"2", "4"} and kept_tables(project) == set()

    # The next run that sees only new rows makes it again.
    run(project, f"INSERT INTO {schema}.orders VALUES (1, 500, '2024-06-21 12:00:00', '2030-01-04 00:00:00')")
    statements.clear()
    assert project.build("2024-06-22 00:00:00").exit_code == 0
    (again,) = kept_tables(project)
    assert created(statements, again + r"\b")  # made afresh
    assert project.members("big_buyers") == {"1", "2", "4"}
    assert project.members("recent_big_order") == {"1"}
    kept_equals_fresh(project, "2024-06-22 00:00:00")


def test_a_failure_while_bringing_forward_leaves_the_kept_table_as_it_was(engine, project_factory, monkeypatch):
    """The kept table and its record change in one transaction: when recording fails, neither
    changed, the run reads the relation itself, and the next run brings the table forward right."""
    import segwarehouse.kept as kept
    from segwarehouse.errors import SegwError

    project = world(project_factory, engine)
    schema = project.model_schema
    assert project.build(AS_OF).exit_code == 0
    run(project, f"INSERT INTO {schema}.orders VALUES (2, 70, '2024-06-09 00:00:00', '2030-01-02 00:00:00')")
    write = kept._write

    def fail(adapter, schema, entity, relation, state, now):
        write(adapter, schema, entity, relation, state, now)
        raise SegwError("the connection dropped")
    monkeypatch.setattr(kept, "_write", fail)
    assert project.build("2024-06-11 00:00:00").exit_code == 0
    assert project.members("recent") == {"1", "2", "3"} and project.members("big_buyers") == {"2", "3"}
    kept_equals_fresh(project, AS_OF, mark="2030-01-01 00:00:00")  # as it was: without the new order
    monkeypatch.setattr(kept, "_write", write)
    run(project, f"INSERT INTO {schema}.orders VALUES (4, 90, '2024-06-11 06:00:00', '2030-01-03 00:00:00')")
    assert project.build("2024-06-12 00:00:00").exit_code == 0
    assert project.members("big_buyers") == {"2", "3", "4"} and project.members("recent") == {"1", "2", "3", "4"}
    kept_equals_fresh(project, "2024-06-12 00:00:00")


def test_the_copy_of_moved_rows_holds_the_columns_read_not_the_whole_row(engine, project_factory, statements):
    """An event table is often wide: the one copy of the rows that moved carries the columns some
    incremental segment reads (keys, time, loaded_at, measured and filtered columns), and the
    changed keys and the kept table's delta read it without falling back to the relation."""
    segments = SEGMENTS + """
  - name: web_recent
    entity: customer
    materialized: incremental
    rules: {related: orders, within_last: 7 days, where: [{property: channel, equals: web}]}
"""
    project = shared_world(project_factory, engine, segments)
    schema = project.model_schema
    run(project, f"ALTER TABLE {schema}.orders ADD COLUMN channel VARCHAR(8)")
    run(project, f"ALTER TABLE {schema}.orders ADD COLUMN note VARCHAR(200)")
    assert project.build(AS_OF).exit_code == 0
    (first,) = kept_tables(project)
    run(project, f"INSERT INTO {schema}.orders VALUES (2, 70, '2024-06-09 00:00:00', '2030-01-02 00:00:00', 'web', "
                 "'a long note nobody segments on'), (4, 55, '2024-06-10 06:00:00', '2030-01-02 00:00:00', 'shop', NULL)")
    statements.clear()
    assert project.build(AS_OF).exit_code == 0
    assert project.members("web_recent") == {"2"} and project.members("big_buyers") == {"2", "3", "4"}
    assert not [s for s in statements if " failed | " in s]
    (copy,) = created(statements, r"_segw_inc_customer_moved\d+\b")
    copied = copy.split(" AS ", 1)[1].split(" FROM ", 1)[0]
    for column in ("customer_id", "amount", "ordered_at", "_loaded_at", "channel"):
        assert re.search(rf"[`\"]{column}[`\"]", copied), column
    assert "note" not in copied and "*" not in copied
    copy_name = re.search(r"_segw_inc_customer_moved\d+", copy).group(0)
    (delta,) = created(statements, "_segw_kw_" + first[len("_segw_m_"):] + "_d")
    assert copy_name in delta and copy_name in created(statements, "_segw_inc_customer_keys")[0]
    kept_equals_fresh(project, AS_OF)
