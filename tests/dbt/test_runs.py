"""What an orchestrator reads: run_results.json in dbt's shape, JSON log lines, plain lines in a pipe;
and the run controls --fail-fast and --threads on every engine."""
from __future__ import annotations

import json

import pytest

from tests.conftest import cli

SEEDS = {"seeds/people.csv": "id,name,country,spend\n1,Ann,CH,5\n2,Bob,FR,500\n3,Cem,CH,150\n4,Dora,DE,0\n"}
ENTITIES = {"models/entities.yml": """
    entities:
      - name: person
        model: people
        key: id
"""}
LONG_TITLE = "Swiss customers who " + "really " * 30 + "matter"
SEGMENTS = {"segments/s.yml": f"""
    segments:
      - name: swiss
        entity: person
        title: {LONG_TITLE}
        rules: {{property: country, equals: CH}}
      - name: big
        entity: person
        rules: {{property: spend, gte: 100}}
      - name: everyone
        entity: person
        rules: {{all: []}}
      - name: big_swiss
        entity: person
        rules:
          all: [{{in_segment: swiss}}, {{in_segment: big}}]
"""}
# fails when the warehouse evaluates it (a name is no number), not before
BROKEN = """
      - name: broken
        entity: person
        rules: {sql: "CAST(name AS INTEGER) > 0"}
      - name: after_broken
        entity: person
        include: [broken]
        rules: {all: []}
"""


def results_of(project) -> dict:
    return json.loads((project.root / "target" / "run_results.json").read_text())


def test_run_results_have_dbts_shape_and_our_counts(project_factory):
    project = project_factory("duckdb", {**SEEDS, **ENTITIES, **SEGMENTS})
    result = cli(project, "build", "--as-of", "2024-06-30")
    assert result.exit_code == 0, result.output
    report = results_of(project)
    assert report["status"] == "success" and len(report["segments"]) == 4  # our keys stay
    meta = report["metadata"]
    assert set(meta) >= {"dbt_schema_version", "generated_at", "invocation_id"}
    assert report["args"]["which"] == "build" and report["args"]["as_of"] == "2024-06-30"
    assert report["elapsed_time"] > 0
    by_id = {r["unique_id"]: r for r in report["results"]}
    swiss = by_id["segment.test.swiss"]
    assert swiss["status"] == "success" and swiss["size"] == 2 and swiss["entered"] == 2
    assert swiss["exited"] == 0 and swiss["moved"] == 0 and swiss["failures"] is None
    assert swiss["adapter_response"]["rows_affected"] == 2 and "2 members" in swiss["message"]
    assert [t["name"] for t in swiss["timing"]] == ["execute"] and swiss["execution_time"] > 0
    assert swiss["timing"][0]["started_at"] < swiss["timing"][0]["completed_at"]
    manifest = json.loads((project.root / "target" / "manifest.json").read_text())
    node = manifest["segments"]["segment.test.big_swiss"]
    assert node["depends_on"]["segments"] == ["big", "swiss"] and len(node["definition_hash"]) == 32
    assert manifest["metadata"]["invocation_id"] == meta["invocation_id"]


def test_json_logs_are_one_object_per_line(project_factory):
    project = project_factory("duckdb", {**SEEDS, **ENTITIES, **SEGMENTS})
    for args in (["--log-format", "json", "build"], ["build", "--log-format", "json"]):
        result = cli(project, *args)
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.output.splitlines()]  # every line is JSON
        names = [line["info"]["name"] for line in lines]
        assert names.count("SegmentResult") == 4 and "BuildStarted" in names
        done = [line for line in lines if line["info"]["name"] == "SegmentResult"]
        assert {d["data"]["node_info"]["node_name"]: d["data"]["size"] for d in done} == \
            {"swiss": 2, "big": 2, "everyone": 4, "big_swiss": 1}
        assert {line["info"]["invocation_id"] for line in lines} == {results_of(project)["metadata"]["invocation_id"]}
    bad = cli(project, "--log-format", "json", "build", "--select", "nope")
    assert bad.exit_code == 2
    error = json.loads(bad.output.splitlines()[-1])
    assert error["info"]["level"] == "error" and "unknown segment 'nope'" in error["info"]["msg"]
    text = cli(project, "ls")  # the format does not stick to the next command
    assert not text.output.startswith("{")


def test_plain_unwrapped_lines_when_stdout_is_not_a_terminal(project_factory):
    project = project_factory("duckdb", {**SEEDS, **ENTITIES, **SEGMENTS})
    listed = cli(project, "ls")
    assert any(LONG_TITLE in line for line in listed.output.splitlines()), listed.output
    assert "\x1b[" not in listed.output  # no colour codes either


@pytest.mark.servers
@pytest.mark.parametrize("threads", ["1", "3"])
def test_fail_fast_skips_what_is_left_after_the_first_failure(project_factory, threads):
    engine = "duckdb" if threads == "1" else "postgres"
    files = {**SEEDS, **ENTITIES, **SEGMENTS}
    files["segments/s.yml"] = files["segments/s.yml"].replace("    segments:\n", "    segments:\n" + BROKEN, 1)
    project = project_factory(engine, files)
    result = cli(project, "build", "--fail-fast", "--threads", threads)
    assert result.exit_code == 1, result.output
    status = {r["unique_id"].split(".")[-1]: r["status"] for r in results_of(project)["results"]}
    assert status["broken"] == "error" and status["after_broken"] == "skipped" and len(status) == 6
    skipped = [r for r in results_of(project)["results"] if r["status"] == "skipped"]
    assert all("--fail-fast" in r["message"] for r in skipped)
    without = cli(project, "build")  # without it, the others are built
    assert without.exit_code == 1
    assert sorted(r["status"] for r in results_of(project)["results"]) == ["error"] + ["success"] * 5


def test_threads_build_independent_segments_concurrently_with_the_same_results(project_factory, engine):
    project = project_factory(engine, {**SEEDS, **ENTITIES, **SEGMENTS})
    result = cli(project, "build", "--threads", "4", "--as-of", "2024-06-30")
    assert result.exit_code == 0, result.output
    assert project.members("swiss") == {"1", "3"} and project.members("big") == {"2", "3"}
    assert project.members("big_swiss") == {"3"} and len(project.members("everyone")) == 4
    report = results_of(project)
    assert [r["unique_id"].split(".")[-1] for r in report["results"]] == list(project.load().segments)
    threads = {r["thread_id"] for r in report["results"]}
    # DuckDB has one writer per file; Spark's transactions swap tables in at COMMIT (two at once
    # would swap over each other's): both build one segment at a time (tests/spark runs this too)
    assert len(threads) == 1 if engine in ("duckdb", "spark") else len(threads) > 1, threads
