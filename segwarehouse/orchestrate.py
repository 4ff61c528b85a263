"""What an Airflow task or a Dagster asset calls: build selected segments in-process, get the results
(as target/run_results.json has them), and fail loudly when a segment failed."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import SegwError


@dataclass
class Outcome:
    """One orchestrated run: its exit code (0 built, 1 some segment failed) and its run results."""
    exit_code: int
    run_results: dict = field(default_factory=dict)

    @property
    def results(self) -> list[dict]:
        """Per segment: name, status (success | error | skipped), size, entered, exited, moved, message."""
        keys = ("status", "size", "entered", "exited", "moved", "message", "execution_time")
        return [{"name": r["unique_id"].split(".", 2)[-1], **{k: r.get(k) for k in keys}}
                for r in self.run_results.get("results", [])]

    @property
    def failed(self) -> list[str]:
        return [r["name"] for r in self.results if r["status"] == "error"]

    def summary(self) -> dict:
        """A small, JSON-safe dict for an XCom or asset metadata."""
        return {"exit_code": self.exit_code, "run_id": self.run_results.get("run_id"),
                "invocation_id": (self.run_results.get("metadata") or {}).get("invocation_id"),
                "segments": {r["name"]: {"status": r["status"], "size": r["size"]} for r in self.results}}


class SegmentsFailed(RuntimeError):
    """Raised when a segment failed, so that the orchestrator's task or asset fails (and retries)."""

    def __init__(self, outcome: Outcome):
        self.outcome = outcome
        super().__init__(f"{len(outcome.failed)} segment(s) failed: {', '.join(outcome.failed)}")


def segment_nodes(project_dir: str | Path = ".", target: str | None = None,
                  profiles_dir: str | Path | None = None, select: Iterable[str] = (),
                  exclude: Iterable[str] = ()) -> list[dict]:
    """The (selected) segments in build order, each with the segments it reads: one asset per
    segment for Dagster, one task per segment for Airflow if you want them. Reads no warehouse."""
    from .project.loader import load_project
    from .selection import select as pick, upstream

    project = load_project(project_dir, target, profiles_dir)
    reads = upstream(project)
    return [{"name": name, "depends_on": sorted(reads[name]), "tags": list(project.segments[name].tags),
             "category": project.segments[name].category, "description": project.segments[name].description,
             "entity": project.segments[name].entity, "schedule": project.schedule_of(project.segments[name])}
            for name in pick(project, select, exclude)]


def run_segments(project_dir: str | Path = ".", select: Iterable[str] = (), exclude: Iterable[str] = (), *,
                 due_only: bool = False, state: str | Path | None = None, target: str | None = None,
                 profiles_dir: str | Path | None = None, vars: dict | None = None, threads: int | None = None,
                 fail_fast: bool = False, as_of: str | None = None, full_refresh: bool = False,
                 raise_on_failure: bool = True) -> Outcome:
    """`segw build --select ...` (or `segw run` with due_only=True) in this process.

    Writes target/run_results.json and target/manifest.json as the CLI does. An invalid project
    raises SegwError; a failed segment raises SegmentsFailed (unless raise_on_failure=False)."""
    from .artifacts import Invocation, run_results
    from .project.loader import load_project
    from .runner import RunResult, build, new_run_id, parse_as_of, write_run_results
    from .selection import select as pick

    Invocation.start("orchestrate", {"project_dir": str(project_dir), "select": list(select),
                                     "exclude": list(exclude), "due_only": due_only, "threads": threads,
                                     "fail_fast": fail_fast, "as_of": as_of, "full_refresh": full_refresh})
    project = load_project(project_dir, target, profiles_dir, vars)
    names = pick(project, select, exclude, state)
    if due_only and names:
        names = _due(project, names)
    if not names:  # nothing selected or due: an empty run, never everything
        from .materialize import utcnow
        now = utcnow()
        result = RunResult(new_run_id(now), now, now, now)
        write_run_results(project, result)
        return Outcome(0, run_results(result, project.config.name, project.target.type))
    result = build(project, parse_as_of(as_of) if as_of else None, names, fail_fast=fail_fast,
                   threads=threads or int(project.target.settings.get("threads") or 1),
                   full_refresh=full_refresh)
    outcome = Outcome(result.exit_code, run_results(result, project.config.name, project.target.type))
    if outcome.exit_code and raise_on_failure:
        raise SegmentsFailed(outcome)
    return outcome


def _due(project, names: list[str]) -> list[str]:
    from .runner import connect_waiting
    from .schedule import Clock, read_state
    from .selection import due_within

    adapter = connect_waiting(project, project.config.lock_timeout)
    try:
        return due_within(project, names, read_state(adapter, project), Clock().now())
    finally:
        adapter.close()


__all__ = ["run_segments", "segment_nodes", "Outcome", "SegmentsFailed", "SegwError"]
