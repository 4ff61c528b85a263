"""Timestamps keep their microseconds on every engine (MariaDB/MySQL: DATETIME(6), never a plain
DATETIME that drops or rounds them): an as_of with microseconds is stored and read back exactly, and
a row 0.15 s after the as_of is not yet in a window that ends at the as_of."""
from __future__ import annotations

import datetime as dt

from segwarehouse.runner import build

AS_OF = dt.datetime(2024, 6, 30, 12, 0, 0, 750000)
FILES = {
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "seeds/people.csv": "id,seen\n"
                        "1,2024-06-30 12:00:00.500000\n"     # 0.25 s before as_of: in
                        "2,2024-06-30 12:00:00.900000\n"     # 0.15 s after as_of: not yet
                        "3,2024-06-30 11:00:00.500000\n",    # 1 h 0.25 s before: out
    "segments/s.yml": "segments:\n  - {name: last_hour, entity: person, rules: {property: seen, within_last: 1 hour}}\n",
}


def test_microseconds_are_stored_read_back_and_compared_exactly(engine, project_factory):
    project = project_factory(engine, FILES)
    result = build(project.load(), AS_OF, write_results=False)
    assert [s.status for s in result.segments] == ["success"], result.segments
    assert project.members("last_hour") == {"1"}
    stored = {
        "membership_changes.as_of": "SELECT as_of FROM {seg}.membership_changes",
        "memberships.entered_at": "SELECT entered_at FROM {seg}.memberships",
        "membership_history.valid_from": "SELECT valid_from FROM {seg}.membership_history",
        "segment_runs.as_of": "SELECT as_of FROM {seg}.segment_runs",
        "segment_catalog.last_as_of": "SELECT last_as_of FROM {seg}.segment_catalog",
    }
    for where, sql in stored.items():
        assert [row[0] for row in project.query(sql)] == [AS_OF], where
