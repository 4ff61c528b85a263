"""`segw compile` of many segments runs on every core: the same SQL, in the same order, and the first
segment that does not compile stops it with its own error, as when compiled one after another.
The parallel runs happen in a fresh process: forking is only done without other threads (a test
runner has some)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from segwarehouse.catalog import HASH_AS_OF, definition_hash
from segwarehouse.project.loader import load_project

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import datetime as dt, json, os, sys
from pathlib import Path
import segwarehouse.compiling as compiling
import segwarehouse.compiler.segment as segment
from segwarehouse.catalog import HASH_AS_OF, definition_hash
from segwarehouse.errors import SegwError
from segwarehouse.project.loader import load_project

compiling.PARALLEL_FROM, compiling._cores = 1, lambda: 2
import multiprocessing
forked, real_context = [], multiprocessing.get_context
multiprocessing.get_context = lambda method: forked.append(method) or real_context(method)
failing = set(sys.argv[1:])
real = segment.compile_segment
def compile_segment(project, item, *args, **kwargs):
    if item.name in failing:
        raise SegwError(f"segment '{item.name}' cannot be compiled")
    return real(project, item, *args, **kwargs)
segment.compile_segment = compile_segment
project = load_project(sys.argv[0] and %r)
names = sorted(project.segments)
given = []
try:
    known = {definition_hash(project, project.segments[n]): "hash" for n in names[1::2]}  # hashed: names[::2]
    folder = Path(os.environ["FOLDER"]) if os.environ.get("FOLDER") else None
    for name, sql, hashes in compiling.compiled(project, names, dt.datetime(2024, 5, 5, 12), project.dialect,
                                                known, HASH_AS_OF, folder):
        given.append([name, sql, hashes])
    print(json.dumps({"given": given, "forked": forked}))
except SegwError as exc:
    print(json.dumps({"given": given, "error": exc.message, "forked": forked}))
""" % str(REPO)


def in_fresh_process(*failing: str, folder: Path | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *failing], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env={**os.environ, "FOLDER": str(folder or "")})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_on_two_cores_the_sql_and_its_order_are_those_of_one(tmp_path):
    import datetime as dt

    from segwarehouse.compiling import compiled
    project = load_project(REPO)
    names = sorted(project.segments)
    assert len(names) > 8
    known = {definition_hash(project, project.segments[n]): "hash" for n in names[1::2]}
    one_by_one = [list(r) for r in compiled(project, names, dt.datetime(2024, 5, 5, 12), project.dialect,
                                            known, HASH_AS_OF)]  # threads here: one after another
    parallel = in_fresh_process(folder=tmp_path)
    assert parallel["forked"] == ["fork"] and "error" not in parallel and parallel["given"] == one_by_one
    assert {name for name, _, hashes in parallel["given"] if hashes} == set(names[::2])
    # the workers wrote each segment's file
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {f"{n}.sql": sql + ";\n" for n, sql, _ in one_by_one}


def test_the_first_segment_that_does_not_compile_stops_it_with_its_error():
    names = sorted(load_project(REPO).segments)
    found = in_fresh_process(names[5], names[7])
    assert [name for name, *_ in found["given"]] == names[:5]
    assert found["error"] == f"segment '{names[5]}' cannot be compiled" and found["forked"] == ["fork"]
