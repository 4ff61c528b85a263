"""The benchmark segments, written three ways: segwarehouse YAML, expert SQL and Mautic-style SQL.

Expert SQL: one grouped pass over each related relation with conditional aggregates into one wide
per-customer feature table, then every segment a predicate over it. Mautic-style SQL: every
segment a scan of customers with a correlated sub-select (or EXISTS) per contact and condition.
Both are written in PostgreSQL's dialect and transpiled by sqlglot; all three must give the same
member sets (checked by bench_vs_baselines.py)."""
from __future__ import annotations

import datetime as dt

import sqlglot

from .datagen import AS_OF

A = AS_OF


def _ts(value: dt.datetime) -> str:
    return f"CAST('{value:%Y-%m-%d %H:%M:%S}' AS TIMESTAMP)"


NOW = _ts(A)
D3, D7, D30, D90, D365 = (_ts(A - dt.timedelta(days=d)) for d in (3, 7, 30, 90, 365))
BIRTHDAY_CODES = ", ".join(str((A.date() + dt.timedelta(days=i)).month * 100
                               + (A.date() + dt.timedelta(days=i)).day) for i in range(7))

# name -> segwarehouse definition (without name/entity)
SEGMENTS: dict[str, dict] = {
    "country_ch": {"rules": {"property": "country", "equals": "CH"}},
    "not_ch": {"rules": {"property": "country", "not_equals": "CH"}},
    "pro_midage": {"rules": {"all": [{"property": "plan", "in": ["pro", "business"]},
                                     {"property": "age", "between": [25, 40]}]}},
    "example_not_lu": {"rules": {"all": [{"property": "email", "ends_with": "@example.com"},
                                         {"not": {"property": "city", "starts_with": "Lu"}}]}},
    "recent_signups": {"rules": {"all": [{"property": "signed_up_at", "within_last": "90 days"},
                                         {"property": "birthday", "before": "1990-01-01"}]}},
    "birthday_week": {"rules": {"property": "birthday", "anniversary_within": "7 days"}},
    "purchased_30d": {"rules": {"event": "purchase", "within_last": "30 days"}},
    "heavy_viewers_7d": {"rules": {"event": "page_view", "within_last": "7 days", "count": {"gte": 5}}},
    "no_views_30d": {"rules": {"event": "page_view", "within_last": "30 days", "count": 0}},
    "openers_not_buyers": {"rules": {"all": [
        {"event": "email_open", "within_last": "30 days"},
        {"event": "email_click", "within_last": "30 days"},
        {"not": {"event": "purchase", "within_last": "30 days"}}]}},
    "zurich_product_viewers": {"rules": {"all": [
        {"property": "city", "equals": "zurich", "ignore_case": True},
        {"related": "events", "within_last": "30 days",
         "where": [{"property": "event_name", "equals": "page_view"},
                   {"property": "page", "starts_with": "product/"}]}]}},
    "big_spenders": {"rules": {"related": "orders", "where": [{"property": "status", "equals": "completed"}],
                               "sum": {"of": "amount", "gt": 2000}}},
    "high_avg_year": {"rules": {"related": "orders", "within_last": "365 days",
                                "avg": {"of": "amount", "gte": 300}}},
    "min_max": {"rules": {"all": [{"related": "orders", "min": {"of": "amount", "lt": 5}},
                                  {"related": "orders", "max": {"of": "amount", "gt": 490}}]}},
    "multi_channel": {"rules": {"related": "orders", "count_distinct": {"of": "channel", "gte": 3}}},
    "lapsed": {"rules": {"all": [{"related": "orders", "first": {"before": "365 days ago"}},
                                 {"related": "orders", "last": {"not_within_last": "90 days"}}]}},
    "active_3d": {"rules": {"related": "events", "last": {"within_last": "3 days"}}},
    "valuable_any": {"rules": {"any": [
        {"related": "orders", "sum": {"of": "amount", "gt": 5000}},
        {"event": "purchase", "within_last": "90 days", "count": {"gte": 3}},
        {"property": "plan", "equals": "business"}]}},
    "quiet_opted_in": {"rules": {"none": [{"event": "add_to_cart", "within_last": "7 days"},
                                          {"property": "email_opt_in", "equals": False}]}},
    "newsletter_ch": {"rules": {"all": [{"in_list": "newsletter"}, {"property": "country", "equals": "CH"}]}},
    "spenders_not_openers": {"rules": {"all": [{"in_segment": "big_spenders"},
                                               {"not": {"in_segment": "openers_not_buyers"}}]}},
    "ab_campaign": {"rules": {"event": "page_view", "within_last": "7 days"},
                    "include": ["newsletter"], "exclude": ["country_ch"],
                    "splits": {"a": 50, "b": 50}},
}

# -- expert SQL: one pass per relation into one wide feature table --------------------------
EVENT_FEATURES = {
    "purchase_30d": f"e.event_name = 'purchase' AND e.occurred_at > {D30}",
    "purchase_90d": f"e.event_name = 'purchase' AND e.occurred_at > {D90}",
    "view_7d": f"e.event_name = 'page_view' AND e.occurred_at > {D7}",
    "view_30d": f"e.event_name = 'page_view' AND e.occurred_at > {D30}",
    "open_30d": f"e.event_name = 'email_open' AND e.occurred_at > {D30}",
    "click_30d": f"e.event_name = 'email_click' AND e.occurred_at > {D30}",
    "cart_7d": f"e.event_name = 'add_to_cart' AND e.occurred_at > {D7}",
    "product_view_30d": f"e.event_name = 'page_view' AND e.page LIKE 'product/%' AND e.occurred_at > {D30}",
}


def expert_statements(schema: str, data: str) -> list[tuple[str, str]]:
    """(table, SELECT) pairs in build order: features, then one table per segment."""
    counts = ",\n  ".join(f"COUNT(CASE WHEN {cond} THEN 1 END) AS {name}"
                          for name, cond in EVENT_FEATURES.items())
    features = f"""
SELECT c.*, ev.*, o.*
FROM {data}.customers AS c
LEFT JOIN (
  SELECT e.customer_id AS ev_id,
  {counts},
  MAX(e.occurred_at) AS last_event_at
  FROM {data}.events AS e
  WHERE e.customer_id IS NOT NULL AND (e.occurred_at <= {NOW} OR e.occurred_at IS NULL)
  GROUP BY e.customer_id) AS ev ON ev.ev_id = c.customer_id
LEFT JOIN (
  SELECT r.customer_id AS o_id,
  SUM(CASE WHEN r.status = 'completed' THEN r.amount END) AS completed_sum,
  SUM(r.amount) AS total_sum,
  AVG(CASE WHEN r.ordered_at > {D365} THEN r.amount END) AS avg_365,
  MIN(r.amount) AS min_amount, MAX(r.amount) AS max_amount,
  COUNT(DISTINCT r.channel) AS channels,
  MIN(r.ordered_at) AS first_at, MAX(r.ordered_at) AS last_at
  FROM {data}.orders AS r
  WHERE r.customer_id IS NOT NULL AND (r.ordered_at <= {NOW} OR r.ordered_at IS NULL)
  GROUP BY r.customer_id) AS o ON o.o_id = c.customer_id"""
    z = lambda col: f"COALESCE(f.{col}, 0)"  # noqa: E731
    predicates = {
        "country_ch": "f.country = 'CH'",
        "not_ch": "(f.country IS NULL OR f.country <> 'CH')",
        "pro_midage": "f.plan IN ('pro', 'business') AND f.age BETWEEN 25 AND 40",
        "example_not_lu": "f.email LIKE '%@example.com' AND (f.city IS NULL OR f.city NOT LIKE 'Lu%')",
        "recent_signups": f"f.signed_up_at > {_ts(A - dt.timedelta(days=90))} AND f.signed_up_at <= {NOW} "
                          f"AND f.birthday < {_ts(dt.datetime(1990, 1, 1))}",
        "birthday_week": f"EXTRACT(MONTH FROM f.birthday) * 100 + EXTRACT(DAY FROM f.birthday) IN ({BIRTHDAY_CODES})",
        "purchased_30d": f"{z('purchase_30d')} >= 1",
        "heavy_viewers_7d": f"{z('view_7d')} >= 5",
        "no_views_30d": f"{z('view_30d')} = 0",
        "openers_not_buyers": f"{z('open_30d')} >= 1 AND {z('click_30d')} >= 1 AND {z('purchase_30d')} = 0",
        "zurich_product_viewers": f"LOWER(f.city) = 'zurich' AND {z('product_view_30d')} >= 1",
        "big_spenders": f"{z('completed_sum')} > 2000",
        "high_avg_year": "f.avg_365 >= 300",
        "min_max": "f.min_amount < 5 AND f.max_amount > 490",
        "multi_channel": f"{z('channels')} >= 3",
        "lapsed": f"f.first_at < {D365} AND (f.last_at IS NULL OR f.last_at <= {D90})",
        "active_3d": f"f.last_event_at > {D3}",
        "valuable_any": f"({z('total_sum')} > 5000 OR {z('purchase_90d')} >= 3 OR f.plan = 'business')",
        "quiet_opted_in": f"{z('cart_7d')} = 0 AND (f.email_opt_in IS NULL OR f.email_opt_in = TRUE)",
        "newsletter_ch": f"f.customer_id IN (SELECT customer_id FROM {data}.newsletter) AND f.country = 'CH'",
        "spenders_not_openers": f"f.customer_id IN (SELECT customer_id FROM {schema}.x_big_spenders) "
                                f"AND f.customer_id NOT IN (SELECT customer_id FROM {schema}.x_openers_not_buyers)",
        "ab_campaign": f"({z('view_7d')} >= 1 OR f.customer_id IN (SELECT customer_id FROM {data}.newsletter)) "
                       f"AND f.customer_id NOT IN (SELECT customer_id FROM {schema}.x_country_ch)",
    }
    assert predicates.keys() == SEGMENTS.keys()
    out = [(f"{schema}.x_features", features)]
    for name, predicate in predicates.items():
        out.append((f"{schema}.x_{name}", f"SELECT f.customer_id FROM {schema}.x_features AS f "
                                          f"WHERE f.customer_id IS NOT NULL AND {predicate}"))
    return out


# -- Mautic-style SQL: a correlated sub-select per contact and condition --------------------
def mautic_statements(schema: str, data: str) -> list[tuple[str, str]]:
    def events(cond: str) -> str:
        return (f"SELECT 1 FROM {data}.events AS e WHERE e.customer_id = c.customer_id "
                f"AND e.occurred_at <= {NOW} AND {cond}")

    def count_events(cond: str) -> str:
        return f"(SELECT COUNT(*) FROM {data}.events AS e WHERE e.customer_id = c.customer_id " \
               f"AND e.occurred_at <= {NOW} AND {cond})"

    def orders(aggregate: str, cond: str = "1 = 1") -> str:
        return (f"(SELECT {aggregate} FROM {data}.orders AS r WHERE r.customer_id = c.customer_id "
                f"AND (r.ordered_at <= {NOW} OR r.ordered_at IS NULL) AND {cond})")

    predicates = {
        "country_ch": "c.country = 'CH'",
        "not_ch": "(c.country IS NULL OR c.country <> 'CH')",
        "pro_midage": "c.plan IN ('pro', 'business') AND c.age BETWEEN 25 AND 40",
        "example_not_lu": "c.email LIKE '%@example.com' AND (c.city IS NULL OR c.city NOT LIKE 'Lu%')",
        "recent_signups": f"c.signed_up_at > {_ts(A - dt.timedelta(days=90))} AND c.signed_up_at <= {NOW} "
                          f"AND c.birthday < {_ts(dt.datetime(1990, 1, 1))}",
        "birthday_week": f"EXTRACT(MONTH FROM c.birthday) * 100 + EXTRACT(DAY FROM c.birthday) IN ({BIRTHDAY_CODES})",
        "purchased_30d": f"EXISTS ({events(f'e.event_name = {chr(39)}purchase{chr(39)} AND e.occurred_at > {D30}')})",
        "heavy_viewers_7d": f"{count_events(f'e.event_name = {chr(39)}page_view{chr(39)} AND e.occurred_at > {D7}')} >= 5",
        "no_views_30d": f"NOT EXISTS ({events(f'e.event_name = {chr(39)}page_view{chr(39)} AND e.occurred_at > {D30}')})",
        "openers_not_buyers": (
            f"EXISTS ({events(f'e.event_name = {chr(39)}email_open{chr(39)} AND e.occurred_at > {D30}')}) "
            f"AND EXISTS ({events(f'e.event_name = {chr(39)}email_click{chr(39)} AND e.occurred_at > {D30}')}) "
            f"AND NOT EXISTS ({events(f'e.event_name = {chr(39)}purchase{chr(39)} AND e.occurred_at > {D30}')})"),
        "zurich_product_viewers": (
            "LOWER(c.city) = 'zurich' AND EXISTS ("
            + events(f"e.event_name = 'page_view' AND e.page LIKE 'product/%' AND e.occurred_at > {D30}") + ")"),
        "big_spenders": f"{orders('COALESCE(SUM(r.amount), 0)', chr(39).join(['r.status = ', 'completed', '']))} > 2000",
        "high_avg_year": f"{orders('AVG(r.amount)', f'r.ordered_at > {D365}')} >= 300",
        "min_max": f"{orders('MIN(r.amount)')} < 5 AND {orders('MAX(r.amount)')} > 490",
        "multi_channel": f"{orders('COUNT(DISTINCT r.channel)')} >= 3",
        "lapsed": f"{orders('MIN(r.ordered_at)')} < {D365} AND NOT EXISTS (SELECT 1 FROM {data}.orders AS r "
                  f"WHERE r.customer_id = c.customer_id AND r.ordered_at > {D90} AND r.ordered_at <= {NOW})",
        "active_3d": f"EXISTS ({events(f'e.occurred_at > {D3}')})",
        "valuable_any": (f"({orders('COALESCE(SUM(r.amount), 0)')} > 5000 OR "
                         f"{count_events(f'e.event_name = {chr(39)}purchase{chr(39)} AND e.occurred_at > {D90}')} >= 3 "
                         "OR c.plan = 'business')"),
        "quiet_opted_in": (f"NOT EXISTS ({events(f'e.event_name = {chr(39)}add_to_cart{chr(39)} AND e.occurred_at > {D7}')}) "
                           "AND (c.email_opt_in IS NULL OR c.email_opt_in = TRUE)"),
        "newsletter_ch": f"EXISTS (SELECT 1 FROM {data}.newsletter AS n WHERE n.customer_id = c.customer_id) "
                         "AND c.country = 'CH'",
        "spenders_not_openers": (
            f"EXISTS (SELECT 1 FROM {schema}.y_big_spenders AS s WHERE s.customer_id = c.customer_id) AND NOT EXISTS "
            f"(SELECT 1 FROM {schema}.y_openers_not_buyers AS s WHERE s.customer_id = c.customer_id)"),
        "ab_campaign": (
            f"(EXISTS ({events(f'e.event_name = {chr(39)}page_view{chr(39)} AND e.occurred_at > {D7}')}) OR EXISTS "
            f"(SELECT 1 FROM {data}.newsletter AS n WHERE n.customer_id = c.customer_id)) AND NOT EXISTS "
            f"(SELECT 1 FROM {schema}.y_country_ch AS s WHERE s.customer_id = c.customer_id)"),
    }
    assert predicates.keys() == SEGMENTS.keys()
    return [(f"{schema}.y_{name}", f"SELECT c.customer_id FROM {data}.customers AS c "
                                   f"WHERE c.customer_id IS NOT NULL AND {predicate}")
            for name, predicate in predicates.items()]


def transpile(select: str, engine: str) -> str:
    """A baseline SELECT written in PostgreSQL's dialect, in the engine's SQL."""
    return sqlglot.transpile(select, read="postgres", write=engine, unsupported_level=sqlglot.ErrorLevel.RAISE)[0]


def expert_sql(select: str, engine: str) -> str:
    """The expert's SELECT in the engine's SQL. On MariaDB/MySQL the expert marks each grouped scan
    SQL_BIG_RESULT, as segw does: without it the scan is read through the foreign key's index or
    grouped into a temporary table that spills to disk (35 s instead of 10 s at 200k customers)."""
    if engine != "mysql":
        return transpile(select, engine)
    tree = sqlglot.parse_one(select, read="postgres")
    for scan in tree.find_all(sqlglot.exp.Select):
        if scan.args.get("group"):
            scan.set("operation_modifiers", [sqlglot.exp.var("SQL_BIG_RESULT")])
    return tree.sql(dialect=engine, unsupported_level=sqlglot.ErrorLevel.RAISE)
