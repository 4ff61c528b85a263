"""PostgreSQL plans each segment's diff against memberships on statistics that know that segment:
after every segment that writes many changes, memberships and membership_history are analyzed.
(Analyzing less often, only once a tenth of the tables changed, left the last segments of a first
build unknown to the planner: their next diffs took 80-90 s instead of 0.1 s at 200k customers.)"""
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
  - {name: top, entity: customer, rules: {property: score, gte: 99}}
"""
ANALYZE = re.compile(r"\| ANALYZE .*\"(memberships|membership_history)\"")


def analyzed(statements: list[str]) -> list[str]:
    return [found.group(1) for s in statements if (found := ANALYZE.search(s))]


def test_every_segment_with_many_changes_refreshes_the_statistics(project_factory, statements):
    project = project_factory("postgres")
    schema = project.model_schema
    project.write("models/entities.yml", ENTITIES.replace("{schema}", schema))
    project.write("segments/all.yml", SEGMENTS)
    run(project, f"CREATE SCHEMA IF NOT EXISTS {schema}")
    run(project, f"CREATE TABLE {schema}.customers AS SELECT i AS customer_id, i % 100 AS score "
                 "FROM generate_series(1, 20000) AS t(i)")
    assert project.build().exit_code == 0  # 20,000, 10,000 and 200 members enter
    assert analyzed(statements).count("memberships") == 2  # after `everyone` and `high`, not `top`
    assert analyzed(statements).count("membership_history") == 2

    # 1,200 customers move into `high` and `top`: a small share of 30,200 members, analyzed anyway.
    run(project, f"UPDATE {schema}.customers SET score = 99 WHERE customer_id <= 2400 AND score < 50")
    statements.clear()
    assert project.build().exit_code == 0
    assert len(project.members("high")) == 11200 and len(project.members("top")) == 1400
    assert sorted(analyzed(statements)) == ["membership_history"] * 2 + ["memberships"] * 2
