"""The output contract on Spark: the engine tests of outputs and lifecycle, run unchanged on a local
SparkSession (the `engine` fixture is "spark" in this folder), and the dialect traps with Spark's
own timestamp types."""
from __future__ import annotations

from tests.engines.test_dialect_traps import EXPECTED, FILES
from tests.engines.test_lifecycle import (  # noqa: F401  (every lifecycle test)
    test_a_build_at_an_earlier_as_of_is_refused, test_a_relation_segwarehouse_did_not_create_is_never_replaced,
    test_a_run_that_lost_the_race_skips_the_segment, test_a_sql_condition_the_warehouse_refuses_is_blamed_at_its_line,
    test_another_project_may_not_write_a_segment_it_does_not_own, test_catalog_keeps_a_hash_of_each_definition,
    test_catalog_lists_every_segment_with_its_size_and_status,
    test_failing_models_and_invalid_projects_leave_run_results_and_segment_runs,
    test_names_that_collide_with_inputs_or_outputs_are_refused, test_retire_sends_every_exit_and_drops_the_relation,
    test_split_changes_are_moves_in_the_feed, test_switching_to_a_view_sends_exits,
    test_view_segments_survive_a_model_rebuild)
from tests.engines.test_injection import test_odd_identifiers_are_quoted  # noqa: F401
from tests.engines.test_keys_and_faults import (  # noqa: F401
    test_as_of_outside_1970_to_2038_is_stored_exactly, test_keys_are_exact_text_on_every_engine,
    test_type_drift_fails_with_a_hint_and_full_refresh_heals_it)
from tests.engines.test_outputs import (  # noqa: F401
    test_failing_segment_keeps_members_and_others_build, test_first_build_writes_every_output,
    test_rebuild_with_same_as_of_writes_nothing_new, test_second_build_records_entries_and_exits,
    test_splits_are_stable_and_cover_everyone)


# Spark's TIMESTAMP is an instant (shown in the session's UTC), TIMESTAMP_NTZ a naive timestamp.
SPARK_FILES = {**FILES, "models/facts.sql": FILES["models/facts.sql"].replace(
    "{% else %}{% set zoned = 'TIMESTAMPTZ' %}",
    "{% elif target.type == 'spark' %}{% set zoned = 'TIMESTAMP' %}{% set naive = 'TIMESTAMP_NTZ' %}"
    "{% else %}{% set zoned = 'TIMESTAMPTZ' %}")}


def test_engine_traps_give_the_same_members_on_spark(project_factory):
    assert SPARK_FILES["models/facts.sql"] != FILES["models/facts.sql"]
    project = project_factory("spark", SPARK_FILES)
    result = project.build(as_of="2024-06-30 12:00:00")
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    assert {name: project.members(name) for name in EXPECTED} == EXPECTED



LIVE_FILES = {
    "seeds/ids.csv": "id\n1\n2\n3\n4\n",
    "models/recent.sql": """
        {{ config(materialized='table') }}
        SELECT id, timestampadd(HOUR, -CASE id WHEN 1 THEN 1 WHEN 2 THEN 3 WHEN 3 THEN 30 ELSE 100 END,
                                current_timestamp()) AS seen
        FROM {{ ref('ids') }}
    """,
    "models/entities.yml": "entities:\n  - {name: visitor, model: recent, key: id}\n",
    "segments/live.yml": """
        segments:
          - {name: seen_2h, entity: visitor, materialized: view, rules: {property: seen, within_last: 2 hours}}
          - {name: seen_2d, entity: visitor, materialized: view, rules: {property: seen, within_last: 2 days}}
          - {name: not_seen_2h, entity: visitor, materialized: view, rules: {property: seen, not_within_last: 2 hours}}
    """,
}


def test_live_views_count_hours_as_hours_on_spark(project_factory):
    """Databricks SQL once wrote `within_last: 2 hours` as DATE_ADD(now, -2): two days, a date."""
    project = project_factory("spark", LIVE_FILES)
    result = project.build()
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    members = {name: {str(row[0]) for row in project.query(f"SELECT id FROM {{seg}}.{name}")}
               for name in ("seen_2h", "seen_2d", "not_seen_2h")}
    assert members == {"seen_2h": {"1"}, "seen_2d": {"1", "2", "3"}, "not_seen_2h": {"2", "3", "4"}}
