"""One build: pin as_of and run_id, build models, then every selected segment in dependency order."""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from sqlglot.errors import SqlglotError

from .catalog import LostRace, orphans, stored_segments
from .columns import Catalog, check_segment_columns
from .compiler.dialects import to_sql
from .compiler.segment import segment_query
from .errors import SegwError, WarehouseBusy, WarehouseError, did_you_mean
from .incremental import plan_increments, shared_inputs
from .materialize import (SegmentResult, Staged, build_segment, current_size, prefetch_relations, record_run,
                          retire_segment, utcnow)
from .modelbuild import build_models, models_read_by, render_models
from .names import check_names
from .project.models import build_order, read_seed
from .outputs import ensure_output_tables, table
from .project.jinja import SECRETS
from .project.loader import Project
from .project.profiles import missing_duckdb_file
from .shared_passes import shared_passes
from .together import commit_together
from .validate import collect_warnings
from .warehouse import connect

log = logging.getLogger("segwarehouse.run")

# as_of must fit every engine's timestamp (MySQL DATETIME: 1000-9999) with room for windows.
EARLIEST_AS_OF = dt.datetime(1900, 1, 1)
LATEST_AS_OF = dt.datetime(9000, 12, 31, 23, 59, 59)


@dataclass
class RunResult:
    run_id: str
    as_of: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    models: list[str] = field(default_factory=list)
    segments: list[SegmentResult] = field(default_factory=list)
    error: str | None = None  # the run stopped before its segments (invalid project, model failure)
    orphans: list[str] = field(default_factory=list)  # stored, no longer defined: to retire
    warnings: list[str] = field(default_factory=list)
    # Seconds of the run's own steps besides its segments': `close` (closing the connection; on
    # DuckDB, the checkpoint that writes the run's changes into the file).
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[SegmentResult]:
        return [s for s in self.segments if s.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.error else 0

    def to_json(self) -> dict:
        def stamp(value):
            return value.isoformat() if value else None
        return {
            "run_id": self.run_id, "as_of": stamp(self.as_of), "started_at": stamp(self.started_at),
            "finished_at": stamp(self.finished_at), "models": self.models,
            "status": "error" if self.error else "partial_failure" if self.failed else "success",
            "error": self.error, "orphans": self.orphans, "warnings": self.warnings,
            "segments": [{**asdict(s), "started_at": stamp(s.started_at),
                          "finished_at": stamp(s.finished_at)} for s in self.segments],
        }


class Events:
    """What a build tells the outside while it works (the CLI draws progress from it)."""

    def start(self, total_models: int, total_segments: int) -> None: ...
    def model(self, name: str) -> None: ...
    def segment_started(self, name: str) -> None: ...
    def segment_done(self, result: SegmentResult) -> None: ...


def new_run_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def parse_as_of(text: str | None) -> dt.datetime:
    if text is None:
        return utcnow()
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SegwError(f"invalid --as-of {text!r}",
                        hint="write an ISO timestamp such as 2024-06-30 or 2024-06-30T12:00:00Z") from None
    if value.tzinfo is not None:
        try:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        except OverflowError:
            value = dt.datetime.min if value.year < 5000 else dt.datetime.max
    if not EARLIEST_AS_OF <= value <= LATEST_AS_OF:
        raise SegwError(f"--as-of {text!r} is outside the range every warehouse can store",
                        hint=f"use a time between {EARLIEST_AS_OF:%Y-%m-%d} and {LATEST_AS_OF:%Y-%m-%d}")
    return value.replace(microsecond=0)


def select_segments(project: Project, names: Iterable[str] | None) -> list[str]:
    if not names:
        return list(project.segments)
    chosen = set()
    for name in names:
        for part in str(name).replace(",", " ").split():
            if part not in project.segments:
                raise SegwError(f"unknown segment '{part}'",
                                hint=did_you_mean(part, project.segments) or
                                "see `segw ls`; a segment removed or renamed in YAML keeps its members "
                                f"until `segw retire {part}`")
            chosen.add(part)
    return [name for name in project.segments if name in chosen]


def validate_static(project: Project, as_of: dt.datetime) -> None:
    """Everything that can be checked without a warehouse: names, models render, segments compile."""
    check_names(project)
    build_order(render_models(project, as_of))
    for model in project.models.values():
        if model.kind == "seed":
            read_seed(model)
    for segment in project.segments.values():
        try:  # every `sql:` condition parsed and checked, every construct said in the target's dialect
            to_sql(segment_query(project, segment, None if segment.materialized == "view" else as_of),
                   project.dialect)
        except SqlglotError as exc:
            raise SegwError(f"segment '{segment.name}' cannot be compiled for {project.dialect}: {exc}",
                            segment.loc) from None


def build(project: Project, as_of: dt.datetime | None = None, select: Iterable[str] | None = None,
          events: Events | None = None, write_results: bool = True, build_models_first: bool = True,
          clock: Callable[[], dt.datetime] | None = None, should_stop: Callable[[], bool] = lambda: False,
          lock_timeout: float | None = None, full_refresh: bool = False,
          validate: bool = True, warn_error: bool = False, fail_fast: bool = False,
          threads: int = 1) -> RunResult:
    """Build models, then the selected segments (all by default), one transaction per segment.

    A segment that fails is recorded as failed and keeps its members; the others go on. A lost
    connection fails the segment in hand; the run reconnects for the rest. `should_stop` is asked
    between segments (the scheduler's SIGTERM); `lock_timeout` bounds every lock wait (0: none).
    `fail_fast` skips what is left after the first failure; `threads` > 1 builds segments that do not
    read each other concurrently, one connection each, where the engine allows concurrent writers.
    Whatever happens, `target/run_results.json` and `segment_runs` say so."""
    events = events or Events()
    clock = clock or utcnow
    as_of_given = as_of is not None
    as_of = as_of or clock()
    started = clock()
    result = RunResult(new_run_id(started), as_of, started)
    tick = time.perf_counter()
    names: list[str] = []
    try:
        names = select_segments(project, select)
        if validate:
            validate_static(project, as_of)
        _build(project, result, names, events, build_models_first, clock, should_stop, lock_timeout,
               full_refresh, as_of_given, warn_error, fail_fast, threads)
    except SegwError as exc:
        result.error = SECRETS.mask(str(exc))
        _record_stopped_run(project, result, names, clock)
        raise
    finally:
        result.finished_at = clock()
        result.elapsed_time = time.perf_counter() - tick  # run_results.json's elapsed_time
        if write_results:
            write_run_results(project, result)
    return result


def _build(project: Project, result: RunResult, names: list[str], events: Events, build_models_first: bool,
           clock, should_stop, lock_timeout, full_refresh: bool, as_of_given: bool, warn_error: bool,
           fail_fast: bool = False, threads: int = 1) -> None:
    timeout = project.config.lock_timeout if lock_timeout is None else lock_timeout
    schema = project.segment_schema
    as_of = result.as_of
    def connected():
        fresh = connect_waiting(project, timeout)
        fresh.set_lock_timeout(timeout)
        return fresh

    adapter = connected()
    try:
        events.start(len(project.models) if build_models_first else 0, len(names))
        with writer_lock(adapter, project, "models", timeout) as got:
            if not got:
                raise WarehouseBusy(f"another segwarehouse process is building the models of "
                                     f"{project.model_schema}; gave up after {timeout:g} s",
                                     hint="wait for it to finish, or raise --lock-timeout")
            ensure_output_tables(adapter, schema)
            if as_of_given:
                _refuse_going_back(project, stored_segments(adapter, schema, names, known_to_exist=True), as_of)
            if build_models_first:
                only = None if len(names) == len(project.segments) else models_read_by(project, names)
                result.models = build_models(adapter, project, as_of, events.model,
                                             restore=lambda: restore_views(adapter, project), only=only,
                                             force=full_refresh)
        result.warnings = [SECRETS.mask(str(w)) for w in collect_warnings(project, adapter, names)]
        if warn_error and result.warnings:
            raise SegwError(f"{len(result.warnings)} warning(s) with --warn-error: {result.warnings[0]}",
                            hint="fix the warnings, or build without --warn-error")
        before = stored_segments(adapter, schema, names)
        catalog = Catalog(adapter)

        def build_one(adapter, catalog, name, defer: bool = False, wait: bool = True):
            """One segment on this connection: (its outcome, the connection and catalog to go on with).
            With `defer`, a segment staged for a later commit comes back as `Held`, its lock held.
            With `wait` False, a lock held elsewhere returns BUSY at once (nothing recorded)."""
            if adapter.broken:  # the connection died in the segment before: the rest go on
                adapter.close()
                adapter = connected()
                catalog = Catalog(adapter)
            segment = project.segments[name]
            seg_started = clock()
            wall, tick = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), time.perf_counter()
            try:
                with ExitStack() as lock:
                    if not lock.enter_context(writer_lock(adapter, project, name, timeout if wait else 0)):
                        if not wait:
                            return BUSY, adapter, catalog
                        raise WarehouseBusy(
                            f"segment '{name}' is being built by another process; gave up after "
                            f"{timeout:g} s", hint="wait for it to finish, or raise --lock-timeout")
                    check_segment_columns(project, segment, catalog, typed=True)
                    outcome = build_segment(adapter, project, segment, result.run_id, as_of, seg_started, clock,
                                            full_refresh=full_refresh, as_of_given=as_of_given,
                                            increment=increments.get(name), features=passes.of(name),
                                            present=present, facts=facts, defer=defer)
                    if isinstance(outcome, Staged):  # committed later: the lock stays held until then
                        return Held(outcome, lock.pop_all(), wall, tick), adapter, catalog
            except SegwError as exc:
                outcome, adapter, catalog = failed(adapter, catalog, name, seg_started, exc)
            return timed(outcome, wall, tick), adapter, catalog

        def failed(adapter, catalog, name, seg_started, exc: SegwError):
            """The outcome of a segment that raised `exc`, recorded (on a new connection if need be)."""
            if isinstance(exc, LostRace):
                outcome = SegmentResult(name, "skipped", current_size(adapter, schema, name) or 0, 0, 0,
                                        exc.message, seg_started, clock())
                record_run(adapter, schema, result.run_id, name, as_of, seg_started, outcome.finished_at,
                           "skipped", outcome.size, 0, 0, exc.message)
                return outcome, adapter, catalog
            exc = _blame_sql(project, adapter, project.segments[name], as_of, exc)
            if adapter.broken:  # record the failure on a new connection
                adapter.close()
                adapter = connected()
                catalog = Catalog(adapter)
            return _record_failure(project, adapter, result, name, seg_started, clock, exc), adapter, catalog

        def commit_held(adapter, catalog, held: list[Held]):
            """Commit the staged segments together (one at a time if that fails), release their locks:
            (their outcomes in order, the connection and catalog to go on with)."""
            outcomes: list[SegmentResult] | None = None
            try:
                if len(held) > 1:
                    try:
                        outcomes = commit_together([h.staged for h in held])
                    except SegwError as exc:  # one segment's fault must not fail the others
                        log.info("committing %d segments together failed (%s); committing them one at a time",
                                 len(held), exc.message)
                if outcomes is None:
                    outcomes = []
                    for h in held:
                        try:
                            if adapter.broken or h.staged.ctx.adapter is not adapter:  # its lock went with it
                                raise WarehouseError(f"the connection was lost before segment "
                                                     f"'{h.staged.name}' was committed; it keeps its members")
                            outcomes.append(h.staged.commit())
                        except SegwError as exc:
                            outcome, adapter, catalog = failed(adapter, catalog, h.staged.name,
                                                               h.staged.ctx.started_at, exc)
                            outcomes.append(outcome)
            finally:
                for h in held:
                    if outcomes is None:
                        h.staged.discard()
                    h.lock.close()
            return [timed(o, h.wall, h.tick) for o, h in zip(outcomes, held)], adapter, catalog

        def timed(outcome: SegmentResult, wall: dt.datetime, tick: float) -> SegmentResult:
            outcome.execution_time = time.perf_counter() - tick  # for run_results.json's timing
            outcome.timing = (wall, wall + dt.timedelta(seconds=outcome.execution_time))
            return outcome

        def finish(outcome: SegmentResult) -> None:
            result.segments.append(outcome)
            previous = before.get(outcome.segment)
            if outcome.status == "success" and outcome.size == 0 and previous is not None and previous.size:
                result.warnings.append(f"{project.segments[outcome.segment].loc}: segment '{outcome.segment}' "
                                       f"is empty now; its previous run had {previous.size} members")
            events.segment_done(outcome)

        present = adapter.table_names(schema, "%_segw_%")  # work tables a killed run left behind
        facts: dict = {}  # what segments of this run learn once for all (shared by worker threads)
        prefetch_relations(adapter, schema, names, facts)
        # Incremental segments: planned together, and their changed keys' rows read once for all.
        increments = plan_increments(adapter, project, names, as_of, full_refresh)
        with shared_inputs(adapter, project, increments, as_of,
                           lambda entity: writer_lock(adapter, project, f"increments:{entity}", 0)), \
                shared_passes(adapter, project, names, increments, as_of,
                              lambda entity: writer_lock(adapter, project, f"passes:{entity}", 0)) as passes:
            if threads > 1 and adapter.concurrent_writers and len(names) > 1:
                _build_concurrently(project, names, threads, build_one, finish, connected, events, result,
                                    should_stop, fail_fast, clock)
            else:
                # Segments that do not read each other are committed together where the engine
                # allows (`commits_together`); a segment waits for those it reads to be committed.
                together = adapter.commits_together and len(names) > 1
                held: list[Held] = []

                def commit_what_is_held():
                    nonlocal adapter, catalog, held
                    outcomes, adapter, catalog = commit_held(adapter, catalog, held)
                    held = []
                    for outcome in outcomes:
                        finish(outcome)

                try:
                    for name in names:
                        if held and (len(held) >= MOST_TOGETHER or project.dependencies(name) & {
                                h.staged.name for h in held} or sum(h.staged.staged_rows for h in held) >= MOST_STAGED):
                            commit_what_is_held()
                        if should_stop():
                            break
                        if fail_fast and result.failed:
                            finish(_skipped_after_failure(name, result, clock))
                            continue
                        events.segment_started(name)
                        # Never wait for a lock while holding others (two runs could wait on each
                        # other): when it is taken, commit what is held first, then wait for it.
                        outcome, adapter, catalog = build_one(adapter, catalog, name, defer=together, wait=not held)
                        if outcome is BUSY:
                            commit_what_is_held()
                            outcome, adapter, catalog = build_one(adapter, catalog, name, defer=together)
                        if isinstance(outcome, Held):
                            held.append(outcome)
                        else:
                            finish(outcome)
                    commit_what_is_held()
                finally:
                    for h in held:  # an unexpected error: nothing of theirs is committed
                        h.staged.discard()
                        h.lock.close()
        result.orphans = orphans(adapter, project)
    finally:
        tick = time.perf_counter()
        adapter.close()
        result.timings["close"] = time.perf_counter() - tick


@dataclass
class Held:
    """A segment staged and waiting for its commit, its writer lock held (`lock.close()` releases)."""
    staged: Staged
    lock: ExitStack
    wall: dt.datetime
    tick: float


BUSY = object()  # a segment whose writer lock another process holds (see build_one's `wait`)
MOST_TOGETHER = 50  # segments committed in one transaction at most (locks held, statement length)
MOST_STAGED = 2_000_000  # ... and members waiting in their stage tables (work tables in memory on DuckDB)


def _skipped_after_failure(name: str, result: RunResult, clock) -> SegmentResult:
    now = clock()
    return SegmentResult(name, "skipped", 0, 0, 0,
                         f"not built: --fail-fast after segment '{result.failed[0].segment}' failed", now, now)


def _build_concurrently(project: Project, names: list[str], threads: int, build_one, finish, connected,
                        events: Events, result: RunResult, should_stop, fail_fast: bool, clock) -> None:
    """--threads N: a segment starts once the segments it reads are done; each worker thread has a
    connection of its own. Results are listed in build order, as a serial build lists them."""
    import threading
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    local = threading.local()
    opened = []
    lock = threading.Lock()

    def work(name: str):
        if not hasattr(local, "held"):  # this thread's own connection, opened on its first segment
            local.held = [connected(), None]
            local.held[1] = Catalog(local.held[0])
            with lock:
                opened.append(local.held)
        outcome, local.held[0], local.held[1] = build_one(*local.held, name)
        outcome.thread_id = threading.current_thread().name
        return outcome

    within = set(names)
    reads = {name: project.dependencies(name) & within for name in names}
    pending, running, done = list(names), {}, set()
    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="Thread") as pool:
            while pending or running:
                stopping = should_stop() or (fail_fast and result.failed)
                if not stopping:
                    for name in [n for n in pending if reads[n] <= done][:threads - len(running)]:
                        pending.remove(name)
                        events.segment_started(name)
                        running[pool.submit(work, name)] = name
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    done.add(running.pop(future))
                    finish(future.result())
    finally:
        for held in opened:
            held[0].close()
    if fail_fast and result.failed and not should_stop():
        for name in pending:
            finish(_skipped_after_failure(name, result, clock))
    order = {name: i for i, name in enumerate(names)}
    result.segments.sort(key=lambda s: order.get(s.segment, len(order)))


def _blame_sql(project: Project, adapter, segment, as_of: dt.datetime, exc: SegwError) -> SegwError:
    """A warehouse error in a segment with `sql:` conditions: name the condition at fault, at its line."""
    from .language import types as t
    from .validate import check_runs

    names = [segment.name, *project.dependencies(segment.name)]
    has_sql = any(isinstance(node, t.Sql) for n in names if project.segments[n].rules is not None
                  for node in t.walk(project.segments[n].rules))
    if not has_sql or type(exc) is not WarehouseError or adapter.broken:
        return exc
    for name in names:
        try:
            check_runs(project, project.segments[name], adapter, as_of)
        except SegwError as found:
            return WarehouseError(found.message, found.location, found.hint)
    return exc


def _refuse_going_back(project: Project, stored: dict, as_of: dt.datetime) -> None:
    """An --as-of earlier than segments' last one is refused before anything is built."""
    later = sorted((s.last_as_of, name) for name, s in stored.items()
                   if s.status == "active" and s.last_as_of is not None and s.last_as_of > as_of)
    if later:
        names = ", ".join(name for _, name in later[:5]) + (f" and {len(later) - 5} more" if len(later) > 5 else "")
        raise SegwError(f"--as-of {as_of:%Y-%m-%d %H:%M:%S} is earlier than the last build of {names} "
                        f"(as of {later[-1][0]:%Y-%m-%d %H:%M:%S}); a segment's as_of never goes back",
                        hint="read the past with `segw preview SEGMENT --as-of ...`, which writes nothing")


def _record_failure(project, adapter, result, name, started, clock, exc) -> SegmentResult:
    """A failed segment keeps its members; its failure is recorded when the warehouse answers."""
    message = SECRETS.mask(str(exc))
    finished = clock()
    schema = project.segment_schema
    size = None
    try:
        size = current_size(adapter, schema, name)
        record_run(adapter, schema, result.run_id, name, result.as_of, started, finished, "failed", size,
                   0, 0, message)
    except WarehouseError:
        pass  # the warehouse went away again: the run results still say what happened
    return SegmentResult(name, "failed", size or 0, 0, 0, message, started, finished)


def _record_stopped_run(project: Project, result: RunResult, names: list[str], clock) -> None:
    """A run that stopped before its segments (invalid project, failed model) still leaves a
    `failed` row per selected segment in segment_runs, when the warehouse answers."""
    names = [n for n in names if n not in {s.segment for s in result.segments}]
    if not names:
        return
    finished = clock()
    for name in names:
        result.segments.append(SegmentResult(name, "failed", 0, 0, 0, result.error, result.started_at, finished))
    if missing_duckdb_file(project.target):
        return  # never create a warehouse just to say that nothing was built
    try:
        adapter = connect(project.target)
    except SegwError:
        return
    try:
        schema = project.segment_schema
        if adapter.relation_kind(schema, "segment_runs") is None:
            return
        for name in names:
            record_run(adapter, schema, result.run_id, name, result.as_of, result.started_at, finished,
                       "failed", current_size(adapter, schema, name), 0, 0, result.error)
    except SegwError:
        pass
    finally:
        adapter.close()


def restore_views(adapter, project: Project) -> None:
    """Recreate stored view segments that a model's DROP ... CASCADE took (PostgreSQL)."""
    from sqlglot import exp

    schema = project.segment_schema
    stored = stored_segments(adapter, schema)
    for name, segment in project.segments.items():
        if segment.materialized != "view" or name not in stored or stored[name].status != "active":
            continue
        if adapter.relation_kind(schema, name) is None:
            adapter.execute(exp.Create(this=table(schema, name), kind="VIEW",
                                       expression=segment_query(project, segment, None)))


def retire(project: Project, names: Iterable[str], lock_timeout: float | None = None,
           clock: Callable[[], dt.datetime] | None = None) -> dict[str, int]:
    """Retire stored segments that the project no longer defines: {name: members that exited}."""
    clock = clock or utcnow
    timeout = project.config.lock_timeout if lock_timeout is None else lock_timeout
    adapter = connect_waiting(project, timeout)
    out: dict[str, int] = {}
    try:
        adapter.set_lock_timeout(timeout)
        schema = project.segment_schema
        stored = stored_segments(adapter, schema)
        for name in names:
            if name in project.segments:
                raise SegwError(f"segment '{name}' is still defined at {project.segments[name].loc}",
                                project.segments[name].loc,
                                "delete it from segments/ first (a rename is a retire plus a new segment)")
            if name not in stored:
                raise SegwError(f"no segment '{name}' is stored in schema {schema}",
                                hint=did_you_mean(name, stored) or "see `segw status` for stored segments")
        ensure_output_tables(adapter, schema)
        now = clock()
        run_id = new_run_id(now)
        for name in names:
            with writer_lock(adapter, project, name, timeout) as got:
                if not got:
                    raise WarehouseBusy(f"segment '{name}' is being built by another process; gave up "
                                         f"after {timeout:g} s")
                out[name] = retire_segment(adapter, project, name, run_id, now, clock)
    finally:
        adapter.close()
    return out


def connect_waiting(project: Project, timeout: float):
    """Connect; a DuckDB file held by another process is retried until the lock timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect(project.target)
        except SegwError as exc:
            if not isinstance(exc, WarehouseBusy):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseError(f"{exc.message}; gave up after {timeout:g} s", exc.location,
                                     exc.hint) from None
            time.sleep(0.25)


@contextmanager
def writer_lock(adapter, project: Project, name: str, timeout: float):
    key = f"segw:{project.segment_schema}:{name}"
    got = adapter.lock(key, timeout)
    try:
        yield got
    finally:
        if got:
            adapter.release_lock(key)


def write_run_results(project: Project, result: RunResult) -> Path:
    from .artifacts import write_manifest
    try:
        write_manifest(project)  # target/manifest.json beside the results, for other tools
    except (SegwError, SqlglotError):
        pass  # a segment that does not compile is already the run's error
    return _write_results(project.root, result, project.config.name, project.target.type)


def _write_results(root: Path, result: RunResult, project_name: str | None = None,
                   adapter_type: str | None = None) -> Path:
    from .artifacts import run_results, write_json
    return write_json(root, "run_results.json", run_results(result, project_name, adapter_type))


def write_failed_results(root: Path, error: str) -> Path:
    """run_results.json for a run that could not start (the project does not load): never stale."""
    now = utcnow()
    return _write_results(root, RunResult(new_run_id(now), now, now, now, error=SECRETS.mask(error)))


__all__ = ["build", "retire", "RunResult", "Events", "parse_as_of", "select_segments", "WarehouseError"]
