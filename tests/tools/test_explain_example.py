"""explain over the example shop (events, lists, near, sql, anniversaries, in_segment, splits):
for a sample of keys per segment it agrees with the stored membership, on every engine."""
from __future__ import annotations

import shutil
from pathlib import Path

from segwarehouse.explain import explain, explanation_tree

REPO = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-01 09:30:00"


def test_explain_agrees_with_the_example_memberships(engine, project_factory):
    project = project_factory(engine)
    for folder in ("models", "segments", "seeds", "macros"):
        shutil.copytree(REPO / folder, project.root / folder)
    settings = (REPO / "segwarehouse.yml").read_text()
    (project.root / "segwarehouse.yml").write_text(
        settings.replace("profile: shop", "profile: test")
        .replace("segment_schema: segments", f"segment_schema: {project.segment_schema}"))
    result = project.build(as_of=AS_OF)
    assert result.exit_code == 0, [s.error for s in result.failed]
    loaded = project.load()
    q = project.quote
    stored = {}
    for segment, key, split in project.query(f"SELECT {q('segment')}, {q('key')}, {q('split')} "
                                             "FROM {seg}.memberships"):
        stored.setdefault(segment, {})[key] = split
    adapter = project.adapter()
    checked = 0
    try:
        from segwarehouse.runner import parse_as_of
        moment = parse_as_of(AS_OF)
        for name, segment in loaded.segments.items():
            if segment.materialized == "view":
                continue
            members = stored.get(name, {})
            keys = sorted(members, key=int)[:3] + [str(k) for k in range(1, 5)]
            for key in dict.fromkeys(keys):
                out = explain(adapter, loaded, segment, key, moment)
                assert out.member == (key in members), (name, key)
                assert out.stored == ("member" if key in members else "not a member")
                if out.member and segment.splits:
                    assert out.split == members[key]
                checked += 1
        tree = explanation_tree(explain(adapter, loaded, loaded.segments["near_zurich"], "1", moment))
        assert tree.label and tree.children
        if "champions" in loaded.segments:  # quantile buckets: the bucket shown decides the leaf
            for key in sorted(stored.get("champions", {}), key=int)[:3]:
                leaves = explain(adapter, loaded, loaded.segments["champions"], key, moment).tree.children[0].children
                assert leaves and all(leaf.result and leaf.shown["bucket"] >= 4 for leaf in leaves), key
    finally:
        adapter.close()
    assert checked > 100
