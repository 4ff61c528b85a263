"""A synthetic A/B test in the warehouse: 20,000 members, control converts at 10%, treatment at 13%
(fixed seed). On every engine the report recovers the effect inside its interval, and its numbers
are exactly those computed in Python from the same rows; three null metrics (10% in both arms) give
the same p-values as the reference and are not significant."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from segwarehouse.outcomes import report
from segwarehouse.language import types as t
from tests.oracle import split_of

MEMBERS = 20_000
ENTERED = dt.datetime(2024, 1, 1)
ENTITIES = """
entities:
  - name: customer
    model: customers
    key: customer_id
    relations:
      events:
        model: events
        foreign_key: customer_id
        time: occurred_at
        name: event_name
    metrics:
      converted: {event: purchase, within: 14 days}
      revenue: {event: purchase, sum: {of: amount}, within: 14 days}
      null_1: {event: null_1, within: 14 days}
      null_2: {event: null_2, within: 14 days}
      null_3: {event: null_3, within: 14 days}
"""
SEGMENT = """
segments:
  - name: checkout_test
    entity: customer
    materialized: table
    rules: [{property: customer_id, gte: 1}]
    splits: {treatment: 50, control: 50}
"""
NULL_SEEDS = (101, 202, 303)


def experiment():
    """Members' splits, and the event rows: purchases with the effect, null events without."""
    segment = t.Segment("checkout_test", "customer", None, splits=(t.Split("treatment", 50), t.Split("control", 50)))
    splits = {key: split_of(segment, str(key)) for key in range(1, MEMBERS + 1)}
    rng = np.random.default_rng(16)
    rows = []
    values: dict[str, dict[str, list]] = {}
    for name, effect in [("purchase", True)] + [(f"null_{i}", False) for i in (1, 2, 3)]:
        for key, split in splits.items():
            p = 0.13 if effect and split == "treatment" else 0.10
            hit = rng.random() < p
            amount = int(rng.integers(5, 200)) if hit else 0
            if hit:
                moment = ENTERED + dt.timedelta(seconds=int(rng.integers(1, 13 * 86400)))
                rows.append(f"{key},{moment.isoformat(' ')},{name},{amount}")
            values.setdefault(name, {}).setdefault(split, []).append(amount)
        # noise: the same event before entering and after the window never counts
        for key in range(1, MEMBERS + 1, 97):
            rows.append(f"{key},{(ENTERED - dt.timedelta(hours=1)).isoformat(' ')},{name},50")
            rows.append(f"{key},{(ENTERED + dt.timedelta(days=15)).isoformat(' ')},{name},50")
    return splits, "customer_id,occurred_at,event_name,amount\n" + "\n".join(rows) + "\n", values


@pytest.fixture(scope="module")
def data():
    return experiment()


def test_report_recovers_a_known_effect(engine, project_factory, data):
    splits, events_csv, values = data
    project = project_factory(engine)
    project.write("models/entities.yml", ENTITIES)
    project.write("seeds/customers.csv", "customer_id\n" + "\n".join(str(k) for k in splits) + "\n")
    project.write("seeds/events.csv", events_csv)
    project.write("segments/s.yml", SEGMENT)
    assert project.build(as_of=ENTERED.isoformat(" ")).exit_code == 0
    loaded = project.load()
    adapter = project.adapter()
    try:
        result = report(adapter, loaded, "checkout_test", now=dt.datetime(2024, 3, 1))
    finally:
        adapter.close()
    by_metric = {r.metric: r for r in result.results}
    converted = by_metric["converted"]
    assert converted.control == "control"
    control, treatment = (next(a for a in converted.arms if a.label == s) for s in ("control", "treatment"))
    assert control.stats.members + treatment.stats.members == MEMBERS
    assert control.stats.members == sum(1 for s in splits.values() if s == "control")
    effect = treatment.test
    assert effect.ci_low <= 0.03 <= effect.ci_high and effect.ci_low > 0
    assert effect.p_value < 1e-6 and 0.15 < effect.lift < 0.45
    # exactly the numbers of the same rows in Python
    for name, metric in [("converted", "purchase"), ("null_1", "null_1"), ("null_2", "null_2"), ("null_3", "null_3")]:
        hits = {s: sum(1 for v in values[metric][s] if v) for s in ("control", "treatment")}
        arms = {a.label: a for a in by_metric[name].arms}
        assert {s: arms[s].stats.nonzero for s in hits} == hits, name
        table = [[hits["treatment"], len(values[metric]["treatment"]) - hits["treatment"]],
                 [hits["control"], len(values[metric]["control"]) - hits["control"]]]
        assert arms["treatment"].test.p_value == pytest.approx(
            stats.chi2_contingency(table, correction=False).pvalue, rel=1e-12)
    assert all(by_metric[f"null_{i}"].arms[0].test.p_value > 0.05 for i in (1, 2, 3))
    revenue = {a.label: a for a in by_metric["revenue"].arms}
    welch = stats.ttest_ind(values["purchase"]["treatment"], values["purchase"]["control"], equal_var=False)
    assert revenue["treatment"].test.p_value == pytest.approx(welch.pvalue, rel=1e-9)
    assert revenue["control"].stats.total == sum(values["purchase"]["control"])
