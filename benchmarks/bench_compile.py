"""How long `segw compile` takes for a project of 1,000 segments (issue target: < 2 s).

    python benchmarks/bench_compile.py [--segments 1000] [--runs 5] [--keep DIR]

Writes a project into a temporary folder: the example project's models, seeds and macros, and
copies of its segments (segments/*.yml) under new names (`<name>_<copy>`, references to other
segments renamed with them), written as plain YAML without aliases. Then times `segw compile`
in this process (the CLI entry point, imports already done) and as a subprocess
(`python -m segwarehouse compile`, what a user waits for), each
  cold: no target/ folder yet (no previous manifest, no compiled files), and
  warm: again, with target/ from the run before,
and prints the CPU and wall seconds of each (minimum and median of --runs; CPU counts the worker
processes that compile many segments in parallel, so it exceeds wall on a multi-core machine).
Nothing connects to a warehouse: compile is offline. The target is about what a user waits for:
wall seconds."""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True


def _renamed(value, names: set[str], suffix: str):
    """A segment definition with every reference to a segment in `names` renamed."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "in_segment" and item in names:
                item = item + suffix
            elif key in ("include", "exclude") and isinstance(item, list):
                item = [n + suffix if n in names else n for n in item]
            out[key] = _renamed(item, names, suffix)
        return out
    if isinstance(value, list):
        return [_renamed(v, names, suffix) for v in value]
    return value


def write_project(root: Path, count: int) -> int:
    """The example project with `count` segments (copies of the examples); how many it has."""
    for item in ("models", "seeds", "macros"):
        if (REPO / item).is_dir():
            shutil.copytree(REPO / item, root / item)
    for item in ("segwarehouse.yml", "profiles.yml"):
        shutil.copy(REPO / item, root / item)
    (root / "segments").mkdir()
    examples, names = [], set()
    for path in sorted((REPO / "segments").glob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        if document.get("lists"):
            (root / "segments" / path.name).write_text(yaml.dump({"lists": document["lists"]},
                                                                 Dumper=_NoAliases, sort_keys=False))
        for segment in document.get("segments") or []:
            examples.append(segment)
            names.add(segment["name"])
    written, copy = 0, 0
    while written < count:
        suffix = f"_{copy}"
        batch = [_renamed(s, names, suffix) | {"name": s["name"] + suffix} for s in examples][:count - written]
        (root / "segments" / f"copies_{copy:04d}.yml").write_text(
            yaml.dump({"segments": batch}, Dumper=_NoAliases, sort_keys=False, allow_unicode=True))
        written += len(batch)
        copy += 1
    return written


def in_process(root: Path) -> tuple[float, float]:
    """(CPU, wall) seconds of one `segw compile` through the CLI entry point in this process."""
    from segwarehouse.cli import main

    def used() -> float:  # this process and its workers (segw compile forks some for many segments)
        own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime

    cpu, wall = used(), time.perf_counter()
    try:
        main(["compile", "--project-dir", str(root)], standalone_mode=False)
    finally:
        cpu, wall = used() - cpu, time.perf_counter() - wall
    return cpu, wall


def as_subprocess(root: Path) -> tuple[float, float]:
    """(CPU, wall) seconds of `python -m segwarehouse compile` in the project folder."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([sys.executable, "-m", "segwarehouse", "compile"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="Write the project here and keep it.")
    args = parser.parse_args()
    import segwarehouse.cli  # noqa: F401  (imports are not part of the in-process timing)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "project"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        count = write_project(root, args.segments)
        print(f"project with {count} segments in {root}")
        in_process(root)  # untimed: warms imports and caches as a long-lived process would have them
        rows = []
        for how, run in (("in-process", in_process), ("subprocess", as_subprocess)):
            for state in ("cold", "warm"):
                samples = []
                for _ in range(args.runs):
                    if state == "cold":
                        shutil.rmtree(root / "target", ignore_errors=True)
                    samples.append(run(root))  # warm: target/ as the run before left it
                cpu = [c for c, _ in samples]
                wall = [w for _, w in samples]
                rows.append((how, state, min(cpu), statistics.median(cpu), min(wall), statistics.median(wall)))
        print(f"{'how':<11} {'target/':<6} {'cpu min':>8} {'cpu med':>8} {'wall min':>9} {'wall med':>9}")
        for how, state, cpu_min, cpu_med, wall_min, wall_med in rows:
            print(f"{how:<11} {state:<6} {cpu_min:8.2f} {cpu_med:8.2f} {wall_min:9.2f} {wall_med:9.2f}")
        print(f"target: < 2 s for {count} segments, waited for (wall; cpu = user + system of all processes)")


if __name__ == "__main__":
    main()
