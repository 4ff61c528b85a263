"""Cron due-ness and the scheduler loop, with a fake clock: nothing here sleeps for real."""
from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest

from segwarehouse.errors import SegwError
from segwarehouse.schedule import (Clock, SegmentState, StopFlag, due_segments, latest_tick, next_due_at,
                                   next_tick, scheduler_loop)

D = dt.datetime

FILES = {
    "seeds/people.csv": "id,score\n1,10\n2,30\n",
    "models/entities.yml": """
        entities:
          - name: person
            model: people
            key: id
    """,
    "segments/s.yml": """
        segments:
          - name: hourly
            entity: person
            schedule: "0 * * * *"
            rules: {property: score, gte: 20}
          - name: daily
            entity: person
            rules: {property: score, lt: 20}
          - name: month_end
            entity: person
            schedule: "0 0 L * *"
            rules: {all: []}
          - name: day31
            entity: person
            schedule: "0 0 31 * *"
            rules: {all: []}
          - name: leap_day
            entity: person
            schedule: "0 0 29 2 *"
            rules: {all: []}
          - name: reads_hourly
            entity: person
            schedule: "0 0 1 1 *"
            rules: {in_segment: hourly}
          - name: reads_reader
            entity: person
            schedule: "0 0 1 1 *"
            include: [reads_hourly]
          - name: excludes_daily
            entity: person
            schedule: "0 0 1 1 *"
            rules: {all: []}
            exclude: [daily]
    """,
}


@pytest.fixture
def project(project_factory):
    return project_factory("duckdb", FILES).load()


def states(project, **last_success):
    """SegmentStates with the given last successes (others: never built)."""
    out = {name: SegmentState(name) for name in project.segments}
    for name, at in last_success.items():
        out[name] = SegmentState(name, last_run_at=at, last_status="success", last_success_at=at)
    return out


def all_built(project, at, **overrides):
    return states(project, **{**{name: at for name in project.segments}, **overrides})


# -- ticks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cron, now, latest, following", [
    # exact tick boundary: the tick itself is the latest tick, the next is strictly after
    ("0 0 * * *", D(2024, 6, 30, 0, 0, 0), D(2024, 6, 30), D(2024, 7, 1)),
    ("0 0 * * *", D(2024, 6, 29, 23, 59, 59), D(2024, 6, 29), D(2024, 6, 30)),
    ("0 0 * * *", D(2024, 6, 30, 0, 0, 1), D(2024, 6, 30), D(2024, 7, 1)),
    ("0 * * * *", D(2024, 6, 30, 10, 59, 59), D(2024, 6, 30, 10), D(2024, 6, 30, 11)),
    ("*/15 * * * *", D(2024, 6, 30, 10, 44, 59), D(2024, 6, 30, 10, 30), D(2024, 6, 30, 10, 45)),
    # the 31st: months without one are skipped
    ("0 0 31 * *", D(2024, 4, 15), D(2024, 3, 31), D(2024, 5, 31)),
    ("0 0 31 * *", D(2024, 3, 31), D(2024, 3, 31), D(2024, 5, 31)),
    ("0 0 31 * *", D(2025, 3, 1), D(2025, 1, 31), D(2025, 3, 31)),
    # L: the last day of every month, February in leap and common years
    ("0 0 L * *", D(2024, 3, 15), D(2024, 2, 29), D(2024, 3, 31)),
    ("0 0 L * *", D(2025, 3, 15), D(2025, 2, 28), D(2025, 3, 31)),
    ("0 0 L * *", D(2024, 2, 28, 23, 59, 59), D(2024, 1, 31), D(2024, 2, 29)),
    ("0 0 L * *", D(2023, 2, 28, 12), D(2023, 2, 28), D(2023, 3, 31)),
    ("0 0 L * *", D(2024, 12, 31, 0, 0, 0), D(2024, 12, 31), D(2025, 1, 31)),
    # February 29th only exists in leap years
    ("0 0 29 2 *", D(2025, 6, 1), D(2024, 2, 29), D(2028, 2, 29)),
    ("0 0 29 2 *", D(2024, 2, 29, 0, 0, 0), D(2024, 2, 29), D(2028, 2, 29)),
    ("0 0 28 2 *", D(2024, 2, 29), D(2024, 2, 28), D(2025, 2, 28)),
    # no DST anywhere: UTC days are 24 hours, even on European and US change-over dates
    ("30 2 * * *", D(2024, 3, 31, 2, 45), D(2024, 3, 31, 2, 30), D(2024, 4, 1, 2, 30)),
    ("30 1 * * *", D(2024, 11, 3, 1, 45), D(2024, 11, 3, 1, 30), D(2024, 11, 4, 1, 30)),
    # year end, weekday 7 = Sunday
    ("0 0 1 1 *", D(2024, 12, 31, 23, 59, 59), D(2024, 1, 1), D(2025, 1, 1)),
    ("0 6 * * 7", D(2024, 6, 30, 6, 0), D(2024, 6, 30, 6), D(2024, 7, 7, 6)),
])
def test_latest_and_next_tick(cron, now, latest, following):
    assert latest_tick(cron, now) == latest
    assert next_tick(cron, now) == following
    assert latest <= now < following


def test_hourly_ticks_in_utc_are_evenly_spaced_across_dst_dates():
    now = D(2024, 3, 30, 20)
    seen = []
    for _ in range(30):  # through the night Europe and the US change clocks
        now = next_tick("0 * * * *", now)
        seen.append(now)
    assert all(b - a == dt.timedelta(hours=1) for a, b in zip(seen, seen[1:]))


# -- due-ness -------------------------------------------------------------------------------


def test_never_built_segments_are_all_due(project):
    assert due_segments(project, states(project), D(2024, 6, 30, 12)) == list(project.segments)


def test_built_at_the_tick_second_is_not_due_again(project):
    tick = D(2024, 6, 30, 0, 0, 0)
    built = all_built(project, tick)
    assert due_segments(project, built, tick) == []
    assert due_segments(project, built, tick + dt.timedelta(minutes=59, seconds=59)) == []


def test_built_one_second_before_the_tick_is_due_at_the_tick(project):
    tick = D(2024, 6, 30, 0, 0, 0)
    built = all_built(project, tick - dt.timedelta(seconds=1))
    assert due_segments(project, built, tick - dt.timedelta(seconds=1)) == []
    assert "daily" in due_segments(project, built, tick)
    assert "daily" in due_segments(project, built, tick + dt.timedelta(seconds=1))


def test_one_second_before_vs_after_an_hourly_tick(project):
    built = all_built(project, D(2024, 6, 30, 10, 0, 0))
    assert due_segments(project, built, D(2024, 6, 30, 10, 59, 59)) == []
    # hourly is due, and what reads it is not (reading goes the other way)
    assert due_segments(project, built, D(2024, 6, 30, 11, 0, 0)) == ["hourly"]
    assert due_segments(project, built, D(2024, 6, 30, 11, 0, 1)) == ["hourly"]


def test_missed_ticks_coalesce_into_one_build(project):
    now = D(2024, 6, 30, 12, 0, 0)
    five_days_ago = now - dt.timedelta(days=5)
    built = all_built(project, now, daily=five_days_ago)
    # excludes_daily reads daily, not the other way round: it stays on its own (yearly) schedule
    assert due_segments(project, built, now) == ["daily"]
    # one build catches up with all five missed ticks
    rebuilt = all_built(project, now)
    assert due_segments(project, rebuilt, now) == []
    assert "daily" not in due_segments(project, rebuilt, D(2024, 6, 30, 23, 59, 59))
    assert next_due_at(project, rebuilt, now)["daily"] == D(2024, 7, 1)
    assert "daily" in due_segments(project, rebuilt, D(2024, 7, 1))


def test_month_end_and_31st_schedules(project):
    built = all_built(project, D(2024, 2, 29, 0, 0, 0))
    later = D(2024, 3, 30, 23, 59, 59)
    assert not {"month_end", "day31"} & set(due_segments(project, built, later))
    at_end = D(2024, 3, 31, 0, 0, 0)
    assert {"month_end", "day31"} <= set(due_segments(project, built, at_end))
    # April has no 31st: day31 waits for May, month_end fires on April 30th
    built = all_built(project, at_end)
    due = set(due_segments(project, built, D(2024, 4, 30, 0, 0, 0)))
    assert "month_end" in due and "day31" not in due
    assert next_due_at(project, built, D(2024, 4, 30, 0, 0, 0))["day31"] == D(2024, 5, 31)


@pytest.mark.parametrize("year, due_on", [(2024, D(2024, 2, 29)), (2025, D(2025, 2, 28)),
                                          (2100, D(2100, 2, 28)), (2000, D(2000, 2, 29))])
def test_month_end_in_february_of_leap_and_common_years(project, year, due_on):
    built = all_built(project, D(year, 1, 31, 0, 0, 0))
    before = due_on - dt.timedelta(seconds=1)
    assert "month_end" not in due_segments(project, built, before)
    assert "month_end" in due_segments(project, built, due_on)
    assert next_due_at(project, built, before)["month_end"] == due_on


def test_leap_day_schedule_waits_for_the_next_leap_year(project):
    built = all_built(project, D(2024, 2, 29, 0, 0, 5))
    assert "leap_day" not in due_segments(project, built, D(2027, 12, 31))
    assert next_due_at(project, built, D(2025, 3, 1))["leap_day"] == D(2028, 2, 29)
    assert "leap_day" in due_segments(project, built, D(2028, 2, 29))


def test_due_segments_bring_what_they_read_and_nothing_else(project):
    now = D(2024, 6, 30, 12)
    built = all_built(project, now, reads_reader=now - dt.timedelta(days=400))
    # reads_reader includes reads_hourly, which reads hourly (in_segment): all three, in build order
    assert due_segments(project, built, now) == ["hourly", "reads_hourly", "reads_reader"]
    built = all_built(project, now, excludes_daily=now - dt.timedelta(days=400))
    assert due_segments(project, built, now) == ["daily", "excludes_daily"]


def test_a_failed_build_does_not_count_as_built(project):
    now = D(2024, 6, 30, 12)
    built = all_built(project, now)
    built["daily"] = SegmentState("daily", last_run_at=now, last_status="failed", last_error="boom",
                                  last_success_at=D(2024, 6, 29, 12))
    assert due_segments(project, built, now) == ["daily"]
    assert next_due_at(project, built, now)["daily"] == now


def test_the_scheduler_retries_a_failed_segment_at_its_next_tick(project):
    now = D(2024, 6, 30, 12)
    built = all_built(project, now)
    built["daily"] = SegmentState("daily", last_run_at=D(2024, 6, 30, 0, 0, 5), last_status="failed",
                                  last_success_at=D(2024, 6, 29, 0, 0, 5))
    assert due_segments(project, built, now) == ["daily"]  # `segw run` retries it
    assert due_segments(project, built, now, retry_failed=False) == []  # the scheduler waits
    assert next_due_at(project, built, now, retry_failed=False)["daily"] == D(2024, 7, 1)
    assert "daily" in due_segments(project, built, D(2024, 7, 1), retry_failed=False)
    # a failure before the latest tick does not hold it back
    built["daily"].last_run_at = D(2024, 6, 29, 23, 0)
    assert due_segments(project, built, now, retry_failed=False) == ["daily"]


def test_next_due_at(project):
    now = D(2024, 6, 30, 10, 20)
    built = all_built(project, D(2024, 6, 30, 10, 0, 0))
    due = next_due_at(project, built, now)
    assert due["hourly"] == D(2024, 6, 30, 11)
    assert due["daily"] == D(2024, 7, 1)
    assert due["month_end"] == D(2024, 7, 31)
    assert due["reads_hourly"] == D(2025, 1, 1)
    assert next_due_at(project, states(project), now)["daily"] == now


# -- schedules in the project -----------------------------------------------------------------


def test_default_schedule_is_daily_at_midnight(project_factory):
    project = project_factory("duckdb", FILES).load()
    assert project.config.schedule == "0 0 * * *"
    assert project.schedule_of(project.segments["daily"]) == "0 0 * * *"
    assert project.schedule_of(project.segments["hourly"]) == "0 * * * *"


def test_default_schedule_from_segwarehouse_yml(project_factory):
    project = project_factory("duckdb", FILES, {"schedule": "0 6 * * 1"}).load()
    assert project.schedule_of(project.segments["daily"]) == "0 6 * * 1"
    assert project.schedule_of(project.segments["hourly"]) == "0 * * * *"
    monday = D(2024, 7, 1, 6, 0, 0)  # a Monday
    built = all_built(project, D(2024, 6, 24, 6, 0, 0))
    assert "daily" not in due_segments(project, built, monday - dt.timedelta(seconds=1))
    assert "daily" in due_segments(project, built, monday)


def _segment_with_schedule(cron: str) -> dict:
    return {**FILES, "segments/s.yml": f"""
        segments:
          - name: ok
            entity: person
            rules: {{all: []}}
          - name: bad
            entity: person
            schedule: "{cron}"
            rules: {{all: []}}
    """}


@pytest.mark.parametrize("cron", ["0 0 * *", "61 0 * * *", "0 0 * * * *", "every day", "0 25 * * *",
                                  "0 0 30 2 *", "0 0 31 4 *"])
def test_invalid_segment_cron_is_an_error_with_file_and_line(project_factory, cron):
    project = project_factory("duckdb", _segment_with_schedule(cron))
    with pytest.raises(SegwError) as info:
        project.load()
    error = info.value
    assert "invalid cron schedule" in error.message and cron in error.message
    assert error.location is not None
    assert error.location.file.endswith("s.yml")
    assert error.location.line == 7  # the `schedule:` line of segment 'bad'
    assert str(error).startswith(f"{error.location.file}:7: ")
    assert error.exit_code == 2


@pytest.mark.parametrize("cron", ["0 0 * *", "0 0 30 2 *", "nope"])
def test_invalid_default_cron_in_segwarehouse_yml(project_factory, cron):
    project = project_factory("duckdb", FILES, {"schedule": cron})
    with pytest.raises(SegwError) as info:
        project.load()
    error = info.value
    assert "invalid cron schedule" in error.message
    assert error.location.file.endswith("segwarehouse.yml")
    lines = (project.root / "segwarehouse.yml").read_text().splitlines()
    assert lines[error.location.line - 1].startswith("schedule:")


def test_non_string_schedule_is_an_error(project_factory):
    files = {**FILES, "segments/s.yml": """
        segments:
          - name: bad
            entity: person
            schedule: 6
            rules: {all: []}
    """}
    with pytest.raises(SegwError) as info:
        project_factory("duckdb", files).load()
    assert info.value.location.line == 4


# -- the loop -------------------------------------------------------------------------------


class FakeClock(Clock):
    def __init__(self, start: dt.datetime, max_sleep: float | None = None):
        self.current = start
        self.sleeps: list[float] = []
        self.max_sleep = max_sleep

    def now(self) -> dt.datetime:
        return self.current.replace(microsecond=0)

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.current += dt.timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


class Warehouse:
    """What the loop sees of the warehouse: segment_runs, as SegmentStates."""

    def __init__(self, project, clock: FakeClock, fail: set[str] = frozenset(), seconds_per_segment=3):
        self.project = project
        self.clock = clock
        self.fail = set(fail)
        self.seconds = seconds_per_segment
        self.state = {name: SegmentState(name) for name in project.segments}
        self.builds: list[tuple[dt.datetime, str, str]] = []
        self.checks: list[dt.datetime] = []

    def states_of(self, project):
        self.checks.append(self.clock.now())
        return {name: SegmentState(**vars(s)) for name, s in self.state.items()}

    def run_due(self, project, now):
        # like `segw schedule`: what is due now, a failure waiting for the next tick
        for name in due_segments(project, self.states_of(project), now, retry_failed=False):
            started = self.clock.now()
            self.clock.advance(self.seconds)
            status = "failed" if name in self.fail else "success"
            state = self.state[name]
            state.last_run_at, state.last_status = started, status
            if status == "success":
                state.last_success_at = started
            self.builds.append((started, name, status))

    def count(self, name, status=None):
        return sum(1 for _, n, s in self.builds if n == name and (status is None or s == status))


def two_segment_project(project_factory, extra=""):
    files = {**FILES, "segments/s.yml": """
        segments:
          - name: hourly
            entity: person
            schedule: "0 * * * *"
            rules: {property: score, gte: 20}
          - name: daily
            entity: person
            rules: {property: score, lt: 20}
    """ + extra}
    return project_factory("duckdb", files).load()


def run_loop(project, warehouse, clock, until, max_sleep=600.0, max_cycles=10_000, stop=None):
    stop = stop or (lambda: clock.current >= until)
    logged = []
    code = scheduler_loop(lambda: project, warehouse.run_due, warehouse.states_of, clock, stop,
                          logged.append, max_sleep=max_sleep, max_cycles=max_cycles)
    return code, logged


def test_loop_builds_each_segment_on_its_own_cadence(project_factory):
    project = two_segment_project(project_factory)
    start = D(2024, 1, 1, 0, 0, 30)
    clock = FakeClock(start)
    warehouse = Warehouse(project, clock)
    code, _ = run_loop(project, warehouse, clock, until=start + dt.timedelta(days=2))
    assert code == 0
    # the first build (nothing was ever built), then every tick in (start, start + 2 days]
    assert warehouse.count("hourly") == 1 + 48
    assert warehouse.count("daily") == 1 + 2
    hourly = [at for at, name, _ in warehouse.builds if name == "hourly"][1:]
    assert all(at.minute == 0 and at.second == 0 for at in hourly), "built late or early"
    daily = [at for at, name, _ in warehouse.builds if name == "daily"][1:]
    assert [at.date() for at in daily] == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert all(at.hour == 0 and at.minute == 0 for at in daily)  # right after hourly, same tick


@pytest.mark.parametrize("max_sleep", [60.0, 7.5, 1.0, 0.5])
def test_loop_never_sleeps_longer_than_max_sleep(project_factory, max_sleep):
    project = two_segment_project(project_factory)
    start = D(2024, 1, 1, 0, 50, 0)
    clock = FakeClock(start)
    warehouse = Warehouse(project, clock)
    run_loop(project, warehouse, clock, until=D(2024, 1, 1, 1, 10), max_sleep=max_sleep)
    assert max(clock.sleeps) <= max_sleep
    # between two looks at the warehouse at most max_sleep passes asleep (plus a build's time)
    gaps = [(b - a).total_seconds() for a, b in zip(warehouse.checks, warehouse.checks[1:])]
    assert max(gaps) <= max_sleep + 2 * warehouse.seconds
    assert [at for at, name, _ in warehouse.builds if name == "hourly"] == [start, D(2024, 1, 1, 1)]


def test_loop_refuses_a_max_sleep_of_zero(project_factory):
    project = two_segment_project(project_factory)
    clock = FakeClock(D(2024, 1, 1))
    warehouse = Warehouse(project, clock)
    with pytest.raises(SegwError, match="max-sleep"):
        run_loop(project, warehouse, clock, until=D(2024, 1, 2), max_sleep=0)


def test_loop_wakes_on_time_with_a_long_max_sleep(project_factory):
    project = two_segment_project(project_factory)
    start = D(2024, 1, 1, 0, 0, 30)
    clock = FakeClock(start)
    warehouse = Warehouse(project, clock)
    run_loop(project, warehouse, clock, until=start + dt.timedelta(hours=3), max_sleep=86400)
    assert [at for at, name, _ in warehouse.builds if name == "hourly"][1:] == \
        [D(2024, 1, 1, 1), D(2024, 1, 1, 2), D(2024, 1, 1, 3)]
    # it slept in chunks, so a stop flag would have been seen within a second
    assert max(clock.sleeps) <= 1.0


def test_loop_stops_when_the_flag_is_set_while_sleeping(project_factory):
    project = two_segment_project(project_factory)
    start = D(2024, 1, 1, 0, 0, 30)
    clock = FakeClock(start)
    warehouse = Warehouse(project, clock)
    stop_at = start + dt.timedelta(minutes=30)
    code, _ = run_loop(project, warehouse, clock, until=None, stop=lambda: clock.current >= stop_at)
    assert code == 0
    assert warehouse.count("hourly") == 1 and warehouse.count("daily") == 1
    assert clock.current <= stop_at + dt.timedelta(seconds=1)


def test_loop_stops_after_a_run_when_the_flag_is_set_during_it(project_factory):
    project = two_segment_project(project_factory)
    clock = FakeClock(D(2024, 1, 1, 0, 0, 30))
    warehouse = Warehouse(project, clock)
    flag = StopFlag()
    original = warehouse.run_due

    def run_due(project, now):
        original(project, now)
        flag.stopped = True

    warehouse.run_due = run_due
    code = scheduler_loop(lambda: project, run_due, warehouse.states_of, clock, flag, lambda line: None)
    assert code == 0
    assert len(warehouse.builds) == 2
    assert clock.sleeps == []


def test_loop_does_not_start_when_already_stopped(project_factory):
    project = two_segment_project(project_factory)
    clock = FakeClock(D(2024, 1, 1))
    warehouse = Warehouse(project, clock)
    assert scheduler_loop(lambda: project, warehouse.run_due, warehouse.states_of, clock,
                          lambda: True, lambda line: None) == 0
    assert warehouse.builds == [] and clock.sleeps == []


def test_loop_honours_max_cycles(project_factory):
    project = two_segment_project(project_factory)
    clock = FakeClock(D(2024, 1, 1, 0, 0, 30))
    warehouse = Warehouse(project, clock)
    run_loop(project, warehouse, clock, until=D(2024, 1, 2), max_cycles=3)
    assert warehouse.count("hourly") == 3


def test_a_failing_segment_does_not_spin_the_loop(project_factory):
    project = two_segment_project(project_factory)
    start = D(2024, 1, 1, 0, 0, 30)
    clock = FakeClock(start)
    warehouse = Warehouse(project, clock, fail={"daily"})
    run_loop(project, warehouse, clock, until=start + dt.timedelta(hours=5), max_cycles=200)
    # retried at its ticks, not over and over within one: the first try, then midnight is 24 h away
    assert warehouse.count("daily") <= 5
    assert warehouse.count("hourly") == 1 + 5
    assert clock.current >= start + dt.timedelta(hours=5)


def test_the_loop_reloads_the_project_every_cycle(project_factory):
    hourly_only = two_segment_project(project_factory)
    clock = FakeClock(D(2024, 1, 1, 0, 0, 30))
    warehouse = Warehouse(hourly_only, clock)
    loads = []

    def loader():
        loads.append(clock.now())
        return hourly_only

    scheduler_loop(loader, warehouse.run_due, warehouse.states_of, clock,
                   lambda: clock.current >= D(2024, 1, 1, 1, 0, 30), lambda line: None, max_sleep=300)
    assert len(loads) >= 12  # once per look: every five minutes and after each build


# -- signals and the real clock ---------------------------------------------------------------


def test_stop_flag_is_set_by_sigterm_and_sigint():
    old_term, old_int = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            flag = StopFlag()
            flag.install()
            assert not flag()
            os.kill(os.getpid(), signum)
            for _ in range(100):  # the handler runs at the next bytecode boundary
                if flag():
                    break
                time.sleep(0.01)
            assert flag() and flag.stopped
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


def test_real_clock_is_naive_utc_in_whole_seconds():
    now = Clock().now()
    assert now.tzinfo is None and now.microsecond == 0
    utc = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert abs((utc - now).total_seconds()) < 5
