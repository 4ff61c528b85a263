"""Empty and blank text (docs/semantics.md: `is_set: false` is true for NULL and for values whose
text form is empty): every engine agrees with the reference evaluator, which reads the same rule.
Seeds cannot hold an empty string (an empty CSV cell is NULL), so a SQL model makes them."""
from __future__ import annotations

import json

import pytest

from tests.oracle import Oracle, World, compare
from segwarehouse.language import types as t

ROWS = [{"id": 1, "txt": "a"}, {"id": 2, "txt": ""}, {"id": 3, "txt": " "}, {"id": 4, "txt": None},
        {"id": 5, "txt": "a "}]
LEAVES = [
    {"property": "txt", "is_set": True}, {"property": "txt", "is_set": False},
    {"property": "txt", "equals": ""}, {"property": "txt", "not_equals": ""},
    {"property": "txt", "in": ["", "a"]}, {"property": "txt", "equals": "a"},
]
MODEL = " UNION ALL ".join(
    f"SELECT {row['id']} AS id, " + ("CAST(NULL AS VARCHAR(10))" if row["txt"] is None else f"'{row['txt']}'")
    + " AS txt" for row in ROWS)
FILES = {
    "models/people.sql": MODEL,
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": json.dumps({"segments": [{"name": f"l{i}", "entity": "person", "rules": leaf}
                                               for i, leaf in enumerate(LEAVES)]}),
}


def test_the_oracle_reads_is_set_as_the_semantics_say():
    assert not compare("", t.Comparison("is_set", True), None)
    assert compare("", t.Comparison("is_set", False), None)
    assert compare(" ", t.Comparison("is_set", True), None)  # blank is not empty
    assert compare(0, t.Comparison("is_set", True), None) and compare(False, t.Comparison("is_set", True), None)
    assert compare(None, t.Comparison("is_set", False), None)


# MariaDB's default collations PAD SPACE ('a ' = 'a'); text tests compare with the server's binary
# NO PAD collation instead (the MySQL adapter sets it), so blanks count there as everywhere.
@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_empty_and_blank_text_on_every_engine(engine, project_factory):
    project = project_factory(engine, FILES)
    loaded = project.load()
    assert project.build().exit_code == 0
    oracle = Oracle(World(loaded.entities["person"], ROWS, {}, {}, loaded.segments), None)
    for name, segment in loaded.segments.items():
        expected = set(oracle.members(segment))
        assert project.members(name) == expected, (engine, LEAVES[int(name[1:])])
