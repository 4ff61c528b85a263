"""A corpus of broken projects: each gives exit 2, one message at file(:line), no traceback, no writes."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from segwarehouse.cli import main
from tests.unit.test_bad_input import ENTITIES, GOOD_SEGMENTS, write_project

SEG = "segments/s.yml"


def seg(text: str) -> dict:
    return {SEG: text}


def rule(text: str) -> dict:
    return seg(GOOD_SEGMENTS.replace("        - property: country\n          equals: CH\n", text))


CORPUS = {
    # YAML itself
    "tab-indent": (seg("segments:\n\t- name: x\n"), f"{SEG}:"),
    "unclosed-flow": (seg("segments: [{name: x\n"), f"{SEG}:"),
    "unclosed-quote": (seg('segments:\n  - name: "x\n'), f"{SEG}:"),
    "duplicate-key": (seg(GOOD_SEGMENTS + "    entity: person\n"), f"{SEG}:8:"),
    "empty-file": (seg(""), SEG),
    "only-comment": (seg("# nothing\n"), SEG),
    "non-utf8": ({SEG: b"segments:\n  - name: caf\xe9\n"}, f"{SEG}:2:"),
    "binary": ({SEG: b"\x89PNG\r\n\x1a\n\x00\x00"}, SEG),
    "huge": ({SEG: "# " + "x" * (6 * 1024 * 1024) + "\n"}, SEG),
    "top-level-list": (seg("- name: x\n"), f"{SEG}:1:"),
    "unknown-top-key": (seg("segmnts: []\n"), f"{SEG}:1:"),
    # Wrong types
    "segments-not-list": (seg("segments: {name: x}\n"), f"{SEG}:1:"),
    "segment-is-text": (seg("segments:\n  - just text\n"), f"{SEG}:2:"),
    "rules-is-number": (seg("segments:\n  - name: x\n    entity: person\n    rules: 5\n"), f"{SEG}:4:"),
    "tags-is-mapping": (seg(GOOD_SEGMENTS + "    tags: {a: 1}\n"), f"{SEG}:8:"),
    "columns-number": (seg(GOOD_SEGMENTS + "    columns: [1]\n"), f"{SEG}:8:"),
    "in-not-list": (rule("        - {property: country, in: CH}\n"), f"{SEG}:6:"),
    "between-three": (rule("        - {property: id, between: [1, 2, 3]}\n"), f"{SEG}:6:"),
    "contains-number": (rule("        - {property: country, contains: 5}\n"), f"{SEG}:6:"),
    "ignore-case-on-gt": (rule("        - {property: id, gt: 1, ignore_case: true}\n"), f"{SEG}:6:"),
    "two-operators": (rule("        - {property: id, gt: 1, lt: 5}\n"), f"{SEG}:6:"),
    "no-operator": (rule("        - {property: id}\n"), f"{SEG}:6:"),
    "group-and-leaf": (rule("        - {all: [], property: id}\n"), f"{SEG}:6:"),
    "near-text": (rule("        - {near: {lat: north, lon: 8, within_km: 5}}\n"), f"{SEG}:6:"),
    "near-out-of-range": (rule("        - {near: {lat: 95, lon: 8, within_km: 5}}\n"), f"{SEG}:6:"),
    "two-measures": (rule("        - {related: orders, count: 1, sum: {of: x, gt: 1}}\n"), f"{SEG}:6:"),
    "negative-count": (rule("        - {related: orders, count: -1}\n"), f"{SEG}:6:"),
    "where-in-segment": (rule("        - {related: orders, where: {in_segment: swiss}}\n"), f"{SEG}:6:"),
    "materialized-bad": (seg(GOOD_SEGMENTS + "    materialized: snapshot\n"), f"{SEG}:8:"),
    # Unknown names
    "unknown-entity": (seg(GOOD_SEGMENTS.replace("entity: person", "entity: human")), f"{SEG}:2:"),
    "unknown-relation": (rule("        - {related: payments}\n"), f"{SEG}:6:"),
    "unknown-list": (rule("        - {in_list: vip}\n"), f"{SEG}:6:"),
    "unknown-exclude": (seg(GOOD_SEGMENTS + "    exclude: [ghosts]\n"), f"{SEG}:2:"),
    "window-without-time": ({"models/entities.yml": ENTITIES.replace(", time: at", ""),
                             **rule("        - {related: orders, within_last: 3 days}\n")}, f"{SEG}:6:"),
    "entity-model-missing": ({"models/entities.yml": ENTITIES.replace("model: people", "model: peeple")},
                             "models/entities.yml:2:"),
    "ref-unknown-model": ({"models/m.sql": "SELECT * FROM {{ ref('nope') }}"}, "models/m.sql"),
    # Cycles
    "segment-cycle": (seg("segments:\n  - {name: a, entity: person, rules: {in_segment: b}}\n"
                          "  - {name: b, entity: person, include: [a]}\n"), f"{SEG}:"),
    "self-reference": (seg("segments:\n  - {name: a, entity: person, rules: {in_segment: a}}\n"), f"{SEG}:2:"),
    "model-cycle": ({"models/a.sql": "SELECT * FROM {{ ref('b') }}", "models/b.sql": "SELECT * FROM {{ ref('a') }}"},
                    "models/"),
    # Schedules and durations
    "cron-six-fields": (seg(GOOD_SEGMENTS + '    schedule: "0 0 6 * * *"\n'), f"{SEG}:8:"),
    "cron-never": (seg(GOOD_SEGMENTS + '    schedule: "0 0 31 2 *"\n'), f"{SEG}:8:"),
    "cron-number": (seg(GOOD_SEGMENTS + "    schedule: 5\n"), f"{SEG}:8:"),
    "duration-fraction": (rule("        - {property: id, within_last: 1.5 days}\n"), f"{SEG}:6:"),
    "duration-unitless": (rule("        - {property: id, within_last: 30}\n"), f"{SEG}:6:"),
    "ago-garbage": (rule("        - {property: id, after: some time ago}\n"), f"{SEG}:6:"),
    # Config, profiles, seeds, templates
    "config-unknown-key": ({"segwarehouse.yml": "name: p\nprofile: p\nshedule: daily\n"}, "segwarehouse.yml:3:"),
    "config-bad-schema": ({"segwarehouse.yml": "name: p\nprofile: p\nsegment_schema: 'x y'\n"}, "segwarehouse.yml:3:"),
    "profiles-not-mapping": ({"profiles.yml": "- p\n"}, "profiles.yml:1:"),
    "profile-unknown-type": ({"profiles.yml": "p:\n  target: dev\n  outputs:\n    dev: {type: oracle}\n"}, "profiles.yml:4:"),
    "env-var-missing": ({"profiles.yml": "p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: \"{{ env_var('SEGW_NOPE_X') }}\"}\n"},
                        "profiles.yml:4:"),
    "seed-ragged": ({"seeds/people.csv": "id,name,country\n1,Ann,CH\n2,Bob\n"}, "seeds/people.csv:3:"),
    "jinja-model-syntax": ({"models/m.sql": "SELECT {{ 1 + }}"}, "models/m.sql"),
    "jinja-undefined-var": ({"models/m.sql": "SELECT {{ var('undefined_thing') }} AS x"}, "models/m.sql"),
    "macro-syntax": ({"macros/m.sql": "{% macro x( %}"}, "macros/m.sql"),
    "model-two-statements": ({"models/m.sql": "SELECT 1 AS a; SELECT 2 AS b"}, "models/m.sql"),
    "sql-undefined-var": (rule("        - sql: \"id > {{ var('nope') }}\"\n"), f"{SEG}:6:"),
    "sql-comment-trick": (rule("        - sql: \"id > 0 /* x */; DROP TABLE people\"\n"), f"{SEG}:6:"),
    "sql-dml": (rule("        - sql: \"UPDATE people SET id = 1\"\n"), f"{SEG}:6:"),
    "splits-zero": (seg(GOOD_SEGMENTS + "    splits: {a: 0, b: 100}\n"), f"{SEG}:8:"),
    "splits-not-mapping": (seg(GOOD_SEGMENTS + "    splits: [a, b]\n"), f"{SEG}:8:"),
    # Out-of-range dates and times (the YAML constructor raised a ValueError)
    "date-month-13": (rule("        - {property: id, after: 2020-13-45}\n"), f"{SEG}:6:"),
    "date-feb-30": (rule("        - {property: id, before: 2020-02-30}\n"), f"{SEG}:6:"),
    "time-hour-25": (rule("        - {property: id, after: 2020-01-01 25:00:00}\n"), f"{SEG}:6:"),
    "time-text-hour-25": (rule("        - {property: id, after: \"2020-01-01 25:00:00\"}\n"), f"{SEG}:6:"),
    "vars-bad-date": ({"segwarehouse.yml": "name: p\nprofile: p\nvars:\n  start: 2020-02-30\n"},
                      "segwarehouse.yml:4:"),
    # Bounded input
    "alias-bomb": (seg("a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))),
        f"{SEG}:"),
    "nesting-500": (rule("        - " + "{not: " * 500 + "{property: id, gt: 1}" + "}" * 500 + "\n"),
                    f"{SEG}:6:"),
    "nesting-block": (rule("".join("        " + "  " * i + "- not:\n" for i in range(150))
                           + "        " + "  " * 150 + "- {property: id, gt: 1}\n"), f"{SEG}:"),
    "nul-in-value": (rule("        - {property: country, equals: \"C\\0H\"}\n"), f"{SEG}:6:"),
    "jinja-huge-range": (rule("        - sql: \"id > {{ range(10**9) | length }}\"\n"), f"{SEG}:6:"),
    "jinja-huge-string": (rule("        - sql: \"id > {{ ('x' * 10**9) | length }}\"\n"), f"{SEG}:6:"),
    "jinja-nested-loops": (rule("        - sql: \"id > {% for i in range(1000) %}{% for j in range(1000) %}"
                                "{% endfor %}{% endfor %}1\"\n"), f"{SEG}:6:"),
    # Reserved output column names
    "columns-split-with-splits": (seg(GOOD_SEGMENTS + "    columns: [split]\n    splits: {a: 50, b: 50}\n"),
                                  f"{SEG}:2:"),
    "columns-segw-key": (seg(GOOD_SEGMENTS + "    columns: [_segw_key]\n"), f"{SEG}:2:"),
    "columns-twice": (seg(GOOD_SEGMENTS + "    columns: [name, name]\n"), f"{SEG}:2:"),
    "key-named-split": ({"models/entities.yml": ENTITIES.replace("key: id", "key: split"),
                         **seg(GOOD_SEGMENTS + "    splits: {a: 50, b: 50}\n")}, "models/entities.yml:4:"),
    # Profiles and segwarehouse.yml
    "port-text": ({"profiles.yml": "p:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n"
                                   "      port: abc\n"}, "profiles.yml:6:"),
    "port-list": ({"profiles.yml": "p:\n  target: dev\n  outputs:\n    dev:\n      type: mysql\n"
                                   "      port: [1, 2]\n"}, "profiles.yml:6:"),
    "port-too-big": ({"profiles.yml": "p:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n"
                                      "      port: 70000\n"}, "profiles.yml:6:"),
    "duckdb-path-list": ({"profiles.yml": "p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                                          "      path: [a, b]\n"}, "profiles.yml:6:"),
    "wrong-profile": ({"segwarehouse.yml": "name: p\nprofile: shop\n"}, "segwarehouse.yml:2:"),
    "cron-reboot": (seg(GOOD_SEGMENTS + '    schedule: "@reboot"\n'), f"{SEG}:8:"),
    # Seeds
    "seed-config-unknown-seed": ({"segwarehouse.yml": "name: p\nprofile: p\nseeds:\n  peple:\n"
                                                      "    column_types: {id: varchar}\n"}, "segwarehouse.yml:4:"),
    "seed-config-unknown-column": ({"segwarehouse.yml": "name: p\nprofile: p\nseeds:\n  people:\n"
                                                        "    column_types:\n      idd: varchar\n"},
                                   "segwarehouse.yml:6:"),
    "seed-config-unknown-type": ({"segwarehouse.yml": "name: p\nprofile: p\nseeds:\n  people:\n"
                                                      "    column_types:\n      id: vachar\n"},
                                 "segwarehouse.yml:6:"),
    "seed-config-unknown-key": ({"segwarehouse.yml": "name: p\nprofile: p\nseeds:\n  people:\n"
                                                     "    column_type: {id: varchar}\n"}, "segwarehouse.yml:5:"),
    "seed-value-not-type": ({"segwarehouse.yml": "name: p\nprofile: p\nseeds:\n  people:\n"
                                                 "    column_types: {name: bigint}\n"}, "seeds/people.csv:2:"),
    "list-key-column-missing": ({"segments/l.yml": "lists:\n  - {name: nl, entity: person, from: seeds/nl.csv, "
                                                   "key: pid}\n"}, "segments/l.yml:2:"),
}


@pytest.mark.parametrize("overrides,where", list(CORPUS.values()), ids=list(CORPUS))
def test_broken_project(tmp_path, overrides, where):
    root = write_project(tmp_path, extra=overrides)
    for command in (["build"], ["validate", "--offline"]):
        result = CliRunner().invoke(main, [*command, "--project-dir", str(root)])
        output = result.output
        assert result.exit_code == 2, (command, output, result.exception)
        assert "Traceback" not in output, output
        assert [line.startswith("error:") for line in output.splitlines()].count(True) == 1, output
        assert where in output, output
    assert not (root / "wh.duckdb").exists()


def test_corpus_is_large():
    assert len(CORPUS) >= 70
