"""Mistakes caught at load, before the warehouse: each names file:line and how to fix it, exit 2."""
from __future__ import annotations

import time

from click.testing import CliRunner

from segwarehouse.cli import main
from segwarehouse.project.loader import load_project
from tests.unit.test_bad_input import GOOD_SEGMENTS, assert_bad_input, run, write_project


def test_missing_config_says_so_and_names_the_folder(tmp_path):
    root = write_project(tmp_path / "shop")
    (root / "segwarehouse.yml").unlink()
    result = run(root, "validate", "--offline")
    assert_bad_input(result, root, "segwarehouse.yml is missing", "no profile named after the project folder ('shop')",
                     "create segwarehouse.yml with `profile: NAME`", "profiles in profiles.yml: p")
    assert "'None'" not in result.output


def test_wrong_profile_points_at_segwarehouse_yml_and_lists_profiles(tmp_path):
    root = write_project(tmp_path, extra={"segwarehouse.yml": "name: p\nprofile: pp\n"})
    assert_bad_input(run(root, "validate", "--offline"), root, "segwarehouse.yml:2:", "profile 'pp' not found",
                     "did you mean 'p'?", "profiles in profiles.yml: p")


def test_profile_defaulting_to_the_name_points_at_the_name(tmp_path):
    root = write_project(tmp_path, extra={"segwarehouse.yml": "name: shop\n"})
    assert_bad_input(run(root, "validate", "--offline"), root, "segwarehouse.yml:1:", "profile 'shop' not found")


def test_cron_aliases_are_accepted(tmp_path):
    root = write_project(tmp_path, GOOD_SEGMENTS + "    schedule: \"@daily\"\n",
                         extra={"segwarehouse.yml": "name: p\nprofile: p\nschedule: \"@hourly\"\n"})
    project = load_project(root)
    assert project.config.schedule == "@hourly"
    assert project.schedule_of(project.segments["swiss"]) == "@daily"


def test_numeric_port_text_from_env_is_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGW_TEST_PORT", "5433")
    root = write_project(tmp_path, extra={"profiles.yml": "p:\n  target: dev\n  outputs:\n    dev:\n"
                                          "      type: postgres\n      port: \"{{ env_var('SEGW_TEST_PORT') }}\"\n"})
    assert load_project(root).target.settings["port"] == 5433


def test_seed_column_types_and_list_keys_keep_text(tmp_path):
    from segwarehouse.project.models import read_seed
    root = write_project(tmp_path, extra={
        "segwarehouse.yml": "name: p\nprofile: p\nseeds:\n  people:\n    column_types: {id: varchar}\n",
        "seeds/nl.csv": "id\n00001\n0042\n",
        "segments/l.yml": "lists:\n  - {name: nl, entity: person, from: seeds/nl.csv}\n"})
    project = load_project(root)
    people = read_seed(project.models["people"])
    assert people.types[0] == "TEXT" and people.rows[0][0] == "1"
    listed = read_seed(project.models["nl"])
    assert listed.types == ["TEXT"] and [r[0] for r in listed.rows] == ["00001", "0042"]
    orders = read_seed(project.models["orders"])  # seeds no list reads keep inferred types
    assert orders.types[0] == "BIGINT"


def test_bounded_input_is_refused_quickly(tmp_path):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
    root = write_project(tmp_path, bomb)
    started = time.monotonic()
    result = run(root, "validate", "--offline")
    assert time.monotonic() - started < 10
    assert_bad_input(result, root, "segments/s.yml:", "expands to more than")


def test_anchors_in_moderation_still_work(tmp_path):
    text = ("segments:\n  - name: swiss\n    entity: person\n    rules: &ch {property: country, equals: CH}\n"
            "  - name: swiss_too\n    entity: person\n    rules: *ch\n")
    assert set(load_project(write_project(tmp_path, text)).segments) == {"swiss", "swiss_too"}


def test_nesting_up_to_the_limit_loads(tmp_path):
    rules = "{not: " * 40 + "{property: country, equals: CH}" + "}" * 40
    text = f"segments:\n  - name: deep\n    entity: person\n    rules: {rules}\n"
    assert "deep" in load_project(write_project(tmp_path, text)).segments


def test_sandboxed_sql_still_renders_small_loops(tmp_path):
    text = GOOD_SEGMENTS.replace("        - property: country\n          equals: CH\n",
                                 "        - sql: \"id > {{ range(5) | length }}\"\n")
    root = write_project(tmp_path, text)
    result = CliRunner().invoke(main, ["compile", "--print", "swiss", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert "> 5" in result.output


def test_impossible_date_in_vars_option(tmp_path):
    root = write_project(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--offline", "--vars", "{start: 2020-02-30}",
                                       "--project-dir", str(root)])
    assert_bad_input(result, root, "--vars is not valid YAML", "day is out of range for month")
