"""The invariants of the output contract, checked on a project's warehouse after anything happened."""
from __future__ import annotations

from collections import defaultdict


def check_invariants(project, allowed: dict[str, list[set[str]]] | None = None) -> dict[str, set[str]]:
    """Assert every invariant; `allowed` maps a segment to the member sets it may have. Returns members."""
    q = project.quote
    members: dict[str, set[str]] = defaultdict(set)
    for segment, key in project.query(f"SELECT segment, {q('key')} FROM {{seg}}.memberships"):
        members[segment].add(key)
    pairs = project.query(f"SELECT COUNT(*), COUNT(DISTINCT {q('segment')} || ':' || {q('key')}) "
                          f"FROM {{seg}}.memberships") if project.engine != "mysql" else \
        project.query(f"SELECT COUNT(*), COUNT(DISTINCT {q('segment')}, {q('key')}) FROM {{seg}}.memberships")
    assert pairs[0][0] == pairs[0][1], "a member appears twice in memberships"

    history = defaultdict(list)
    for segment, key, start, end in project.query(
            f"SELECT segment, {q('key')}, valid_from, valid_to FROM {{seg}}.membership_history"):
        history[(segment, key)].append((start, end))
    open_rows: dict[str, set[str]] = defaultdict(set)
    for (segment, key), intervals in history.items():
        intervals.sort(key=lambda iv: iv[0])
        for (start, end), nxt in zip(intervals, intervals[1:] + [None]):
            if end is None:
                assert nxt is None, f"{segment}/{key}: an open interval is followed by another"
                open_rows[segment].add(key)
            else:
                assert end >= start, f"{segment}/{key}: interval ends before it starts"
                if nxt is not None:
                    assert nxt[0] >= end, f"{segment}/{key}: intervals overlap"
    segments = set(members) | set(open_rows)
    for segment in segments:
        assert open_rows[segment] == members[segment], f"{segment}: open history differs from memberships"

    changes = project.query(f"SELECT change_id, segment, {q('key')}, {q('change')}, as_of "
                            f"FROM {{seg}}.membership_changes ORDER BY change_id")
    ids = [c[0] for c in changes]
    assert len(ids) == len(set(ids)), "change_id repeats"
    replay: dict[str, set[str]] = defaultdict(set)
    entries = defaultdict(set)
    for _, segment, key, change, as_of in changes:
        if change == "entered":
            assert key not in replay[segment], f"{segment}/{key} entered twice"
            replay[segment].add(key)
            entries[(segment, key)].add(as_of)
        elif change == "moved":  # a member changed split: its history opens a new interval
            assert key in replay[segment], f"{segment}/{key} moved without being a member"
            entries[(segment, key)].add(as_of)
        else:
            assert change == "exited", change
            assert key in replay[segment], f"{segment}/{key} exited without entering"
            replay[segment].discard(key)
    for segment in segments | set(replay):
        assert replay[segment] == members[segment], f"{segment}: replaying changes gives other members"
    for (segment, key), intervals in history.items():
        assert {start for start, _ in intervals} == entries[(segment, key)], f"{segment}/{key}: history vs changes"

    retired = {row[0] for row in project.query("SELECT segment FROM {seg}.segment_catalog WHERE status = 'retired'")}
    for segment, keys in members.items():
        if segment in retired:
            assert not keys, f"{segment}: retired but still has members"
            continue
        own = {str(row[0]) for row in project.query(f"SELECT * FROM {{seg}}.{q(segment)}")}
        assert own == keys, f"{segment}: its own relation differs from memberships"
    for segment, options in (allowed or {}).items():
        assert members.get(segment, set()) in options, f"{segment} is neither the old nor the new member set"
    return dict(members)
