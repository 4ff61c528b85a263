"""Builds the example shop on each engine in one run and reports the build times as ratios to DuckDB.

    python benchmarks/bench_engines.py [--customers 20000] [--engines dev,pg,mariadb]

Each engine builds twice (a first build, then a rebuild at a later as_of that moves members in and
out); the table shows seconds and the ratio to DuckDB measured in the same run."""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from segwarehouse.project.loader import load_project
from segwarehouse.runner import build

ROOT = Path(__file__).resolve().parents[1]


def timed_builds(target: str, customers: int) -> tuple[float, float, int]:
    project = load_project(ROOT, target, vars={"shop_customers": customers})
    start = time.perf_counter()
    first = build(project, dt.datetime(2026, 11, 1, 6), write_results=False)
    middle = time.perf_counter()
    second = build(project, dt.datetime(2026, 11, 15, 6), write_results=False)
    end = time.perf_counter()
    assert not first.failed and not second.failed
    return middle - start, end - middle, sum(s.entered + s.exited for s in second.segments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--engines", default="dev,pg,mariadb")
    args = parser.parse_args()
    rows = [(name, *timed_builds(name, args.customers)) for name in args.engines.split(",")]
    base_first, base_second = rows[0][1], rows[0][2]
    table = Table(title=f"example shop, {args.customers:,} customers, 16 segments")
    for column in ("target", "first build s", "ratio", "rebuild s", "ratio", "changes"):
        table.add_column(column, justify="right")
    for name, first, second, changes in rows:
        table.add_row(name, f"{first:.2f}", f"{first / base_first:.2f}", f"{second:.2f}",
                      f"{second / base_second:.2f}", f"{changes:,}")
    Console().print(table)


if __name__ == "__main__":
    main()
