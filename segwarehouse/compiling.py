"""Compile many segments to SQL text, on every core the machine gives when there are enough of them."""
from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Iterator

from .errors import SegwError
from .project.loader import Project

PARALLEL_FROM = 200  # segments: below this, starting worker processes costs more than it saves

_job: tuple | None = None  # what forked workers compile: set in the parent before the fork


def compiled(project: Project, names: list[str], as_of: dt.datetime | None, dialect: str,
             hashed: set[str], hash_as_of: dt.datetime) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(name, SQL text, the manifest's hash SQL it gave) for each named segment, in order; the
    first segment that does not compile raises its SegwError, after those before it were given.
    Segments in `hashed` also give the SQL their compiled_sql_hash is taken from."""
    workers = _cores()
    # Forking a process with other threads may copy a lock one of them holds: the worker would hang.
    # `segw compile` has none; a host that embeds segwarehouse may (then: one after another).
    if len(names) < PARALLEL_FROM or workers < 2 or threading.active_count() > 1:
        for name in names:
            yield _one(project, name, as_of, dialect, hashed, hash_as_of)
        return
    import multiprocessing

    global _job
    size = -(-len(names) // (workers * 4))  # a few chunks per worker: an uneven chunk does not hold the rest up
    chunks = [names[start:start + size] for start in range(0, len(names), size)]
    _job = (project, as_of, dialect, hashed, hash_as_of)
    try:
        # fork: the workers inherit the loaded project instead of loading it again
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for results in pool.imap(_chunk, chunks):
                for result in results:
                    if isinstance(result, SegwError):
                        raise result
                    yield result
    finally:
        _job = None


def _chunk(names: list[str]) -> list:
    project, as_of, dialect, hashed, hash_as_of = _job
    out: list = []
    for name in names:
        try:
            out.append(_one(project, name, as_of, dialect, hashed, hash_as_of))
        except SegwError as exc:
            out.append(exc)
            break
    return out


def _one(project: Project, name: str, as_of, dialect: str, hashed: set[str], hash_as_of) -> tuple[str, str, dict]:
    from .compiler.segment import compile_segment

    hash_sql: dict[str, str] = {}
    sql = compile_segment(project, project.segments[name], as_of, dialect,
                          hash_sql=hash_sql if name in hashed else None, hash_as_of=hash_as_of)
    return name, sql, hash_sql


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
