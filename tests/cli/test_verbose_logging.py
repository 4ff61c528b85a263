"""`segw -v`: every statement an adapter runs on one stderr line with its duration, each segment's
stage/diff/commit seconds in the log and in run_results.json; quiet without -v."""
from __future__ import annotations

import json
import logging
import re

from segwarehouse.project.jinja import SECRETS
from segwarehouse.warehouse.base import one_line
from tests.conftest import cli

FILES = {
    "seeds/people.csv": "id,score\n1,10\n2,20\n3,30\n",
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": "segments:\n  - {name: high, entity: person, rules: {property: score, gte: 20}}\n",
}
STATEMENT = re.compile(r"^segw \d\d:\d\d:\d\d\.\d{3} sql +\d+\.\d{3}s (\d+ rows? )?\| \S.*$")


def test_verbose_logs_each_statement_and_the_segment_timings(project_factory):
    project = project_factory("duckdb", FILES)
    result = cli(project, "-v", "build", "--as-of", "2024-06-30")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    statements = [line for line in lines if " sql " in line]
    assert len(statements) > 20
    assert all(STATEMENT.match(line) for line in statements), [s for s in statements if not STATEMENT.match(s)]
    text = "\n".join(statements)
    for sql in ("CREATE TABLE", "INSERT INTO", "BEGIN", "COMMIT"):
        assert f"| {sql}" in text, sql
    timing = [line for line in lines if " run " in line and "segment high:" in line]
    assert len(timing) == 1 and re.search(r"stage \d+\.\d{3}s, diff \d+\.\d{3}s, commit \d+\.\d{3}s", timing[0])

    results = json.loads((project.root / "target" / "run_results.json").read_text())
    timings = results["segments"][0]["timings"]
    assert set(timings) == {"stage", "diff", "commit"} and all(v >= 0 for v in timings.values())

    quiet = cli(project, "build", "--as-of", "2024-07-01")
    assert quiet.exit_code == 0 and " sql " not in quiet.stderr
    assert logging.getLogger("segwarehouse").level == logging.NOTSET  # -v did not stay on


def test_row_counts_where_the_driver_knows_them(project_factory):
    """psycopg reports the rows a statement wrote without a fetch (DuckDB's driver does not)."""
    project = project_factory("postgres", FILES)
    result = cli(project, "-v", "build", "--as-of", "2024-06-30")
    assert result.exit_code == 0, result.output
    statements = [line for line in result.stderr.splitlines() if " sql " in line]
    assert re.search(r"\d+ rows? \| INSERT INTO", "\n".join(statements))
    assert all(STATEMENT.match(line) for line in statements)


def test_a_statement_is_one_line_cut_and_masked():
    SECRETS.add("hunter2-very-secret")
    long = "SELECT\n    'hunter2-very-secret',\n" + ",\n".join(f"    col_{i}" for i in range(200)) + "\nFROM t"
    shown = one_line(long, 120)
    assert "\n" not in shown and shown.startswith("SELECT '*****', col_0, col_1")
    assert shown.endswith(f"… [+{len(' '.join(long.split())) - 120} chars]")
    assert "hunter2" not in shown
