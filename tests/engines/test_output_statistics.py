"""The output tables' statistics are refreshed after large changes only: PostgreSQL's ANALYZE samples
the whole of memberships and membership_history, so a change worth a tenth of them refreshes them
(as its autovacuum would), and a run of many smaller ones does not pay for it each time."""
from __future__ import annotations

import re

from tests.engines.test_incremental_shared import run

ENTITIES = """
entities:
  - {name: customer, model: {schema}.customers, key: customer_id}
"""
SEGMENTS = """
segments:
  - {name: everyone, entity: customer, rules: {property: score, gte: 0}}
  - {name: high, entity: customer, rules: {property: score, gte: 50}}
"""
ANALYZE = re.compile(r"\| ANALYZE .*\"(memberships|membership_history)\"")


def analyzed(statements: list[str]) -> list[str]:
    return [found.group(1) for s in statements if (found := ANALYZE.search(s))]


def test_statistics_follow_large_changes_not_every_one(project_factory, statements):
    project = project_factory("postgres")
    schema = project.model_schema
    project.write("models/entities.yml", ENTITIES.replace("{schema}", schema))
    project.write("segments/all.yml", SEGMENTS)
    run(project, f"CREATE SCHEMA IF NOT EXISTS {schema}")
    run(project, f"CREATE TABLE {schema}.customers AS SELECT i AS customer_id, i % 100 AS score "
                 "FROM generate_series(1, 20000) AS t(i)")
    assert project.build().exit_code == 0  # 20,000 and 10,000 members enter: the tables are new
    assert analyzed(statements).count("memberships") >= 1

    # 1,200 customers move into `high` (more than BIG_DELTA, under a tenth of 30,000 members).
    run(project, f"UPDATE {schema}.customers SET score = 99 WHERE customer_id <= 2400 AND score < 50")
    statements.clear()
    assert project.build().exit_code == 0
    assert len(project.members("high")) == 11200
    assert analyzed(statements) == []

    # 5,000 more: over a tenth of the 31,200 members the catalog counts: refreshed.
    run(project, f"UPDATE {schema}.customers SET score = 99 WHERE customer_id > 10000 AND score < 50")
    statements.clear()
    assert project.build().exit_code == 0
    assert len(project.members("high")) == 16200
    assert sorted(analyzed(statements)) == ["membership_history", "memberships"]
