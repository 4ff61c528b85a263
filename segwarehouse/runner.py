"""One build: pin as_of and run_id, build models, then every selected segment in dependency order."""
from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from sqlglot.errors import SqlglotError

from .columns import Catalog, check_segment_columns
from .compiler.dialects import to_sql
from .compiler.segment import segment_query
from .errors import SegwError, WarehouseError, did_you_mean
from .materialize import SegmentResult, build_segment, current_size, record_run, utcnow
from .modelbuild import build_models, render_models
from .project.models import build_order, read_seed
from .outputs import ensure_output_tables
from .project.jinja import SECRETS
from .project.loader import Project
from .warehouse import connect


@dataclass
class RunResult:
    run_id: str
    as_of: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    models: list[str] = field(default_factory=list)
    segments: list[SegmentResult] = field(default_factory=list)

    @property
    def failed(self) -> list[SegmentResult]:
        return [s for s in self.segments if s.status != "success"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_json(self) -> dict:
        def stamp(value):
            return value.isoformat() if value else None
        return {
            "run_id": self.run_id, "as_of": stamp(self.as_of), "started_at": stamp(self.started_at),
            "finished_at": stamp(self.finished_at), "models": self.models,
            "status": "success" if not self.failed else "partial_failure",
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
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0)


def select_segments(project: Project, names: Iterable[str] | None) -> list[str]:
    if not names:
        return list(project.segments)
    chosen = set()
    for name in names:
        for part in str(name).replace(",", " ").split():
            if part not in project.segments:
                raise SegwError(f"unknown segment '{part}' in --select",
                                hint=did_you_mean(part, project.segments) or "see `segw ls`")
            chosen.add(part)
    return [name for name in project.segments if name in chosen]


def validate_static(project: Project, as_of: dt.datetime) -> None:
    """Everything that can be checked without a warehouse: models render, segments compile."""
    build_order(render_models(project, as_of))
    for model in project.models.values():
        if model.kind == "seed":
            read_seed(model)
    for segment in project.segments.values():
        query = segment_query(project, segment, as_of)
        try:
            to_sql(query, project.dialect)
        except SqlglotError as exc:
            raise SegwError(f"segment '{segment.name}' cannot be compiled for {project.dialect}: {exc}",
                            segment.loc) from None


def build(project: Project, as_of: dt.datetime | None = None, select: Iterable[str] | None = None,
          events: Events | None = None, write_results: bool = True, build_models_first: bool = True,
          clock: Callable[[], dt.datetime] | None = None, should_stop: Callable[[], bool] = lambda: False,
          lock_timeout: float | None = None, full_refresh: bool = False,
          validate: bool = True) -> RunResult:
    """Build models, then the selected segments (all by default), one transaction per segment.

    A segment that fails is recorded as failed and keeps its members; the others go on.
    `should_stop` is asked between segments (the scheduler's SIGTERM); `lock_timeout` is how long
    to wait for another writer of the same segment (0: do not wait)."""
    events = events or Events()
    clock = clock or utcnow
    as_of = as_of or clock()
    names = select_segments(project, select)
    if validate:
        validate_static(project, as_of)
    started = clock()
    result = RunResult(new_run_id(started), as_of, started)
    timeout = project.config.lock_timeout if lock_timeout is None else lock_timeout
    adapter = connect_waiting(project, timeout)
    try:
        events.start(len(project.models) if build_models_first else 0, len(names))
        schema = project.segment_schema
        with writer_lock(adapter, project, "models", timeout) as got:
            if not got:
                raise WarehouseError(f"another segwarehouse process is building the models of "
                                     f"{project.model_schema}; gave up after {timeout:g} s",
                                     hint="wait for it to finish, or raise --lock-timeout")
            if build_models_first:
                result.models = build_models(adapter, project, as_of, events.model)
            ensure_output_tables(adapter, schema)
        catalog = Catalog(adapter)
        for name in names:
            if should_stop():
                break
            segment = project.segments[name]
            events.segment_started(name)
            seg_started = clock()
            try:
                with writer_lock(adapter, project, name, timeout) as got:
                    if not got:
                        raise WarehouseError(
                            f"segment '{name}' is being built by another process; gave up after "
                            f"{timeout:g} s", hint="wait for it to finish, or raise --lock-timeout")
                    check_segment_columns(project, segment, catalog)
                    outcome = build_segment(adapter, project, segment, result.run_id, as_of, seg_started, clock,
                                            full_refresh=full_refresh)
            except SegwError as exc:
                message = SECRETS.mask(str(exc))
                finished = clock()
                size = current_size(adapter, schema, name)
                record_run(adapter, schema, result.run_id, name, as_of, seg_started, finished,
                           "failed", size, 0, 0, message)
                outcome = SegmentResult(name, "failed", size or 0, 0, 0, message, seg_started, finished)
            result.segments.append(outcome)
            events.segment_done(outcome)
    finally:
        adapter.close()
    result.finished_at = clock()
    if write_results:
        write_run_results(project, result)
    return result


def connect_waiting(project: Project, timeout: float):
    """Connect; a DuckDB file held by another process is retried until the lock timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return connect(project.target)
        except SegwError as exc:
            if "another process" not in (exc.hint or ""):
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
    path = project.root / "target" / "run_results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SECRETS.mask(json.dumps(result.to_json(), indent=2)) + "\n")
    return path


__all__ = ["build", "RunResult", "Events", "parse_as_of", "select_segments", "WarehouseError"]
