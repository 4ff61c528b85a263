"""The segw command line on a small DuckDB project: every command, its output and exit code."""
from __future__ import annotations

import json
import subprocess
import sys

import duckdb
from click.testing import CliRunner

from segwarehouse.cli import main
from tests.unit.test_bad_input import GOOD_SEGMENTS, write_project

SEGMENTS = GOOD_SEGMENTS + """\
  - name: everyone
    entity: person
    rules: {all: []}
    splits: {a: 50, b: 50}
    columns: [name]
"""


def run(root, *args):
    return CliRunner().invoke(main, [*args, "--project-dir", str(root)], catch_exceptions=False)


def rows(root, sql):
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_build_prints_the_size_table_and_writes_run_results(tmp_path):
    root = write_project(tmp_path, SEGMENTS)
    result = run(root, "build", "--as-of", "2024-05-01T08:00:00Z")
    assert result.exit_code == 0, result.output
    for heading in ("segment", "size", "entered", "exited", "status"):
        assert heading in result.output
    assert "2 built, 0 failed" in result.output
    assert rows(root, "SELECT DISTINCT as_of FROM segments.segment_runs")[0][0].isoformat() == "2024-05-01T08:00:00"
    results = json.loads((root / "target" / "run_results.json").read_text())
    assert results["status"] == "success"
    assert {s["segment"]: s["size"] for s in results["segments"]} == {"swiss": 1, "everyone": 2}


def test_select_builds_only_the_named_segments(tmp_path):
    root = write_project(tmp_path, SEGMENTS)
    assert run(root, "build", "--select", "everyone").exit_code == 0
    assert rows(root, "SELECT DISTINCT segment FROM segments.segment_runs") == [("everyone",)]


def test_compile_writes_files_or_prints(tmp_path):
    root = write_project(tmp_path, SEGMENTS)
    written = run(root, "compile")
    assert written.exit_code == 0
    assert sorted(p.name for p in (root / "target/compiled/duckdb").iterdir()) == ["everyone.sql", "swiss.sql"]
    printed = run(root, "compile", "--dialect", "postgres", "swiss")
    assert printed.exit_code == 0 and 'FROM "main"."people"' in printed.output
    assert "'CH'" in printed.output
    bad = run(root, "compile", "--dialect", "oracle")
    assert bad.exit_code == 2 and "unknown dialect" in bad.output


def test_preview_writes_nothing(tmp_path):
    root = write_project(tmp_path, SEGMENTS)
    assert run(root, "build").exit_code == 0
    before = rows(root, "SELECT (SELECT COUNT(*) FROM segments.memberships), (SELECT COUNT(*) FROM segments.segment_runs)")
    result = run(root, "preview", "everyone")
    assert result.exit_code == 0
    assert "everyone: 2 members" in result.output and "Ann" in result.output
    after = rows(root, "SELECT (SELECT COUNT(*) FROM segments.memberships), (SELECT COUNT(*) FROM segments.segment_runs)")
    assert before == after


def test_ls_table_and_json(tmp_path):
    root = write_project(tmp_path, SEGMENTS)
    table = run(root, "ls")
    assert table.exit_code == 0 and "swiss" in table.output and "everyone" in table.output
    listed = json.loads(run(root, "ls", "--json").output)
    assert [s["name"] for s in listed] == ["swiss", "everyone"]
    assert listed[0]["schedule"] == "0 0 * * *"


def test_validate_ok(tmp_path):
    root = write_project(tmp_path, SEGMENTS)
    result = run(root, "validate", "--offline")
    assert result.exit_code == 0 and "ok: 2 segments" in result.output


def test_failing_segment_exits_1_and_others_build(tmp_path):
    root = write_project(tmp_path, SEGMENTS.replace("property: country", "property: county"))
    result = run(root, "build")
    assert result.exit_code == 1
    assert "1 built, 1 failed" in result.output and "unknown column 'county'" in result.output


def test_help_lists_every_command_and_module_entry_point():
    result = CliRunner().invoke(main, ["--help"])
    for command in ("build", "compile", "preview", "ls", "validate", "run", "rebuild", "schedule", "status"):
        assert command in result.output
    module = subprocess.run([sys.executable, "-m", "segwarehouse", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and "segments declared in YAML" in module.stdout
