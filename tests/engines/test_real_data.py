"""Real datasets nobody here wrote: the answers are computed in plain Python from the same CSVs."""
from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def read(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def seeds(folder: str, names: dict[str, str]) -> dict[str, str]:
    return {f"seeds/{target}.csv": (FIXTURES / folder / source).read_text(encoding="utf-8")
            for target, source in names.items()}


JAFFLE = {
    "models/order_payments.sql": """
        SELECT o.user_id AS customer_id, o.order_date, p.amount
        FROM {{ ref('raw_orders') }} AS o
        JOIN {{ ref('raw_payments') }} AS p ON p.order_id = o.id
    """,
    "models/entities.yml": """
        entities:
          - name: customer
            model: raw_customers
            key: id
            relations:
              orders: {model: raw_orders, foreign_key: user_id, time: order_date}
              payments: {model: order_payments, foreign_key: customer_id, time: order_date}
    """,
    "segments/jaffle.yml": """
        segments:
          - name: repeat_buyers
            entity: customer
            rules: {related: orders, count: {gte: 2}}
          - name: two_payment_rows
            entity: customer
            rules: {related: payments, count: {gte: 2}}
          - name: completed_recently
            entity: customer
            rules:
              related: orders
              where: {property: status, equals: completed}
              within_last: 30 days
          - name: lapsed
            entity: customer
            rules: {related: orders, last: {not_within_last: 30 days}}
          - name: big_spenders
            entity: customer
            rules: {related: payments, sum: {of: amount, gt: 3000}}
    """,
}


def test_jaffle_shop(engine, project_factory):
    files = {**JAFFLE, **seeds("jaffle_shop", {"raw_customers": "raw_customers.csv",
                                               "raw_orders": "raw_orders.csv", "raw_payments": "raw_payments.csv"})}
    project = project_factory(engine, files)
    result = project.build(as_of="2018-04-09")
    assert not result.failed, [s.error for s in result.failed]

    orders = read(FIXTURES / "jaffle_shop/raw_orders.csv")
    payments = read(FIXTURES / "jaffle_shop/raw_payments.csv")
    as_of = dt.date(2018, 4, 9)
    per_customer = defaultdict(list)
    for order in orders:
        per_customer[order["user_id"]].append(order)
    order_of = {o["id"]: o for o in orders}
    payment_rows, spent = defaultdict(int), defaultdict(int)
    for payment in payments:
        owner = order_of[payment["order_id"]]["user_id"]
        payment_rows[owner] += 1
        spent[owner] += int(payment["amount"])

    repeat = {c for c, os in per_customer.items() if len(os) >= 2}
    assert len(repeat) == 29  # dbt's classic answer
    assert project.members("repeat_buyers") == repeat
    # Counting joined payment rows instead answers another question: one order has two payments.
    assert len({c for c, n in payment_rows.items() if n >= 2}) == 30
    assert project.members("two_payment_rows") == {c for c, n in payment_rows.items() if n >= 2}

    def day(o):
        return dt.date.fromisoformat(o["order_date"])

    recent = {o["user_id"] for o in orders if o["status"] == "completed"
              and as_of - dt.timedelta(days=30) < day(o) <= as_of}
    assert project.members("completed_recently") == recent and recent
    customers = {c["id"] for c in read(FIXTURES / "jaffle_shop/raw_customers.csv")}
    active = {o["user_id"] for o in orders if as_of - dt.timedelta(days=30) < day(o) <= as_of}
    assert project.members("lapsed") == customers - active
    assert project.members("big_spenders") == {c for c, cents in spent.items() if cents > 3000}


CDNOW = {
    "models/cd_customers.sql": "SELECT DISTINCT customer_id FROM {{ ref('cdnow') }}",
    "models/entities.yml": """
        entities:
          - name: buyer
            model: cd_customers
            key: customer_id
            relations:
              purchases: {model: cdnow, foreign_key: customer_id, time: order_date}
    """,
    "segments/cdnow.yml": """
        segments:
          - name: lapsed_buyers
            entity: buyer
            rules:
              all:
                - {related: purchases, last: {not_within_last: 90 days}}
                - {related: purchases, first: {before: 1997-02-01}}
          - name: high_spenders
            entity: buyer
            rules: {related: purchases, sum: {of: amount, gt: 200}}
          - name: big_baskets
            entity: buyer
            rules: {related: purchases, avg: {of: cds, gte: 4}}
          - name: regulars_1998
            entity: buyer
            rules: {related: purchases, between: [1998-01-01, 1998-06-30], count_distinct: {of: order_date, gte: 3}}
    """,
}


def test_cdnow_purchases(engine, project_factory):
    project = project_factory(engine, {**CDNOW, **seeds("cdnow", {"cdnow": "cdnow_sample.csv"})})
    result = project.build(as_of="1998-06-30")
    assert not result.failed, [s.error for s in result.failed]

    rows = read(FIXTURES / "cdnow/cdnow_sample.csv")
    by_buyer = defaultdict(list)
    for row in rows:
        by_buyer[str(int(row["customer_id"]))].append(row)
    as_of = dt.date(1998, 6, 30)

    def dates(rs):
        return [dt.date.fromisoformat(r["order_date"]) for r in rs]

    lapsed = {b for b, rs in by_buyer.items()
              if max(dates(rs)) <= as_of - dt.timedelta(days=90) and min(dates(rs)) < dt.date(1997, 2, 1)}
    spenders = {b for b, rs in by_buyer.items() if sum(float(r["amount"]) for r in rs) > 200}
    baskets = {b for b, rs in by_buyer.items() if sum(int(r["cds"]) for r in rs) / len(rs) >= 4}
    regulars = {b for b, rs in by_buyer.items()
                if len({d for d in dates(rs) if dt.date(1998, 1, 1) <= d <= as_of}) >= 3}
    assert len(by_buyer) == 2357
    assert project.members("lapsed_buyers") == lapsed and 0 < len(lapsed) < len(by_buyer)
    assert project.members("high_spenders") == spenders and spenders
    assert project.members("big_baskets") == baskets and baskets
    assert project.members("regulars_1998") == regulars and regulars


MAUTIC = {
    "models/contacts.sql": "SELECT * FROM {{ ref('leads') }}",
    "models/entities.yml": """
        entities:
          - name: contact
            model: contacts
            key: email
    """,
    "segments/mautic.yml": """
        segments:
          - name: uk_dayrep
            entity: contact
            rules:
              all:
                - {property: country, equals: united kingdom, ignore_case: true}
                - {property: email, ends_with: "@dayrep.com"}
          - name: no_state
            entity: contact
            rules: {property: state, is_set: false}
          - name: mc_names
            entity: contact
            rules: {property: lastname, matches: "^M[a-z]+$"}
          - name: co_sites
            entity: contact
            rules: {property: website, contains: ".CO.", ignore_case: true}
    """,
}


def test_mautic_contacts(engine, project_factory):
    project = project_factory(engine, {**MAUTIC, **seeds("mautic", {"leads": "fakeleaddata.csv"})})
    result = project.build(as_of="2024-01-01")
    assert not result.failed, [s.error for s in result.failed]
    everyone = read(FIXTURES / "mautic/fakeleaddata.csv")
    # Four test contacts have no email: a NULL key is never a member of anything.
    leads = [lead for lead in everyone if lead["email"]]
    assert len(everyone) - len(leads) == 4
    assert len({lead["email"] for lead in leads}) == len(leads)
    uk = {lead["email"] for lead in leads if lead["country"].lower() == "united kingdom"
          and lead["email"].endswith("@dayrep.com")}
    assert project.members("uk_dayrep") == uk and uk
    assert project.members("no_state") == {lead["email"] for lead in leads if not lead["state"]}
    assert project.members("mc_names") == {lead["email"] for lead in leads if re.search("^M[a-z]+$", lead["lastname"])}
    assert project.members("co_sites") == {lead["email"] for lead in leads if ".co." in lead["website"].lower()}
