"""Fuzzing the loader and parser: any input gives a project or a SegwError, never another exception."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segwarehouse
from segwarehouse.compiler.conditions import parse_sql_condition
from segwarehouse.errors import Location, SegwError
from segwarehouse.project.loader import load_project
from segwarehouse.language import types as t
from tests.unit.test_bad_input import ENTITIES, GOOD_SEGMENTS, PROFILES

KEYS = ["segments", "lists", "name", "entity", "rules", "all", "any", "none", "not", "property", "related",
        "event", "where", "count", "sum", "of", "gte", "equals", "in", "between", "within_last", "matches",
        "in_segment", "in_list", "near", "lat", "sql", "include", "exclude", "splits", "schedule", "columns",
        "materialized", "first", "last", "ignore_case", "is_set", "from", "title"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["person", "orders", "country", "30 days", "CH", "0 6 * * *", "swiss",
                                     "seeds/x.csv", "a > 1", "", "view", "1 day ago"]),
                    st.text(max_size=8))
trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=25)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def base_project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="segw-fuzz-"))
    (root / "models").mkdir()
    (root / "segments").mkdir()
    (root / "seeds").mkdir()
    (root / "profiles.yml").write_text(PROFILES)
    (root / "segwarehouse.yml").write_text("name: p\nprofile: p\n")
    (root / "models/entities.yml").write_text(ENTITIES)
    (root / "seeds/people.csv").write_text("id,country\n1,CH\n")
    (root / "seeds/orders.csv").write_text("pid,at,kind\n1,2024-01-01,x\n")
    return root


def loads_or_refuses(root: Path) -> None:
    try:
        project = load_project(root)
    except SegwError as exc:
        assert exc.message
        return
    assert isinstance(project.segments, dict)


@SETTINGS
@given(tree=trees, shape=st.sampled_from(["raw", "segment", "rules"]))
def test_structures_load_or_give_segw_errors(tree, shape):
    # Wrapped so that most examples reach the condition parser, not just the top-level check.
    document = {"raw": tree,
                "segment": {"segments": [tree]},
                "rules": {"segments": [{"name": "s", "entity": "person", "rules": tree}]}}[shape]
    root = base_project()
    try:
        (root / "segments/s.yml").write_text(json.dumps(document))
        loads_or_refuses(root)
    finally:
        shutil.rmtree(root)


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("segments:- name{}[]\"'\n\t #&*!|>%@`,?x1")), max_size=120))
def test_yaml_text_loads_or_gives_segw_errors(text):
    root = base_project()
    try:
        (root / "segments/s.yml").write_text(GOOD_SEGMENTS + text)
        loads_or_refuses(root)
    finally:
        shutil.rmtree(root)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=60),
                      st.lists(st.sampled_from(["id", ">", "1", ";", "DROP", "TABLE", "SELECT", "(", ")", "--",
                                                "/*", "*/", "'", "AND", "OR", "NOT", "x", "=", ",", "IN"]),
                               max_size=12).map(" ".join)))
def test_sql_conditions_parse_or_give_segw_errors(text):
    node = t.Sql(text, loc=Location("segments/s.yml", 3))
    for dialect in ("duckdb", "postgres", "mysql"):
        try:
            parsed = parse_sql_condition(text, dialect, node)
        except SegwError as exc:
            assert exc.location == node.loc
        else:
            assert parsed is not None


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(depth=st.integers(1, 400), width=st.integers(1, 12), levels=st.integers(1, 9),
       kind=st.sampled_from(["flow", "block", "aliases", "dates", "jinja"]))
def test_hostile_yaml_is_bounded(depth, width, levels, kind):
    """Deep nesting, alias fan-out, impossible dates and costly templates: a project or a SegwError
    with a line, quickly, whatever the size."""
    import time

    if kind == "flow":
        text = ("segments:\n  - name: s\n    entity: person\n    rules: "
                + "{not: " * depth + "{property: country, equals: CH}" + "}" * depth + "\n")
    elif kind == "block":
        text = "segments:\n  - name: s\n    entity: person\n    rules:\n" + "".join(
            "      " + "  " * i + "- not:\n" for i in range(depth)) + "      " + "  " * depth + \
            "- {property: country, equals: CH}\n"
    elif kind == "aliases":
        names = [f"a{i}" for i in range(levels + 1)]
        text = f"x: &{names[0]} [" + ",".join(["v"] * width) + "]\n" + "".join(
            f"y{i}: &{names[i + 1]} [" + ",".join([f"*{names[i]}"] * width) + "]\n" for i in range(levels))
    elif kind == "dates":
        text = GOOD_SEGMENTS + f"    description: ok\n    tags: [{2000 + depth}-{width:02d}-{levels * 4:02d}]\n"
    else:
        text = GOOD_SEGMENTS.replace("        - property: country\n          equals: CH\n",
                                     f"        - sql: \"id > {{{{ range({width} ** {levels}) | length }}}}\"\n")
    root = base_project()
    try:
        (root / "segments/s.yml").write_text(text)
        started = time.monotonic()
        try:
            project = load_project(root)
            for name in project.segments:  # `sql:` is rendered at load, parsed when compiled
                segwarehouse.compile(project, name)
        except SegwError as exc:
            assert exc.location is not None and exc.location.file == "segments/s.yml", exc
            assert exc.location.line is not None or kind == "aliases", exc
        assert time.monotonic() - started < 10
    finally:
        shutil.rmtree(root)
