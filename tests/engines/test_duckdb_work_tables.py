"""DuckDB keeps a build's work tables (stages, deltas, changed keys, wide tables, kept measures being
brought forward) in an in-memory database beside the file: the file holds only what lasts."""
from __future__ import annotations

import re

import pytest

from tests.engines.test_kept_measures import world

WORK_CREATED = re.compile(r'CREATE TABLE "([^"]+)"\."([^"]+)"\."([^"]+)"')
CREATED = re.compile(r'CREATE TABLE "([^"]+)"\."([^"]+)" AS')


def test_every_work_table_name_is_known_as_one():
    from segwarehouse.compiler.features import FEATURE_PREFIX
    from segwarehouse.incremental import SHARED_PREFIX
    from segwarehouse.materialize import changed_name, delta_name, stage_name
    from segwarehouse.warehouse.base import is_work_table

    class Segment:
        name = "vip"
    for name in (stage_name(Segment), delta_name(Segment), changed_name(Segment), changed_name(Segment) + "_p",
                 FEATURE_PREFIX + "0123456789ab_k", SHARED_PREFIX + "customer_keys", "_segw_kw_0123456789ab_1_d"):
        assert is_work_table(name), name
    for name in ("vip", "memberships", "_segw_increments", "_segw_kept", "_segw_m_0123456789ab_1", "vip__segw_new"):
        assert not is_work_table(name), name


@pytest.mark.parametrize("engine", ["duckdb"])
def test_work_tables_are_made_in_memory_and_the_file_keeps_only_what_lasts(engine, project_factory, statements):
    project = world(project_factory, engine)
    schema = project.model_schema
    assert project.build("2024-06-10 12:00:00").exit_code == 0
    from tests.engines.test_incremental_shared import run
    run(project, f"INSERT INTO {schema}.orders VALUES (2, 70, '2024-06-09 00:00:00', '2030-01-02 00:00:00')")
    statements.clear()
    assert project.build("2024-06-11 00:00:00").exit_code == 0
    assert project.members("recent") == {"1", "2", "3"}
    in_memory = {m.group(3) for s in statements for m in [WORK_CREATED.search(s)] if m and m.group(1) == "_segw_work"}
    in_file = {m.group(2) for s in statements for m in [CREATED.search(s)] if m}
    assert {"_segw_inc_customer_keys", "_segw_delta_recent"} <= in_memory, in_memory
    assert any(name.startswith("_segw_kw_") for name in in_memory) and any(n.startswith("_segw_f_") for n in in_memory)
    assert not [name for name in in_file if name.startswith("_segw_")], in_file  # nothing but work tables made
    adapter = project.adapter()
    try:
        left = adapter.table_names(project.segment_schema, "%")
        kept = adapter.table_names(project.segment_schema, "_segw_m_%")
    finally:
        adapter.close()
    assert kept and not [name for name in left if name.startswith(("_segw_stage_", "_segw_delta_", "_segw_inc_",
                                                                    "_segw_f_", "_segw_kw_", "_segw_keys_"))]
