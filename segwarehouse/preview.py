"""`segw preview`: a segment's size and a sample of its members, computed without writing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlglot import exp

from .columns import Catalog, check_segment_columns
from .compiler.segment import segment_query
from .materialize import output_columns
from .project.loader import Project
from .language import types as t
from .warehouse import connect


@dataclass
class Preview:
    segment: str
    size: int
    columns: list[str]
    rows: list[tuple]
    splits: dict[str, int] = field(default_factory=dict)


def preview_segment(project: Project, segment: t.Segment, as_of: dt.datetime, limit: int = 10) -> Preview:
    adapter = connect(project.target)
    try:
        check_segment_columns(project, segment, Catalog(adapter))
        query = segment_query(project, segment, None if segment.materialized == "view" else as_of)
        members = query.subquery(exp.to_identifier("p", quoted=True))
        size = adapter.scalar(exp.select(exp.Count(this=exp.Star())).from_(members.copy()))
        columns = output_columns(project, segment)
        key = exp.column(columns[0], table="p", quoted=True)
        rows = adapter.fetchall(exp.select(exp.Star()).from_(members.copy()).order_by(key).limit(limit))
        splits = {}
        if segment.splits:
            split = exp.column("split", table="p", quoted=True)
            splits = dict(adapter.fetchall(exp.select(split, exp.Count(this=exp.Star()))
                                           .from_(members.copy()).group_by(split.copy()).order_by(split.copy())))
        return Preview(segment.name, int(size or 0), columns, rows, splits)
    finally:
        adapter.close()
