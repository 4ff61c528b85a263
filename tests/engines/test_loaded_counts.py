"""What a run asks the catalog instead of counting, on every engine: the counts an incremental run
takes of a source's rows by loaded_at (to see deleted or changed rows) are the same whether one
scan counts them or the few rows past each mark are counted (an index on loaded_at, DuckDB's
row-group min/max); and keys the engine keeps unique (a primary key, a unique index) are not
counted at all."""
from __future__ import annotations

import datetime as dt

from segwarehouse.compiler.incremental import loaded_rows
from segwarehouse.incremental import count_loaded
from segwarehouse.project.loader import load_project
from tests.conftest import in_schema

ROWS = ["(1, '2024-01-01 00:00:00')", "(2, '2024-03-01 00:00:00')", "(3, '2024-03-01 00:00:00')",
        "(4, NULL)", "(5, '2024-05-01 12:00:00')", "(6, '2024-07-01 00:00:00')"]
MARKS = [(None, None), (None, dt.datetime(2024, 3, 1)), (dt.datetime(2024, 3, 1), dt.datetime(2024, 5, 1, 12)),
         (dt.datetime(2023, 1, 1), dt.datetime(2030, 1, 1))]


def test_counts_past_the_marks_equal_one_scans_counts(engine, project_factory):
    project = project_factory(engine)
    project.write("models/entities.yml", f"""
entities:
  - name: thing
    model: {project.model_schema}.things
    key: id
    loaded_at: _loaded_at
""")
    loaded = load_project(project.root)
    model = f"{project.model_schema}.things"
    adapter = project.adapter()
    try:
        adapter.ensure_schema(project.model_schema)
        adapter.execute(in_schema("CREATE TABLE t.things (id INT, _loaded_at TIMESTAMP)", project.model_schema))
        adapter.execute(in_schema(f"INSERT INTO t.things VALUES {', '.join(ROWS)}", project.model_schema))
        expected = {marks: tuple(int(n or 0) for n in adapter.fetchall(loaded_rows(loaded, model, "_loaded_at", *marks))[0])
                    for marks in MARKS}
        assert expected[MARKS[2]] == (3, 1, 4)  # up to March 1st: 1, 2, 3; no mark: 4; up to May 1st noon: +5
        # DuckDB counts a table's recent rows by row groups' min/max; servers where an index leads
        # with loaded_at; the numbers are the same either way
        assert adapter.finds_ranges(project.model_schema, "things", "_loaded_at") is (engine == "duckdb")
        assert {marks: count_loaded(adapter, loaded, model, "_loaded_at", *marks) for marks in MARKS} == expected
        if engine != "duckdb":
            adapter.create_index(project.model_schema, "things", ["_loaded_at"])
            assert adapter.finds_ranges(project.model_schema, "things", "_loaded_at")
            assert not adapter.finds_ranges(project.model_schema, "things", "id")
            assert {marks: count_loaded(adapter, loaded, model, "_loaded_at", *marks) for marks in MARKS} == expected
        else:  # a view would be computed once per count: one scan instead
            adapter.execute(in_schema("CREATE VIEW t.things_view AS SELECT * FROM t.things", project.model_schema))
            assert not adapter.finds_ranges(project.model_schema, "things_view", "_loaded_at")
    finally:
        adapter.close()


def test_keys_the_engine_keeps_unique_are_not_counted(engine, project_factory, statements):
    """A primary key or a unique index on exactly the entity's key makes the engine keep it unique:
    a build then does not count the keys (a scan of the entity); anything else is counted."""
    project = project_factory(engine)
    schema = project.model_schema
    adapter = project.adapter()
    try:
        adapter.ensure_schema(schema)
        for sql in ("CREATE TABLE t.pk (id INT PRIMARY KEY, v INT)", "CREATE TABLE t.plain (id INT, v INT)",
                    "CREATE TABLE t.pair (id INT, v INT, PRIMARY KEY (id, v))", "CREATE TABLE t.uniq (id INT, v INT)"):
            adapter.execute(in_schema(sql, schema))
        adapter.execute_text(f"CREATE UNIQUE INDEX uniq_id ON {project.quote(schema)}.uniq (id)")
        if engine == "postgres":  # a partial unique index keeps only some rows unique
            adapter.execute_text(f'CREATE TABLE "{schema}".part (id INT, v INT)')
            adapter.execute_text(f'CREATE UNIQUE INDEX part_id ON "{schema}".part (id) WHERE v > 0')
            assert not adapter.enforces_unique(schema, "part", "id")
        assert [adapter.enforces_unique(schema, name, column) for name, column in (
            ("pk", "id"), ("uniq", "id"), ("plain", "id"), ("pair", "id"), ("pk", "v"))] == [True, True, False, False, False]
    finally:
        adapter.close()
    project.write("models/entities.yml", f"""
entities:
  - name: keyed
    model: {schema}.pk
    key: id
  - name: loose
    model: {schema}.plain
    key: id
""")
    project.write("segments/s.yml", """
segments:
  - {name: keyed_big, entity: keyed, rules: {property: v, gt: 1}}
  - {name: loose_big, entity: loose, rules: {property: v, gt: 1}}
""")
    adapter = project.adapter()
    try:
        for name in ("pk", "plain"):
            adapter.execute(in_schema(f"INSERT INTO t.{name} VALUES (1, 1), (2, 2), (3, 3)", schema))
    finally:
        adapter.close()
    assert project.build("2024-06-01 00:00:00").exit_code == 0
    statements.clear()
    assert project.build("2024-06-02 00:00:00").exit_code == 0
    assert project.members("keyed_big") == project.members("loose_big") == {"2", "3"}
    counted = [s for s in statements if "COUNT(DISTINCT" in s]
    assert len(counted) == 1 and ".plain" in counted[0].replace('"', "").replace("`", ""), counted
