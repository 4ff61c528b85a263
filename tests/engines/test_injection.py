"""Hostile values are data: every text operator matches them literally, on every engine."""
from __future__ import annotations

import json
import re

import pytest

from segwarehouse.errors import SegwError
from tests.conftest import make_project

HOSTILE = [
    "O'Brien", "it''s", 'say "hi"', "back\\slash", "semi;colon", "x'; DROP TABLE people; --",
    "-- comment", "/* block */", "%", "_", "50%_off", "é", "日本", "🙂", "tab\there", "bell\x01",
    "line\nbreak", "' OR '1'='1", "\\'", "`tick`", "$1", "{{ var }}",
]
OPERATORS = ["equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with"]


def csv_escape(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def expected(op: str, value: str, ignore_case: bool) -> set[str]:
    def fold(s):
        return s.lower() if ignore_case else s
    hits = {
        "equals": lambda s: fold(s) == fold(value), "not_equals": lambda s: fold(s) != fold(value),
        "contains": lambda s: fold(value) in fold(s), "not_contains": lambda s: fold(value) not in fold(s),
        "starts_with": lambda s: fold(s).startswith(fold(value)),
        "ends_with": lambda s: fold(s).endswith(fold(value)),
        "matches": lambda s: re.search(re.escape(value), s) is not None,
    }[op]
    return {str(i + 1) for i, s in enumerate(HOSTILE) if hits(s)}


CASES = [(op, i, ic) for op in OPERATORS for i in range(len(HOSTILE)) for ic in (False, True)
         if not (ic and not HOSTILE[i].isascii())]  # LOWER() of non-ASCII differs by engine collation


def files() -> dict[str, str]:
    segments = []
    for n, (op, i, ic) in enumerate(CASES):
        rule = {"property": "txt", op: HOSTILE[i]}
        if ic:
            rule["ignore_case"] = True
        segments.append({"name": f"c{n}", "entity": "row", "rules": rule, "materialized": "view"})
    for i, value in enumerate(HOSTILE):
        if value.isascii() and value.isprintable():
            segments.append({"name": f"in{i}", "entity": "row", "rules": {"property": "txt", "in": [value, "zz"]},
                             "materialized": "view"})
    return {
        "seeds/people.csv": "id,txt\n" + "".join(f"{i + 1},{csv_escape(v)}\n" for i, v in enumerate(HOSTILE)),
        "models/entities.yml": "entities:\n  - {name: row, model: people, key: id}\n",
        "segments/hostile.yml": json.dumps({"segments": segments}, ensure_ascii=False),
    }


def keys(project, view: str) -> set[str]:
    return {str(row[0]) for row in project.relation(view)}


def test_hostile_values_are_matched_literally(engine, project_factory):
    # Views keep this fast (no membership diff); the literal path of the compiler is the same.
    project = project_factory(engine, files())
    result = project.build(as_of="2024-01-01")
    assert not result.failed, [(s.segment, s.error) for s in result.failed][:3]
    for n, (op, i, ic) in enumerate(CASES):
        assert keys(project, f"c{n}") == expected(op, HOSTILE[i], ic), (op, HOSTILE[i], ic)
    for i, value in enumerate(HOSTILE):
        if value.isascii() and value.isprintable():
            assert keys(project, f"in{i}") == {str(i + 1)}, value
    # Nothing was altered: the seed table is whole, with the values as written.
    rows = project.query("SELECT id, txt FROM {mod}.people ORDER BY id")
    assert [r[1] for r in rows] == HOSTILE


def test_odd_identifiers_are_quoted(engine, project_factory):
    project = project_factory(engine, {
        "seeds/odd.csv": 'id,Last Name,select,"we""ird"\n1,Smith,x,1\n2,Jones,y,2\n',
        "models/entities.yml": "entities:\n  - {name: row, model: odd, key: id}\n",
        "segments/odd.yml": """
            segments:
              - {name: smiths, entity: row, rules: {property: Last Name, equals: Smith}, columns: [select]}
              - {name: weird, entity: row, rules: {property: 'we"ird', gt: 1}}
        """,
    })
    result = project.build(as_of="2024-01-01")
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    assert project.members("smiths") == {"1"} and project.members("weird") == {"2"}
    assert project.relation("smiths") == [(1, "x")]


@pytest.mark.parametrize("text", [
    "1 = 1; DROP TABLE people", "DROP TABLE people", "DELETE FROM people", "INSERT INTO x VALUES (1)",
    "id IN (SELECT id FROM people)", "1 = 1 -- \n; DROP TABLE people", "id > 0 /* */; DELETE FROM people",
    "SELECT 1", "UPDATE people SET txt = 'x'", "CREATE TABLE x (a INT)", "", "   ",
])
def test_sql_conditions_refuse_statements(tmp_path, text):
    project = make_project(tmp_path, "duckdb", {
        "seeds/people.csv": "id,txt\n1,a\n",
        "models/entities.yml": "entities:\n  - {name: row, model: people, key: id}\n",
        "segments/s.yml": "segments:\n  - name: s\n    entity: row\n    rules: {sql: " + json.dumps(text) + "}\n",
    })
    with pytest.raises(SegwError) as info:
        from segwarehouse.runner import validate_static, parse_as_of
        validate_static(project.load(), parse_as_of("2024-01-01"))
    assert info.value.location is not None and info.value.location.file == "segments/s.yml"
    assert not (project.root / "warehouse.duckdb").exists()
