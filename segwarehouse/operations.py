"""What `segw run`, `rebuild`, `schedule` and `status` do, as functions of a Project that return data;
the command line only parses options, calls these, and draws what they return."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import SegwError
from .project.loader import Project
from .runner import Events, RunResult, build, connect_waiting, new_run_id, write_failed_results, write_run_results
from .schedule import Clock, SegmentState, due_segments, next_due_at, read_state, scheduler_loop


def lock_wait(project: Project, lock_timeout: float | None = None, no_wait: bool = False) -> float:
    """Seconds to wait for another writer: no_wait (0), else lock_timeout, else segwarehouse.yml's."""
    return 0 if no_wait else project.config.lock_timeout if lock_timeout is None else lock_timeout


def threads_for(project: Project, threads: int | None = None) -> int:
    """Segments built at once: the option, else the target's `threads:`, else 1."""
    return threads or int(project.target.settings.get("threads") or 1)


def load_for_run(loader: Callable[[], Project], project_dir: str | Path) -> Project:
    """Load for a command that builds: a project that does not load still leaves run results
    (target/run_results.json with the error), so an orchestrator never reads stale ones."""
    try:
        return loader()
    except SegwError as exc:
        if Path(project_dir).is_dir():
            write_failed_results(Path(project_dir), str(exc))
        raise


def record_empty_run(project: Project, now: dt.datetime | None = None, write_results: bool = True) -> RunResult:
    """Nothing to build (an empty selection, nothing due): run results that say so, never stale ones."""
    from .materialize import utcnow

    now = now or utcnow()
    result = RunResult(new_run_id(now), now, now, now)
    if write_results:
        write_run_results(project, result)
    return result


def due_now(project: Project, names: list[str], wait: float, now: dt.datetime) -> list[str]:
    """Of these segments, the ones due at `now` by their schedule, plus what those read, in build
    order. A DuckDB file busy with another build is waited for up to `wait` seconds; when the
    warehouse cannot be read, the run results say so and the error is raised."""
    from .selection import due_within

    try:
        adapter = connect_waiting(project, wait)
        try:
            return due_within(project, names, read_state(adapter, project), now)
        finally:
            adapter.close()
    except SegwError as exc:
        write_failed_results(project.root, str(exc))
        raise


@dataclass
class DueRun:
    """What a run of the due segments did: which were due at `now`, and their build (None when
    nothing was due; the run results then say that nothing ran)."""
    now: dt.datetime
    due: list[str]
    result: RunResult | None

    @property
    def exit_code(self) -> int:
        return self.result.exit_code if self.result else 0


def run_due(project: Project, names: list[str] | None = None, *, now: dt.datetime | None = None,
            as_of: dt.datetime | None = None, lock_timeout: float | None = None, no_wait: bool = False,
            events: Events | None = None, **options) -> DueRun:
    """Build the segments (of `names`, default all) that are due now, and what they read."""
    now = now or Clock().now()
    due = due_now(project, list(project.segments) if names is None else names,
                  lock_wait(project, lock_timeout, no_wait), now)
    if not due:
        record_empty_run(project, now)
        return DueRun(now, due, None)
    result = build(project, as_of, due, events=events, lock_timeout=0 if no_wait else lock_timeout, **options)
    return DueRun(now, due, result)


def stored_counts(project: Project, names: list[str]) -> dict[str, dict[str, int]]:
    """Rows each segment has in the output tables (memberships, history, changes): what a full
    refresh is about to recreate, shown before it asks."""
    from .materialize import segment_counts
    from .warehouse import connect

    adapter = connect(project.target)
    try:
        return {name: segment_counts(adapter, project, name) for name in names}
    finally:
        adapter.close()


@dataclass
class StatusReport:
    """`segw status`: per defined segment its stored state, next due time and how its last run
    evaluated; and the stored segments the project no longer defines."""
    project: Project
    now: dt.datetime
    states: dict[str, SegmentState]
    due: dict[str, dt.datetime]
    modes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)

    def to_json(self) -> list[dict]:
        def stamp(value):
            return value.isoformat() if value else None
        rows = [{
            "segment": name, "schedule": self.project.schedule_of(self.project.segments[name]),
            "last_run_at": stamp(s.last_run_at), "last_status": s.last_status,
            "last_success_at": stamp(s.last_success_at), "next_due_at": stamp(self.due[name]),
            "size": s.size, "last_error": s.last_error, "defined": True,
            "evaluated": dict(zip(("mode", "reason"), self.modes.get(name, (None, None))))}
            for name, s in self.states.items()]
        rows += [{"segment": name, "defined": False, "last_status": "not defined (retire it)"}
                 for name in self.orphans]
        return rows


def status(project: Project, now: dt.datetime | None = None) -> StatusReport:
    """Read the warehouse's record of every segment; writes nothing (and creates no DuckDB file)."""
    from .catalog import orphans
    from .incremental import stored_modes
    from .project.profiles import require_existing_warehouse
    from .warehouse import connect

    require_existing_warehouse(project.target)
    now = now or Clock().now()
    adapter = connect(project.target)
    try:
        states = read_state(adapter, project)
        stored_only = orphans(adapter, project)
        modes = stored_modes(adapter, project.segment_schema)
    finally:
        adapter.close()
    return StatusReport(project, now, states, next_due_at(project, states, now), modes, stored_only)


def schedule_forever(loader: Callable[[], Project], log: Callable[[str], None], stop: Callable[[], bool],
                     lock_timeout: float | None = None, no_wait: bool = False, max_sleep: float = 60.0,
                     clock: Clock | None = None, max_cycles: int | None = None) -> int:
    """The scheduler: build each segment when its schedule says, until `stop()`; one log line per
    segment built. Returns the exit code; an invalid project at the start raises SegwError."""
    def states_of(project: Project) -> dict[str, SegmentState]:
        # a DuckDB file busy with another build is waited for, as build does
        adapter = connect_waiting(project, lock_wait(project, lock_timeout, no_wait))
        try:
            return read_state(adapter, project)
        finally:
            adapter.close()

    def build_due(project: Project, now: dt.datetime) -> RunResult | None:
        due = due_segments(project, states_of(project), now, retry_failed=False)
        if not due:  # built by another process meanwhile; an empty select would build everything
            return None
        result = build(project, None, due, should_stop=stop, lock_timeout=0 if no_wait else lock_timeout)
        for item in result.segments:
            detail = (f"size={item.size} entered={item.entered} exited={item.exited}"
                      if item.status == "success" else f"error={item.error.splitlines()[0]!r}")
            log(f"run={result.run_id} segment={item.segment} status={item.status} {detail}")
        return result

    log("scheduler started")
    try:
        code = scheduler_loop(loader, build_due, states_of, clock or Clock(), stop, log, max_sleep=max_sleep,
                              max_cycles=max_cycles)
    except SegwError as exc:
        log(f"stopped: {exc.message}")
        raise
    log("scheduler stopped")
    return code


__all__ = ["lock_wait", "threads_for", "load_for_run", "record_empty_run", "due_now", "DueRun", "run_due",
           "stored_counts", "StatusReport", "status", "schedule_forever"]
