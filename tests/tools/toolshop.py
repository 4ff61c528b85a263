"""The data of the tools tests: a small shop (people, orders, a list) and its segments."""
from __future__ import annotations

PEOPLE = """
    id,name,country,score,email
    1,Ann,CH,10,ann@example.com
    2,Bob,FR,20,bob@example.com
    3,Cleo,,30,
    4,Dan,CH,40,dan@example.ch
    5,Eve,FR,50,eve@example.fr
    6,Finn,DE,60,finn@example.de
    7,Gus,CH,70,gus@example.ch
    8,Hana,,80,hana@example.com
"""
ORDERS = """
    order_id,person_id,amount,status,ordered_at
    1,1,120,completed,2024-06-20 10:00:00
    2,1,30,completed,2024-01-05 10:00:00
    3,2,300,completed,2024-06-25 09:00:00
    4,2,15,returned,2024-06-26 09:00:00
    5,4,80,completed,2024-06-01 08:00:00
    6,4,90,completed,2024-06-28 08:00:00
    7,5,500,completed,2023-12-24 18:00:00
    8,6,60,completed,2024-06-29 23:00:00
    9,6,70,completed,2024-07-15 12:00:00
    10,8,200,completed,2024-06-10 12:00:00
    11,8,10,,2024-06-11 12:00:00
"""
BLOCKLIST = """
    id
    6
"""
ENTITIES = """
    entities:
      - name: person
        model: people
        key: id
        relations:
          orders:
            model: orders
            foreign_key: person_id
            time: ordered_at
"""
SEGMENTS = """
    lists:
      - name: blocklist
        entity: person
        from: seeds/blocklist.csv
    segments:
      - name: recent_buyers
        title: Recent buyers
        description: Spent over 100 in completed orders in the last 30 days, not blocked.
        entity: person
        category: revenue
        rules:
          all:
            - {property: score, gte: 20}
            - related: orders
              where: {property: status, equals: completed}
              within_last: 30 days
              sum: {of: amount, gt: 100}
            - not: {in_list: blocklist}
      - name: swiss_or_frequent
        title: Swiss or frequent
        entity: person
        category: geo
        materialized: table
        rules:
          any:
            - {property: country, equals: CH}
            - {related: orders, count: {gte: 2}}
            - {property: email, ends_with: .fr}
      - name: campaign
        title: Campaign
        entity: person
        category: revenue
        rules:
          all:
            - {in_segment: recent_buyers}
            - {property: country, not_equals: DE}
        include: [blocklist]
        exclude: [lapsed]
        splits: {control: 50, test: 50}
      - name: lapsed
        title: Lapsed
        entity: person
        category: retention
        rules:
          all:
            - {related: orders, first: {before: 90 days ago}}
            - {related: orders, last: {not_within_last: 30 days}}
"""
FILES = {
    "seeds/people.csv": PEOPLE,
    "seeds/orders.csv": ORDERS,
    "seeds/blocklist.csv": BLOCKLIST,
    "models/entities.yml": ENTITIES,
    "segments/s.yml": SEGMENTS,
}
AS_OF = "2024-06-30 12:00:00"
KEYS = [str(k) for k in range(1, 9)]
