"""Splits at their exact edges (SEGMENTS.md §7): bucket = md5('<seed>:<key>')[:8] as an integer mod
10000, and a split of p% takes the buckets strictly below its cumulative edge. A key whose bucket is
exactly on an edge belongs to the next split, on every engine and in the reference evaluator."""
from __future__ import annotations

import hashlib
import itertools

from tests.oracle import split_of

SEED = "edge-test"
EDGES = {2999: "a", 3000: "b", 3001: "b", 7999: "b", 8000: "c"}  # a: 30%, b: 50%, c: 20%


def bucket(key: str) -> int:
    return int(hashlib.md5(f"{SEED}:{key}".encode()).hexdigest()[:8], 16) % 10000


def keys_on_the_edges() -> dict[str, str]:
    """A key for each bucket in EDGES (found by search: about 10,000 tries each)."""
    found: dict[int, str] = {}
    for number in itertools.count(1):
        b = bucket(str(number))
        if b in EDGES and b not in found:
            found[b] = str(number)
            if len(found) == len(EDGES):
                return {key: EDGES[b] for b, key in found.items()}


KEYS = keys_on_the_edges()
FILES = {
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "seeds/people.csv": "id\n" + "".join(f"{k}\n" for k in KEYS),
    "segments/s.yml": "segments:\n"
                      f"  - {{name: everyone, entity: person, split_seed: {SEED}, rules: {{property: id, gte: 0}},\n"
                      "     splits: {a: 30, b: 50, c: 20}}\n",
}


def test_keys_on_a_split_edge_go_to_the_next_split(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build().exit_code == 0
    got = dict(project.query("SELECT {k}, split FROM {{seg}}.memberships".format(k=project.quote("key"))))
    assert got == KEYS
    segment = project.load().segments["everyone"]
    assert {key: split_of(segment, key) for key in KEYS} == KEYS  # the oracle reads the edge alike
