"""The one error type for user mistakes: it knows where it happened and how to fix it."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class SegwError(Exception):
    """A mistake in the user's project or command, reported without a traceback (exit 2)."""

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class WarehouseError(SegwError):
    """The warehouse refused something at build time (drift, permissions, a type error)."""

    exit_code = 1


class WarehouseBusy(WarehouseError):
    """Another process holds what this one needs (a DuckDB file open for writing, a lock): a fault
    of the moment that waiting may cure. Callers that wait test for this type, never the text."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse cannot be reached or dropped the connection: a fault of the moment, not of
    the project (exit 1, so an orchestrator can tell it from an invalid project and retry)."""


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(str(name), sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None

