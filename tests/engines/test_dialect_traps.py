"""Engine traps, executed: time zones, DATE vs timestamp windows, exact decimals, collations."""
from __future__ import annotations

FILES = {
    "seeds/ids.csv": "id\n1\n2\n3\n4\n",
    # Each engine's own types: a zoned timestamp (MariaDB has none: UTC in a DATETIME), a date, decimals.
    "models/facts.sql": """
        {{ config(materialized='table') }}
        {% if target.type == 'mysql' %}{% set zoned = 'DATETIME' %}{% set naive = 'DATETIME' %}
        {% elif target.type == 'postgres' %}{% set zoned = 'TIMESTAMPTZ' %}{% set naive = 'TIMESTAMP' %}
        {% else %}{% set zoned = 'TIMESTAMPTZ' %}{% set naive = 'TIMESTAMP' %}{% endif %}
        SELECT id,
          CAST(CASE id WHEN 1 THEN {{ "'2024-06-30 10:00:00+02:00'" if target.type != 'mysql' else "'2024-06-30 08:00:00'" }}
                       WHEN 2 THEN {{ "'2024-06-30 10:00:01+02:00'" if target.type != 'mysql' else "'2024-06-30 08:00:01'" }}
                       ELSE NULL END AS {{ zoned }}) AS seen_at,
          CAST(CASE id WHEN 1 THEN '2024-06-30 08:00:00' WHEN 3 THEN '2024-06-30 08:00:01' END AS {{ naive }}) AS naive_at,
          CAST(CASE id WHEN 1 THEN '2024-06-23' WHEN 2 THEN '2024-06-24' WHEN 3 THEN '2024-06-30' END AS DATE) AS day,
          CAST(CASE id WHEN 1 THEN 0.10 WHEN 2 THEN 0.20 WHEN 3 THEN 0.30 ELSE 0.05 END AS DECIMAL(10, 2)) AS amount,
          CASE id WHEN 1 THEN 'Straße' WHEN 2 THEN 'STRASSE' WHEN 3 THEN 'strasse' ELSE '' END AS street,
          CASE id WHEN 1 THEN 'Café' WHEN 2 THEN 'CAFE' WHEN 3 THEN 'cafe' ELSE 'CAFÉ' END AS place
        FROM {{ ref('ids') }}
    """,
    "models/entities.yml": """
        entities:
          - name: thing
            model: facts
            key: id
            relations:
              lines: {model: facts, foreign_key: id, time: day}
    """,
    "segments/traps.yml": """
        segments:
          - {name: zoned_4h, entity: thing, rules: {property: seen_at, within_last: 4 hours}}
          - {name: zoned_5h, entity: thing, rules: {property: seen_at, within_last: 5 hours}}
          - {name: naive_4h, entity: thing, rules: {property: naive_at, within_last: 4 hours}}
          - {name: date_7d, entity: thing, rules: {property: day, within_last: 7 days}}
          - {name: date_after, entity: thing, rules: {property: day, after: 2024-06-24}}
          - {name: exact_sum, entity: thing, rules: {related: lines, sum: {of: amount, equals: 0.3}}}
          - {name: exact_prop, entity: thing, rules: {property: amount, equals: 0.3}}
          - {name: sum_between, entity: thing, rules: {related: lines, sum: {of: amount, between: [0.1, 0.2]}}}
          - {name: strasse_exact, entity: thing, rules: {property: street, equals: strasse}}
          - {name: strasse_any_case, entity: thing, rules: {property: street, equals: strasse, ignore_case: true}}
          - {name: street_empty, entity: thing, rules: {property: street, is_set: false}}
          - {name: street_not_x, entity: thing, rules: {property: street, not_equals: x}}
          - {name: cafe_any_case, entity: thing, rules: {property: place, equals: cafe, ignore_case: true}}
          - {name: cafe_accent_any_case, entity: thing, rules: {property: place, in: [café], ignore_case: true}}
          - {name: word_sse_any_case, entity: thing, rules: {property: street, matches: '^\\S+SSE$', ignore_case: true}}
    """,
}

EXPECTED = {
    "zoned_4h": {"2"},          # 10:00+02 is 08:00 UTC: exactly as_of - 4h, outside (as_of - 4h, as_of]
    "zoned_5h": {"1", "2"},
    "naive_4h": {"3"},          # naive timestamps are UTC
    "date_7d": {"2", "3"},      # a DATE is midnight: 06-23 00:00 is the open end of the window
    "date_after": {"3"},        # strictly after 2024-06-24 00:00
    "exact_sum": {"3"},         # DECIMAL arithmetic, no float rounding
    "exact_prop": {"3"},
    "sum_between": {"1", "2"},
    "strasse_exact": {"3"},     # case-sensitive even under MariaDB's default collation
    "strasse_any_case": {"2", "3"},
    "street_empty": {"4"},
    "street_not_x": {"1", "2", "3", "4"},
    "cafe_any_case": {"2", "3"},  # case folded, accents kept (MariaDB's collations fold both)
    "cafe_accent_any_case": {"1", "4"},
    "word_sse_any_case": {"2", "3"},  # ignore_case folds the pattern's letters, not its escapes (\S)
}


def test_engine_traps_give_the_same_members(engine, project_factory):
    project = project_factory(engine, FILES)
    result = project.build(as_of="2024-06-30 12:00:00")
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    assert {name: project.members(name) for name in EXPECTED} == EXPECTED
