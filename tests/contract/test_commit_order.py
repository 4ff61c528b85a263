"""Two writers of different segments at once: change_ids follow commit order (docs/semantics.md), so a
sync reading `change_id > cursor` never skips a change committed later with a smaller id.

Writer A is held inside its commit (after it numbered its changes); writer B is let run until it
sends its first write to the counter table, then A commits. B must number its changes after A's."""
from __future__ import annotations

import threading
import time

import pytest

from segwarehouse import materialize
from segwarehouse.runner import build, parse_as_of
from segwarehouse.warehouse.base import Adapter

FILES = {
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": "segments:\n"
                      "  - {name: a, entity: person, rules: {property: score, gte: 50}}\n"
                      "  - {name: b, entity: person, rules: {property: score, lt: 50}}\n"
                      "  - {name: c, entity: person, rules: {property: score, gte: 0}}\n",
}


def people(shift: int) -> str:
    return "id,score\n" + "".join(f"{i},{(i * 7 + shift) % 100}\n" for i in range(1, 201))


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_change_ids_follow_commit_order_between_two_writers(engine, project_factory, monkeypatch):
    project = project_factory(engine, {**FILES, "seeds/people.csv": people(0)})
    assert project.build(as_of="2024-01-01 00:00:00").exit_code == 0
    project.write("seeds/people.csv", people(31))  # both segments gain and lose members
    assert project.build(as_of="2024-01-02 00:00:00", select=["c"]).exit_code == 0  # the model, rebuilt once
    before = max(row[0] for row in project.query("SELECT change_id FROM {seg}.membership_changes"))

    a_inside, b_writing, release = threading.Event(), threading.Event(), threading.Event()
    write_catalog, execute = materialize.write_catalog, Adapter.execute

    def held_catalog(adapter, schema, proj, segment, *args, **kwargs):
        if threading.current_thread().name == "writer-a":  # inside A's transaction, changes numbered
            a_inside.set()
            assert release.wait(60)
        return write_catalog(adapter, schema, proj, segment, *args, **kwargs)

    def watched_execute(self, statement, *args, **kwargs):
        if threading.current_thread().name == "writer-b" and "UPDATE" in self.sql(statement).upper() \
                and "_segw_state" in self.sql(statement):
            b_writing.set()  # B's first write to the counter table: it blocks until A commits
        return execute(self, statement, *args, **kwargs)

    monkeypatch.setattr(materialize, "write_catalog", held_catalog)
    monkeypatch.setattr(Adapter, "execute", watched_execute)
    results = {}

    def writer(name: str, segment: str) -> None:
        results[segment] = build(project.load(), parse_as_of("2024-01-03 00:00:00"), [segment],
                                 write_results=False, build_models_first=False, lock_timeout=60)

    a = threading.Thread(target=writer, args=("a", "a"), name="writer-a")
    b = threading.Thread(target=writer, args=("b", "b"), name="writer-b")
    a.start()
    try:
        assert a_inside.wait(60), "writer A never reached its commit"
        b.start()
        assert b_writing.wait(60), "writer B never reached the counter"
        time.sleep(0.5)  # B's statement is at the server now, waiting for A's row lock
        assert b.is_alive(), "writer B committed while A held its transaction open"
    finally:
        release.set()
        a.join(120)
        b.join(120)
    for segment in ("a", "b"):
        assert [s.status for s in results[segment].segments] == ["success"], results[segment].segments

    ids = {segment: [row[0] for row in project.query(
        f"SELECT change_id FROM {{seg}}.membership_changes WHERE segment = '{segment}' AND change_id > {before}")]
        for segment in ("a", "b")}
    assert ids["a"] and ids["b"]
    every = ids["a"] + ids["b"]
    assert len(set(every)) == len(every), "a change_id was issued twice"
    assert max(ids["a"]) < min(ids["b"]), "B committed after A but numbered its changes below A's"
    counter = project.query("SELECT value FROM {seg}._segw_state WHERE name = 'last_change_id'")[0][0]
    assert counter == max(every)
