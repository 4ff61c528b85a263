"""What makes `segw compile` fast must not change its results: trees built in place without shared
nodes, the manifest's compiled_sql_hash taken from the compile's own query only when that query is
the one at catalog.HASH_AS_OF, and compiled files rewritten only when their text changes."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlglot import exp

from segwarehouse import artifacts
from segwarehouse.catalog import HASH_AS_OF
from segwarehouse.compiler.dialects import WRITES_PLAIN_TREES_AS_IS, to_sql
from segwarehouse.compiler.segment import _plain, compile_segment, segment_query
from segwarehouse.compiler.timeexpr import Clock
from segwarehouse.project.loader import load_project

REPO = Path(__file__).resolve().parents[2]
PROJECT = load_project(REPO)
AS_OF = dt.datetime(2026, 11, 1, 6, 0, 0)


def shared_nodes(tree: exp.Expression) -> list[exp.Expression]:
    """Nodes reachable twice, or whose parent is not the node holding them."""
    seen, bad, stack = set(), [], [tree]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            bad.append(node)
            continue
        seen.add(id(node))
        for value in node.args.values():
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, exp.Expression):
                    if child.parent is not node:
                        bad.append(child)
                    stack.append(child)
    return bad


@pytest.mark.parametrize("as_of", [AS_OF, None])
def test_segment_trees_share_no_node(as_of):
    # The compiler builds with copy=False and sqlglot generates without copying: a node with two
    # parents would be rewritten twice and corrupt the SQL.
    checked = 0
    for segment in PROJECT.segments.values():
        if as_of is None and segment.materialized != "view":
            continue
        assert shared_nodes(segment_query(PROJECT, segment, as_of or AS_OF)) == [], segment.name
        checked += 1
    assert checked


def test_clock_tells_whether_as_of_was_read():
    clock = Clock(AS_OF)
    assert not clock.read and not clock.live
    clock.now()
    assert clock.read
    live = Clock(None)
    live.now()
    assert live.live and not live.read


def test_hash_sql_is_the_manifest_query_or_absent():
    reused = skipped = 0
    for segment in PROJECT.segments.values():
        hash_sql: dict[str, str] = {}
        compile_segment(PROJECT, segment, AS_OF, PROJECT.dialect, hash_sql=hash_sql)
        expected = to_sql(segment_query(PROJECT, segment, HASH_AS_OF), PROJECT.dialect)
        if segment.name in hash_sql:
            assert hash_sql[segment.name] == expected, segment.name
            reused += 1
        else:
            # only a query that depends on as_of (here: differs from the one at HASH_AS_OF) is left out
            assert to_sql(segment_query(PROJECT, segment, AS_OF), PROJECT.dialect) != expected, segment.name
            skipped += 1
        other: dict[str, str] = {}
        compile_segment(PROJECT, segment, AS_OF, "postgres" if PROJECT.dialect != "postgres" else "duckdb",
                        hash_sql=other)
        assert other == {}  # another dialect's SQL never stands in for the project's
    assert reused and skipped


def test_manifest_hashes_equal_with_and_without_reuse(monkeypatch):
    monkeypatch.setattr(artifacts, "compiled_hashes", lambda project: {})  # no previous manifest
    hash_sql: dict[str, str] = {}
    for segment in PROJECT.segments.values():
        compile_segment(PROJECT, segment, AS_OF, PROJECT.dialect, hash_sql=hash_sql)
    reused = artifacts.manifest(PROJECT, hash_sql)["segments"]
    fresh = artifacts.manifest(PROJECT)["segments"]
    assert {k: v["compiled_sql_hash"] for k, v in reused.items()} == \
           {k: v["compiled_sql_hash"] for k, v in fresh.items()}
    some = next(iter(hash_sql))
    assert reused[artifacts.unique_id(PROJECT.config.name, some)]["compiled_sql_hash"] == \
        hashlib.sha256(hash_sql[some].encode()).hexdigest()


@pytest.mark.parametrize("dialect", WRITES_PLAIN_TREES_AS_IS)
def test_a_plain_tree_is_written_twice_without_a_copy(dialect):
    # compile_segment writes a plain query (no parsed `sql:`) flat for the hash, then pretty for the
    # file, without copying it in these dialects: sqlglot must not have rewritten it in between.
    plain = parsed = 0
    for segment in PROJECT.segments.values():
        if not _plain(PROJECT, segment):
            parsed += 1
            continue
        query = segment_query(PROJECT, segment, AS_OF)
        flat, pretty = to_sql(query, dialect, copy=False), to_sql(query, dialect, pretty=True, copy=False)
        assert flat == to_sql(segment_query(PROJECT, segment, AS_OF), dialect), segment.name
        assert pretty == to_sql(segment_query(PROJECT, segment, AS_OF), dialect, pretty=True), segment.name
        plain += 1
    assert plain and parsed  # the example project has both kinds


def test_write_if_changed_keeps_an_unchanged_file(tmp_path):
    path = tmp_path / "a.sql"
    assert artifacts.write_if_changed(path, "SELECT 1;\n")
    stamp = path.stat().st_mtime_ns
    assert not artifacts.write_if_changed(path, "SELECT 1;\n")
    assert path.stat().st_mtime_ns == stamp
    assert artifacts.write_if_changed(path, "SELECT 2;\n")
    assert path.read_text() == "SELECT 2;\n"
