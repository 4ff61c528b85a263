"""Incremental segments (SEGMENTS.md §8 [1.1]) against the same rules built as `table`: after every
step of random appends, updates and deletes and as_of steps of minutes to months across window edges,
month ends and Feb 29, members, history and change feed must be identical, on every engine."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlglot import exp

from segwarehouse.outputs import insert, table
from tests.conftest import ENGINES

ENTITIES = """
entities:
  - name: customer
    model: {schema}.customers
    key: customer_id
    loaded_at: _loaded_at
    relations:
      events:
        model: {schema}.events
        foreign_key: customer_id
        time: occurred_at
        name: event_name
        loaded_at: _loaded_at
      orders:
        model: {schema}.orders
        foreign_key: customer_id
        time: ordered_at
        loaded_at: _loaded_at
"""

# Every rule kind whose outcome can move with data or with time; each is built twice.
RULES = {
    "recent_clickers": "{event: click, within_last: 1 day, count: {gte: 2}}",
    "weekly_openers": "{event: open, within_last: 7 days}",
    "lapsed": """
      all:
        - {related: orders, first: {before: 30 days ago}}
        - {related: orders, last: {not_within_last: 14 days}}""",
    "new_signups": "{property: signed_up_at, within_last: 30 days}",
    "trial_ending": "{property: trial_ends_at, within_next: 3 days}",
    "old_accounts": "{property: signed_up_at, before: 60 days ago}",
    "middle_aged": """
      all:
        - {property: signed_up_at, after: 90 days ago}
        - {property: signed_up_at, before: 20 days ago}""",
    "birthdays": "{property: birthday, anniversary_within: 7 days}",
    "this_month_buyers": "{event: purchase, during: this_month}",
    "last_month_signups": "{property: signed_up_at, during: last_month}",
    "big_spenders": "{related: orders, within_last: 30 days, sum: {of: amount, gt: 100}}",
    "varied": "{related: events, within_last: 14 days, count_distinct: {of: event_name, gte: 2}}",
    "quiet_germans": """
      all:
        - {property: country, equals: de}
        - none:
            - {event: click, within_last: 14 days}
            - {related: orders, where: {property: status, equals: paid}, after: 7 days ago}""",
    "de_or_fr": "{property: country, in: [de, fr]}",
    "paid_once": "{related: orders, where: {property: status, equals: paid}, count: {gte: 1}}",
    "recent_big_order": """
      related: orders
      where: {property: placed_at_local, within_last: 2 days}
      count: {gte: 1}""",
}
EXTRA = {
    "split_spenders": """
    splits: {control: 20, test: 80}
    split_seed: spenders
    columns: [country]
    traits:
      orders_30d: {related: orders, within_last: 30 days, count: true}
      last_event_at: {related: events, last: true}""",
}
NESTED = """
  - name: nested_{mode}
    entity: customer
    materialized: {materialized}
    rules:
      all:
        - {{in_segment: weekly_openers_{mode}}}
        - not: {{in_segment: de_or_fr_{mode}}}
    exclude: [big_spenders_{mode}]
"""


def segments_yaml() -> str:
    out = ["segments:"]
    for mode, materialized in (("inc", "incremental"), ("tab", "table")):
        for name, rules in {**RULES, "split_spenders": "{event: purchase, within_last: 30 days}"}.items():
            body = rules if "\n" in rules else " " + rules
            out.append(f"  - name: {name}_{mode}\n    entity: customer\n    materialized: {materialized}\n"
                       f"    rules:{body}")
            if name in EXTRA:
                out.append(EXTRA[name])
        out.append(NESTED.format(mode=mode, materialized=materialized))
    return "\n".join(out) + "\n"


CUSTOMER_COLUMNS = [("customer_id", "INT"), ("country", "VARCHAR(8)"), ("signed_up_at", "TIMESTAMP"),
                    ("trial_ends_at", "TIMESTAMP"), ("birthday", "DATE"), ("_loaded_at", "TIMESTAMP")]
EVENT_COLUMNS = [("event_id", "INT"), ("customer_id", "INT"), ("event_name", "VARCHAR(16)"),
                 ("occurred_at", "TIMESTAMP"), ("_loaded_at", "TIMESTAMP")]
ORDER_COLUMNS = [("order_id", "INT"), ("customer_id", "INT"), ("amount", "DECIMAL(10,2)"),
                 ("status", "VARCHAR(8)"), ("ordered_at", "TIMESTAMP"), ("placed_at_local", "TIMESTAMP"),
                 ("_loaded_at", "TIMESTAMP")]


def _literal(value) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.strftime("%Y-%m-%d %H:%M:%S")), "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(value)


class World:
    """The warehouse's source tables, changed step by step; loaded_at grows with every step."""

    def __init__(self, project, rng: random.Random, start: dt.datetime):
        self.project, self.rng, self.as_of = project, rng, start
        self.load_clock = dt.datetime(2030, 1, 1)  # loaded_at is its own clock, not as_of
        self.schema = project.model_schema
        self.next_id = {"customers": 1, "events": 1, "orders": 1}
        self.adapter = project.adapter()
        self.adapter.ensure_schema(self.schema)
        for name, columns in (("customers", CUSTOMER_COLUMNS), ("events", EVENT_COLUMNS),
                              ("orders", ORDER_COLUMNS)):
            self.adapter.create_table(self.schema, name, [(c, exp.DataType.build(ty)) for c, ty in columns])

    def close(self):
        self.adapter.close()

    def near(self, spread_days: float) -> dt.datetime | None:
        """A time around as_of (some in the future, some at edges, a few missing)."""
        if self.rng.random() < 0.05:
            return None
        offset = dt.timedelta(days=self.rng.uniform(-spread_days, spread_days / 4))
        return (self.as_of + offset).replace(microsecond=0)

    def _insert(self, name: str, columns, rows) -> None:
        if rows:
            self.adapter.execute(insert(table(self.schema, name), [c for c, _ in columns],
                                        exp.values([tuple(_literal(v) for v in row) for row in rows])))

    def customer_row(self, key: int) -> tuple:
        rng = self.rng
        birthday = (self.as_of + dt.timedelta(days=rng.randint(-10, 10))).date()
        birthday = birthday.replace(year=rng.choice([1980, 1996, 2000]))
        return (key, rng.choice(["de", "fr", "us", None]), self.near(120), self.near(6), birthday,
                self.load_clock)

    def event_row(self, customer: int) -> tuple:
        self.next_id["events"] += 1
        return (self.next_id["events"], customer, self.rng.choice(["open", "click", "purchase"]),
                self.near(20), self.load_clock)

    def order_row(self, customer: int) -> tuple:
        self.next_id["orders"] += 1
        return (self.next_id["orders"], customer, round(self.rng.uniform(5, 90), 2),
                self.rng.choice(["paid", "refunded"]), self.near(60), self.near(4), self.load_clock)

    def step(self, first: bool = False) -> None:
        rng, key_count = self.rng, 24
        self.load_clock += dt.timedelta(minutes=5)
        if first:
            self._insert("customers", CUSTOMER_COLUMNS, [self.customer_row(k) for k in range(1, key_count + 1)])
        else:
            for key in rng.sample(range(1, key_count + 3), 3):  # updates, inserts and re-inserts
                self.adapter.execute(exp.delete(table(self.schema, "customers"),
                                                where=exp.column("customer_id").eq(key)))
                if rng.random() < 0.85:
                    self._insert("customers", CUSTOMER_COLUMNS, [self.customer_row(key)])
            if rng.random() < 0.5:  # an event changes in place (a late correction), with a new loaded_at
                self.adapter.execute(exp.update(
                    table(self.schema, "events"),
                    {"event_name": exp.Literal.string("click"), "_loaded_at": _literal(self.load_clock)},
                    where=exp.column("event_id").eq(rng.randint(1, max(1, self.next_id["events"])))))
        customers = range(1, key_count + 3)
        self._insert("events", EVENT_COLUMNS,
                     [self.event_row(rng.choice(customers)) for _ in range(30 if first else rng.randint(0, 8))])
        self._insert("orders", ORDER_COLUMNS,
                     [self.order_row(rng.choice(customers)) for _ in range(20 if first else rng.randint(0, 5))])

    def advance(self) -> None:
        choice = self.rng.choice(["minutes", "hours", "day", "week", "month", "month_end", "leap"])
        if choice == "minutes":
            self.as_of += dt.timedelta(minutes=self.rng.randint(1, 59))
        elif choice == "hours":
            self.as_of += dt.timedelta(hours=self.rng.randint(1, 23))
        elif choice == "day":
            self.as_of += dt.timedelta(days=1)
        elif choice == "week":
            self.as_of += dt.timedelta(days=7, seconds=1)
        elif choice == "month":
            self.as_of += dt.timedelta(days=self.rng.randint(28, 62))
        elif choice == "month_end":  # to the first second of the next month
            first = (self.as_of.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            self.as_of = dt.datetime(first.year, first.month, 1)
        else:  # over a leap day, whichever year we are in
            year = self.as_of.year + (1 if (self.as_of.month, self.as_of.day) > (2, 28) else 0)
            while not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
                year += 1
            self.as_of = dt.datetime(year, 2, 29, self.rng.randint(0, 23), 0, 0)


def _outputs(project, suffix: str) -> dict[str, set]:
    names = [f"{name}_{suffix}" for name in (*RULES, "split_spenders", "nested")]
    rows = {}
    for name in names:
        base = name[: -len(suffix) - 1]
        q = project.quote
        rows[base, "members"] = {tuple(r) for r in project.query(
            f"SELECT {q('key')}, {q('split')} FROM {{seg}}.memberships WHERE {q('segment')} = '{name}'")}
        rows[base, "history"] = {tuple(str(v) for v in r) for r in project.query(
            f"SELECT {q('key')}, {q('split')}, valid_from, valid_to FROM {{seg}}.membership_history "
            f"WHERE {q('segment')} = '{name}'")}
        rows[base, "changes"] = {tuple(str(v) for v in r) for r in project.query(
            f"SELECT {q('key')}, {q('change')}, {q('split')}, as_of FROM {{seg}}.membership_changes "
            f"WHERE {q('segment')} = '{name}'")}
    rows["split_spenders", "relation"] = {tuple(str(v) for v in r) for r in project.query(
        f"SELECT * FROM {{seg}}.{q('split_spenders_' + suffix)}")}
    return rows


pytestmark = pytest.mark.usefixtures("evaluate_changed_keys_however_many")


STEPS = {"duckdb": 12, "postgres": 6, "mysql": 6}
RUNS = [(engine, 1) for engine in ENGINES] + [("duckdb", 2)]  # the servers cost more per step


@pytest.mark.parametrize("engine, seed", RUNS)
def test_incremental_equals_table(project_factory, engine, seed, monkeypatch):
    from segwarehouse.incremental import stored_modes
    from segwarehouse.shared_passes import Passes

    among_changed_keys: list[str] = []  # segments evaluated over the wide table of the changed keys
    serving = Passes.of

    def spy(passes, name):
        features = serving(passes, name)
        if features is not None and features.keys is not None:
            among_changed_keys.append(name)
        return features
    monkeypatch.setattr(Passes, "of", spy)
    import segwarehouse.kept as kept
    brought_forward: list[str] = []  # relations whose kept measures a run brought forward
    forward = kept._bring_forward

    def forward_spy(adapter, plan, *args, **kwargs):
        brought_forward.append(plan.relation.name)
        return forward(adapter, plan, *args, **kwargs)
    monkeypatch.setattr(kept, "_bring_forward", forward_spy)
    project = project_factory(engine)
    project.write("models/entities.yml", ENTITIES.format(schema=project.model_schema))
    project.write("segments/all.yml", segments_yaml())
    rng = random.Random(seed * 7919 + len(engine))
    world = World(project, rng, dt.datetime(2024, 1, 20, 9, 30, 0) + dt.timedelta(days=seed * 11))
    modes_seen: set[str] = set()
    try:
        for number in range(STEPS[engine]):
            world.step(first=number == 0)
            if number:
                world.advance()
            result = project.build(as_of=world.as_of.strftime("%Y-%m-%d %H:%M:%S"))
            assert all(r.status == "success" for r in result.segments), [
                (r.segment, r.error) for r in result.segments if r.status != "success"]
            inc, tab = _outputs(project, "inc"), _outputs(project, "tab")
            for key in tab:
                assert inc[key] == tab[key], (f"step {number} at {world.as_of}: {key[0]} {key[1]} differs; "
                                              f"only incremental: {sorted(inc[key] - tab[key])[:5]}, "
                                              f"only table: {sorted(tab[key] - inc[key])[:5]}")
            adapter = project.adapter()
            try:
                modes = stored_modes(adapter, project.segment_schema)
            finally:
                adapter.close()
            modes_seen |= {mode for name, (mode, _) in modes.items() if name.endswith("_inc")}
            if number:  # after the first run every incremental segment evaluates only changed keys
                assert {n: m for n, m in modes.items() if m[0] != "incremental"} == {}
    finally:
        world.close()
    assert modes_seen == {"incremental", "full"}
    assert among_changed_keys and all(name.endswith("_inc") for name in among_changed_keys)
    # new rows and time moved the kept measures forward (events changed in place drop them, at times)
    assert {"events", "orders"} <= set(brought_forward), brought_forward
