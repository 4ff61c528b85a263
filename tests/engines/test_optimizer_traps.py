"""Queries that engines' optimizers have got wrong: each must give the members its logic says."""
from __future__ import annotations

# DuckDB 2.0.1 kept person 1 in `not_again`: the filter (day OR (bucket AND not listed)) AND
# ((no rank OR NOT bucket) OR listed) over two LEFT JOINs, false for that row, was rewritten into
# one that is true (found by tests/property/test_differential.py; DuckDB 1.5 is right).
FILES = {
    "seeds/people.csv": "id,amt,ts\n1,0.5,2023-02-27 07:00:00\n" + "".join(f"{i},,\n" for i in range(2, 12)),
    "seeds/picked.csv": "id\n99\n",
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/lists.yml": "lists:\n  - {name: picked, entity: person, from: seeds/picked.csv}\n",
    "segments/s.yml": """
segments:
  - name: ranked
    entity: person
    rules: {property: amt, bucket: 3, in: [1, 2]}
    exclude: [picked]
  - name: not_again
    entity: person
    rules: {any: [{property: ts, equals: 2021-03-18}, {in_segment: ranked}]}
    exclude: [ranked]
""",
}


def test_a_segment_and_its_own_exclusion_give_nobody(engine, project_factory):
    project = project_factory(engine, FILES)
    result = project.build(as_of="2024-01-01 00:00:00")
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    assert project.members("ranked") == {"1"}
    assert project.members("not_again") == set()
