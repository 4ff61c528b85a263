"""DuckDB, the embedded default: one file, one writer process."""
from __future__ import annotations

from pathlib import Path

from ..errors import SegwError, WarehouseBusy
from .base import Adapter


class DuckDBAdapter(Adapter):
    dialect = "duckdb"
    transactional_ddl = True
    max_identifier = 255
    placeholder = "?"
    wants_indexes = False
    concurrent_writers = False  # one writer per file: --threads builds one segment at a time
    incremental_up_to = 0.05  # a scan is cheap: past 5% changed keys, evaluate everyone

    def __init__(self, target):
        super().__init__(target)
        import duckdb

        path = str(target.settings.get("path", ":memory:"))
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.connection = duckdb.connect(path)
        except duckdb.IOException as exc:
            detail = " ".join(str(exc).split())
            if not any(text in detail.lower() for text in ("could not set lock", "conflicting lock")):
                # a folder, a file that is not DuckDB's, no permission: waiting will not help
                raise SegwError(f"cannot open DuckDB file {path}: {detail}", target.location,
                                "check `path:` of the target in profiles.yml") from None
            # Busy, not wrong: a build-time failure (exit 1) that runner.connect_waiting retries.
            raise WarehouseBusy(f"cannot open DuckDB file {path}: {detail}", target.location,
                                "another process may be writing to it; wait and retry") from None
        self.connection.execute("SET TimeZone = 'UTC'")

    def _execute(self, sql, params=None):
        return self.connection.execute(sql, params) if params else self.connection.execute(sql)

    def close(self) -> None:
        self.connection.close()
