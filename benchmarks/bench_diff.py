"""Times the membership diff on each engine: one segment where N members leave and N others enter.

    python benchmarks/bench_diff.py [--members 8000] [--engines duckdb,postgres,mysql]

The first build puts keys 1..N in the segment; the second moves it to N+1..2N, so the second
build writes N exits and N entries (changes, history, memberships and the segment's table).
The table shows the second build's seconds per engine and the ratio to DuckDB in the same run;
the target is at most 5 s per engine for N = 8000."""
from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import ENGINES, _drop_schemas, make_project  # noqa: E402
from segwarehouse.runner import build  # noqa: E402


def people(n: int, shift: int) -> str:
    return "id,score\n" + "".join(f"{i},{1 if (shift < i <= shift + n) else 0}\n" for i in range(1, 2 * n + 1))


def time_diff(engine: str, n: int, folder: Path) -> float:
    files = {
        "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
        "segments/s.yml": "segments:\n  - {name: moving, entity: person, columns: [score], "
                          "rules: {property: score, equals: 1}}\n",
    }
    project = make_project(folder, engine, files)
    try:
        (project.root / "seeds").mkdir()
        (project.root / "seeds" / "people.csv").write_text(people(n, 0))
        first = build(project.load(), dt.datetime(2024, 1, 1), write_results=False)
        assert not first.failed and first.segments[0].entered == n
        (project.root / "seeds" / "people.csv").write_text(people(n, n))
        loaded = project.load()
        from segwarehouse.modelbuild import build_models
        adapter = project.adapter()
        try:
            build_models(adapter, loaded, dt.datetime(2024, 1, 2))  # the seed load is not the diff
        finally:
            adapter.close()
        started = time.perf_counter()
        second = build(loaded, dt.datetime(2024, 1, 2), write_results=False, build_models_first=False)
        seconds = time.perf_counter() - started
        outcome = second.segments[0]
        assert outcome.status == "success" and (outcome.entered, outcome.exited) == (n, n), outcome
        return seconds
    finally:
        _drop_schemas(engine, [project.model_schema, project.segment_schema])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=8000)
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="segw_bench_diff_"))
    try:
        times = {engine: time_diff(engine, args.members, folder) for engine in args.engines.split(",")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = Table(title=f"{args.members:,} exits + {args.members:,} entries in one segment")
    for column in ("engine", "seconds", "ratio to duckdb", "target <= 5 s"):
        table.add_column(column, justify="right" if column != "engine" else "left")
    base = times.get("duckdb")
    for engine, seconds in times.items():
        table.add_row(engine, f"{seconds:.2f}", f"{seconds / base:.1f}" if base else "-",
                      "yes" if seconds <= 5 else "NO")
    Console().print(table)


if __name__ == "__main__":
    main()
