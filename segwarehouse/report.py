"""What people see: build progress, the results table, segment lists and previews (rich)."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from .materialize import SegmentResult
from .runner import Events, RunResult


class Progress(Events):
    """A rich progress bar fed by build events; silent when output is not a terminal."""

    def __init__(self, console: Console):
        self.console = console
        self.bar = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                transient=True)
        self.models_task = self.segments_task = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def start(self, total_models: int, total_segments: int) -> None:
        self.models_task = self.bar.add_task("models", total=total_models)
        self.segments_task = self.bar.add_task("segments", total=total_segments)

    def model(self, name: str) -> None:
        self.bar.update(self.models_task, advance=1, description=f"model {name}")

    def segment_started(self, name: str) -> None:
        self.bar.update(self.segments_task, description=f"segment {name}")

    def segment_done(self, result: SegmentResult) -> None:
        self.bar.update(self.segments_task, advance=1)
        if not self.console.is_terminal:
            return
        mark = "[green]ok[/]" if result.status == "success" else "[red]FAILED[/]"
        self.console.print(f"  {mark} {result.segment}: {result.size} members "
                           f"(+{result.entered} −{result.exited})")


def results_table(result: RunResult) -> Table:
    table = Table(title=f"segments as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC", title_justify="left")
    for name, justify in (("segment", "left"), ("size", "right"), ("entered", "right"),
                          ("exited", "right"), ("status", "left")):
        table.add_column(name, justify=justify)
    for item in result.segments:
        status = "[green]success[/]" if item.status == "success" else "[red]failed[/]"
        table.add_row(item.segment, f"{item.size:,}", f"{item.entered:,}", f"{item.exited:,}", status)
    return table


def segments_table(project) -> Table:
    table = Table(title=f"{project.config.name}: {len(project.segments)} segments", title_justify="left")
    from .incremental import static_mode

    for name in ("segment", "entity", "materialized", "evaluates", "schedule", "category", "tags", "title"):
        table.add_column(name, overflow="fold")
    for segment in project.segments.values():
        table.add_row(segment.name, segment.entity, segment.materialized, mode_text(*static_mode(project, segment)),
                      project.schedule_of(segment), segment.category or "", ", ".join(segment.tags),
                      escape(segment.title or ""))
    for item in project.lists.values():
        table.add_row(item.name, item.entity, "list", "", "", "", "", escape(item.source))
    return table


def mode_text(mode: str | None, reason: str | None) -> str:
    """How a segment is evaluated: `changed keys` (incremental), `all keys` with the reason, or live."""
    if mode == "incremental":
        return "changed keys"
    if mode == "view":
        return "live (view)"
    if mode is None:
        return "-"
    return "all keys" + (f": {escape(reason)}" if reason else "")


def preview_table(preview) -> Table:
    table = Table(title=f"{preview.segment}: {preview.size:,} members"
                  + (f" ({', '.join(f'{k} {v:,}' for k, v in preview.splits.items())})" if preview.splits else ""),
                  title_justify="left")
    for name in preview.columns:
        table.add_column(name)
    for row in preview.rows:
        table.add_row(*[escape("" if v is None else str(v)) for v in row])
    return table


def status_table(project, states, due, now, modes=None) -> Table:
    """`modes`: segment -> (mode, reason) of its last run (incremental segments)."""
    modes = modes or {}
    table = Table(title=f"{project.config.name} at {now:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for name, justify in (("segment", "left"), ("schedule", "left"), ("last run", "left"),
                          ("status", "left"), ("evaluated", "left"), ("next due", "left"), ("size", "right"),
                          ("trend", "left"), ("last error", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for name, state in states.items():
        status = state.last_status or "never built"
        color = {"success": "green", "failed": "red"}.get(state.last_status or "", "yellow")
        next_due = "now" if due[name] <= now else f"{due[name]:%Y-%m-%d %H:%M}"
        error = (state.last_error or "").splitlines()[0][:80] if state.last_status == "failed" else ""
        table.add_row(name, project.schedule_of(project.segments[name]),
                      f"{state.last_run_at:%Y-%m-%d %H:%M}" if state.last_run_at else "-",
                      f"[{color}]{escape(status)}[/]", _last_mode(project.segments[name], modes.get(name)),
                      next_due,
                      f"{state.size:,}" if state.size is not None else "-", sparkline(state.sizes[-12:]),
                      escape(error))
    return table


def _last_mode(segment, last) -> str:
    if segment.materialized == "view":
        return mode_text("view", None)
    if segment.materialized == "table":
        return "all keys (table)"
    return mode_text(*last) if last else "-"


BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """Sizes of the last successful runs as a bar per run, scaled between their min and max."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return BARS[3] * len(values)
    return "".join(BARS[round((v - low) / (high - low) * (len(BARS) - 1))] for v in values)
