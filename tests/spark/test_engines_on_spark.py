"""Engine tests of the newer capabilities, re-run unchanged on the local SparkSession: incremental
segments, schema drift, typed validate, model fingerprints, relation swaps, language v1.1, --threads,
segments committed together.

Spark builds are slow (seconds per statement), so CI runs the chosen tests below, not every
parameter of every module; docs/targets.md lists what stays on DuckDB, PostgreSQL and MariaDB.
Tests written for one engine get `on_spark`, a project factory that builds on Spark instead."""
from __future__ import annotations

import pytest

from tests.engines import test_commit_together as together
from tests.engines import test_incremental_edges as incremental
from tests.engines import test_relation_swap as swap
from tests.engines import test_typed_validate as typed
from tests.engines.test_language_v11 import case, test_v11_members_and_traits_match_the_oracle  # noqa: F401
from tests.engines.test_model_fingerprints import test_unchanged_models_are_not_rebuilt  # noqa: F401
from tests.dbt.test_runs import test_threads_build_independent_segments_concurrently_with_the_same_results  # noqa: F401,E501
from tests.engines.test_schema_drift import test_drifted_column_fails_only_its_segment  # noqa: F401
from tests.engines.test_typed_validate import (  # noqa: F401
    built, test_good_project_validates_without_warnings, test_list_keys_with_leading_zeros_stay_text)


pytestmark = pytest.mark.usefixtures("evaluate_changed_keys_however_many")  # as in test_incremental_edges


@pytest.fixture
def on_spark(project_factory):
    """project_factory for tests that name their engine: every project is built on Spark."""
    return lambda engine=None, files=None, config=None: project_factory("spark", files, config)


# -- incremental segments (tests/engines/test_incremental_edges.py) ------------------------------
def test_incremental_rows_that_come_into_view_later_and_deleted_entities(on_spark):
    incremental.test_rows_that_come_into_view_later_and_deleted_entities(on_spark)


def test_incremental_what_forces_a_full_evaluation_and_how_it_is_shown(on_spark):
    incremental.test_what_forces_a_full_evaluation_and_how_it_is_shown(on_spark)


def test_incremental_a_wrong_loaded_at_column_is_named_with_its_line(on_spark):
    incremental.test_a_wrong_loaded_at_column_is_named_with_its_line(on_spark)


def test_incremental_when_most_keys_changed_everyone_is_evaluated(on_spark, monkeypatch):
    from segwarehouse.warehouse.spark import SparkAdapter
    monkeypatch.setattr(SparkAdapter, "incremental_up_to", 0.15)  # the test sets DuckDB's; same here
    incremental.test_when_most_keys_changed_everyone_is_evaluated(on_spark, monkeypatch)


def test_incremental_a_changed_model_makes_the_next_run_evaluate_everyone(on_spark):
    incremental.test_a_changed_model_makes_the_next_run_evaluate_everyone(on_spark)


# -- one parameter each of the longer parametrized modules ---------------------------------------
def test_a_failed_column_change_before_the_swap_keeps_the_table_whole(project_factory, monkeypatch):
    swap.test_a_failed_column_change_keeps_the_table_whole("spark", project_factory, monkeypatch,
                                                           swap.fail_before_swap)


def test_committed_together_the_outputs_are_those_of_one_at_a_time(project_factory, monkeypatch):
    together.test_committed_together_the_outputs_are_those_of_one_at_a_time("spark", project_factory, monkeypatch)


def test_a_fault_in_a_shared_commit_fails_only_its_segment(project_factory, monkeypatch):
    together.test_a_fault_in_a_shared_commit_fails_only_its_segment("spark", project_factory, monkeypatch)


def test_every_type_mistake_fails_validate_at_its_line(built):
    """Every case of the parametrized test, on one built project (validate builds nothing)."""
    for rules, *phrases in typed.TYPE_MISTAKES.values():
        typed.test_type_mistakes_fail_validate_at_their_line(built, rules, phrases)
