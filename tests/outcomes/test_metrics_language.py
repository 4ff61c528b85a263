"""`metrics:` on an entity: what parses, and every mistake named at its file:line with a hint;
`segw report` refusing bad commands with exit 2 (DuckDB only: nothing here depends on the engine)."""
from __future__ import annotations

import pytest

from segwarehouse.errors import SegwError
from tests.conftest import cli

ENTITY = """
entities:
  - name: customer
    model: customers
    key: customer_id
    relations:
      orders: {{model: orders, foreign_key: customer_id, time: ordered_at}}
      events: {{model: events, foreign_key: customer_id, time: occurred_at, name: event_name}}
      notes: {{model: notes, foreign_key: customer_id}}
    metrics:
{metrics}
"""
FILES = {
    "seeds/customers.csv": "customer_id,email\n1,a@x\n2,b@x\n",
    "seeds/orders.csv": "order_id,customer_id,ordered_at,amount,status\n1,1,2024-01-02 00:00:00,10,completed\n",
    "seeds/events.csv": "customer_id,occurred_at,event_name\n1,2024-01-02 00:00:00,purchase\n",
    "seeds/notes.csv": "customer_id,note\n1,hi\n",
    "segments/s.yml": "segments:\n  - {name: everyone, entity: customer, materialized: table, "
                      "rules: [{property: customer_id, gte: 1}], splits: {a: 50, b: 50}}\n",
}


def project_with(project_factory, metrics: str):
    files = dict(FILES)
    files["models/entities.yml"] = ENTITY.format(metrics=metrics)
    return project_factory("duckdb", files)


def test_metric_kinds_parse(project_factory):
    project = project_with(project_factory, """
      converted: {event: purchase, within: 14 days}
      orders_placed: {related: orders, count: true, within: 2 weeks}
      revenue:
        related: orders
        where: {property: status, equals: completed}
        sum: {of: amount}
        within: 1 month
        description: Completed order value in the first month
      ever_ordered: {related: orders}""")
    metrics = project.load().entities["customer"].metrics
    assert {n: m.kind for n, m in metrics.items()} == {"converted": "rate", "orders_placed": "count",
                                                       "revenue": "sum", "ever_ordered": "rate"}
    assert str(metrics["orders_placed"].within) == "2 weeks" and metrics["ever_ordered"].within is None
    assert metrics["revenue"].related.measure.of == "amount" and metrics["revenue"].related.where is not None
    assert metrics["converted"].related.event == "purchase"
    assert metrics["converted"].loc.line == 11


@pytest.mark.parametrize("metric, message, hint", [
    ("{event: purchase, within_last: 14 days}", "unknown key 'within_last'", "within: DURATION"),
    ("{related: orders, count: {gte: 2}}", "takes `true`", "not a comparison"),
    ("{related: orders, sum: {of: amount, gt: 5}}", "takes only `of:`", "sum: {of: COLUMN}"),
    ("{related: orders, event: purchase}", "exactly one of `related:` or `event:`", None),
    ("{within: 3 days}", "exactly one of `related:` or `event:`", "event: purchase"),
    ("{event: purchase, within: 2 fortnights}", "invalid duration", "30 days"),
    ("{related: orders, avg: {of: amount}}", "unknown key 'avg'", "count: true"),
    ("{related: orders, where: {in_segment: everyone}}", "cannot be used inside `where:`", None),
    ("{related: ordres}", "unknown relation 'ordres'", "did you mean 'orders'"),
    ("{related: notes}", "has no `time:` column", "add `time: <column>`"),
    ("{related: orders, count: true, sum: {of: amount}}", "one measure", None),
])
def test_metric_mistakes_name_their_line(project_factory, metric, message, hint):
    project = project_with(project_factory, f"      bad_metric: {metric}")
    with pytest.raises(SegwError) as caught:
        project.load()
    error = caught.value
    assert message in error.message
    assert error.location is not None and error.location.file.endswith("entities.yml")
    assert error.location.line == 10
    if hint:
        assert hint in (error.hint or "")


def test_report_refuses_bad_commands(project_factory):
    project = project_with(project_factory, "      converted: {event: purchase, within: 14 days}")
    before = cli(project, "report", "everyone")
    assert before.exit_code == 2 and "segw build" in before.output
    assert project.build().exit_code == 0
    for args, message in [(["nobody"], "unknown segment 'nobody'"),
                          (["everyone", "--metric", "convertd"], "did you mean 'converted'"),
                          (["everyone", "--since", "yesterday"], "invalid --since"),
                          (["everyone", "--since", "2024-02-01", "--until", "2024-01-01"], "--since must be before"),
                          (["everyone", "--compare", "everyone"], "names the segment itself")]:
        result = cli(project, "report", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    project.write("models/entities.yml", ENTITY.format(
        metrics="      spend: {related: orders, sum: {of: amount}, where: {property: statuss, equals: completed}}"))
    typo = cli(project, "report", "everyone")
    assert typo.exit_code == 2 and "entities.yml:10: unknown column 'statuss'" in typo.output
    assert "did you mean 'status'" in typo.output
    project.write("models/entities.yml", ENTITY.format(metrics="      converted: {event: purchase}"))
    ok = cli(project, "report", "everyone")
    assert ok.exit_code == 0 and "converted" in ok.output and "a (control)" in ok.output
