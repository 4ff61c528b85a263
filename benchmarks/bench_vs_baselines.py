"""segw vs hand-written SQL: the same 22 segments as segw, expert SQL and Mautic-style SQL, per engine.

    python benchmarks/bench_vs_baselines.py --engines duckdb,postgres,mysql [--runs 3] [--scale 1] [--no-mautic]

For each engine it generates deterministic data inside the warehouse (benchmarks/datagen.py), then
runs the contenders paired, in rotating order, --runs times, and prints the median seconds and the
ratios. What is timed, per contender, for all segments together:
  expert      CREATE TABLE of the wide feature table, then CREATE TABLE per segment (a predicate over it)
  mautic      CREATE TABLE per segment, correlated sub-selects per contact and condition
  segw sql    CREATE TABLE per segment from segw's compiled query (segment_query), nothing else
  segw build  segwarehouse.runner.build of all segments (`materialized: table`), models excluded
              (build_models_first=False): compile, stage, diff against memberships, history,
              changes, rewrite of each segment's relation; no member changes after the untimed
              first build, so it is the evaluation plus segw's bookkeeping
  segw first  the same build into an empty segment schema (dropped before, untimed): every member
              enters, history and changes are written for all of them
It also prints `rebuild / first`: a rebuild with no data change against a first build.
Before timing, it checks that all four give identical member sets for every segment.
--no-mautic leaves the Mautic-style SQL out (MariaDB at 200k customers would run it for hours)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_segments import SEGMENTS, expert_sql, expert_statements, mautic_statements, transpile  # noqa: E402
from benchmarks.datagen import AS_OF, generate  # noqa: E402
from segwarehouse.compiler.dialects import to_sql  # noqa: E402
from segwarehouse.compiler.segment import segment_query  # noqa: E402

DATA, OUT, SEGS = "bench_data", "bench_out", "bench_segments"
DEFAULT_SIZES = {"duckdb": (100_000, 2_000_000, 300_000), "postgres": (20_000, 400_000, 60_000),
                 "mysql": (20_000, 400_000, 60_000)}
PROFILES = {
    "duckdb": {"type": "duckdb", "path": "bench.duckdb", "schema": DATA},
    "postgres": {"type": "postgres", "host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test",
                 "schema": DATA},
    "mysql": {"type": "mysql", "host": "127.0.0.1", "port": 3306, "user": "root", "password": "", "schema": DATA},
}


def write_project(root: Path, engine: str) -> None:
    (root / "segments").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "profiles.yml").write_text(yaml.safe_dump({"bench": {"target": "dev", "outputs": {"dev": PROFILES[engine]}}}))
    (root / "segwarehouse.yml").write_text(yaml.safe_dump({"name": "bench", "profile": "bench",
                                                           "segment_schema": SEGS}))
    (root / "models" / "entities.yml").write_text(yaml.safe_dump({"entities": [{
        "name": "customer", "model": f"{DATA}.customers", "key": "customer_id",
        "relations": {"events": {"model": f"{DATA}.events", "foreign_key": "customer_id",
                                 "time": "occurred_at", "name": "event_name"},
                      "orders": {"model": f"{DATA}.orders", "foreign_key": "customer_id", "time": "ordered_at"}}}]}))
    (root / "segments" / "lists.yml").write_text(yaml.safe_dump({"lists": [
        {"name": "newsletter", "entity": "customer", "from": f"{DATA}.newsletter"}]}))
    # `table`: segw rewrites each segment's own relation whole. (`incremental` diffs it row by row
    # with NULL-safe comparisons of every column, which MariaDB cannot index: minutes, not seconds.)
    segments = [{"name": name, "entity": "customer", "materialized": "table", **spec}
                for name, spec in SEGMENTS.items()]
    (root / "segments" / "bench.yml").write_text(json.dumps({"segments": segments}, indent=1))


class Engine:
    def __init__(self, engine: str, root: Path):
        from segwarehouse.project.loader import load_project
        self.engine, self.root = engine, root
        self.project = load_project(root)
        self.q = (lambda n: f"`{n}`") if engine == "mysql" else (lambda n: f'"{n}"')

    def adapter(self):
        from segwarehouse.warehouse import connect
        return connect(self.project.target)

    def create_tables(self, statements: list[tuple[str, str]]) -> None:
        adapter = self.adapter()
        try:
            adapter.ensure_schema(OUT)
            for table, select in statements:
                adapter.execute_text(f"DROP TABLE IF EXISTS {table}")
                adapter.execute_text(f"CREATE TABLE {table} AS {select}")
        finally:
            adapter.close()

    def expert(self) -> None:
        self.create_tables([(t, expert_sql(s, self.engine)) for t, s in expert_statements(OUT, DATA)])

    def mautic(self) -> None:
        self.create_tables([(t, transpile(s, self.engine)) for t, s in mautic_statements(OUT, DATA)])

    def segw_sql(self) -> None:
        dialect = self.project.dialect
        self.create_tables([(f"{OUT}.z_{name}", to_sql(segment_query(self.project, seg, AS_OF), dialect))
                            for name, seg in self.project.segments.items()])

    def segw_build(self) -> None:
        from segwarehouse.runner import build
        result = build(self.project, AS_OF, build_models_first=False, write_results=False)
        assert not result.failed, [(s.segment, s.error) for s in result.failed]

    def members(self, table: str) -> set[int]:
        adapter = self.adapter()
        try:
            return {int(row[0]) for row in adapter.fetchall_text(f"SELECT customer_id FROM {table}")}
        finally:
            adapter.close()

    def check_same_members(self, contenders) -> int:
        """Every segment has the same members every way the contenders made them; returns the
        total member count."""
        tables = {"expert": f"{OUT}.x_", "mautic": f"{OUT}.y_", "segw sql": f"{OUT}.z_", "segw build": f"{SEGS}."}
        total = 0
        for name in SEGMENTS:  # (`segw first` builds the tables that `segw build` rebuilds)
            sets = {contender: self.members(tables[contender] + name) for contender in contenders if contender in tables}
            if len({frozenset(s) for s in sets.values()}) != 1:
                sizes = {k: len(v) for k, v in sets.items()}
                raise SystemExit(f"{self.engine}: segment {name} differs: {sizes}")
            total += len(sets["expert"])
        return total

    def drop_segment_schema(self) -> None:
        """Everything segw stored (memberships, history, changes, relations): the next build is a first."""
        adapter = self.adapter()
        try:
            if self.engine == "mysql":
                adapter.execute_text(f"DROP DATABASE IF EXISTS `{SEGS}`")
            else:
                adapter.execute_text(f'DROP SCHEMA IF EXISTS "{SEGS}" CASCADE')
        finally:
            adapter.close()

    def drop_schemas(self) -> None:
        adapter = self.adapter()
        try:
            for schema in (OUT, SEGS, DATA):
                if self.engine == "mysql":
                    adapter.execute_text(f"DROP DATABASE IF EXISTS `{schema}`")
                elif self.engine == "postgres":
                    adapter.execute_text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            adapter.close()


def run_engine(engine: str, sizes: tuple[int, int, int], runs: int, console: Console, mautic: bool = True) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"segw_bench_{engine}_"))
    try:
        write_project(root, engine)
        bench = Engine(engine, root)
        bench.drop_schemas()
        adapter = bench.adapter()
        start = time.perf_counter()
        try:
            generate(adapter, engine, DATA, *sizes)
        finally:
            adapter.close()
        generated = time.perf_counter() - start
        console.print(f"[bold]{engine}[/]: data generated in {generated:.1f} s "
                      f"({sizes[0]:,} customers, {sizes[1]:,} events, {sizes[2]:,} orders)")
        contenders = {"expert": bench.expert, "mautic": bench.mautic, "segw sql": bench.segw_sql,
                      "segw build": bench.segw_build, "segw first": bench.segw_build}
        untimed = {"segw first": bench.drop_segment_schema}  # before the timed step
        if not mautic:
            del contenders["mautic"]
        for step in contenders.values():  # warm-up, and the first build enters every member
            step()
        members = bench.check_same_members(contenders)
        console.print(f"  identical member sets for {len(SEGMENTS)} segments ({members:,} memberships)")
        times: dict[str, list[float]] = {name: [] for name in contenders}
        order = list(contenders)
        for i in range(runs):
            for name in order[i % len(order):] + order[:i % len(order)]:  # rotate: paired, no order bias
                if name in untimed:
                    untimed[name]()
                start = time.perf_counter()
                contenders[name]()
                times[name].append(time.perf_counter() - start)
        bench.check_same_members(contenders)
        return {"sizes": sizes, "members": members, **{k: statistics.median(v) for k, v in times.items()}}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="duckdb,postgres,mysql")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per contender (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default sizes")
    parser.add_argument("--customers", type=int, help="customers (all engines); events 20x, orders 3x")
    parser.add_argument("--keep", action="store_true", help="keep the generated schemas (PostgreSQL, MariaDB)")
    parser.add_argument("--no-mautic", action="store_true",
                        help="leave out the Mautic-style SQL (it takes hours on MariaDB at 200k customers)")
    args = parser.parse_args()
    console = Console(width=200)
    results = {}
    for engine in args.engines.split(","):
        if args.customers:
            sizes = (args.customers, args.customers * 20, args.customers * 3)
        else:
            sizes = tuple(int(n * args.scale) for n in DEFAULT_SIZES[engine])
        results[engine] = run_engine(engine, sizes, args.runs, console, mautic=not args.no_mautic)
    table = Table(title=f"segw vs hand-written SQL, {len(SEGMENTS)} segments, median of {args.runs} paired runs")
    for column in ("engine", "customers / events", "expert s", "mautic s", "segw sql s", "segw build s",
                   "segw first s", "sql / expert", "sql / mautic", "build / expert", "build / mautic",
                   "rebuild / first"):
        table.add_column(column, justify="right")
    def cell(value: float | None) -> str:  # None: a contender left out (--no-mautic)
        return "-" if value is None else f"{value:.2f}"

    for engine, r in results.items():
        mautic = r.get("mautic")
        table.add_row(engine, f"{r['sizes'][0]:,} / {r['sizes'][1]:,}", *[cell(v) for v in (
            r["expert"], mautic, r["segw sql"], r["segw build"], r["segw first"],
            r["segw sql"] / r["expert"], mautic and r["segw sql"] / mautic,
            r["segw build"] / r["expert"], mautic and r["segw build"] / mautic, r["segw build"] / r["segw first"])])
    console.print(table)


if __name__ == "__main__":
    main()
