"""The engine tests of the newer capabilities, run unchanged on a local SparkSession: incremental
segments, language v1.1, schema drift, typed validate, model fingerprints, relation swaps. Tests
written for one engine get a project factory that builds on Spark instead (`on_spark`)."""
from __future__ import annotations

import pytest

from tests.engines import test_incremental_edges as incremental
from tests.engines.test_incremental_edges import evaluate_changed_keys_however_many  # noqa: F401 (autouse)
from tests.engines.test_language_v11 import case, test_v11_members_and_traits_match_the_oracle  # noqa: F401
from tests.engines.test_model_fingerprints import (  # noqa: F401
    test_a_table_reading_outside_the_project_is_rebuilt_every_run, test_selected_segments_build_only_the_models_they_read,
    test_unchanged_models_are_not_rebuilt)
from tests.engines.test_relation_swap import test_a_failed_column_change_keeps_the_table_whole  # noqa: F401
from tests.engines.test_schema_drift import test_drifted_column_fails_only_its_segment  # noqa: F401
from tests.engines.test_typed_validate import (  # noqa: F401
    built, test_collect_warnings_is_callable_from_build, test_good_project_validates_without_warnings,
    test_list_keys_with_leading_zeros_stay_text, test_time_window_on_text_time_column_blames_the_relation,
    test_type_mistakes_fail_validate_at_their_line, test_unbuilt_model_is_reported_not_checked,
    test_warnings_name_the_likely_mistake, test_wrong_entity_columns_are_blamed_on_the_declaration)


@pytest.fixture
def on_spark(project_factory):
    """project_factory for tests that name their engine: every project is built on Spark."""
    return lambda engine=None, files=None, config=None: project_factory("spark", files, config)


def test_incremental_rows_that_come_into_view_later_and_deleted_entities(on_spark):
    incremental.test_rows_that_come_into_view_later_and_deleted_entities(on_spark)


def test_incremental_what_forces_a_full_evaluation_and_how_it_is_shown(on_spark):
    incremental.test_what_forces_a_full_evaluation_and_how_it_is_shown(on_spark)


def test_incremental_a_wrong_loaded_at_column_is_named_with_its_line(on_spark):
    incremental.test_a_wrong_loaded_at_column_is_named_with_its_line(on_spark)


def test_incremental_sees_future_rows_and_deletes(project_factory):
    incremental.test_incremental_on_servers_sees_future_rows_and_deletes(project_factory, "spark")


def test_incremental_when_most_keys_changed_everyone_is_evaluated(on_spark, monkeypatch):
    from segwarehouse.warehouse.spark import SparkAdapter
    monkeypatch.setattr(SparkAdapter, "incremental_up_to", 0.05)  # the test sets DuckDB's; same here
    incremental.test_when_most_keys_changed_everyone_is_evaluated(on_spark, monkeypatch)


def test_incremental_a_changed_model_makes_the_next_run_evaluate_everyone(on_spark):
    incremental.test_a_changed_model_makes_the_next_run_evaluate_everyone(on_spark)
