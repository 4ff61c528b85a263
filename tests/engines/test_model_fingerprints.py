"""Seeds and models are rebuilt only when what decides their rows changed; `run` builds only what it reads."""
from __future__ import annotations

from segwarehouse.runner import build

FILES = {
    "seeds/people.csv": "id,score\n1,10\n2,20\n3,30\n",
    "seeds/unused.csv": "x\n1\n",
    "models/scored.sql": "{{ config(materialized='table') }} select id, score * 2 as double_score from {{ ref('people') }}",
    "models/people_v.sql": "select * from {{ ref('scored') }}",
    "models/entities.yml": "entities:\n  - {name: person, model: people_v, key: id}\n",
    "segments/s.yml": """
        segments:
          - {name: high, entity: person, rules: {property: double_score, gte: 40}}
          - {name: low, entity: person, rules: {property: double_score, lt: 40}}
    """,
}


def test_unchanged_models_are_not_rebuilt(engine, project_factory):
    project = project_factory(engine, FILES)
    first = project.build(as_of="2024-06-01 00:00:00")
    assert sorted(first.models) == ["people", "people_v", "scored", "unused"]
    second = project.build(as_of="2024-06-02 00:00:00")
    assert second.models == [] and not second.failed
    project.write("seeds/people.csv", "id,score\n1,10\n2,20\n3,30\n4,40\n")
    third = project.build(as_of="2024-06-03 00:00:00")
    assert sorted(third.models) == ["people", "people_v", "scored"]  # the seed and what reads it
    assert project.members("high") == {"2", "3", "4"}
    forced = build(project.load(), None, None, write_results=False, full_refresh=True)
    assert sorted(forced.models) == ["people", "people_v", "scored", "unused"]


def test_a_table_reading_outside_the_project_is_rebuilt_every_run(engine, project_factory):
    project = project_factory(engine, FILES)
    project.build(as_of="2024-06-01 00:00:00")
    q = project.quote
    outside = f"{q(project.model_schema)}.{q('people')}"  # written by hand, not through ref()
    project.write("models/scored.sql", f"{{{{ config(materialized='table') }}}} select id, score * 2 as double_score "
                                       f"from {outside}")
    assert "scored" in project.build(as_of="2024-06-02 00:00:00").models
    assert "scored" in project.build(as_of="2024-06-03 00:00:00").models


def test_selected_segments_build_only_the_models_they_read(engine, project_factory):
    project = project_factory(engine, {**FILES, "models/other.sql": "select 1 as id"})
    result = project.build(as_of="2024-06-01 00:00:00", select=["high"])
    assert "other" not in result.models and "unused" not in result.models
    assert {"people", "scored", "people_v"} <= set(result.models)
