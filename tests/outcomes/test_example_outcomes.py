"""The example shop's A/B test (`newsletter_ab_test`) reads out its outcomes after two builds
(DuckDB): every declared metric, every split, members entered and outcomes attributed."""
from __future__ import annotations

import json

from tests.conftest import cli
from tests.engines.test_example_project import example_on


def test_example_ab_test_reports_outcomes(tmp_path, project_factory):
    project = example_on("duckdb", tmp_path, project_factory)
    for as_of in ("2026-10-01 00:00:00", "2026-11-01 00:00:00"):
        assert project.build(as_of=as_of).exit_code == 0
    result = cli(project, "report", "newsletter_ab_test", "--json", "--until", "2026-10-02")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [m["metric"] for m in data["metrics"]] == ["purchased", "clicked", "revenue"]
    for metric in data["metrics"]:
        assert metric["control"] == "control"
        assert [a["arm"] for a in metric["arms"]] == ["control", "variant_a", "variant_b"]
        assert all(a["members"] > 20 for a in metric["arms"])
        assert sum(a["nonzero"] for a in metric["arms"]) > 0  # events after entering are attributed
        assert all(a["p_value"] is not None for a in metric["arms"][1:])
