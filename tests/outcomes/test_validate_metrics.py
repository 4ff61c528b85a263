"""`segw validate` checks the columns every `metrics:` entry reads, at the line that names them."""
from __future__ import annotations

from tests.conftest import cli
from tests.outcomes.test_outcomes_site import FILES


def test_a_misspelt_metric_column_fails_validate_at_its_line(project_factory):
    files = dict(FILES)
    files["models/entities.yml"] = files["models/entities.yml"].replace("sum: {of: amount}", "sum: {of: amont}")
    project = project_factory("duckdb", files)
    assert project.build().exit_code == 0  # segments do not read the metric
    result = cli(project, "validate")
    assert result.exit_code == 2, result.output
    assert "unknown column 'amont'" in result.output and "metric 'spend'" in result.output
    assert "models/entities.yml:9" in result.output and "did you mean 'amount'" in result.output

