"""Segments committed together (one transaction, each output table written once for all) leave
exactly what committing them one at a time leaves, and one segment's fault fails only that one."""
from __future__ import annotations

import re

import pytest

import segwarehouse.materialize as materialize
import segwarehouse.runner as runner
import segwarehouse.together as together
from segwarehouse.errors import WarehouseError
from segwarehouse.warehouse.duckdb import DuckDBAdapter
from segwarehouse.warehouse.spark import SparkAdapter
from segwarehouse.warehouse.sqlalchemy_engines import PostgresAdapter

TOGETHER = ("duckdb", "postgres")  # engines whose adapters commit segments together (and Spark: tests/spark/)
ADAPTERS = {"duckdb": DuckDBAdapter, "postgres": PostgresAdapter, "spark": SparkAdapter}

STEPS = [  # the people table at each build: id, country, score
    [(1, "CH", 10), (2, "FR", 55), (3, "", 70), (4, "CH", 90), (5, "FR", 20), (6, "CH", 60)],
    [(1, "CH", 65), (2, "FR", 55), (3, "CH", 30), (4, "CH", 95), (6, "FR", 60), (7, "CH", 80)],
    [(1, "FR", 65), (2, "FR", 10), (3, "CH", 75), (4, "CH", 40), (6, "FR", 61), (7, "CH", 80), (8, "", 99)],
]
FILES = {
    "models/entities.yml": """
        entities:
          - name: person
            model: people
            key: id
    """,
    "segments/s.yml": """
        segments:
          - name: high
            entity: person
            rules: {property: score, gte: 60}
          - name: swiss
            entity: person
            columns: [score]
            rules: {property: country, equals: CH}
          - name: tiers
            entity: person
            rules: {property: score, gte: 0}
            splits: {top: 50, rest: 50}
          - name: high_swiss
            entity: person
            rules: {all: [{in_segment: high}, {in_segment: swiss}]}
          - name: low
            entity: person
            materialized: incremental
            rules: {property: score, lt: 50}
          - name: live
            entity: person
            materialized: view
            rules: {property: score, gte: 90}
    """,
}


def people(rows) -> str:
    return "id,country,score\n" + "".join(f"{i},{c},{s}\n" for i, c, s in rows)


def outputs(project) -> dict[str, list]:
    """Every row segwarehouse wrote, but for the run's own ids and clock."""
    q = project.quote
    return {
        "memberships": sorted(project.query(f"SELECT segment, {q('key')}, split, entered_at FROM {{seg}}.memberships")),
        "history": sorted(project.query(f"SELECT segment, {q('key')}, split, valid_from, valid_to "
                                        "FROM {seg}.membership_history"), key=repr),
        "changes": project.query(f"SELECT change_id, segment, {q('key')}, {q('change')}, split, as_of "
                                 "FROM {seg}.membership_changes ORDER BY change_id"),
        "catalog": sorted(project.query("SELECT segment, size, last_as_of, status FROM {seg}.segment_catalog")),
        "runs": sorted(project.query("SELECT segment, as_of, status, size, entered, exited FROM {seg}.segment_runs"),
                       key=repr),
        "swiss": sorted(project.query("SELECT id, score FROM {seg}.swiss")),
        "tiers": sorted(project.query("SELECT id, split FROM {seg}.tiers")),
    }


@pytest.mark.parametrize("engine", TOGETHER)
def test_committed_together_the_outputs_are_those_of_one_at_a_time(engine, project_factory, monkeypatch):
    alone, grouped = project_factory(engine, FILES), project_factory(engine, FILES)
    shared: list[list[str]] = []
    real = runner.commit_together
    monkeypatch.setattr(runner, "commit_together", lambda staged: shared.append([s.name for s in staged]) or real(staged))
    for step, rows in enumerate(STEPS):
        as_of = f"2024-06-{10 + step:02d} 12:00:00"
        for project, joined in ((alone, False), (grouped, True)):
            project.write("seeds/people.csv", people(rows))
            if step == 2:  # members move between splits
                project.write("segments/s.yml", FILES["segments/s.yml"].replace("top: 50, rest: 50", "top: 80, rest: 20"))
            with monkeypatch.context() as patch:
                patch.setattr(ADAPTERS[engine], "commits_together", joined)
                result = project.build(as_of=as_of)
            assert result.exit_code == 0, [(s.segment, s.error) for s in result.segments]
        assert outputs(grouped) == outputs(alone), f"step {step}"
    kinds = {change for _, _, _, change, _, _ in outputs(grouped)["changes"]}
    assert kinds == {"entered", "exited", "moved"}
    # The first build creates each relation (alone); later ones commit the four table and incremental
    # segments together, the view alone, and high_swiss, which reads high and swiss, after them.
    assert shared == [["high", "swiss", "tiers", "low"]] * 2, shared
    members = dict((k, s) for k, s in grouped.query(f"SELECT {grouped.quote('key')}, segment FROM {{seg}}.memberships "
                                                    "WHERE segment = 'high_swiss'"))
    assert set(members) == {"3", "7"}  # the last step's high and swiss, read after their commit


@pytest.mark.parametrize("engine", TOGETHER)
def test_a_fault_in_a_shared_commit_fails_only_its_segment(engine, project_factory, monkeypatch):
    project = project_factory(engine, FILES)
    project.write("seeds/people.csv", people(STEPS[0]))
    assert project.build(as_of="2024-06-10 12:00:00").exit_code == 0
    before = outputs(project)

    def faulty(write):
        def wrapped(staged, *args, **kwargs):
            if staged.name == "swiss":
                raise WarehouseError("disk full while writing swiss")
            return write(staged, *args, **kwargs)
        return wrapped
    monkeypatch.setattr(together, "write_outputs", faulty(together.write_outputs))
    monkeypatch.setattr(materialize, "write_outputs", faulty(materialize.write_outputs))
    project.write("seeds/people.csv", people(STEPS[1]))
    result = project.build(as_of="2024-06-11 12:00:00")
    status = {s.segment: s.status for s in result.segments}
    assert status == {"high": "success", "swiss": "failed", "tiers": "success", "high_swiss": "success",
                      "low": "success", "live": "success"}
    assert "disk full while writing swiss" in next(s.error for s in result.segments if s.segment == "swiss")
    after = outputs(project)
    # swiss keeps its members, relation and history; the others moved on
    assert [r for r in after["memberships"] if r[0] == "swiss"] == [r for r in before["memberships"] if r[0] == "swiss"]
    assert after["swiss"] == before["swiss"]
    assert [r for r in after["history"] if r[0] == "swiss"] == [r for r in before["history"] if r[0] == "swiss"]
    assert [r for r in after["memberships"] if r[0] == "high"] != [r for r in before["memberships"] if r[0] == "high"]
    new_changes = after["changes"][len(before["changes"]):]
    assert new_changes and all(c[1] != "swiss" for c in new_changes)
    ids = [c[0] for c in after["changes"]]
    assert ids == list(range(1, len(ids) + 1))  # no gap where the failed commit numbered changes
    assert ("swiss", "failed") in {(r[0], r[2]) for r in project.query(
        "SELECT segment, as_of, status FROM {seg}.segment_runs")}


def test_a_run_never_waits_for_a_lock_while_it_holds_others(project_factory):
    """Segments staged for a shared commit hold their locks; before waiting for a lock held
    elsewhere the run commits them, so two runs never wait on each other."""
    import threading
    import time

    project = project_factory("postgres", FILES)
    project.write("seeds/people.csv", people(STEPS[0]))
    assert project.build(as_of="2024-06-10 12:00:00").exit_code == 0
    project.write("seeds/people.csv", people(STEPS[1]))
    other = project.adapter()  # another process's session, building `tiers`
    key = f"segw:{project.segment_schema}:tiers"
    assert other.lock(key, 0)
    seen: list = []

    def release_later():
        time.sleep(3)
        seen.extend(project.query("SELECT segment FROM {seg}.segment_runs WHERE as_of = '2024-06-11 12:00:00'"))
        other.release_lock(key)

    waiter = threading.Thread(target=release_later)
    waiter.start()
    try:
        result = project.build(as_of="2024-06-11 12:00:00")
    finally:
        waiter.join()
        other.close()
    assert result.exit_code == 0, [(s.segment, s.error) for s in result.segments]
    # high and swiss (before tiers) were committed while tiers' lock was still taken
    assert sorted(segment for segment, in seen) == ["high", "swiss"]
    assert {s.segment for s in result.segments} == {"high", "swiss", "tiers", "high_swiss", "low", "live"}


def test_at_most_so_many_segments_wait_together(project_factory, monkeypatch):
    project = project_factory("duckdb", FILES)
    project.write("seeds/people.csv", people(STEPS[0]))
    assert project.build(as_of="2024-06-10 12:00:00").exit_code == 0
    shared: list[list[str]] = []
    real = runner.commit_together
    monkeypatch.setattr(runner, "commit_together", lambda staged: shared.append([s.name for s in staged]) or real(staged))
    monkeypatch.setattr(runner, "MOST_TOGETHER", 2)
    project.write("seeds/people.csv", people(STEPS[1]))
    assert project.build(as_of="2024-06-11 12:00:00").exit_code == 0
    assert shared == [["high", "swiss"], ["tiers", "low"]]
    # ... and so many staged members: swiss stages its members (it carries a column), high does not
    shared.clear()
    monkeypatch.setattr(runner, "MOST_TOGETHER", 50)
    monkeypatch.setattr(runner, "MOST_STAGED", 1)
    project.write("seeds/people.csv", people(STEPS[2]))
    assert project.build(as_of="2024-06-12 12:00:00").exit_code == 0
    assert shared[0] == ["high", "swiss"], shared


@pytest.mark.parametrize("engine", TOGETHER)
def test_shared_writes_name_the_segments_only_where_such_a_list_skips_storage(engine, project_factory, statements):
    """DuckDB keeps min/max per row group, so the segments named as literals skip groups before the
    semi-join on (segment, key); PostgreSQL would test the list on every row of history, so its
    writes are the semi-join alone. The members are the same (the test above)."""
    project = project_factory(engine, FILES)
    project.write("seeds/people.csv", people(STEPS[0]))
    assert project.build(as_of="2024-06-10 12:00:00").exit_code == 0
    project.write("seeds/people.csv", people(STEPS[1]))
    statements.clear()
    assert project.build(as_of="2024-06-11 12:00:00").exit_code == 0
    writes = [s.split("| ", 1)[1] for s in statements if "| UPDATE " in s and "membership_history" in s.split(" SET ")[0]]
    writes += [s.split("| ", 1)[1] for s in statements if "| DELETE FROM " in s and "memberships" in s.split(" WHERE ")[0]]
    shared = [w for w in writes if "UNION ALL" in w]  # the segments' deltas, one write for all
    assert len(shared) >= 2, writes
    listed = [bool(re.search(r"""["`]segment["`] IN \('""", w)) for w in shared]
    assert listed == [ADAPTERS[engine].value_lists_prune] * len(shared) == [engine == "duckdb"] * len(shared)
