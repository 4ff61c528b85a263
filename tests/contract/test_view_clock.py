"""A `view` segment is live: it reads the warehouse's UTC clock when queried, never the build's as_of."""
from __future__ import annotations

import datetime as dt

FILES = {
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": "segments:\n"
                      "  - {name: recent, entity: person, materialized: view,\n"
                      "     rules: {property: seen, within_last: 1 hour}}\n",
}
AS_OF = "2024-06-30 12:00:00"


def test_a_view_segment_reads_the_live_clock_not_the_as_of(engine, project_factory):
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    seen = {1: now - dt.timedelta(minutes=10),                # recent now
            2: dt.datetime(2024, 6, 30, 11, 30),               # recent at the as_of only
            3: now - dt.timedelta(hours=2)}                    # two hours ago: neither
    project = project_factory(engine, {**FILES, "seeds/people.csv": "id,seen\n" + "".join(
        f"{k},{v:%Y-%m-%d %H:%M:%S}\n" for k, v in seen.items())})
    result = project.build(as_of=AS_OF)
    assert [(s.segment, s.status, s.size) for s in result.segments] == [("recent", "success", 1)]
    assert [str(row[0]) for row in project.relation("recent")] == ["1"]
