"""explain, funnel and overlap on every engine: they agree with what the build stored."""
from __future__ import annotations

import json

import pytest

from toolshop import AS_OF, KEYS


def explain_json(run_segw, project, segment, key, *extra):
    result = run_segw(project, "explain", segment, key, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stored_splits(project, segment):
    q = project.quote
    return dict(project.query(f"SELECT {q('key')}, {q('split')} FROM {{seg}}.memberships "
                              f"WHERE {q('segment')} = '{segment}'"))


def find(node, kind, text=None):
    """Depth-first nodes of a kind (whose condition contains text)."""
    found = []
    if node["kind"] == kind and (text is None or text in node["condition"]):
        found.append(node)
    for child in node["children"]:
        found += find(child, kind, text)
    return found


@pytest.mark.parametrize("segment", ["recent_buyers", "swiss_or_frequent", "campaign", "lapsed"])
def test_explain_agrees_with_stored_membership_for_every_key(shop, run_segw, segment):
    members = shop.members(segment)
    assert members, "the fixture should give every segment members"
    splits = stored_splits(shop, segment)
    for key in KEYS:
        out = explain_json(run_segw, shop, segment, key)
        assert out["as_of"] == AS_OF.replace(" ", "T")  # default: the as_of of the last build
        assert out["member"] == (key in members), (segment, key, out)
        assert out["tree"]["result"] == out["member"]
        assert out["stored"] == ("member" if key in members else "not a member")
        if key in members:
            assert out["split"] == splits[key]


def test_explain_shows_the_values_that_decided(shop, run_segw):
    out = explain_json(run_segw, shop, "recent_buyers", "4")
    assert out["member"] is True
    score = find(out["tree"], "property", "score")[0]
    assert score["result"] is True and score["values"] == {"score": 40}
    spend = find(out["tree"], "related")[0]
    assert spend["result"] is True and float(spend["values"]["sum(amount)"]) == 170
    assert "2024-05-31 12:00:00" in spend["notes"]["window"]
    # an order after as_of never counts, and a blocked key says why
    out = explain_json(run_segw, shop, "recent_buyers", "6")
    spend = find(out["tree"], "related")[0]
    assert spend["result"] is False and float(spend["values"]["sum(amount)"]) == 60
    blocked = find(out["tree"], "in_list")[0]
    assert blocked["result"] is True and find(out["tree"], "not")[0]["result"] is False
    # zero related rows read as 0, not NULL
    out = explain_json(run_segw, shop, "recent_buyers", "7")
    assert float(find(out["tree"], "related")[0]["values"]["sum(amount)"]) == 0


def test_explain_expands_upstream_segments_include_and_exclude(shop, run_segw):
    out = explain_json(run_segw, shop, "campaign", "6")  # blocked, so not a recent buyer; included by list
    assert out["member"] is True
    kinds = [c["kind"] for c in out["tree"]["children"]]
    assert kinds == ["all", "include", "exclude"]
    include, exclude = out["tree"]["children"][1:]
    assert include["result"] is True and exclude["result"] is False
    upstream = find(out["tree"], "in_segment", "recent_buyers")[0]
    assert upstream["result"] is False and upstream["children"][0]["kind"] == "all"
    # first/last show the time found
    out = explain_json(run_segw, shop, "lapsed", "5")
    first, last = find(out["tree"], "related")
    assert out["member"] is True and first["values"]["first"].startswith("2023-12-24")


def test_explain_at_another_as_of_and_its_tree_text(shop, run_segw):
    out = explain_json(run_segw, shop, "recent_buyers", "6", "--as-of", "2024-07-20T00:00:00")
    spend = find(out["tree"], "related")[0]
    assert float(spend["values"]["sum(amount)"]) == 130  # the July order counts now
    text = run_segw(shop, "explain", "recent_buyers", "4")
    assert text.exit_code == 0
    assert "member" in text.stdout and "TRUE" in text.stdout and "score is at least 20" in text.stdout
    assert "stored membership: member" in text.stdout


def test_explain_errors_are_user_errors(shop, run_segw):
    missing = run_segw(shop, "explain", "recent_buyers", "99")
    assert missing.exit_code == 2 and "no person with id = '99'" in missing.stderr
    unknown = run_segw(shop, "explain", "recent_buyer", "1")
    assert unknown.exit_code == 2 and "did you mean 'recent_buyers'" in unknown.stderr


def test_funnel_counts_each_condition_in_turn_and_alone(shop, run_segw):
    result = run_segw(shop, "funnel", "recent_buyers", "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["mode"] == "all" and out["total"] == 8
    alone = [s["alone"] for s in out["steps"]]
    cumulative = [s["cumulative"] for s in out["steps"]]
    assert alone == [7, 4, 7]          # score >= 20; spend > 100 (keys 1, 2, 4, 8); not blocked
    assert cumulative == [7, 3, 3]
    assert out["members"] == len(shop.members("recent_buyers")) == 3


def test_funnel_of_any_counts_what_each_branch_brings(shop, run_segw):
    out = json.loads(run_segw(shop, "funnel", "swiss_or_frequent", "--as-of", AS_OF, "--json").stdout)
    assert out["mode"] == "any"
    steps = out["steps"]
    # CH: 1, 4, 7; two orders or more by as_of: 1, 2, 4, 8 (6's second is later); email ending .fr: 5
    assert [s["alone"] for s in steps] == [3, 4, 1]
    assert [s["only"] for s in steps] == [1, 2, 1]
    assert [s["cumulative"] for s in steps] == [3, 5, 6]
    assert out["members"] == len(shop.members("swiss_or_frequent")) == 6
    table = run_segw(shop, "funnel", "swiss_or_frequent", "--as-of", AS_OF)
    assert "only this" in table.stdout and "members" in table.stdout


def test_overlap_counts_members_in_common(shop, run_segw):
    result = run_segw(shop, "overlap", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert sorted(out["segments"]) == ["campaign", "lapsed", "recent_buyers", "swiss_or_frequent"]
    members = {s: shop.members(s) for s in out["segments"]}
    assert out["sizes"] == {s: len(m) for s, m in members.items()}
    assert len(out["pairs"]) == 6
    for pair in out["pairs"]:
        a, b = members[pair["a"]], members[pair["b"]]
        assert pair["both"] == len(a & b)
        assert pair["jaccard"] == pytest.approx(len(a & b) / len(a | b) if a | b else 0, abs=1e-6)
    table = run_segw(shop, "overlap", "recent_buyers", "lapsed")
    assert table.exit_code == 0 and "recent_buyers" in table.stdout
    alone = run_segw(shop, "overlap", "recent_buyers")
    assert alone.exit_code == 2 and "at least two" in alone.stderr
