"""One query for both instants: `segw compile` takes a segment's compiled_sql_hash (its SQL at
catalog.HASH_AS_OF) from the query it builds at as_of, with the literals noted for the twin instant,
only when building at HASH_AS_OF would give exactly that query; otherwise the manifest builds it."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from segwarehouse import artifacts
from segwarehouse.catalog import HASH_AS_OF
from segwarehouse.compiler.dialects import to_sql
from segwarehouse.compiler.segment import compile_segment, segment_query
from segwarehouse.project.loader import load_project

REPO = Path(__file__).resolve().parents[2]
# 2026-12-06: a month ago is 30 days ago (November has 30 days); at HASH_AS_OF (2000-01-01) it is not.
AS_OFS = [dt.datetime(2026, 12, 6, 10), dt.datetime(2024, 2, 29, 23, 59, 59), dt.datetime(2026, 11, 1, 6), HASH_AS_OF]

COLLIDING = """
segments:
  - name: month_or_30_days
    entity: customer
    rules:
      any:
        - {event: email_open, within_last: 1 month}
        - {event: email_open, within_last: 30 days}
  - name: until_as_of
    entity: customer
    rules:
      all:
        - {event: email_open, between: [2026-11-01, "2026-12-06 10:00:00"]}
        - {event: email_click, within_last: 3 months}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("twin")
    for item in ("models", "seeds", "macros", "segments"):
        if (REPO / item).is_dir():
            shutil.copytree(REPO / item, root / item)
    for item in ("segwarehouse.yml", "profiles.yml"):
        shutil.copy(REPO / item, root / item)
    (root / "segments" / "colliding.yml").write_text(COLLIDING)
    return load_project(root)


def fresh_hash_sql(project, segment) -> str:
    return to_sql(segment_query(project, segment, HASH_AS_OF), project.dialect)


@pytest.mark.parametrize("as_of", AS_OFS, ids=str)
def test_the_shared_hash_sql_is_the_one_built_at_hash_as_of(project, as_of):
    shared = 0
    for segment in project.segments.values():
        hash_sql: dict[str, str] = {}
        pretty = compile_segment(project, segment, as_of, project.dialect, hash_sql=hash_sql, hash_as_of=HASH_AS_OF)
        assert pretty == to_sql(segment_query(project, segment, as_of), project.dialect, pretty=True), segment.name
        if segment.name in hash_sql:
            assert hash_sql[segment.name] == fresh_hash_sql(project, segment), segment.name
            shared += 1
    assert shared >= len(project.segments) - 2


@pytest.mark.parametrize("name", ["month_or_30_days", "until_as_of"])
def test_a_choice_that_goes_another_way_at_hash_as_of_is_not_shared(project, name):
    as_of = AS_OFS[0]
    segment = project.segments[name]
    hash_sql: dict[str, str] = {}
    compile_segment(project, segment, as_of, project.dialect, hash_sql=hash_sql, hash_as_of=HASH_AS_OF)
    assert name not in hash_sql
    # the case is real: the query at as_of has fewer measures (or conjuncts) than the one at HASH_AS_OF
    at_as_of = to_sql(segment_query(project, segment, as_of), project.dialect)
    at_hash = fresh_hash_sql(project, segment)
    assert at_as_of.count(" AND ") + at_as_of.count("FILTER") != at_hash.count(" AND ") + at_hash.count("FILTER")
    # a month later (a month ago is 31 days ago) the same segment is shared again
    later: dict[str, str] = {}
    compile_segment(project, segment, as_of + dt.timedelta(days=30), project.dialect, hash_sql=later,
                    hash_as_of=HASH_AS_OF)
    assert later == {name: at_hash}


def test_manifest_hashes_are_the_same_shared_or_not(project, monkeypatch):
    monkeypatch.setattr(artifacts, "compiled_hashes", lambda project: {})  # no previous manifest
    hash_sql: dict[str, str] = {}
    for segment in project.segments.values():
        compile_segment(project, segment, AS_OFS[0], project.dialect, hash_sql=hash_sql, hash_as_of=HASH_AS_OF)
    shared = artifacts.manifest(project, hash_sql)["segments"]
    fresh = artifacts.manifest(project)["segments"]
    assert {k: v["compiled_sql_hash"] for k, v in shared.items()} == \
           {k: v["compiled_sql_hash"] for k, v in fresh.items()}
