"""One build: pin as_of and run_id, build models, then every selected segment in dependency order."""
from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .columns import Catalog, check_segment_columns
from .compiler.segment import segment_query
from .errors import SegwError, WarehouseError, did_you_mean
from .materialize import SegmentResult, build_segment, current_size, record_run, utcnow
from .modelbuild import build_models, render_models
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
    render_models(project, as_of)
    for segment in project.segments.values():
        from .compiler.dialects import to_sql
        from sqlglot.errors import SqlglotError
        query = segment_query(project, segment, as_of)
        try:
            to_sql(query, project.dialect)
        except SqlglotError as exc:
            raise SegwError(f"segment '{segment.name}' cannot be compiled for {project.dialect}: {exc}",
                            segment.loc) from None


def build(project: Project, as_of: dt.datetime | None = None, select: Iterable[str] | None = None,
          events: Events | None = None, write_results: bool = True,
          build_models_first: bool = True) -> RunResult:
    events = events or Events()
    as_of = as_of or utcnow()
    names = select_segments(project, select)
    validate_static(project, as_of)
    started = utcnow()
    result = RunResult(new_run_id(started), as_of, started)
    adapter = connect(project.target)
    try:
        sql_models = [m for m in project.models] if build_models_first else []
        events.start(len(sql_models), len(names))
        if build_models_first:
            result.models = build_models(adapter, project, as_of, events.model)
        schema = project.segment_schema
        ensure_output_tables(adapter, schema)
        catalog = Catalog(adapter)
        for name in names:
            segment = project.segments[name]
            events.segment_started(name)
            seg_started = utcnow()
            try:
                check_segment_columns(project, segment, catalog)
                outcome = build_segment(adapter, project, segment, result.run_id, as_of, seg_started)
            except SegwError as exc:
                message = SECRETS.mask(str(exc))
                finished = utcnow()
                size = current_size(adapter, schema, name)
                record_run(adapter, schema, result.run_id, name, as_of, seg_started, finished,
                           "failed", size, 0, 0, message)
                outcome = SegmentResult(name, "failed", size or 0, 0, 0, message, seg_started, finished)
            result.segments.append(outcome)
            events.segment_done(outcome)
    finally:
        adapter.close()
    result.finished_at = utcnow()
    if write_results:
        write_run_results(project, result)
    return result


def write_run_results(project: Project, result: RunResult) -> Path:
    path = project.root / "target" / "run_results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SECRETS.mask(json.dumps(result.to_json(), indent=2)) + "\n")
    return path


__all__ = ["build", "RunResult", "Events", "parse_as_of", "select_segments", "WarehouseError"]
