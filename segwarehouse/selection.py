"""Node selection as dbt users type it: names, wildcards, tag:/category:/entity:, +graph+, state:modified."""
from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import SegwError, did_you_mean

METHODS = ("name", "tag", "category", "entity", "materialized", "config.materialized", "state")
STATES = ("modified", "new", "unmodified", "old")
ATOM = re.compile(r"^(?:(?P<up>\d*)\+)?(?P<body>[^+]+?)(?:\+(?P<down>\d*))?$")


@dataclass(frozen=True)
class Atom:
    """One selector: `[N+]method:value[+N]` (a bare value is a name, wildcards allowed)."""
    text: str
    method: str
    value: str
    up: int | None = None    # None: no upstream; -1: all; N: N levels
    down: int | None = None


def split_selectors(texts: Iterable[str] | None) -> list[list[str]]:
    """`--select "a b" -s c`: the terms (whitespace or repeated options: a union), each a list of
    selectors joined by commas (an intersection, as in dbt: `tag:email,category:retention`)."""
    return [[part for part in term.split(",") if part]
            for text in texts or () for term in str(text).split() if term.strip(",")]


def parse_atom(text: str) -> Atom:
    match = ATOM.match(text)
    if not match:
        raise SegwError(f"invalid selector '{text}'",
                        hint="write NAME, a wildcard such as lapsed_*, METHOD:VALUE (tag:email, "
                             "category:retention, state:modified), with + before/after for upstream/downstream")
    body = match["body"]
    method, _, value = body.partition(":") if ":" in body else ("", "", body)
    method = method or "name"
    if method not in METHODS:
        raise SegwError(f"unknown selector method '{method}' in '{text}'",
                        hint=did_you_mean(method, METHODS) or f"methods: {', '.join(METHODS)}")
    if not value:
        raise SegwError(f"selector '{text}' has no value after '{method}:'",
                        hint=f"e.g. {method}:{'modified' if method == 'state' else 'email'}")
    if method == "state" and value not in STATES:
        raise SegwError(f"unknown state '{value}' in '{text}'",
                        hint=did_you_mean(value, STATES) or f"states: {', '.join(STATES)}")

    def depth(group: str | None) -> int | None:
        if group is None:
            return None
        return int(group) if group else -1
    return Atom(text, "materialized" if method == "config.materialized" else method, value,
                depth(match["up"]), depth(match["down"]))


def select(project, select: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
           state: str | Path | None = None) -> list[str]:
    """Names of the selected segments in build order; everything when nothing is selected.

    An exact name that is no segment is an error (a typo must not build nothing); a wildcard or a
    method that matches nothing selects nothing, as in dbt."""
    included = [[parse_atom(text) for text in term] for term in split_selectors(select)]
    excluded = [[parse_atom(text) for text in term] for term in split_selectors(exclude)]
    atoms = [atom for term in included + excluded for atom in term]
    previous = _state_hashes(state) if any(a.method == "state" for a in atoms) else None

    def term_matches(term: list[Atom]) -> set[str]:
        found = _resolve(project, term[0], previous)
        for atom in term[1:]:
            found &= _resolve(project, atom, previous)
        return found

    chosen = set(project.segments) if not included else set()
    for term in included:
        chosen |= term_matches(term)
    for term in excluded:
        chosen -= term_matches(term)
    return [name for name in project.segments if name in chosen]


def _resolve(project, atom: Atom, previous: dict[str, str] | None) -> set[str]:
    names = list(project.segments)
    segments = project.segments
    if atom.method == "name":
        if any(ch in atom.value for ch in "*?["):
            found = {n for n in names if fnmatch.fnmatchcase(n, atom.value)}
        elif atom.value in segments:
            found = {atom.value}
        else:
            raise SegwError(f"unknown segment '{atom.value}'" + (f" in selector '{atom.text}'" if atom.text != atom.value else ""),
                            hint=did_you_mean(atom.value, segments) or
                            "see `segw ls`; a segment removed or renamed in YAML keeps its members "
                            f"until `segw retire {atom.value}`")
    elif atom.method == "tag":
        found = {n for n, s in segments.items() if any(fnmatch.fnmatchcase(tag, atom.value) for tag in s.tags)}
    elif atom.method == "category":
        found = {n for n, s in segments.items() if s.category and fnmatch.fnmatchcase(s.category, atom.value)}
    elif atom.method == "entity":
        found = {n for n, s in segments.items() if fnmatch.fnmatchcase(s.entity, atom.value)}
    elif atom.method == "materialized":
        found = {n for n, s in segments.items() if s.materialized == atom.value}
    else:  # state
        found = _state(project, atom.value, previous or {})
    if atom.up is not None:
        found |= _walk(found, upstream(project), atom.up)
    if atom.down is not None:
        found |= _walk(found, downstream(project), atom.down)
    return found


def _state(project, value: str, previous: dict[str, str]) -> set[str]:
    from .catalog import definition_hash

    out = set()
    for name, segment in project.segments.items():
        old = previous.get(name)
        new = old is None
        modified = new or old != definition_hash(project, segment)
        if (value == "modified" and modified) or (value == "new" and new) or \
                (value == "unmodified" and not modified) or (value == "old" and not new):
            out.add(name)
    return out


def upstream(project) -> dict[str, set[str]]:
    """Segment -> the segments it reads directly (in_segment, include, exclude)."""
    return {name: {r for r in segment.references() if r in project.segments}
            for name, segment in project.segments.items()}


def downstream(project) -> dict[str, set[str]]:
    """Segment -> the segments that read it directly."""
    out: dict[str, set[str]] = {name: set() for name in project.segments}
    for name, reads in upstream(project).items():
        for other in reads:
            out[other].add(name)
    return out


def _walk(start: set[str], edges: dict[str, set[str]], depth: int) -> set[str]:
    seen, frontier, level = set(start), set(start), 0
    while frontier and (depth < 0 or level < depth):
        frontier = {n for f in frontier for n in edges.get(f, ())} - seen
        seen |= frontier
        level += 1
    return seen


def _state_hashes(state: str | Path | None) -> dict[str, str]:
    """Definition hashes of a previous run's target/manifest.json (`--state DIR`)."""
    if state is None:
        raise SegwError("state: selectors compare with a previous run: pass --state DIR",
                        hint="e.g. --state prod-target/ (a copy of target/ holding manifest.json from "
                             "`segw build` or `segw compile`)")
    path = Path(state)
    if path.is_dir():
        path = path / "manifest.json"
    if not path.is_file():
        raise SegwError(f"no manifest.json in --state {state}",
                        hint="point --state at a target/ folder written by `segw build` or `segw compile`")
    try:
        data = json.loads(path.read_text())
        nodes = data["segments"]
        return {node["name"]: node["definition_hash"] for node in nodes.values()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SegwError(f"{path} is not a segwarehouse manifest", hint="pass the target/ folder of a "
                        "segwarehouse project (dbt's own target/ holds dbt's manifest)") from None


def due_within(project, names: list[str], states: dict, now) -> list[str]:
    """`segw run --select ...`: the selected segments that are due by their schedule, plus what
    those read (a due segment outside the selection is not built because of it)."""
    import copy

    from .schedule import due_segments

    chosen = set(names)
    view = copy.copy(project)
    view.segments = {name: segment for name, segment in project.segments.items() if name in chosen}
    due = set(due_segments(view, states, now))
    for name in list(due):
        due |= project.dependencies(name)
    return [name for name in project.segments if name in due]
