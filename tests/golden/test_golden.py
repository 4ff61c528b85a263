"""Golden SQL: the example project's segments in every dialect, pinned and parsed back.

Regenerate after a deliberate compiler change with `python -m pytest tests/golden --update-golden`
(or SEGW_UPDATE_GOLDEN=1) and review the diff."""
from __future__ import annotations

import datetime as dt
import difflib
import os
import shutil
from pathlib import Path

import duckdb
import pytest
import sqlglot

from segwarehouse.compiler.dialects import DIALECTS
from segwarehouse.compiler.segment import compile_segment
from segwarehouse.errors import SegwError
from segwarehouse.project.loader import load_project
from tests.conftest import make_project

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent
AS_OF = dt.datetime(2026, 11, 1, 6, 0, 0)
PROJECT = load_project(REPO)


def updating(config) -> bool:
    return config.getoption("--update-golden") or os.environ.get("SEGW_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_sql(dialect, request):
    folder = GOLDEN / dialect
    mismatches = []
    for name, segment in PROJECT.segments.items():
        sql = compile_segment(PROJECT, segment, AS_OF, dialect) + ";\n"
        path = folder / f"{name}.sql"
        if updating(request.config):
            folder.mkdir(exist_ok=True)
            path.write_text(sql)
            continue
        assert path.exists(), f"{path} is missing: run pytest tests/golden --update-golden"
        if path.read_text() != sql:
            mismatches.append("".join(difflib.unified_diff(
                path.read_text().splitlines(True), sql.splitlines(True), str(path), "compiled")))
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_golden_files_parse_back(dialect):
    files = sorted((GOLDEN / dialect).glob("*.sql"))
    assert len(files) == len(PROJECT.segments)
    for path in files:
        parsed = sqlglot.parse_one(path.read_text(), read=dialect)
        assert parsed.find(sqlglot.exp.Select) is not None, path


def test_duckdb_goldens_execute(tmp_path):
    """Golden text alone proves nothing: run the pinned DuckDB SQL and compare with a build."""
    root = tmp_path / "example"
    for item in ("models", "segments", "seeds", "macros", "segwarehouse.yml", "profiles.yml"):
        source = REPO / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / item)
    project = load_project(root)
    from segwarehouse.runner import build
    result = build(project, AS_OF, write_results=False)
    assert not result.failed
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
        for name, segment in project.segments.items():
            if segment.materialized == "view":
                continue
            golden = (GOLDEN / "duckdb" / f"{name}.sql").read_text().rstrip().rstrip(";")
            keys = {str(row[0]) for row in conn.execute(golden).fetchall()}
            built = {row[0] for row in conn.execute(
                "SELECT key FROM segments.memberships WHERE segment = ?", [name]).fetchall()}
            assert keys == built, name


def test_a_condition_a_dialect_cannot_express_is_refused(tmp_path):
    project = make_project(tmp_path, "postgres", {
        "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
        "seeds/people.csv": "id\n1\n",
        "segments/s.yml": 'segments:\n  - name: tagged\n    entity: person\n    rules:\n'
                          '      sql: "id = ANY(ARRAY[1, 2])"\n',
    })
    loaded = project.load()
    assert compile_segment(loaded, loaded.segments["tagged"], AS_OF, "postgres")
    with pytest.raises(SegwError) as info:
        compile_segment(loaded, loaded.segments["tagged"], AS_OF, "mysql")
    message = str(info.value)
    assert "segment 'tagged'" in message and "mysql" in message
    assert "segments/s.yml:5" in message  # the condition itself
