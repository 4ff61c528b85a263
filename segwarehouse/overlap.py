"""`segw overlap`: pairwise overlap and Jaccard index between the stored memberships of one entity."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from .errors import SegwError, did_you_mean
from .outputs import col, table, text
from .warehouse.base import Adapter


@dataclass
class Overlap:
    entity: str
    segments: list[str]
    sizes: dict[str, int]
    both: dict[tuple[str, str], int] = field(default_factory=dict)  # symmetric, diagonal = size

    def count(self, a: str, b: str) -> int:
        return self.both.get((a, b), 0)

    def jaccard(self, a: str, b: str) -> float:
        union = self.sizes[a] + self.sizes[b] - self.count(a, b)
        return self.count(a, b) / union if union else 0.0

    def to_json(self) -> dict:
        return {"entity": self.entity, "segments": self.segments, "sizes": self.sizes,
                "pairs": [{"a": a, "b": b, "both": self.count(a, b), "jaccard": round(self.jaccard(a, b), 6)}
                          for i, a in enumerate(self.segments) for b in self.segments[i + 1:]]}


def stored_entities(adapter: Adapter, schema: str) -> dict[str, str]:
    """{segment: entity} of every segment with stored members."""
    if adapter.relation_kind(schema, "memberships") is None:
        return {}
    rows = adapter.fetchall(exp.select(col("segment"), exp.Max(this=col("entity")))
                            .from_(table(schema, "memberships")).group_by(col("segment")))
    return {segment: entity for segment, entity in rows}


def choose_segments(project, stored: dict[str, str], names: list[str], entity: str | None) -> tuple[str, list[str]]:
    """The segments to compare (named, else every stored segment of the entity) and their entity."""
    chosen: list[str] = []
    for name in names:
        for part in str(name).replace(",", " ").split():
            if part in stored:
                chosen.append(part)
                continue
            segment = project.segments.get(part)
            if segment is not None and segment.materialized == "view":
                raise SegwError(f"segment '{part}' is a view: it keeps no stored memberships",
                                segment.loc, "overlap compares table and incremental segments")
            if segment is not None:
                raise SegwError(f"segment '{part}' has no stored members", segment.loc,
                                "build it first (`segw build --select " + part + "`)")
            raise SegwError(f"unknown segment '{part}'",
                            hint=did_you_mean(part, list(project.segments) + list(stored))
                            or "see `segw status` for stored segments")
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        candidates = sorted(s for s, e in stored.items() if entity is None or e == entity)
        entities = sorted({stored[s] for s in candidates})
        if len(entities) > 1:
            raise SegwError(f"stored segments belong to several entities ({', '.join(entities)})",
                            hint="pass --entity NAME, or name the segments to compare")
        chosen = candidates
    entities = sorted({stored[s] for s in chosen})
    if len(entities) > 1:
        raise SegwError("segments of different entities cannot overlap: "
                        + ", ".join(f"{s} ({stored[s]})" for s in chosen),
                        hint="name segments of one entity")
    if entity is not None and entities and entities != [entity]:
        raise SegwError(f"the segments are of entity '{entities[0]}', not '{entity}'")
    if len(chosen) < 2:
        raise SegwError("overlap needs at least two segments with stored members",
                        hint="build more segments, or name two or more")
    return entities[0], chosen


def overlap(adapter: Adapter, project, names: list[str] | None = None, entity: str | None = None) -> Overlap:
    """Members in common for every pair of segments, computed by the warehouse in one query."""
    schema = project.segment_schema
    stored = stored_entities(adapter, schema)
    entity, chosen = choose_segments(project, stored, list(names or []), entity)
    wanted = [text(s) for s in chosen]
    a, b = table(schema, "memberships", "a"), table(schema, "memberships", "b")
    query = (exp.select(col("segment", "a"), col("segment", "b"), exp.Count(this=exp.Star()))
             .from_(a).join(b, on=exp.and_(col("key", "a").eq(col("key", "b")),
                                           col("entity", "a").eq(col("entity", "b"))))
             .where(exp.In(this=col("segment", "a"), expressions=wanted),
                    exp.In(this=col("segment", "b"), expressions=[w.copy() for w in wanted]),
                    col("segment", "a") <= col("segment", "b"))
             .group_by(col("segment", "a"), col("segment", "b")))
    result = Overlap(entity, chosen, {s: 0 for s in chosen})
    for first, second, count in adapter.fetchall(query):
        count = int(count)
        result.both[(first, second)] = result.both[(second, first)] = count
        if first == second:
            result.sizes[first] = count
    return result


def overlap_table(result: Overlap):
    """A matrix: members in common (and Jaccard) for every pair; the diagonal is the size."""
    from rich.table import Table

    table_ = Table(title=f"overlap of {len(result.segments)} {result.entity} segments "
                         "(members in common, Jaccard)", title_justify="left")
    table_.add_column("segment")
    table_.add_column("size", justify="right")
    for name in result.segments:
        table_.add_column(name, justify="right", overflow="fold")
    for a in result.segments:
        cells = []
        for b in result.segments:
            if a == b:
                cells.append("[dim]—[/]")
            else:
                cells.append(f"{result.count(a, b):,} ({result.jaccard(a, b):.2f})")
        table_.add_row(a, f"{result.sizes[a]:,}", *cells)
    return table_
