"""The output contract of SEGMENTS.md §8 on DuckDB, fast: change_id strictly increasing and never
reused (also after a full refresh and after a sync deleted what it read), history intervals on
exit and re-entry, and an entity with duplicate keys refused without touching the segment."""
from __future__ import annotations

import datetime as dt

from segwarehouse.runner import build, parse_as_of

FILES = {
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": "segments:\n  - {name: high, entity: person, rules: {property: score, gte: 20}}\n",
}
T1, T2, T3, T4 = (dt.datetime(2024, 1, d, 12) for d in (1, 2, 3, 4))


def people(scores: dict[int, int]) -> str:
    return "id,score\n" + "".join(f"{k},{v}\n" for k, v in scores.items())


def feed(project) -> list[tuple]:
    q = project.quote
    return project.query(f"SELECT change_id, {q('change')}, {q('key')}, as_of FROM {{seg}}.membership_changes "
                         "ORDER BY change_id")


def run(project, scores: dict[int, int], as_of: dt.datetime, full_refresh: bool = False):
    project.write("seeds/people.csv", people(scores))
    result = build(project.load(), parse_as_of(as_of.isoformat()), write_results=False,
                   full_refresh=full_refresh)
    return result.segments[0]


def test_change_ids_grow_across_runs_and_are_never_reused(project_factory):
    project = project_factory("duckdb", FILES)
    assert run(project, {1: 10, 2: 20, 3: 30}, T1).status == "success"
    first = feed(project)
    assert [(c, k) for _, c, k, _ in first] == [("entered", "2"), ("entered", "3")]
    # One run: exits first, then entries, each in key order.
    assert run(project, {1: 25, 2: 5, 3: 1, 4: 40}, T2).status == "success"
    second = feed(project)[len(first):]
    assert [(c, k) for _, c, k, _ in second] == [("exited", "2"), ("exited", "3"), ("entered", "1"),
                                                 ("entered", "4")]
    ids = [row[0] for row in first + second]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] >= 1
    top = ids[-1]

    # A full refresh recreates the relation; members who stay are not announced again and the ids
    # go on above every id issued before.
    assert run(project, {1: 25, 2: 5, 3: 1, 4: 40, 5: 50}, T3, full_refresh=True).status == "success"
    third = feed(project)[len(ids):]
    assert [(c, k) for _, c, k, _ in third] == [("entered", "5")]
    assert third[0][0] > top
    top = third[0][0]

    # A sync may delete what it has read: ids are still never reused (the counter, not MAX()).
    project.query("DELETE FROM {seg}.membership_changes")
    assert run(project, {1: 25, 4: 40, 5: 50, 6: 60}, T4).status == "success"
    fourth = feed(project)
    assert [(c, k) for _, c, k, _ in fourth] == [("entered", "6")]
    assert fourth[0][0] > top


def test_history_closes_on_exit_and_reopens_on_reentry(project_factory):
    project = project_factory("duckdb", FILES)
    run(project, {1: 30, 2: 30}, T1)
    run(project, {1: 30, 2: 10}, T2)   # 2 exits
    run(project, {1: 30, 2: 20}, T3)   # 2 comes back
    history = sorted(project.query("SELECT key, valid_from, valid_to FROM {seg}.membership_history "
                                   "WHERE segment = 'high'"), key=lambda r: (r[0], r[1]))
    assert history == [("1", T1, None), ("2", T1, T2), ("2", T3, None)]
    assert [(c, k, a) for _, c, k, a in feed(project) if k == "2"] == [
        ("entered", "2", T1), ("exited", "2", T2), ("entered", "2", T3)]
    assert sorted(project.query("SELECT key, entered_at FROM {seg}.memberships")) == [("1", T1), ("2", T3)]


def test_duplicate_keys_fail_the_segment_and_change_nothing(project_factory):
    project = project_factory("duckdb", FILES)
    run(project, {1: 30, 2: 10}, T1)
    before = (feed(project), project.members("high"), project.relation("high"))
    project.write("seeds/people.csv", "id,score\n1,30\n2,40\n2,41\n")
    result = build(project.load(), parse_as_of(T2.isoformat()), write_results=False).segments[0]
    assert result.status == "failed"
    assert "duplicate keys" in result.error and "3 rows, 2 distinct id" in result.error
    assert (feed(project), project.members("high"), project.relation("high")) == before
