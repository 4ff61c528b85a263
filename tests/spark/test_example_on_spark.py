"""The example project built on Spark (a local SparkSession) gives the same members as DuckDB."""
from __future__ import annotations

from tests.engines.test_example_project import AS_OF, duckdb_reference, example_on, memberships  # noqa: F401


def test_example_on_spark_gives_the_same_members_as_duckdb(tmp_path, project_factory, duckdb_reference):
    reference, sizes = duckdb_reference
    project = example_on("spark", tmp_path, project_factory)
    result = project.build(as_of=AS_OF)
    assert result.exit_code == 0, [(s.segment, s.error) for s in result.failed]
    got = memberships(project)
    assert set(got) == set(reference)
    for segment in reference:
        assert got[segment] == reference[segment], segment
    assert {s.segment: s.size for s in result.segments if s.segment != "dormant_browsers"} == \
        {k: v for k, v in sizes.items() if k != "dormant_browsers"}
