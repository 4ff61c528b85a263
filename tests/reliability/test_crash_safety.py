"""SIGKILL a build at random points: every segment stays whole, and the next build recovers."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.reliability.invariants import check_invariants

N = 10000
THRESHOLDS = [10, 25, 40, 55, 70, 85]


def people(shift: int) -> str:
    return "id,score\n" + "".join(f"{i},{(i * 37 + shift) % 100}\n" for i in range(1, N + 1))


def expected(shift: int) -> dict[str, set[str]]:
    scores = {i: (i * 37 + shift) % 100 for i in range(1, N + 1)}
    return {f"above_{t}": {str(i) for i, s in scores.items() if s > t} for t in THRESHOLDS}


FILES = {
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": "segments:\n" + "".join(
        f"  - {{name: above_{t}, entity: person, rules: {{property: score, gt: {t}}}"
        f"{', materialized: table' if t % 2 else ''}}}\n" for t in THRESHOLDS),
}


def segw(project, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "segwarehouse", *args, "--project-dir", str(project.root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_sigkill_anywhere_leaves_old_or_new(engine, project_factory):
    project = project_factory(engine, {**FILES, "seeds/people.csv": people(0)})
    assert project.build(as_of="2024-01-01").exit_code == 0
    old, new = expected(0), expected(13)
    check_invariants(project, {name: [members] for name, members in old.items()})
    project.write("seeds/people.csv", people(13))

    started = time.monotonic()
    full = segw(project, "build", "--as-of", "2024-01-02")
    assert full.wait(timeout=120) == 0
    duration = time.monotonic() - started
    # That build finished: go back to the old data so the killed builds have work to do.
    project.write("seeds/people.csv", people(0))
    assert project.build(as_of="2024-01-03").exit_code == 0
    project.write("seeds/people.csv", people(13))

    rng = random.Random(20261124)
    allowed = {name: [old[name], new[name]] for name in old}
    for _ in range(int(os.environ.get("SEGW_CRASH_ROUNDS", "6"))):  # long campaigns: raise it (e.g. 200)
        process = segw(project, "build", "--as-of", "2024-01-04")
        time.sleep(rng.uniform(0.0, duration))
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_invariants(project, allowed)

    assert project.build(as_of="2024-01-05").exit_code == 0
    assert check_invariants(project, {name: [members] for name, members in new.items()}) == new
