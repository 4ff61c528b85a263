"""Golden SQL of a whole run's plan: the example project's shared relation passes (one grouped scan
per relation for every segment that reads it) and each segment as a query over them.

Regenerate with `python -m pytest tests/golden --update-golden` and review the diff."""
from __future__ import annotations

import difflib

import pytest

from segwarehouse.compiler.features import plan_sql
from tests.golden.test_golden import AS_OF, GOLDEN, PROJECT, updating

ENGINES = ("duckdb", "postgres", "mysql")


@pytest.mark.parametrize("dialect", ENGINES)
def test_run_plan_golden(dialect, request):
    names = [n for n, s in PROJECT.segments.items() if s.materialized != "view"]
    sql = plan_sql(PROJECT, names, AS_OF, dialect, "segments")
    path = GOLDEN / "run_plan" / f"{dialect}.sql"
    if updating(request.config):
        path.parent.mkdir(exist_ok=True)
        path.write_text(sql)
        return
    assert path.exists(), f"{path} is missing: run pytest tests/golden --update-golden"
    expected = path.read_text()
    assert expected == sql, "".join(difflib.unified_diff(expected.splitlines(True), sql.splitlines(True),
                                                         str(path), "compiled"))


def test_every_relation_is_scanned_once_per_run():
    """The shape the plan exists for: each related model appears in exactly one FROM of the plan,
    and no segment joins a relation: each is a predicate over the entity's wide table."""
    names = [n for n, s in PROJECT.segments.items() if s.materialized != "view"]
    sql = plan_sql(PROJECT, names, AS_OF, "duckdb", "segments")
    for model in ("events", "orders"):
        assert sql.count(f'FROM "main"."{model}"') == 1, model
    segments = sql.split("-- segment: ")[1:]
    assert len(segments) == len(names)
    assert all('FROM "segments"."_segw_f_' in part for part in segments)
