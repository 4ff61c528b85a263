"""segwarehouse from Python: load a project, build it, build what is due, compile a segment, read status.

    import segwarehouse
    project = segwarehouse.load("path/to/project", target="prod", vars={"vip_floor": 500})
    result = segwarehouse.build(project, select="tag:email")   # a RunResult; .exit_code, .failed
    sql = segwarehouse.compile(project, "vips", dialect="snowflake")

Selections take the command line's syntax (names, wildcards, tag:, category:, +name). Mistakes
raise SegwError (file:line, message, hint); warehouse faults raise WarehouseError."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .errors import SegwError, did_you_mean
from .project.loader import Project, load_project

if TYPE_CHECKING:
    from .operations import DueRun, StatusReport
    from .runner import RunResult

def load(path: str | Path = ".", target: str | None = None, vars: dict | None = None,
         profiles_dir: str | Path | None = None) -> Project:
    """Read a project folder (segwarehouse.yml, models/, segments/) with its profile's target;
    `vars` override the project's `vars:` as `--vars` does."""
    if vars is not None and not isinstance(vars, dict):
        raise SegwError(f"vars must be a mapping, not {type(vars).__name__}", hint="e.g. vars={'vip_floor': 500}")
    return load_project(path, target, profiles_dir, vars)


def build(project: Project, select: str | Iterable[str] | None = None, *,
          exclude: str | Iterable[str] | None = None,
          as_of: dt.datetime | str | None = None, state: str | Path | None = None, **options) -> "RunResult":
    """Build models, then the selected segments (all by default), as `segw build`. `options` are
    those of segwarehouse.runner.build (full_refresh, lock_timeout, fail_fast, threads, events, ...).
    A selection that matches nothing builds nothing and returns an empty RunResult."""
    from .operations import record_empty_run
    from .runner import build as run_build

    names = _selected(project, select, exclude, state)
    if names == []:
        return record_empty_run(project, write_results=options.get("write_results", True))
    return run_build(project, _moment(as_of), names, **options)


def run(project: Project, select: str | Iterable[str] | None = None, *,
        exclude: str | Iterable[str] | None = None,
        as_of: dt.datetime | str | None = None, state: str | Path | None = None, **options) -> "DueRun":
    """Build the segments that are due by their `schedule:` (of the selection), as `segw run`."""
    from .operations import run_due

    return run_due(project, _selected(project, select, exclude, state), as_of=_moment(as_of), **options)


def compile(project: Project, segment: str, dialect: str | None = None,
            as_of: dt.datetime | str | None = None) -> str:
    """The SQL of one segment's members in a dialect (default: the target's), at as_of (default: now)."""
    from .compiler.dialects import DIALECTS
    from .compiler.segment import compile_segment
    from .materialize import utcnow

    if segment not in project.segments:
        raise SegwError(f"unknown segment '{segment}'",
                        hint=did_you_mean(segment, project.segments) or "see `segw ls` for the segments")
    dialect = dialect or project.dialect
    if dialect not in DIALECTS:
        raise SegwError(f"unknown dialect '{dialect}'", hint=f"one of: {', '.join(DIALECTS)}")
    return compile_segment(project, project.segments[segment], _moment(as_of) or utcnow(), dialect)


def status(project: Project) -> "StatusReport":
    """What the warehouse remembers of each segment (last run, size, next due time), as `segw status`."""
    from .operations import status as read_status

    return read_status(project)


def _selected(project: Project, select: str | Iterable[str] | None, exclude: str | Iterable[str] | None,
              state) -> list[str] | None:
    """The selected names in build order, or None for every segment when nothing is selected."""
    from .selection import select as pick

    select, exclude = _texts(select), _texts(exclude)
    if not select and not exclude:
        return None
    return pick(project, select, exclude, state)


def _texts(value: str | Iterable[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or ())


def _moment(value: dt.datetime | str | None) -> dt.datetime | None:
    """as_of as the library takes it: naive UTC, whole seconds; text as `--as-of` reads it."""
    from .runner import parse_as_of

    if value is None:
        return None
    if isinstance(value, str):
        return parse_as_of(value)
    if not isinstance(value, dt.datetime):
        raise SegwError(f"as_of must be a datetime or an ISO timestamp text, not {type(value).__name__}")
    return parse_as_of(value.isoformat())


__all__ = ["load", "build", "run", "compile", "status"]
