"""Compile is pure: loading resolves what the compiler needs (`sql:` conditions rendered with Jinja,
the key column of each list read from its seed's header), and compiling reads no file."""
from __future__ import annotations

import builtins
import datetime as dt
import pathlib
import shutil
from pathlib import Path

import pytest

from segwarehouse.compiler.segment import compile_segment
from segwarehouse.errors import SegwError
from segwarehouse.project.loader import load_project
from segwarehouse.language import types as t
from tests.unit.test_bad_input import GOOD_SEGMENTS, write_project

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.datetime(2026, 11, 1, 6, 0, 0)
PROJECT_FILES = ("segwarehouse.yml", "profiles.yml", "models", "seeds", "segments", "macros")


def example_copy(root: Path) -> Path:
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
    return root


def compile_all(project) -> dict[str, str]:
    return {name: compile_segment(project, segment, AS_OF, "duckdb")
            for name, segment in project.segments.items()}


def sql_rule(text: str) -> str:
    return GOOD_SEGMENTS.replace("        - property: country\n          equals: CH\n", f"        - sql: \"{text}\"\n")


def test_compiling_reads_no_file(tmp_path, monkeypatch):
    project = load_project(example_copy(tmp_path))
    assert any(isinstance(n, t.Sql) for s in project.segments.values() if s.rules for n in t.walk(s.rules))
    assert any(item.source.endswith(".csv") for item in project.lists.values())
    expected = compile_all(project)
    for folder in ("seeds", "macros", "models"):
        shutil.rmtree(tmp_path / folder)

    def refuse(*args, **kwargs):
        raise AssertionError(f"compile read a file: {args[:1]}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(pathlib.Path, "read_text", refuse)
    monkeypatch.setattr(pathlib.Path, "read_bytes", refuse)
    assert compile_all(project) == expected


def test_sql_conditions_are_rendered_at_load(tmp_path):
    root = write_project(tmp_path, sql_rule("id > {{ var('floor') }}"),
                         {"segwarehouse.yml": "name: p\nprofile: p\nvars: {floor: 41}\n"})
    project = load_project(root)
    node = project.segments["swiss"].rules.children[0]
    assert project.sql_texts == {node: "id > 41"}
    assert project.sql_text(node) == "id > 41"
    assert "> 41" in compile_segment(project, project.segments["swiss"], AS_OF, "duckdb")


def test_replaced_vars_render_again(tmp_path):
    """Callers may replace the vars (or macros) of a loaded project; `sql:` follows them."""
    root = write_project(tmp_path, sql_rule("id > {{ var('floor') }}"),
                         {"segwarehouse.yml": "name: p\nprofile: p\nvars: {floor: 41}\n"})
    project = load_project(root)
    project.config = project.config.model_copy(update={"vars": {"floor": 7}})
    sql = compile_segment(project, project.segments["swiss"], AS_OF, "duckdb")
    assert "> 7" in sql and "> 41" not in sql


def test_a_template_fault_in_sql_is_refused_at_load_with_its_line(tmp_path):
    root = write_project(tmp_path, sql_rule("id > {{ var('nope') }}"))
    with pytest.raises(SegwError) as caught:
        load_project(root)
    assert (caught.value.location.file, caught.value.location.line) == ("segments/s.yml", 6)
    assert "nope" in str(caught.value)


def test_list_key_columns_are_read_from_seed_headers_at_load(tmp_path):
    lists = ("lists:\n"
             "  - {name: by_key, entity: person, from: seeds/nl.csv}\n"
             "  - {name: first_column, entity: person, from: seeds/other.csv}\n"
             "  - {name: named, entity: person, from: seeds/other.csv, key: pid}\n"
             "  - {name: from_model, entity: person, from: people}\n")
    root = write_project(tmp_path, extra={"segments/l.yml": lists, "seeds/nl.csv": "x,id\n1,1\n",
                                          "seeds/other.csv": "code,pid\nA,1\n"})
    project = load_project(root)
    assert project.list_keys == {"by_key": "id", "first_column": "code", "named": "pid", "from_model": "id"}
