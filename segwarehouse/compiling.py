"""Compile many segments to SQL text, on every core the machine gives when there are enough of them."""
from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Iterator

from .errors import SegwError
from .project.loader import Project

PARALLEL_FROM = 200  # segments: below this, starting worker processes costs more than it saves

_job: tuple | None = None  # what forked workers compile: set in the parent before the fork


def compiled(project: Project, names: list[str], as_of: dt.datetime | None, dialect: str,
             known: dict[str, str], hash_as_of: dt.datetime, folder: Path | None = None
             ) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(name, SQL text, the manifest's hash SQL it gave) for each named segment, in order; the
    first segment that does not compile raises its SegwError, after those before it were given.
    Segments whose definition hash is not in `known` (definition hash -> compiled SQL hash, from
    the last manifest) also give the SQL their compiled_sql_hash is taken from. With `folder`, each
    segment's SQL is also written there, as <name>.sql (by the worker that compiled it). The
    definition hashes computed on the way are kept in the project (catalog.definition_hashes)."""
    workers = _cores()
    # Forking a process with other threads may copy a lock one of them holds: the worker would hang.
    # `segw compile` has none; a host that embeds segwarehouse may (then: one after another).
    if len(names) < PARALLEL_FROM or workers < 2 or threading.active_count() > 1:
        for name in names:
            yield _noting_definition(project, _one(project, name, as_of, dialect, known, hash_as_of, folder))
        return
    import multiprocessing

    global _job
    size = -(-len(names) // (workers * 4))  # a few chunks per worker: an uneven chunk does not hold the rest up
    chunks = [names[start:start + size] for start in range(0, len(names), size)]
    _job = (project, as_of, dialect, known, hash_as_of, folder)
    try:
        # fork: the workers inherit the loaded project instead of loading it again
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for results in pool.imap(_chunk, chunks):
                for result in results:
                    if isinstance(result, SegwError):
                        raise result
                    yield _noting_definition(project, result)
    finally:
        _job = None


def _chunk(names: list[str]) -> list:
    project, as_of, dialect, known, hash_as_of, folder = _job
    out: list = []
    for name in names:
        try:
            out.append(_one(project, name, as_of, dialect, known, hash_as_of, folder))
        except SegwError as exc:
            out.append(exc)
            break
    return out


def _one(project: Project, name: str, as_of, dialect: str, known: dict[str, str], hash_as_of,
         folder: Path | None) -> tuple[str, str, dict, str]:
    from .artifacts import write_if_changed
    from .catalog import definition_hash
    from .compiler.segment import compile_segment

    definition = definition_hash(project, project.segments[name])
    hash_sql: dict[str, str] = {}
    sql = compile_segment(project, project.segments[name], as_of, dialect,
                          hash_sql=hash_sql if definition not in known else None, hash_as_of=hash_as_of)
    if folder is not None:
        write_if_changed(folder / f"{name}.sql", sql + ";\n")
    return name, sql, hash_sql, definition


def _noting_definition(project: Project, result: tuple[str, str, dict, str]
                       ) -> tuple[str, str, dict[str, str]]:
    """A worker's result, its definition hash kept in the project (a forked worker's is not)."""
    from .catalog import definition_hashes

    name, sql, hash_sql, definition = result
    definition_hashes(project)[name] = definition
    return name, sql, hash_sql


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
