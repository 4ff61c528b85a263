"""A sync replaying membership_changes gets exactly memberships, through a segment's whole random life."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from segwarehouse.runner import build, retire
from tests.reliability.invariants import check_invariants

N = 60
ENTITIES = "entities:\n  - {name: person, model: people, key: id}\n"


def people(rng: random.Random) -> str:
    return "id,score,country\n" + "".join(
        f"{i},{rng.randint(0, 99)},{rng.choice(['CH', 'FR', ''])}\n" for i in range(1, N + 1) if rng.random() < 0.9)


def segments(state: dict) -> str:
    lines = ["segments:"]
    for name, spec in state.items():
        lines.append(f"  - name: {name}")
        lines.append("    entity: person")
        lines.append(f"    materialized: {spec['materialized']}")
        column = "scor" if spec.get("broken") else "score"
        lines.append(f"    rules: {{any: [{{property: {column}, gte: {spec['threshold']}}}, "
                     f"{{property: country, equals: {spec['country']}}}]}}")
        if spec["splits"]:
            lines.append(f"    splits: {{a: {spec['splits']}, b: {100 - spec['splits']}}}")
        if spec.get("seed"):
            lines.append(f"    split_seed: {spec['seed']}")
    return "\n".join(lines) + "\n"


def feed(project) -> list[tuple]:
    q = project.quote
    return project.query(f"SELECT change_id, segment, {q('key')}, {q('change')}, {q('split')} "
                         f"FROM {{seg}}.membership_changes ORDER BY change_id")


def memberships(project) -> dict[tuple[str, str], str | None]:
    q = project.quote
    return {(s, k): split for s, k, split in
            project.query(f"SELECT segment, {q('key')}, split FROM {{seg}}.memberships")}


def replay(start: dict, changes: list[tuple]) -> dict[tuple[str, str], str | None]:
    state = dict(start)
    for _, segment, key, change, split in changes:
        if change == "exited":
            del state[(segment, key)]
        else:
            assert (change == "entered") != ((segment, key) in state), (segment, key, change)
            state[(segment, key)] = split
    return state


@pytest.mark.parametrize("seed", [1, 2])
def test_replaying_the_feed_gives_memberships(engine, project_factory, seed):
    rng = random.Random(seed)
    project = project_factory(engine, {"models/entities.yml": ENTITIES})
    project.write("seeds/people.csv", people(rng))
    state = {f"seg{i}": {"threshold": rng.randint(10, 90), "country": rng.choice(["CH", "FR"]),
                         "splits": rng.choice([0, 30, 50]), "materialized": rng.choice(["table", "incremental"])}
             for i in range(3)}
    project.write("segments/s.yml", segments(state))
    as_of = dt.datetime(2024, 1, 1)
    assert build(project.load(), as_of, write_results=False).exit_code == 0
    cursors: list[tuple[int, dict]] = []
    renamed = 0
    for step in range(14):
        action = rng.choice(["data", "rule", "split", "rename", "retire", "break", "refresh", "seed"])
        if action == "data":
            project.write("seeds/people.csv", people(rng))
        elif action == "rule":
            spec = state[rng.choice(sorted(state))]
            spec["threshold"] = rng.randint(0, 100)
        elif action == "split":
            spec = state[rng.choice(sorted(state))]
            spec["splits"] = rng.choice([0, 10, 50, 90])
        elif action == "seed":
            spec = state[rng.choice(sorted(state))]
            spec["seed"] = f"s{step}"
        elif action in ("rename", "retire") and len(state) > 1:
            old = rng.choice(sorted(state))
            spec = state.pop(old)
            if action == "rename":
                renamed += 1
                state[f"renamed{renamed}"] = spec
            project.write("segments/s.yml", segments(state))
            retire(project.load(), [old])
        elif action == "break":
            state[rng.choice(sorted(state))]["broken"] = True
        project.write("segments/s.yml", segments(state))
        as_of += dt.timedelta(days=1)
        loaded = project.load()
        result = build(loaded, as_of, write_results=False, full_refresh=action == "refresh")
        assert {s.segment for s in result.failed} == {n for n, s in state.items() if s.get("broken")}, result
        for spec in state.values():
            spec.pop("broken", None)
        now = memberships(project)
        changes = feed(project)
        assert replay({}, changes) == now, f"step {step} ({action}): replay from the start differs"
        for cursor, seen in cursors:
            assert replay(seen, [c for c in changes if c[0] > cursor]) == now, f"from cursor {cursor}"
        cursors.append((changes[-1][0] if changes else 0, now))
        check_invariants(project)
