"""`segw plan` on every engine: a build after the plan makes exactly the planned changes."""
from __future__ import annotations

import json

from toolshop import AS_OF, FILES, SEGMENTS

OLD_ONE = """
      - name: old_one
        entity: person
        rules: {property: score, lte: 30}
"""
NEW_ONE = """
      - name: new_one
        entity: person
        materialized: table
        rules: {property: country, in: [FR, DE]}
"""


def plan_json(run_segw, project, *args):
    result = run_segw(project, "plan", "--as-of", AS_OF, "--json", "--limit", "1000", *args)
    assert result.exit_code in (0, 3), result.output
    return result.exit_code, {s["segment"]: s for s in json.loads(result.stdout)["segments"]}


def planned(item: dict) -> dict[str, set]:
    return {change: {(s["key"], s["split_after"] if change != "exited" else s["split_before"])
                     for s in item["samples"][change]} for change in ("entered", "exited", "moved")}


def changes_of_run(project, run_id: str) -> dict[str, dict[str, set]]:
    q = project.quote
    rows = project.query(f"SELECT {q('segment')}, {q('change')}, {q('key')}, {q('split')} "
                         f"FROM {{seg}}.membership_changes WHERE run_id = '{run_id}'")
    out: dict[str, dict[str, set]] = {}
    for segment, change, key, split in rows:
        out.setdefault(segment, {"entered": set(), "exited": set(), "moved": set()})[change].add((key, split))
    return out


def test_plan_then_build_makes_exactly_the_planned_changes(engine, project_factory, run_segw):
    files = {**FILES, "segments/s.yml": SEGMENTS + OLD_ONE}
    project = project_factory(engine, files)
    assert project.build(as_of=AS_OF).exit_code == 0

    code, before = plan_json(run_segw, project)
    assert code == 0 and {s["status"] for s in before.values()} == {"unchanged"}
    text = run_segw(project, "plan", "--as-of", AS_OF)
    assert text.exit_code == 0 and "no changes" in text.stdout

    old_members = project.members("old_one")
    changed = (SEGMENTS.replace("          within_last: 30 days", "          within_last: 20 days")
               .replace("{property: score, gte: 20}", "{property: score, gte: 10}")
               .replace("splits: {control: 50, test: 50}", "splits: {control: 20, test: 80}"))
    assert changed != SEGMENTS
    project.write("segments/s.yml", changed + NEW_ONE)

    code, plan = plan_json(run_segw, project)
    assert code == 3
    assert plan["recent_buyers"]["status"] == "changed"
    assert plan["campaign"]["status"] == "changed"          # reads recent_buyers, and new splits
    assert plan["swiss_or_frequent"]["status"] == "unchanged"
    assert plan["lapsed"]["status"] == "unchanged"
    assert plan["new_one"]["status"] == "new" and plan["new_one"]["size_after"] == 3  # FR, FR, DE
    assert plan["old_one"]["status"] == "retire"
    assert {s["key"] for s in plan["old_one"]["samples"]["exited"]} == old_members
    # a lower score floor lets 1 in (120 spent); a shorter window sends 4 (90 left) and 8 (none) out
    assert {s["key"] for s in plan["recent_buyers"]["samples"]["entered"]} == {"1"}
    assert {s["key"] for s in plan["recent_buyers"]["samples"]["exited"]} == {"4", "8"}
    assert plan["campaign"]["moved"] >= 1                     # new percentages move members

    result = project.build(as_of=AS_OF)
    assert result.exit_code == 0
    made = changes_of_run(project, result.run_id)
    empty = {"entered": set(), "exited": set(), "moved": set()}
    for name, item in plan.items():
        if item["status"] in ("changed", "new"):
            assert made.get(name, empty) == planned(item), name
            assert sum(item[c] for c in ("entered", "exited", "moved")) == \
                sum(len(v) for v in made.get(name, empty).values())
            assert len(project.members(name)) == item["size_after"]
        elif item["status"] == "unchanged":
            assert name not in made, name
    assert project.members("old_one") == old_members  # a build never retires

    retired = run_segw(project, "retire", "old_one", "--yes")
    assert retired.exit_code == 0, retired.output
    assert f"{len(old_members):,} members exited" in retired.stdout
    code, after = plan_json(run_segw, project)
    assert code == 0 and "old_one" not in after


def test_plan_shows_a_new_segment_with_its_size_and_a_sample(engine, project_factory, run_segw):
    project = project_factory(engine, FILES)
    assert project.build(as_of=AS_OF).exit_code == 0
    project.write("segments/s.yml", SEGMENTS + NEW_ONE)
    code, plan = plan_json(run_segw, project, "new_one", "swiss_or_frequent")
    assert code == 3 and set(plan) == {"new_one", "swiss_or_frequent"}
    assert plan["new_one"]["status"] == "new"
    assert plan["new_one"]["entered"] == plan["new_one"]["size_after"] == 3
    assert {s["key"] for s in plan["new_one"]["samples"]["entered"]} == {"2", "5", "6"}
    assert plan["swiss_or_frequent"]["status"] == "unchanged"
    text = run_segw(project, "plan", "new_one", "--as-of", AS_OF, "--limit", "2")
    assert text.exit_code == 3 and "new_one entered: 2, 5" in text.stdout and "1 more" in text.stdout
    assert project.members("new_one") == set()  # the plan wrote nothing
    bad = run_segw(project, "plan", "nope")
    assert bad.exit_code == 2 and "unknown segment" in bad.stderr
