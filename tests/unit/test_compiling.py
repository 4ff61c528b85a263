"""`segw compile` of many segments runs on every core: the same SQL, in the same order, and the first
segment that does not compile stops it with its own error, as when compiled one after another."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import segwarehouse.compiling as compiling
from segwarehouse.catalog import HASH_AS_OF
from segwarehouse.errors import SegwError
from segwarehouse.project.loader import load_project

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.datetime(2024, 5, 5, 12, 0, 0)


def run(names, parallel: bool, monkeypatch) -> list:
    monkeypatch.setattr(compiling, "PARALLEL_FROM", 1 if parallel else 10 ** 9)
    monkeypatch.setattr(compiling, "_cores", lambda: 2)
    project = load_project(REPO)
    return list(compiling.compiled(project, names, AS_OF, project.dialect, set(names[::2]), HASH_AS_OF))


def test_on_two_cores_the_sql_and_its_order_are_those_of_one(monkeypatch):
    names = sorted(load_project(REPO).segments)
    assert len(names) > 8
    parallel = run(names, True, monkeypatch)
    assert [name for name, *_ in parallel] == names
    assert parallel == run(names, False, monkeypatch)
    assert {name for name, _, hashes in parallel if hashes} == set(names[::2])


def test_the_first_segment_that_does_not_compile_stops_it_with_its_error(monkeypatch):
    import segwarehouse.compiler.segment as segment

    names = sorted(load_project(REPO).segments)
    real = segment.compile_segment

    def failing(project, item, *args, **kwargs):
        if item.name in (names[5], names[7]):
            raise SegwError(f"segment '{item.name}' cannot be compiled")
        return real(project, item, *args, **kwargs)
    monkeypatch.setattr(segment, "compile_segment", failing)
    given = []
    with pytest.raises(SegwError, match=names[5]):
        for name, *_ in run_iter(names, monkeypatch):
            given.append(name)
    assert given == names[:5]


def run_iter(names, monkeypatch):
    monkeypatch.setattr(compiling, "PARALLEL_FROM", 1)
    monkeypatch.setattr(compiling, "_cores", lambda: 2)
    return compiling.compiled(load_project(REPO), names, AS_OF, "postgres", set(), HASH_AS_OF)
