"""Attribution edges of `segw report` on every engine against the pure-Python reference: a row one
second before entering, at the entry instant, exactly at the window end, after exiting, after a
split move; per split and for a whole segment against another."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlglot import exp

from segwarehouse.outcomes import report
from tests.conftest import cli
from tests.outcomes import reference

BUILDS = [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 10), dt.datetime(2024, 1, 20), dt.datetime(2024, 2, 1)]
SECOND = dt.timedelta(seconds=1)
FAR = "2030-01-01 00:00:00"

ENTITIES = """
entities:
  - name: customer
    model: customers
    key: customer_id
    relations:
      events:
        model: {schema}.events
        foreign_key: customer_id
        time: occurred_at
        name: event_name
    metrics:
      bought_14d: {{event: purchase, within: 14 days}}
      purchases_14d: {{event: purchase, count: true, within: 14 days}}
      purchases: {{event: purchase, count: true}}
      big_revenue_1m:
        related: events
        where: {{property: amount, gte: 10}}
        sum: {{of: amount}}
        within: 1 month
"""
SEGMENTS = """
segments:
  - name: promo
    entity: customer
    materialized: table
    rules:
      all:
        - {{property: enter_at, within_last: 3650 days}}
        - {{property: leave_at, within_next: 3650 days}}
    splits: {splits}
  - name: early
    entity: customer
    materialized: table
    rules:
      - {{property: enter_at, before: 2024-01-05}}
"""


def customers_csv(rng: random.Random) -> str:
    lines = ["customer_id,enter_at,leave_at"]
    # 1: enters at the first build, never leaves; 2: enters at the first build, leaves at the third
    lines += [f"1,2023-12-31 00:00:00,{FAR}", "2,2023-12-31 00:00:00,2024-01-15 00:00:00"]
    for key in range(3, 61):
        enter = dt.datetime(2023, 12, 25) + dt.timedelta(hours=rng.randrange(0, 31 * 24))
        leave = FAR if rng.random() < 0.5 else (enter + dt.timedelta(hours=rng.randrange(24, 40 * 24))).isoformat(" ")
        lines.append(f"{key},{enter.isoformat(' ')},{leave}")
    return "\n".join(lines) + "\n"


def edge_events(history: list[tuple], rng: random.Random) -> list[tuple]:
    """Rows at every edge of every interval, and some anywhere."""
    rows = []
    for key, _, start, end in history:
        points = [start - SECOND, start, start + SECOND, start + dt.timedelta(days=14),
                  start + dt.timedelta(days=14) + SECOND, start.replace(month=start.month % 12 + 1)
                  if start.month < 12 else start.replace(year=start.year + 1, month=1)]
        points.append(points[-1] + SECOND)
        if end is not None:
            points += [end - SECOND, end, end + SECOND]
        for point in points:
            rows.append((int(key), point, "purchase", Decimal(rng.randrange(100, 2000)) / 100))
    for _ in range(300):
        moment = dt.datetime(2023, 12, 20) + dt.timedelta(seconds=rng.randrange(0, 75 * 86400))
        rows.append((rng.randrange(1, 61), moment, rng.choice(["purchase", "purchase", "view"]),
                     Decimal(rng.randrange(100, 2000)) / 100))
    return rows


def history_of(project, segment: str) -> list[tuple]:
    q = project.quote
    rows = project.query(f"SELECT {q('key')}, {q('split')}, valid_from, valid_to FROM {{seg}}.membership_history "
                         f"WHERE {q('segment')} = '{segment}'")
    return [(k, s, _naive(vf), _naive(vt)) for k, s, vf, vt in rows]


def _naive(value):
    return value.replace(tzinfo=None) if value is not None and value.tzinfo else value


@pytest.fixture
def built(engine, project_factory):
    rng = random.Random(16)
    project = project_factory(engine)
    project.write("models/entities.yml", ENTITIES.format(schema=project.model_schema))
    project.write("seeds/customers.csv", customers_csv(rng))
    project.write("segments/s.yml", SEGMENTS.format(splits="{control: 50, treatment: 50}"))
    for i, as_of in enumerate(BUILDS):
        if i == 2:  # new percentages: some members move from control to treatment
            project.write("segments/s.yml", SEGMENTS.format(splits="{control: 20, treatment: 80}"))
        assert project.build(as_of=as_of.isoformat(" ")).exit_code == 0
    history = history_of(project, "promo") + history_of(project, "early")
    events = edge_events(history, rng)
    adapter = project.adapter()
    try:
        adapter.create_table(project.model_schema, "events", [
            ("customer_id", exp.DataType.build("BIGINT")), ("occurred_at", exp.DataType.build("TIMESTAMP")),
            ("event_name", exp.DataType.build("TEXT")), ("amount", exp.DataType.build("DECIMAL(10, 2)"))])
        adapter.insert_rows(project.model_schema, "events", ["customer_id", "occurred_at", "event_name", "amount"],
                            events)
    finally:
        adapter.close()
    rows = [{"customer_id": k, "occurred_at": t_, "event_name": n, "amount": a} for k, t_, n, a in events]
    return project, rows


def run(project, segment, **kwargs):
    loaded = project.load()
    adapter = project.adapter()
    try:
        return loaded, report(adapter, loaded, segment, now=dt.datetime(2024, 6, 1), **kwargs)
    finally:
        adapter.close()


def check(result, loaded, history, rows, since=None, until=None):
    entity = loaded.entities["customer"]
    assert [r.metric for r in result.results] == list(entity.metrics)
    members = reference.entries(history, since, until)
    for r in result.results:
        metric = entity.metrics[r.metric]
        values = reference.member_values(entity, metric, members, rows)
        arms = reference.per_arm(members, values)
        got = {a.label: (a.stats.members, a.stats.total, a.stats.sum_squares, a.stats.nonzero)
               for a in r.arms if a.stats.members}
        want = {arm: (len(v), Decimal(sum(v)), Decimal(sum(x * x for x in v)), sum(1 for x in v if x))
                for arm, v in arms.items()}
        assert got == want, r.metric


def test_split_attribution_matches_the_reference(built):
    project, rows = built
    loaded, result = run(project, "promo")
    history = history_of(project, "promo")
    assert {a.label for a in result.results[0].arms} == {"control", "treatment"}
    assert result.results[0].control == "control"
    moved = {k for k, _, vf, _ in history if any(k == k2 and vf == vt2 for k2, _, _, vt2 in history)}
    assert moved, "the data should include split moves"
    check(result, loaded, history, rows)
    # a period: only entries from the second build on, before the last
    loaded, result = run(project, "promo", since=BUILDS[1], until=BUILDS[3])
    check(result, loaded, history, rows, since=BUILDS[1], until=BUILDS[3])


def test_whole_segment_against_another_matches_the_reference(built):
    project, rows = built
    loaded, result = run(project, "promo", compare_to="early", metric_names=["purchases", "big_revenue_1m"])
    assert [a.label for a in result.results[0].arms] == ["promo", "early"]
    assert result.results[0].control == "early" and result.results[0].arms[1].test is None
    entity = loaded.entities["customer"]
    for r in result.results:
        metric = entity.metrics[r.metric]
        for segment in ("promo", "early"):
            members = reference.entries(history_of(project, segment), by_split=False)
            values = reference.member_values(entity, metric, members, rows)
            arm = next(a for a in r.arms if a.label == segment)
            assert (arm.stats.members, arm.stats.total) == (len(values), Decimal(sum(values.values())))


def test_cli_report_json_and_save(built):
    project, _ = built
    result = cli(project, "report", "promo", "--metric", "bought_14d,purchases", "--json", "--save",
                 "--until", "2024-03-01")
    assert result.exit_code == 0, result.output
    import json
    data = json.loads(result.output)
    assert [m["metric"] for m in data["metrics"]] == ["bought_14d", "purchases"]
    q = project.quote
    saved = project.query(f"SELECT {q('split')}, metric, members, p_value FROM {{seg}}.segment_outcomes "
                          f"ORDER BY metric, {q('split')}")
    assert [(s, m) for s, m, _, _ in saved] == [("control", "bought_14d"), ("treatment", "bought_14d"),
                                               ("control", "purchases"), ("treatment", "purchases")]
    arms = {(m["metric"], a["arm"]): a for m in data["metrics"] for a in m["arms"]}
    for split, metric, members, p_value in saved:
        assert members == arms[(metric, split)]["members"]
        assert (p_value is None) == (split == "control")
    # saving the same period again replaces its rows
    assert cli(project, "report", "promo", "--metric", "purchases", "--save", "--until", "2024-03-01").exit_code == 0
    assert project.query("SELECT COUNT(*) FROM {seg}.segment_outcomes")[0][0] == 4


def test_reference_edges():
    """The rules the engines are held to, spelled out on one member: entered at 00:00 on Jan 1,
    moved (or left) at Jan 10 00:00; 14-day window."""
    from segwarehouse.language import types as t

    start, end = dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 10)
    history = [("1", "a", start, end), ("1", "b", end, None), ("2", "a", start, None)]
    members = reference.entries(history)
    assert members == {"1": ("a", start, end), "2": ("a", start, None)}
    entity = t.Entity("customer", "customers", "customer_id", {
        "events": t.RelationSpec("events", "events", "customer_id", "occurred_at", "event_name")})
    metric = t.Metric("n", "count", t.Related("events", t.Measure("count", None), None, None, "purchase", loc=None),
                      t.Duration(14, "day"))
    offsets = {"before": start - SECOND, "at entry": start, "after entry": start + SECOND,
               "at move": end, "after move": end + SECOND,
               "window end": start + dt.timedelta(days=14), "after window": start + dt.timedelta(days=14, seconds=1)}
    for name, moment in offsets.items():
        rows = [{"customer_id": 1, "occurred_at": moment, "event_name": "purchase"},
                {"customer_id": 2, "occurred_at": moment, "event_name": "purchase"}]
        got = reference.member_values(entity, metric, members, rows)
        want_1 = name in ("after entry", "at move")
        want_2 = name in ("after entry", "at move", "after move", "window end")
        assert got == {"1": int(want_1), "2": int(want_2)}, name
    # whole-segment: a move does not end the membership
    assert reference.entries(history, by_split=False)["1"] == (None, start, None)
