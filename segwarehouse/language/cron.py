"""Cron text in the language: which `schedule:` values are valid (croniter's five fields or an alias)."""
from __future__ import annotations

from typing import Any

CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def valid_cron(value: Any) -> bool:
    """Five cron fields croniter understands that fire on some real date (not `0 0 30 2 *`),
    or one of croniter's aliases such as `@daily` (not `@reboot`)."""
    import datetime as dt
    from croniter import croniter
    if isinstance(value, str) and value.strip().lower() in CRON_ALIASES:
        return True
    if not isinstance(value, str) or len(value.split()) != 5 or not croniter.is_valid(value):
        return False
    try:
        croniter(value, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
    except Exception:  # CroniterBadDateError: no such day in any year
        return False
    return True
