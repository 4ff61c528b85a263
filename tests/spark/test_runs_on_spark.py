"""Scheduling, status and the reference evaluator on Spark (the `engine` fixture is "spark" here):
`segw run` building only what is due, `segw status --json` telling the truth after a partial failure,
and a few seeded random projects whose members must equal the oracle's (tests/oracle.py).

The randomised test is small on purpose (three fixed examples, up to eight people): Spark takes
seconds per statement; the long campaign stays on DuckDB, PostgreSQL and MariaDB (tests/property/)."""
from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engines.test_scheduling import (  # noqa: F401 (run on Spark by this folder's engine fixture)
    test_segw_run_cli_builds_what_is_due_then_nothing, test_status_json_tells_the_truth)
from tests.oracle import Oracle, World
from tests.property.test_differential import (ANCHOR_ITEM, ANCHOR_PERSON, AS_OF, ENTITIES, csv_text, item, person,
                                              segments)


@settings(max_examples=3, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(people=st.lists(person, min_size=3, max_size=7), items=st.lists(item, min_size=2, max_size=10),
       picked=st.sets(st.integers(1, 10), min_size=1, max_size=3), segs=segments())
def test_spark_agrees_with_the_oracle_on_seeded_random_projects(project_factory, people, items, picked, segs):
    rows = [{"id": 1, **ANCHOR_PERSON}] + [{"id": i + 2, **p} for i, p in enumerate(people)]
    item_rows = [ANCHOR_ITEM] + items
    project = project_factory("spark", {
        "seeds/people.csv": csv_text(["id", "num", "amt", "txt", "flag", "day", "ts", "lat", "lon"], rows),
        "seeds/items.csv": csv_text(["fk", "at", "val", "kind"], item_rows),
        "seeds/picked.csv": "id\n" + "".join(f"{k}\n" for k in sorted(picked | {99})),
        "models/entities.yml": ENTITIES,
        "segments/lists.yml": "lists:\n  - {name: picked, entity: person, from: seeds/picked.csv}\n",
        "segments/generated.yml": yaml.safe_dump({"segments": segs}, sort_keys=False),
    })
    loaded = project.load()
    world = World(loaded.entities["person"], rows, {"items": item_rows},
                  {"picked": {str(k) for k in picked | {99}}}, loaded.segments)
    oracle = Oracle(world, AS_OF)
    expected = {name: oracle.members(seg) for name, seg in loaded.segments.items()}
    result = project.build(as_of=AS_OF.isoformat(sep=" "))
    assert not result.failed, [(s.segment, s.error) for s in result.failed]
    rows_back = project.query("SELECT segment, `key`, split FROM {seg}.memberships")
    got = {name: {key: split for segment, key, split in rows_back if segment == name} for name in expected}
    assert got == expected, json.dumps(segs, default=str)
