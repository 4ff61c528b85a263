"""A run's shared relation passes in the warehouse: per entity that two or more of the run's segments
read, one wide table of its rows and every measure they need (one grouped scan per relation), made
before they are built and dropped when the run ends."""
from __future__ import annotations

import datetime as dt
import logging
from contextlib import ExitStack, contextmanager
from typing import Callable, ContextManager, Iterator

from sqlglot import exp

from .compiler.features import Features, plan_features
from .errors import SegwError
from .outputs import table
from .project.loader import Project
from .warehouse.base import Adapter

log = logging.getLogger("segwarehouse.run")


def evaluated_in_full(project: Project, names: list[str], increments: dict) -> list[str]:
    """The segments of a run whose every member is evaluated (not views, not incremental runs)."""
    return [name for name in names if project.segments[name].materialized != "view"
            and not (name in increments and increments[name].incremental)]


@contextmanager
def shared_passes(adapter: Adapter, project: Project, names: list[str], increments: dict, as_of: dt.datetime,
                  lock: Callable[[str], ContextManager[bool]]) -> Iterator[Features | None]:
    """The run's Features, with the wide table of every entity that two or more segments read
    made (one grouped scan per relation), or None when nothing is shared. An accelerator only: an
    entity whose table cannot be made, or that another run holds (`lock(entity)`), is left to each
    segment's own query."""
    full = evaluated_in_full(project, names, increments)
    features = plan_features(project, full, as_of, schema=project.segment_schema) if len(full) > 1 else None
    if features is None or not features.entities:
        yield None
        return
    schema = project.segment_schema
    with ExitStack() as stack:
        made: list[str] = []
        stack.callback(lambda: adapter.drop_quietly(schema, *made))
        for entity, name, query in list(features.statements()):
            if adapter.broken or not stack.enter_context(lock(entity)):
                features.drop(entity)
                continue
            try:
                adapter.drop(schema, name, "table")  # a killed run's leftover
                adapter.execute(exp.Create(this=table(schema, name), kind="TABLE", expression=query))
                made.append(name)
                # Not analyzed: each segment reads it whole with a filter, and PostgreSQL sizes a
                # table without statistics from its pages; sampling it cost more than it saved.
                features.materialized(entity)
            except SegwError as exc:  # the segments meet the fault in their own queries
                log.debug("no shared passes for entity %s: %s", entity, exc)
                features.drop(entity)
        yield features if features.wide else None
