"""`segw -v`: segwarehouse's DEBUG log records on stderr, one line each (SQL with durations, timings).

The library only logs, under `segwarehouse.` (`segwarehouse.sql`: every statement an adapter runs;
`segwarehouse.run`: each segment's stage, diff and commit seconds); it never adds handlers itself."""
from __future__ import annotations

import logging
import sys

LOGGER = "segwarehouse"


class _StderrHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when a record is emitted (click's test runner swaps it)."""

    _segw = True

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


class _Formatter(logging.Formatter):
    """`segw 12:00:01.234 sql    0.012s 5 rows | SELECT ...`"""

    def format(self, record: logging.LogRecord) -> str:
        name = record.name[len(LOGGER) + 1:] if record.name.startswith(LOGGER + ".") else record.name
        stamp = self.formatTime(record, "%H:%M:%S") + f".{int(record.msecs):03d}"
        return f"segw {stamp} {name:<4} {record.getMessage()}"


def configure(verbose: bool) -> None:
    """With -v, every `segwarehouse.*` DEBUG record goes to stderr. Without, a handler that an
    earlier -v of this process installed is removed again (the embedding application's own
    logging configuration is left alone)."""
    logger = logging.getLogger(LOGGER)
    ours = [h for h in logger.handlers if getattr(h, "_segw", False)]
    for handler in ours:
        logger.removeHandler(handler)
    if ours and not verbose:
        logger.setLevel(logging.NOTSET)
    if verbose:
        handler = _StderrHandler()
        handler.setFormatter(_Formatter())
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
