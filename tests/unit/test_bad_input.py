"""Every class of bad input: one message with file:line, what is wrong, a hint; exit 2; nothing written."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from segwarehouse.cli import main

PROFILES = "p:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: wh.duckdb, schema: main}\n"
ENTITIES = """\
entities:
  - name: person
    model: people
    key: id
    relations:
      orders: {model: orders, foreign_key: pid, time: at, name: kind}
"""
GOOD_SEGMENTS = """\
segments:
  - name: swiss
    entity: person
    rules:
      all:
        - property: country
          equals: CH
"""


def write_project(root: Path, segments: str = GOOD_SEGMENTS, extra: dict | None = None) -> Path:
    files = {
        "profiles.yml": PROFILES,
        "segwarehouse.yml": "name: p\nprofile: p\n",
        "seeds/people.csv": "id,name,country\n1,Ann,CH\n2,Bob,FR\n",
        "seeds/orders.csv": "pid,at,kind\n1,2024-01-01 10:00:00,buy\n",
        "seeds/nl.csv": "id\n1\n",
        "models/entities.yml": ENTITIES,
        "segments/s.yml": segments,
        **(extra or {}),
    }
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(textwrap.dedent(text))
    return root


def run(root: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--project-dir", str(root)], catch_exceptions=False)


def assert_bad_input(result, root: Path, where: str, *phrases: str):
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert output.count("error:") == 1, output
    assert where in output, output
    for phrase in phrases:
        assert phrase in output, output
    assert not (root / "wh.duckdb").exists(), "bad input must write nothing"


def segment_with(rule: str) -> str:
    return GOOD_SEGMENTS.replace("        - property: country\n          equals: CH\n", rule)


CASES = [
    ("unknown-key", GOOD_SEGMENTS.replace("    entity: person\n", "    entity: person\n    colour: red\n"),
     "segments/s.yml:4:", ["unknown key 'colour'"]),
    ("unknown-operator", segment_with("        - property: country\n          equal: CH\n"),
     "segments/s.yml:7:", ["unknown operator 'equal'", "did you mean 'equals'"]),
    ("list-for-scalar", segment_with("        - property: country\n          gt: [1, 2]\n"),
     "segments/s.yml:7:", ["`gt` compares with a number"]),
    ("is-set-maybe", segment_with("        - property: country\n          is_set: maybe\n"),
     "segments/s.yml:7:", ["`is_set` takes true or false"]),
    ("count-not-number", segment_with("        - related: orders\n          count: {gte: abc}\n"),
     "segments/s.yml:7:", ["compares with a number"]),
    ("unknown-entity", GOOD_SEGMENTS.replace("entity: person", "entity: persn"),
     "segments/s.yml:2:", ["unknown entity 'persn'", "did you mean 'person'"]),
    ("unknown-relation", segment_with("        - related: order\n"),
     "segments/s.yml:6:", ["unknown relation 'order'", "did you mean 'orders'"]),
    ("unknown-segment", segment_with("        - in_segment: swis\n"),
     "segments/s.yml:6:", ["unknown segment 'swis'", "did you mean 'swiss'"]),
    ("unknown-include", GOOD_SEGMENTS + "    include: [nobody]\n",
     "segments/s.yml:2:", ["unknown segment or list 'nobody'"]),
    ("unknown-list", segment_with("        - in_list: newsleter\n"),
     "segments/s.yml:6:", ["unknown list 'newsleter'"]),
    ("cycle", "segments:\n  - name: a\n    entity: person\n    rules: {in_segment: b}\n"
              "  - name: b\n    entity: person\n    rules: {in_segment: a}\n",
     "segments/s.yml:", ["segments refer to each other in a cycle", " -> "]),
    ("duplicate-name", GOOD_SEGMENTS + "  - name: swiss\n    entity: person\n    rules: {all: []}\n",
     "segments/s.yml:8:", ["duplicate name 'swiss'", "segments/s.yml:2"]),
    ("invalid-name", GOOD_SEGMENTS.replace("name: swiss", "name: Bad-Name"),
     "segments/s.yml:2:", ["invalid name 'Bad-Name'"]),
    ("bad-duration-unit", segment_with("        - property: country\n          within_last: 30 dayz\n"),
     "segments/s.yml:7:", ["invalid duration '30 dayz'", "`30 days`"]),
    ("bad-duration-zero", segment_with("        - property: country\n          within_last: 0 days\n"),
     "segments/s.yml:7:", ["invalid duration '0 days'"]),
    ("sql-two-statements", segment_with("        - sql: \"id > 1; DROP TABLE people\"\n"),
     "segments/s.yml:6:", ["exactly one expression"]),
    ("sql-select", segment_with("        - sql: \"SELECT 1\"\n"),
     "segments/s.yml:6:", ["must be a boolean expression"]),
    ("sql-delete", segment_with("        - sql: \"DELETE FROM people\"\n"),
     "segments/s.yml:6:", ["must be a boolean expression"]),
    ("yaml-syntax", GOOD_SEGMENTS.replace("    entity: person\n", "    entity: [person\n"),
     "segments/s.yml:", ["invalid YAML"]),
    ("duplicate-yaml-key", GOOD_SEGMENTS.replace("    entity: person\n", "    entity: person\n    entity: person\n"),
     "segments/s.yml:4:", ["duplicate key"]),
    ("empty-file", "", "segments/s.yml", ["file is empty"]),
    ("bad-cron", GOOD_SEGMENTS + "    schedule: \"every day\"\n", "segments/s.yml:8:", ["invalid cron schedule"]),
    ("splits-sum", GOOD_SEGMENTS + "    splits: {a: 50, b: 40}\n", "segments/s.yml:8:", ["add up to 90, not 100"]),
]


@pytest.mark.parametrize("segments,where,phrases", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_segment_files(tmp_path, segments, where, phrases):
    root = write_project(tmp_path, segments)
    assert_bad_input(run(root, "build"), root, where, "hint:", *phrases)
    assert run(root, "validate", "--offline").exit_code == 2


def test_non_utf8_file(tmp_path):
    root = write_project(tmp_path, extra={"segments/s.yml": GOOD_SEGMENTS.encode() + b"# caf\xe9\n"})
    assert_bad_input(run(root, "build"), root, "segments/s.yml:8:", "not valid UTF-8")


def test_binary_junk(tmp_path):
    root = write_project(tmp_path, extra={"segments/junk.yml": b"\x00\x01\x02binary\xff"})
    assert_bad_input(run(root, "build"), root, "segments/junk.yml", "looks binary")


def test_missing_profile(tmp_path):
    root = write_project(tmp_path, extra={"segwarehouse.yml": "name: p\nprofile: shop\n"})
    assert_bad_input(run(root, "build"), root, "segwarehouse.yml:2:", "profile 'shop' not found")


def test_missing_target_suggests_one(tmp_path):
    root = write_project(tmp_path)
    result = CliRunner().invoke(main, ["build", "--project-dir", str(root), "--target", "de"])
    assert_bad_input(result, root, "profiles.yml:3:", "target 'de' not found", "did you mean 'dev'")


def test_garbage_as_of_and_unknown_select(tmp_path):
    root = write_project(tmp_path)
    assert_bad_input(run(root, "build", "--as-of", "yesterday-ish"), root, "invalid --as-of", "ISO timestamp")
    assert_bad_input(run(root, "build", "--select", "swis"), root, "unknown segment 'swis'", "did you mean 'swiss'")


def test_unknown_column_validate_exits_2_and_build_fails_only_that_segment(tmp_path):
    root = write_project(tmp_path, GOOD_SEGMENTS + "  - name: everyone\n    entity: person\n    rules: {all: []}\n")
    assert run(root, "build").exit_code == 0
    (root / "segments/s.yml").write_text((GOOD_SEGMENTS.replace("country", "contry"))
                                         + "  - name: everyone\n    entity: person\n    rules: {all: []}\n")
    validated = run(root, "validate")
    assert validated.exit_code == 2 and "Traceback" not in validated.output
    assert "segments/s.yml:6:" in validated.output and "unknown column 'contry'" in validated.output
    assert "did you mean 'country'" in validated.output
    built = run(root, "build")  # click's output holds stdout and stderr
    text = built.output
    assert built.exit_code == 1
    assert "did you mean 'country'" in text
    assert "everyone" in text and "1 built, 1 failed" in text
