"""How the CLI prints for --log-format: rich text on a terminal, plain unwrapped lines in a pipe,
or one JSON object per line (`--log-format json`, as dbt writes them) for orchestrators."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
import threading

FORMATS = ("text", "json")
PIPE_WIDTH = 10_000  # wide enough that nothing is wrapped when stdout is a file or a pipe


class State:
    format: str = "text"


def set_format(log_format: str | None) -> None:
    if log_format:
        State.format = log_format


def json_mode() -> bool:
    return State.format == "json"


def make_console(stderr: bool = False):
    """The console a command prints through, for the chosen log format."""
    if json_mode():
        return JsonConsole(stderr)
    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty() or bool(os.environ.get("FORCE_COLOR"))
    return Console(stderr=stderr, highlight=False, soft_wrap=True,
                   width=None if terminal else PIPE_WIDTH)


def plain(renderable) -> str:
    """A rich renderable (markup text, a table) as plain text without styles or wrapping."""
    from rich.console import Console
    from rich.text import Text

    if isinstance(renderable, str):
        try:
            return Text.from_markup(renderable).plain
        except Exception:  # not markup after all (a bracket in a message)
            return renderable
    buffer = io.StringIO()
    Console(file=buffer, width=PIPE_WIDTH, no_color=True, highlight=False, soft_wrap=True).print(renderable)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()).strip("\n")


def emit(name: str, msg: str, level: str = "info", stderr: bool = False, **data) -> None:
    """One JSON object on one line: {"info": {name, level, msg, ts, invocation_id, ...}, "data": {...}}."""
    from .artifacts import Invocation
    from .project.jinja import SECRETS

    record = {"info": {"name": name, "level": level, "msg": msg,
                       "ts": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
                       "invocation_id": Invocation.invocation_id, "pid": os.getpid(),
                       "thread": threading.current_thread().name, "category": "", "code": "",
                       "extra": {}},
              "data": data}
    stream = sys.stderr if stderr else sys.stdout
    stream.write(SECRETS.mask(json.dumps(record, default=str)) + "\n")
    stream.flush()


class JsonConsole:
    """Stands in for rich's Console under --log-format json: every print is one JSON line."""

    is_terminal = False

    def __init__(self, stderr: bool = False):
        self.stderr = stderr

    def print(self, *objects, style=None, **kwargs) -> None:
        text = " ".join(plain(o) for o in objects)
        level = "error" if text.startswith("error:") else "warn" if text.startswith("warning:") else "info"
        emit("Message", text, level)  # one stream, as dbt: errors are lines with level "error"


class JsonEvents:
    """Build events as JSON lines: run start, each model, each segment started and its result."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def start(self, total_models: int, total_segments: int) -> None:
        emit("BuildStarted", f"building {total_models} models and {total_segments} segments",
             models=total_models, segments=total_segments)

    def model(self, name: str) -> None:
        emit("ModelBuilt", f"model {name} built", node_info={"node_name": name, "resource_type": "model"})

    def segment_started(self, name: str) -> None:
        emit("SegmentStarted", f"segment {name} started",
             node_info={"node_name": name, "resource_type": "segment", "node_status": "started"})

    def segment_done(self, result) -> None:
        from .artifacts import STATUS
        status = STATUS.get(result.status, result.status)
        seconds = getattr(result, "execution_time", None) or ((result.finished_at - result.started_at)
                   .total_seconds() if result.finished_at and result.started_at else 0.0)
        msg = (f"segment {result.segment}: {result.size} members (+{result.entered} -{result.exited})"
               if status == "success" else f"segment {result.segment} {status}: {result.error or ''}")
        emit("SegmentResult", msg, "info" if status == "success" else "error" if status == "error" else "warn",
             status=status, execution_time=seconds, size=result.size, entered=result.entered,
             exited=result.exited, moved=result.moved, message=result.error,
             node_info={"node_name": result.segment, "resource_type": "segment", "node_status": status})
