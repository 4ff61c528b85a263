"""Incremental runs against full builds: the benchmark segments as `incremental` and as `table`, same data.

    python benchmarks/bench_incremental.py --engines duckdb,postgres,mysql [--runs 3] [--scale 1]

After an untimed first build of both, each round runs two scenarios, paired (incremental, then
the same segments as `table`, a full evaluation), and checks that both give identical members:
  1% new rows   1% new events in the last hour and 0.1% of customers changed, as_of one hour later
  +1h, no rows  nothing loaded, as_of one hour later (only the passing of time moves anyone)
  no change     the same as_of again, nothing loaded (a rebuild with no data change)
It prints the median seconds and the ratio incremental / full for each scenario, and how many
segments were evaluated incrementally (the rest fall back, e.g. `bucket` ranks everyone).
It also splits each build into writing (the segments' transactions that apply the changes, and
closing the connection: on DuckDB the checkpoint that writes them into the file) and the rest
(evaluating): both kinds write the same changes, so writing bounds what incremental evaluation
can save: `inc writing / full` is the lowest `inc / full` an incremental run could reach with no
evaluation at all; `evaluating inc / full` is the ratio of the rest."""
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

from benchmarks.bench_segments import SEGMENTS  # noqa: E402
from benchmarks.bench_vs_baselines import DATA, DEFAULT_SIZES, PROFILES  # noqa: E402
from benchmarks.datagen import AS_OF, LOADED_AT, append_statements, generate  # noqa: E402

SCHEMAS = {"incremental": "bench_inc", "table": "bench_tab"}
SCENARIOS = {"append": "1% new", "idle": "+1h idle", "same": "no change"}


def write_project(root: Path, engine: str, materialized: str) -> None:
    (root / "segments").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "profiles.yml").write_text(yaml.safe_dump({"bench": {"target": "dev", "outputs": {"dev": PROFILES[engine]}}}))
    (root / "segwarehouse.yml").write_text(yaml.safe_dump({"name": f"bench_{materialized}", "profile": "bench",
                                                           "segment_schema": SCHEMAS[materialized]}))
    (root / "models" / "entities.yml").write_text(yaml.safe_dump({"entities": [{
        "name": "customer", "model": f"{DATA}.customers", "key": "customer_id", "loaded_at": "_loaded_at",
        "relations": {"events": {"model": f"{DATA}.events", "foreign_key": "customer_id",
                                 "time": "occurred_at", "name": "event_name", "loaded_at": "_loaded_at"},
                      "orders": {"model": f"{DATA}.orders", "foreign_key": "customer_id", "time": "ordered_at",
                                 "loaded_at": "_loaded_at"}}}]}))
    (root / "segments" / "lists.yml").write_text(yaml.safe_dump({"lists": [
        {"name": "newsletter", "entity": "customer", "from": f"{DATA}.newsletter"}]}))
    segments = [{"name": name, "entity": "customer", "materialized": materialized, **spec}
                for name, spec in SEGMENTS.items()]
    (root / "segments" / "bench.yml").write_text(json.dumps({"segments": segments}, indent=1))


class Bench:
    def __init__(self, engine: str, roots: dict[str, Path]):
        from segwarehouse.project.loader import load_project
        self.engine = engine
        self.projects = {kind: load_project(root) for kind, root in roots.items()}

    def adapter(self):
        from segwarehouse.warehouse import connect
        return connect(self.projects["table"].target)

    def run(self, statements: list[str]) -> None:
        adapter = self.adapter()
        try:
            for statement in statements:
                adapter.execute_text(statement)
        finally:
            adapter.close()

    def build(self, kind: str, as_of: dt.datetime) -> tuple[float, int, float]:
        """Seconds of one build, how many segments were evaluated incrementally, and the seconds
        of it spent writing (the segments' transactions and the connection's close)."""
        from segwarehouse.runner import build
        start = time.perf_counter()
        result = build(self.projects[kind], as_of, build_models_first=False, write_results=False)
        seconds = time.perf_counter() - start
        assert not result.failed, [(s.segment, s.error) for s in result.failed]
        writing = sum(s.timings.get("commit", 0.0) for s in result.segments) + result.timings.get("close", 0.0)
        return seconds, sum(1 for s in result.segments if s.mode == "incremental"), writing

    def members(self, schema: str) -> dict[str, set[str]]:
        adapter = self.adapter()
        try:
            q = (lambda n: f"`{n}`") if self.engine == "mysql" else (lambda n: f'"{n}"')
            out: dict[str, set[str]] = {}
            for segment, key in adapter.fetchall_text(f"SELECT {q('segment')}, {q('key')} FROM {q(schema)}.memberships"):
                out.setdefault(segment, set()).add(key)
            return out
        finally:
            adapter.close()

    def check_same(self) -> None:
        inc, tab = self.members(SCHEMAS["incremental"]), self.members(SCHEMAS["table"])
        for name in SEGMENTS:
            if inc.get(name, set()) != tab.get(name, set()):
                raise SystemExit(f"{self.engine}: segment {name} differs: incremental {len(inc.get(name, ()))}, "
                                 f"table {len(tab.get(name, ()))}")

    def drop_schemas(self) -> None:
        adapter = self.adapter()
        try:
            for schema in (*SCHEMAS.values(), DATA):
                if self.engine == "mysql":
                    adapter.execute_text(f"DROP DATABASE IF EXISTS `{schema}`")
                elif self.engine == "postgres":
                    adapter.execute_text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            adapter.close()


def run_engine(engine: str, sizes: tuple[int, int, int], runs: int, console: Console) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"segw_bench_inc_{engine}_"))
    try:
        roots = {kind: root / kind for kind in SCHEMAS}
        for kind, path in roots.items():
            write_project(path, engine, kind)
        if engine == "duckdb":  # both projects open the same DuckDB file
            target = root / "bench.duckdb"
            for path in roots.values():
                profile = yaml.safe_load((path / "profiles.yml").read_text())
                profile["bench"]["outputs"]["dev"]["path"] = str(target)
                (path / "profiles.yml").write_text(yaml.safe_dump(profile))
        bench = Bench(engine, roots)
        bench.drop_schemas()
        adapter = bench.adapter()
        try:
            generate(adapter, engine, DATA, *sizes)
        finally:
            adapter.close()
        console.print(f"[bold]{engine}[/]: {sizes[0]:,} customers, {sizes[1]:,} events, {sizes[2]:,} orders")
        as_of, loaded_at, next_event = AS_OF, LOADED_AT, sizes[1]
        for kind in SCHEMAS:  # untimed: every member enters; the incremental state starts here
            bench.build(kind, as_of)
        bench.check_same()
        times: dict[str, list[float]] = {f"{scenario} {kind} {part}": [] for scenario in SCENARIOS
                                         for kind in ("inc", "full") for part in ("s", "writing")}
        incremental_segments = 0

        def paired(scenario: str) -> None:
            nonlocal incremental_segments
            for kind, label in (("incremental", "inc"), ("table", "full")):
                seconds, incremental, writing = bench.build(kind, as_of)
                times[f"{scenario} {label} s"].append(seconds)
                times[f"{scenario} {label} writing"].append(writing)
                if kind == "incremental":
                    incremental_segments = incremental
            bench.check_same()

        for i in range(runs):
            as_of += dt.timedelta(hours=1)
            loaded_at += dt.timedelta(hours=1)
            new_events = max(1, sizes[1] // 100)
            bench.run(append_statements(engine, DATA, sizes[0], next_event, new_events, as_of, loaded_at, i + 1))
            next_event += new_events
            paired("append")
            as_of += dt.timedelta(hours=1)
            paired("idle")
            paired("same")
        console.print(f"  identical members after every step; {incremental_segments} of {len(SEGMENTS)} "
                      "segments evaluated incrementally")
        return {"sizes": sizes, "incremental": incremental_segments,
                **{k: statistics.median(v) for k, v in times.items()}}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="duckdb,postgres,mysql")
    parser.add_argument("--runs", type=int, default=3, help="rounds of both scenarios (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default sizes")
    args = parser.parse_args()
    console = Console(width=210)
    results = {engine: run_engine(engine, tuple(int(n * args.scale) for n in DEFAULT_SIZES[engine]), args.runs,
                                  console) for engine in args.engines.split(",")}
    table = Table(title=f"incremental vs full, {len(SEGMENTS)} segments, median of {args.runs} paired rounds")
    for column in ("engine", "customers / events", "incremental segments", "scenario", "inc s", "full s",
                   "inc / full", "writing: inc s", "full s", "inc writing / full", "evaluating: inc s", "full s",
                   "inc / full"):
        table.add_column(column, justify="right")
    for engine, r in results.items():
        for scenario, title in SCENARIOS.items():
            inc, full = r[f"{scenario} inc s"], r[f"{scenario} full s"]
            inc_writing, full_writing = r[f"{scenario} inc writing"], r[f"{scenario} full writing"]
            table.add_row(engine, f"{r['sizes'][0]:,} / {r['sizes'][1]:,}", f"{r['incremental']} / {len(SEGMENTS)}",
                          title, f"{inc:.2f}", f"{full:.2f}", f"{inc / full:.2f}", f"{inc_writing:.2f}",
                          f"{full_writing:.2f}", f"{inc_writing / full:.2f}", f"{inc - inc_writing:.2f}",
                          f"{full - full_writing:.2f}",
                          f"{(inc - inc_writing) / (full - full_writing):.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
