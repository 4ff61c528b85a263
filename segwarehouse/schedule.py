"""Cron schedules per segment: which segments are due, when the next one is, and the scheduler loop."""
from __future__ import annotations

import datetime as dt
import signal
import time
from dataclasses import dataclass, field
from typing import Callable

from croniter import croniter
from sqlglot import exp

from .errors import SegwError
from .outputs import col, table
from .project.loader import Project
from .warehouse.base import Adapter


def latest_tick(cron: str, now: dt.datetime) -> dt.datetime:
    """The most recent scheduled time at or before now (UTC)."""
    minute = now.replace(second=0, microsecond=0)
    if croniter.match(cron, minute):
        return minute
    return croniter(cron, minute).get_prev(dt.datetime)


def next_tick(cron: str, now: dt.datetime) -> dt.datetime:
    """The first scheduled time strictly after now (UTC)."""
    return croniter(cron, now).get_next(dt.datetime)


@dataclass
class SegmentState:
    """What the warehouse remembers of a segment: its last run and last success."""
    segment: str
    last_run_at: dt.datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_success_at: dt.datetime | None = None
    size: int | None = None
    sizes: list[int] = field(default_factory=list)  # of successful runs, oldest first


def read_state(adapter: Adapter, project: Project) -> dict[str, SegmentState]:
    schema = project.segment_schema
    states = {name: SegmentState(name) for name in project.segments}
    if adapter.relation_kind(schema, "segment_runs") is None:
        return states
    runs = adapter.fetchall(
        exp.select(*[col(c) for c in ("segment", "started_at", "status", "size", "error")])
        .from_(table(schema, "segment_runs")).order_by(col("started_at"), col("finished_at")))
    for segment, started_at, status, size, error in runs:
        state = states.get(segment)
        if state is None:
            continue
        state.last_run_at, state.last_status, state.last_error = started_at, status, error
        if size is not None:
            state.size = int(size)
        if status == "success":
            state.last_success_at = started_at
            if size is not None:
                state.sizes.append(int(size))
    return states


def due_segments(project: Project, states: dict[str, SegmentState], now: dt.datetime,
                 retry_failed: bool = True) -> list[str]:
    """Segments whose last success is older than their latest tick, plus what they read.

    retry_failed=False (the scheduler): a segment that already failed since its latest tick
    waits for its next tick instead of being retried at once, over and over."""
    def is_due(name: str, segment) -> bool:
        tick = latest_tick(project.schedule_of(segment), now)
        state = states[name]
        if not retry_failed and state.last_run_at is not None and state.last_run_at >= tick:
            return False  # tried since the tick: a success is fresh, a failure waits
        return state.last_success_at is None or state.last_success_at < tick

    due = {name for name, segment in project.segments.items() if is_due(name, segment)}
    for name in list(due):
        due |= project.dependencies(name)
    return [name for name in project.segments if name in due]


def next_due_at(project: Project, states: dict[str, SegmentState], now: dt.datetime,
                retry_failed: bool = True) -> dict[str, dt.datetime]:
    """When each segment next becomes due: now if already due, else its next tick."""
    due = set(due_segments(project, states, now, retry_failed))
    return {name: now if name in due else next_tick(project.schedule_of(segment), now)
            for name, segment in project.segments.items()}


class Clock:
    """Wall-clock time in UTC; tests pass a fake one so nothing sleeps for real."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class StopFlag:
    """Set by SIGTERM/SIGINT: the scheduler finishes the segment in hand and exits."""

    def __init__(self) -> None:
        self.stopped = False

    def __call__(self) -> bool:
        return self.stopped

    def install(self) -> None:
        def handler(signum, frame):
            self.stopped = True
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def scheduler_loop(project_loader: Callable[[], Project], run_due: Callable[[Project, dt.datetime], object],
                   states_of: Callable[[Project], dict[str, SegmentState]], clock: Clock,
                   stop: Callable[[], bool], log: Callable[[str], None],
                   max_sleep: float = 60.0, max_cycles: int | None = None) -> int:
    """Sleep until the next due segment, build what is due, repeat until stopped.

    It never exits on a fault: a project that stops loading is replaced by the last good one
    (and the error logged every tick until fixed); a warehouse fault or a failed model is logged
    and retried with a growing pause (up to max_sleep)."""
    if max_sleep <= 0:
        raise SegwError(f"--max-sleep must be more than 0 seconds, not {max_sleep:g}")
    cycles, faults = 0, 0
    good: Project | None = None
    while not stop():
        try:
            good = project_loader()
        except SegwError as exc:
            if good is None:
                raise  # nothing good to run yet: an invalid project stops the start (exit 2)
            log(f"project invalid, still running the last good one: {_one_line(exc)}")
        project = good
        now = clock.now()
        try:
            states = states_of(project)
            if due_segments(project, states, now, retry_failed=False):
                run_due(project, now)
                faults = 0
                cycles += 1
                if max_cycles is not None and cycles >= max_cycles:
                    break
                continue
            faults = 0
            wake = min(next_due_at(project, states, now, retry_failed=False).values(),
                       default=now + dt.timedelta(seconds=max_sleep))
            wait = min(max_sleep, max(1.0, (wake - now).total_seconds()))
        except SegwError as exc:
            faults += 1
            wait = min(max_sleep, 2.0 ** faults)
            log(f"error: {_one_line(exc)}; retrying in {wait:g} s")
            cycles += 1
            if max_cycles is not None and cycles >= max_cycles:
                break
        _sleep(clock, wait, stop)
    return 0


def _one_line(exc: SegwError) -> str:
    return " ".join(str(exc).split())


def _sleep(clock: Clock, seconds: float, stop: Callable[[], bool]) -> None:
    step = 0.0
    while step < seconds and not stop():
        chunk = min(1.0, seconds - step)
        clock.sleep(chunk)
        step += chunk


__all__ = ["latest_tick", "next_tick", "due_segments", "next_due_at", "read_state", "Clock", "StopFlag",
           "scheduler_loop"]
