"""The example project at the repo root builds, and gives the same members on every engine."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import make_project

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-01 09:30:00"


def example_on(engine: str, tmp_path: Path, project_factory):
    project = project_factory(engine)
    for folder in ("models", "segments", "seeds", "macros"):
        shutil.copytree(REPO / folder, project.root / folder)
    settings = (REPO / "segwarehouse.yml").read_text()
    (project.root / "segwarehouse.yml").write_text(
        settings.replace("profile: shop", "profile: test")
        .replace("segment_schema: segments", f"segment_schema: {project.segment_schema}"))
    return project


def memberships(project) -> dict[str, set[tuple]]:
    rows = project.query("SELECT segment, {k}, split FROM {{seg}}.memberships".format(k=project.quote("key")))
    out: dict[str, set[tuple]] = {}
    for segment, key, split in rows:
        out.setdefault(segment, set()).add((key, split))
    return out


@pytest.fixture(scope="module")
def duckdb_reference(tmp_path_factory):
    made = []

    def factory(engine, files=None, config=None):
        project = make_project(tmp_path_factory.mktemp("ref"), engine, files, config)
        made.append(project)
        return project

    project = example_on("duckdb", None, factory)
    result = project.build(as_of=AS_OF)
    assert result.exit_code == 0, [s.error for s in result.failed]
    return memberships(project), {s.segment: s.size for s in result.segments}


def test_example_builds_with_every_segment_non_trivial(duckdb_reference):
    members, sizes = duckdb_reference
    assert len(sizes) >= 12
    customers = 2000
    for name, size in sizes.items():
        assert 0 < size < customers, f"{name} has {size} members"


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_example_gives_the_same_members_as_duckdb(engine, tmp_path, project_factory, duckdb_reference):
    reference, sizes = duckdb_reference
    project = example_on(engine, tmp_path, project_factory)
    result = project.build(as_of=AS_OF)
    assert result.exit_code == 0, [s.error for s in result.failed]
    got = memberships(project)
    assert set(got) == set(reference)
    for segment in reference:
        assert got[segment] == reference[segment], segment
    assert {s.segment: s.size for s in result.segments if s.segment != "dormant_browsers"} == \
        {k: v for k, v in sizes.items() if k != "dormant_browsers"}
