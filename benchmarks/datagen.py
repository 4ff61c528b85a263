"""Deterministic benchmark data, generated inside the warehouse by SQL: customers, events, orders, a list.

Every value is integer arithmetic on the row number (no randomness), so the same sizes give the
same rows on DuckDB, PostgreSQL and MariaDB. Columns are nullable and skewed on purpose: a few hot
customers own many events, countries and plans are lopsided, some keys and times are NULL and a
few rows lie after as_of."""
from __future__ import annotations

import datetime as dt

AS_OF = dt.datetime(2026, 11, 1, 6, 0, 0)
SPAN_SECONDS = 730 * 86400  # two years of history before as_of (plus one day after it)
LOADED_AT = dt.datetime(2026, 11, 1, 5, 0, 0)  # when the generated rows "arrived" (`loaded_at`)


def _hash(n: str, salt: int) -> str:
    """A cheap deterministic scramble of the BIGINT row number n into 0..4294967290."""
    return f"(({n} * 2654435761 + {salt * 40503 + 17}) % 4294967291)"


class Sql:
    """The few places where the engines' SQL differs for the generator."""

    def __init__(self, engine: str, schema: str, at: dt.datetime = AS_OF):
        self.engine, self.schema, self.at = engine, schema, at

    def numbers(self, count: int) -> str:
        """A derived table `g(n)` with n = 0 .. count-1 (BIGINT)."""
        if self.engine == "duckdb":
            return f"(SELECT range AS n FROM range({int(count)})) AS g"
        if self.engine == "postgres":
            return f"(SELECT CAST(n AS BIGINT) AS n FROM generate_series(0, {int(count) - 1}) AS s(n)) AS g"
        return f"(SELECT CAST(seq AS SIGNED) AS n FROM `{self.schema}`.seq_0_to_{int(count) - 1}) AS g"  # MariaDB's sequence engine

    def ago(self, seconds: str) -> str:
        """as_of minus an integer number of seconds, as a timestamp."""
        at = self.at.strftime("%Y-%m-%d %H:%M:%S")
        if self.engine == "duckdb":
            return f"(TIMESTAMP '{at}' - to_seconds(CAST({seconds} AS BIGINT)))"
        if self.engine == "postgres":
            return f"(TIMESTAMP '{at}' - make_interval(secs => {seconds}))"
        return f"TIMESTAMPADD(SECOND, -({seconds}), TIMESTAMP '{at}')"

    def day_ago(self, days: str) -> str:
        at = self.at.strftime("%Y-%m-%d")
        if self.engine == "duckdb":
            return f"CAST(DATE '{at}' - CAST({days} AS INTEGER) AS DATE)"
        if self.engine == "postgres":
            return f"(DATE '{at}' - CAST({days} AS INTEGER))"
        return f"DATE_SUB(DATE '{at}', INTERVAL ({days}) DAY)"

    def text(self, value: str) -> str:
        return f"CAST({value} AS CHAR(20))" if self.engine == "mysql" else f"CAST({value} AS VARCHAR)"

    def boolean(self, condition: str) -> str:
        return f"({condition})"

    @property
    def ts(self) -> str:
        return "DATETIME" if self.engine == "mysql" else "TIMESTAMP"

    def stamp(self, value: dt.datetime) -> str:
        return f"CAST('{value:%Y-%m-%d %H:%M:%S}' AS {self.ts})"

    def q(self, name: str) -> str:
        return f"`{name}`" if self.engine == "mysql" else f'"{name}"'


def statements(engine: str, schema: str, customers: int, events: int, orders: int) -> list[str]:
    """CREATE TABLE ... AS SELECT for every benchmark table, then indexes and statistics."""
    s = Sql(engine, schema)
    q = s.q
    c = max(50, int(customers))
    hot = max(1, c // 50)
    t = lambda name: f"{q(schema)}.{q(name)}"  # noqa: E731
    h = lambda salt: _hash("n", salt)  # noqa: E731
    out = [f"DROP TABLE IF EXISTS {t(name)}" for name in ("customers", "events", "orders", "newsletter")]
    out.append(f"""CREATE TABLE {t('customers')} AS SELECT
      n + 1 AS customer_id,
      CASE WHEN {h(1)} % 100 < 3 THEN NULL
           WHEN {h(1)} % 100 < 10 THEN CONCAT('c', {s.text('n + 1')}, '@shop.test')
           ELSE CONCAT('c', {s.text('n + 1')}, '@example.com') END AS email,
      CASE WHEN {h(2)} % 100 < 55 THEN 'CH' WHEN {h(2)} % 100 < 75 THEN 'DE'
           WHEN {h(2)} % 100 < 85 THEN 'FR' WHEN {h(2)} % 100 < 92 THEN 'AT' END AS country,
      CASE {h(3)} % 8 WHEN 0 THEN 'Zurich' WHEN 1 THEN 'zurich' WHEN 2 THEN 'Geneva' WHEN 3 THEN 'Basel'
           WHEN 4 THEN 'Bern' WHEN 5 THEN 'Lausanne' WHEN 6 THEN 'Lugano' END AS city,
      CASE WHEN {h(4)} % 100 < 70 THEN 'free' WHEN {h(4)} % 100 < 90 THEN 'pro'
           WHEN {h(4)} % 100 < 98 THEN 'business' END AS plan,
      CASE WHEN {h(5)} % 10 = 0 THEN NULL ELSE 18 + {h(5)} % 63 END AS age,
      CASE WHEN {h(6)} % 20 = 0 THEN NULL ELSE {s.boolean(f'{h(6)} % 3 <> 0')} END AS email_opt_in,
      CAST({s.ago(f'{h(7)} % {SPAN_SECONDS}')} AS {s.ts}) AS signed_up_at,
      CASE WHEN {h(8)} % 25 = 0 THEN NULL ELSE {s.day_ago(f'6570 + {h(8)} % 20000')} END AS birthday,
      {s.stamp(LOADED_AT)} AS _loaded_at
    FROM {s.numbers(c)}""")
    # A third of the events belong to 2% of the customers (hot keys); 0.2% have no customer.
    out.append(f"""CREATE TABLE {t('events')} AS SELECT
      n + 1 AS event_id,
      CASE WHEN {h(11)} % 500 = 0 THEN NULL
           WHEN {h(12)} % 3 = 0 THEN {h(13)} % {hot} + 1 ELSE {h(13)} % {c} + 1 END AS customer_id,
      CAST({s.ago(f'{h(14)} % {SPAN_SECONDS + 86400} - 86400')} AS {s.ts}) AS occurred_at,
      CASE WHEN {h(15)} % 100 < 50 THEN 'page_view' WHEN {h(15)} % 100 < 70 THEN 'email_open'
           WHEN {h(15)} % 100 < 78 THEN 'email_click' WHEN {h(15)} % 100 < 90 THEN 'add_to_cart'
           ELSE 'purchase' END AS event_name,
      CASE WHEN {h(15)} % 100 < 50 THEN CASE WHEN {h(16)} % 3 = 0 THEN 'home'
           ELSE CONCAT('product/', {s.text(f'{h(16)} % 200')}) END END AS page,
      {s.stamp(LOADED_AT)} AS _loaded_at
    FROM {s.numbers(events)}""")
    out.append(f"""CREATE TABLE {t('orders')} AS SELECT
      n + 1 AS order_id,
      CASE WHEN {h(21)} % 4 = 0 THEN {h(22)} % {hot} + 1 ELSE {h(22)} % {c} + 1 END AS customer_id,
      CASE WHEN {h(23)} % 1000 = 0 THEN NULL
           ELSE CAST({s.ago(f'{h(23)} % {SPAN_SECONDS + 86400} - 86400')} AS {s.ts}) END AS ordered_at,
      CASE WHEN {h(24)} % 10 < 8 THEN 'completed' WHEN {h(24)} % 10 = 8 THEN 'refunded'
           ELSE 'cancelled' END AS status,
      CAST({h(25)} % 50000 AS DECIMAL(12, 2)) / 100 AS amount,
      CASE {h(26)} % 20 WHEN 0 THEN NULL WHEN 1 THEN 'store' WHEN 2 THEN 'store'
           WHEN 3 THEN 'app' WHEN 4 THEN 'app' WHEN 5 THEN 'app' ELSE 'web' END AS channel,
      {s.stamp(LOADED_AT)} AS _loaded_at
    FROM {s.numbers(orders)}""")
    out.append(f"""CREATE TABLE {t('newsletter')} AS SELECT n + 1 AS customer_id
    FROM {s.numbers(c)} WHERE {h(31)} % 3 = 0""")
    if engine != "duckdb":  # what a DBA would have on a row store
        out += [f"CREATE UNIQUE INDEX bench_customers_pk ON {t('customers')} (customer_id)",
                f"CREATE INDEX bench_events_fk ON {t('events')} (customer_id, occurred_at)",
                f"CREATE INDEX bench_events_name ON {t('events')} (event_name, occurred_at)",
                f"CREATE INDEX bench_orders_fk ON {t('orders')} (customer_id, ordered_at)",
                f"CREATE INDEX bench_newsletter_fk ON {t('newsletter')} (customer_id)",
                # what an incremental pipeline reads: rows by arrival, and by time
                f"CREATE INDEX bench_customers_loaded ON {t('customers')} (_loaded_at)",
                f"CREATE INDEX bench_events_loaded ON {t('events')} (_loaded_at)",
                f"CREATE INDEX bench_events_time ON {t('events')} (occurred_at)",
                f"CREATE INDEX bench_orders_loaded ON {t('orders')} (_loaded_at)",
                f"CREATE INDEX bench_orders_time ON {t('orders')} (ordered_at)"]
        if engine == "postgres":
            out += [f"ANALYZE {t(name)}" for name in ("customers", "events", "orders", "newsletter")]
        else:
            out += [f"ANALYZE TABLE {t(name)}" for name in ("customers", "events", "orders", "newsletter")]
    return out


def append_statements(engine: str, schema: str, customers: int, first_event_id: int, new_events: int,
                      at: dt.datetime, loaded_at: dt.datetime, salt: int) -> list[str]:
    """New events in the hour before `at` (hot customers as skewed as before) and one customer in a
    thousand changed (plan and country), all loaded at `loaded_at`."""
    s = Sql(engine, schema, at)
    q = s.q
    c = max(50, int(customers))
    hot = max(1, c // 50)
    t = lambda name: f"{q(schema)}.{q(name)}"  # noqa: E731
    h = lambda k: _hash("n", salt * 100 + k)  # noqa: E731
    return [f"""INSERT INTO {t('events')} (event_id, customer_id, occurred_at, event_name, page, _loaded_at)
    SELECT {int(first_event_id)} + n + 1,
      CASE WHEN {h(2)} % 3 = 0 THEN {h(3)} % {hot} + 1 ELSE {h(3)} % {c} + 1 END,
      CAST({s.ago(f'{h(4)} % 3600')} AS {s.ts}),
      CASE WHEN {h(5)} % 100 < 50 THEN 'page_view' WHEN {h(5)} % 100 < 70 THEN 'email_open'
           WHEN {h(5)} % 100 < 78 THEN 'email_click' WHEN {h(5)} % 100 < 90 THEN 'add_to_cart'
           ELSE 'purchase' END,
      CASE WHEN {h(5)} % 100 < 50 THEN 'home' END,
      {s.stamp(loaded_at)}
    FROM {s.numbers(new_events)}""",
            f"""UPDATE {t('customers')} SET
      plan = CASE WHEN plan = 'free' THEN 'pro' ELSE 'free' END,
      country = CASE WHEN country = 'CH' THEN 'DE' ELSE 'CH' END,
      _loaded_at = {s.stamp(loaded_at)}
    WHERE (customer_id * 2654435761 + {salt * 7919}) % 1000 = 0"""]


def generate(adapter, engine: str, schema: str, customers: int, events: int, orders: int) -> None:
    """Create (or replace) the benchmark tables in `schema` through a segwarehouse adapter."""
    adapter.ensure_schema(schema)
    for statement in statements(engine, schema, customers, events, orders):
        if statement.startswith("ANALYZE TABLE"):
            adapter.fetchall_text(statement)
        else:
            adapter.execute_text(statement)
