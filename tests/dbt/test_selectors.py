"""dbt habits on a small DuckDB project: selectors, state:modified, `segw ls`, sources.yml keys."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import cli, make_project

FILES = {
    "seeds/people.csv": "id,name,country,spend\n1,Ann,CH,5\n2,Bob,FR,500\n3,Cem,CH,150\n4,Dora,DE,0\n",
    "models/entities.yml": """
        entities:
          - name: person
            model: people
            key: id
        sources:
          - name: crm
            schema: crm
            loaded_at_field: _synced_at
            freshness:
              warn_after: {count: 12, period: hour}
            meta: {owner: data}
            tags: [crm]
            tables:
              - name: contacts
                identifier: crm_contacts
                loaded_at_field: updated_at
                tags: [pii]
                columns:
                  - name: id
    """,
    "segments/s.yml": """
        segments:
          - name: swiss
            entity: person
            category: geo
            tags: [email]
            rules: {property: country, equals: CH}
          - name: lapsed_swiss
            entity: person
            category: retention
            rules:
              all:
                - {in_segment: swiss}
                - {property: spend, lt: 10}
          - name: lapsed_big
            entity: person
            category: retention
            tags: [email, vip]
            rules: {property: spend, gte: 100}
          - name: winback
            entity: person
            include: [lapsed_swiss]
            rules: {all: []}
          - name: everyone
            entity: person
            rules: {all: []}
    """,
}


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path, "duckdb", FILES)


def names(project, *args) -> list[str]:
    result = cli(project, "ls", "--output", "name", *args)
    assert result.exit_code == 0, result.output
    return result.output.split()


@pytest.mark.parametrize("args, expected", [
    ((), ["swiss", "lapsed_swiss", "lapsed_big", "winback", "everyone"]),
    (("--select", "lapsed_*"), ["lapsed_swiss", "lapsed_big"]),
    (("-s", "tag:email"), ["swiss", "lapsed_big"]),
    (("-s", "category:retention", "--exclude", "lapsed_big"), ["lapsed_swiss"]),
    (("-s", "+winback"), ["swiss", "lapsed_swiss", "winback"]),
    (("-s", "1+winback"), ["lapsed_swiss", "winback"]),
    (("-s", "swiss+"), ["swiss", "lapsed_swiss", "winback"]),
    (("-s", "swiss+1"), ["swiss", "lapsed_swiss"]),
    (("-s", "swiss everyone",), ["swiss", "everyone"]),
    (("-s", "swiss,everyone", "-s", "tag:vip"), ["lapsed_big"]),  # a comma intersects, as in dbt
    (("-s", "tag:email,category:retention"), ["lapsed_big"]),
    (("-s", "lapsed_*,tag:email lapsed_swiss"), ["lapsed_big", "lapsed_swiss"]),
    (("--exclude", "category:retention,tag:vip"), ["swiss", "lapsed_swiss", "winback", "everyone"]),
    (("-s", "tag:nothing"), []),
    (("--exclude", "swiss+"), ["lapsed_big", "everyone"]),
])
def test_selectors_as_dbt_users_type_them(project, args, expected):
    assert sorted(names(project, *args)) == sorted(expected)  # listed in build order


@pytest.mark.parametrize("selector, phrases", [
    ("swis", ["unknown segment 'swis'", "did you mean 'swiss'"]),
    ("tags:email", ["unknown selector method 'tags'", "did you mean 'tag'"]),
    ("state:changed", ["unknown state 'changed'"]),
    ("state:modified", ["pass --state DIR"]),
    ("tag:", ["has no value"]),
])
def test_unknown_selectors_are_clear_errors(project, selector, phrases):
    for command in (["ls"], ["build"], ["compile"], ["rebuild"], ["run"]):
        result = cli(project, *command, "--select", selector)
        assert result.exit_code == 2, (command, result.output)
        for phrase in phrases:
            assert phrase in result.output
        assert "Traceback" not in result.output


def test_state_modified_compares_definition_hashes_with_a_previous_target(project, tmp_path):
    assert cli(project, "compile").exit_code == 0
    manifest = json.loads((project.root / "target" / "manifest.json").read_text())
    node = manifest["segments"]["segment.test.lapsed_swiss"]
    assert node["depends_on"]["segments"] == ["swiss"] and node["category"] == "retention"
    assert manifest["child_map"]["segment.test.swiss"] == ["segment.test.lapsed_swiss"]
    previous = tmp_path / "prod-target"
    shutil.copytree(project.root / "target", previous)
    assert names(project, "-s", "state:modified", "--state", str(previous)) == []
    path = project.root / "segments" / "s.yml"
    text = path.read_text().replace("{property: spend, lt: 10}", "{property: spend, lt: 20}")
    path.write_text(text.replace("            tags: [email, vip]\n", "            tags: [vip]\n"))  # not a definition
    text = path.read_text() + "  - name: brand_new\n    entity: person\n    rules: {all: []}\n"
    path.write_text(text)
    # winback's compiled SQL reads lapsed_swiss's rules, so its definition changed too
    assert sorted(names(project, "-s", "state:modified", "--state", str(previous))) == [
        "brand_new", "lapsed_swiss", "winback"]
    assert names(project, "-s", "state:new", "--state", str(previous)) == ["brand_new"]
    assert sorted(names(project, "-s", "state:unmodified", "--state", str(previous))) == [
        "everyone", "lapsed_big", "swiss"]
    built = cli(project, "build", "-s", "state:modified", "--exclude", "winback", "--state", str(previous))
    assert built.exit_code == 0, built.output
    results = json.loads((project.root / "target" / "run_results.json").read_text())
    assert sorted(r["unique_id"] for r in results["results"]) == ["segment.test.brand_new",
                                                                  "segment.test.lapsed_swiss"]
    missing = cli(project, "ls", "-s", "state:modified", "--state", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "no manifest.json" in missing.output


def test_build_and_rebuild_take_selectors_and_nothing_selected_is_not_everything(project):
    assert cli(project, "build", "-s", "tag:nothing").exit_code == 0
    results = json.loads((project.root / "target" / "run_results.json").read_text())
    assert results["results"] == [] and results["segments"] == []
    rebuilt = cli(project, "rebuild", "--select", "+lapsed_swiss")
    assert rebuilt.exit_code == 0, rebuilt.output
    results = json.loads((project.root / "target" / "run_results.json").read_text())
    assert [r["unique_id"] for r in results["results"]] == ["segment.test.swiss", "segment.test.lapsed_swiss"]
    assert cli(project, "rebuild").exit_code == 2  # neither names nor --select


def test_run_builds_the_due_segments_among_the_selection(project):
    result = cli(project, "run", "--select", "tag:email", "--exclude", "lapsed_big")
    assert result.exit_code == 0, result.output
    assert [r["unique_id"] for r in json.loads((project.root / "target" / "run_results.json").read_text())[
        "results"]] == ["segment.test.swiss"]
    again = cli(project, "run", "--select", "tag:email", "--exclude", "lapsed_big")
    assert again.exit_code == 0 and "nothing is due" in again.output


def test_compile_selects_and_writes_the_manifest(project):
    result = cli(project, "compile", "-s", "category:retention")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (project.root / "target/compiled/duckdb").iterdir()) == \
        ["lapsed_big.sql", "lapsed_swiss.sql"]
    assert len(json.loads((project.root / "target" / "manifest.json").read_text())["segments"]) == 5


def test_dbt_source_keys_are_accepted_and_source_names_a_relation(project):
    path = project.root / "models" / "entities.yml"
    path.write_text(path.read_text().replace("model: people", "model: source('crm', 'contacts')"))
    loaded = project.load()
    assert loaded.relation_of("source('crm', 'contacts')") == ("crm", "crm_contacts")
    assert loaded.entities["person"].loaded_at == "updated_at"  # the table's loaded_at_field wins
    path.write_text(path.read_text().replace("source('crm', 'contacts')", "ref('people')"))
    assert project.load().entities["person"].model == "people"  # our own model, without a dbt project
    path.write_text(path.read_text().replace("ref('people')", "ref('customers')"))
    result = cli(project, "validate", "--offline")
    assert result.exit_code == 2 and "models/entities.yml:3" in result.output
    assert "dbt_project:" in result.output
