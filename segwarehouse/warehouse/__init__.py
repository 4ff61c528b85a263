"""Opens the adapter for a profile target; heavy drivers are imported only when used."""
from __future__ import annotations

from ..errors import SegwError
from .base import Adapter


def connect(target) -> Adapter:
    if target.type == "duckdb":
        from .duckdb import DuckDBAdapter
        return DuckDBAdapter(target)
    if target.type in ("postgres", "postgresql"):
        from .sqlalchemy_engines import PostgresAdapter
        return PostgresAdapter(target)
    if target.type in ("mysql", "mariadb"):
        from .sqlalchemy_engines import MySQLAdapter
        return MySQLAdapter(target)
    if target.type == "spark":
        from .spark import SparkAdapter
        return SparkAdapter(target)
    if target.type in ("snowflake", "bigquery", "databricks"):
        from .cloud import CloudAdapter
        return CloudAdapter(target)
    raise SegwError(f"segwarehouse compiles for {target.type} but cannot build on it yet",
                    target.location, f"use `segw compile --dialect {target.dialect}` and run the SQL, "
                    "or build on duckdb, postgres, mysql or spark")
