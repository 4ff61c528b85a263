"""The docs site shows each segment's latest saved outcomes: a section per metric with the per-arm
chart (rate and difference with its interval, as a Vega-Lite spec) and the numbers (DuckDB)."""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import cli

FILES = {
    "models/entities.yml": """
        entities:
          - name: customer
            model: customers
            key: customer_id
            relations:
              events: {model: events, foreign_key: customer_id, time: occurred_at, name: event_name}
            metrics:
              converted: {event: purchase, within: 14 days}
              spend: {event: purchase, sum: {of: amount}, within: 14 days}
        """,
    "seeds/customers.csv": "customer_id\n" + "\n".join(str(k) for k in range(1, 201)) + "\n",
    "seeds/events.csv": "customer_id,occurred_at,event_name,amount\n" + "\n".join(
        f"{k},2024-07-0{1 + k % 9} 10:00:00,purchase,{k % 7 + 1}" for k in range(1, 201, 3)) + "\n",
    "segments/s.yml": """
        segments:
          - name: subject_test
            entity: customer
            materialized: table
            rules: [{property: customer_id, gte: 1}]
            splits: {holdout: 20, short_subject: 40, long_subject: 40}
          - name: no_outcomes
            entity: customer
            materialized: table
            rules: [{property: customer_id, lte: 5}]
        """,
}


def test_site_shows_the_latest_saved_outcomes(project_factory):
    project = project_factory("duckdb", FILES)
    assert project.build().exit_code == 0
    first = cli(project, "report", "subject_test", "--save", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert cli(project, "report", "subject_test", "--save", "-m", "converted").exit_code == 0  # a later one
    result = cli(project, "docs", "generate")
    assert result.exit_code == 0, result.output
    page = (project.root / "target" / "docs" / "segments" / "subject_test.html").read_text()
    assert '<h2 id="outcomes">Outcomes</h2>' in page
    assert "control holdout" in page and page.count("<h3>") == 2
    specs = [json.loads(text.replace("<\\/", "</")) for text in
             re.findall(r'<script type="application/json" id="spec\d+">(.*?)</script>', page)]
    outcome_specs = [s for s in specs if "hconcat" in s]
    assert len(outcome_specs) == 2
    by_metric = {m["metric"]: {a["arm"]: a for a in m["arms"]} for m in report["metrics"]}
    for spec in outcome_specs:
        arms = {v["arm"]: v for v in spec["data"]["values"]}
        assert set(arms) == {"holdout", "short_subject", "long_subject"}
        assert arms["holdout"]["control"] and not arms["short_subject"]["control"]
        metric = "converted" if all(0 <= v["mean"] <= 1 for v in arms.values()) and \
            arms["short_subject"]["mean"] == by_metric["converted"]["short_subject"]["mean"] else "spend"
        for name, arm in arms.items():
            want = by_metric[metric][name]
            # Each save computes anew: a float sum in another order may differ in its last digit.
            assert arm["members"] == want["members"] and arm["mean"] == pytest.approx(want["mean"], rel=1e-9)
            if name != "holdout":
                assert (arm["ci_low"], arm["ci_high"], arm["p_value"]) == \
                    pytest.approx((want["ci_low"], want["ci_high"], want["p_value"]), rel=1e-9)
    rate = by_metric["converted"]["long_subject"]
    assert f"{rate['mean'] * 100:.2f}%" in page
    assert "Outcomes" not in (project.root / "target" / "docs" / "segments" / "no_outcomes.html").read_text()


def test_outcome_charts_render_in_a_browser(project_factory, tmp_path):
    """The page opened from disk in Debian's chromium: every chart (the outcomes ones included)
    draws its marks, with no console error and nothing fetched from the network."""
    from tests.tools.test_docs_site import browser_page

    project = project_factory("duckdb", FILES)
    assert project.build().exit_code == 0
    assert cli(project, "report", "subject_test", "--save").exit_code == 0
    assert cli(project, "docs", "generate").exit_code == 0
    path = project.root / "target" / "docs" / "segments" / "subject_test.html"
    outcome_charts = len(re.findall(r'"hconcat"', path.read_text()))
    assert outcome_charts == 2
    with browser_page() as (page, errors, remote):
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-charts-rendered]", timeout=30000)
        marks = page.evaluate("Array.from(document.querySelectorAll('.chart')).map("
                              "c => c.querySelectorAll('svg g.role-mark > *').length)")
        assert len(marks) >= outcome_charts and all(n > 0 for n in marks), marks
        assert page.locator("#outcomes").is_visible()
        page.screenshot(path=str(tmp_path / "outcomes.png"), full_page=True)
        assert (tmp_path / "outcomes.png").stat().st_size > 10_000
        assert not errors, errors
        assert not remote, remote
