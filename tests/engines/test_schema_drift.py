"""Schema drift: a column a segment reads disappears; that segment fails and keeps its members."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from segwarehouse.cli import main


def make(project_factory, engine):
    project = project_factory(engine)
    project.write("models/entities.yml", f"""
        entities:
          - name: person
            model: {project.model_schema}.people_ext
            key: id
    """)
    project.write("segments/s.yml", """
        segments:
          - {name: swiss, entity: person, rules: {property: country, equals: CH}}
          - {name: scored, entity: person, rules: {property: score, gt: 1}}
    """)
    adapter = project.adapter()
    try:
        adapter.ensure_schema(project.model_schema)
        q = project.quote
        table = f"{q(project.model_schema)}.{q('people_ext')}"
        adapter.execute_text(f"CREATE TABLE {table} (id INT, country VARCHAR(10), score INT)")
        adapter.execute_text(f"INSERT INTO {table} VALUES (1, 'CH', 5), (2, 'FR', 0), (3, 'CH', 2)")
    finally:
        adapter.close()
    return project, table


@pytest.mark.parametrize("change", ["rename", "drop"])
def test_drifted_column_fails_only_its_segment(engine, project_factory, change):
    project, table = make(project_factory, engine)
    assert project.build(as_of="2024-01-01").exit_code == 0
    assert project.members("swiss") == {"1", "3"}
    adapter = project.adapter()
    try:
        if change == "rename":
            adapter.execute_text(f"ALTER TABLE {table} RENAME COLUMN country TO country_code")
        else:
            adapter.execute_text(f"ALTER TABLE {table} DROP COLUMN country")
        adapter.execute_text(f"UPDATE {table} SET score = 9 WHERE id = 2")
    finally:
        adapter.close()
    result = CliRunner().invoke(main, ["build", "--project-dir", str(project.root), "--as-of", "2024-01-02"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "unknown column 'country'" in result.output and "segment 'swiss'" in result.output
    if change == "rename":
        assert "did you mean 'country_code'" in result.output
    assert project.members("swiss") == {"1", "3"}          # kept
    assert project.members("scored") == {"1", "2", "3"}    # the other segment built
