"""PostgreSQL makes a build's work tables UNLOGGED: their rows skip the write-ahead log; the tables
that last (memberships, relations, kept measures) stay logged."""
from __future__ import annotations

import re

import pytest
from sqlglot import exp

from tests.engines.test_incremental_shared import run
from tests.engines.test_kept_measures import world

CREATED = re.compile(r'CREATE (UNLOGGED )?TABLE "[^"]+"\."([^"]+)"')


@pytest.mark.servers
def test_work_tables_are_unlogged_and_what_lasts_is_logged(project_factory, statements):
    from segwarehouse.warehouse.base import is_work_table

    project = world(project_factory, "postgres")
    schema = project.model_schema
    statements.clear()
    assert project.build("2024-06-10 12:00:00").exit_code == 0
    run(project, f"INSERT INTO {schema}.orders VALUES (2, 70, '2024-06-09 00:00:00', '2030-01-02 00:00:00')")
    assert project.build("2024-06-11 00:00:00").exit_code == 0
    assert project.members("recent") == {"1", "2", "3"}
    made = [(m.group(2), bool(m.group(1))) for s in statements for m in [CREATED.search(s)] if m]
    work = {name for name, _ in made if is_work_table(name)}
    assert {"_segw_inc_customer_keys", "_segw_stage_recent", "_segw_delta_recent"} <= work, work
    assert any(name.startswith("_segw_kw_") for name in work) and any(name.startswith("_segw_f_") for name in work)
    assert [name for name, unlogged in made if unlogged != is_work_table(name)] == []
    assert any(name.startswith("_segw_m_") for name, _ in made)  # a kept table: logged

    adapter = project.adapter()  # what the server made of it
    try:
        adapter.execute(exp.Create(this=exp.table_("_segw_stage_probe", db=project.segment_schema, quoted=True),
                                   kind="TABLE", expression=exp.select(exp.Literal.number(1).as_("x"))))
        persistence = adapter.fetchall_text(
            "SELECT c.relname, c.relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = '{project.segment_schema}' AND c.relname IN ('_segw_stage_probe', 'memberships')")
        adapter.execute_text(f'DROP TABLE "{project.segment_schema}"."_segw_stage_probe"')
    finally:
        adapter.close()
    assert dict(persistence) == {"_segw_stage_probe": "u", "memberships": "p"}
