"""A run's shared relation passes in the warehouse: each grouped scan that two or more of the run's
segments read is materialized once before they are built, and dropped when the run ends."""
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
    """The run's Features, with every pass read by two or more segments materialized, or None when
    nothing is shared. An accelerator only: a pass that cannot be materialized, or whose entity
    another run holds (`lock(entity)`), is left to each segment's own query."""
    full = evaluated_in_full(project, names, increments)
    features = plan_features(project, full, as_of, schema=project.segment_schema) if len(full) > 1 else None
    if features is None or not features.passes:
        yield None
        return
    schema = project.segment_schema
    with ExitStack() as stack:
        made: list[str] = []
        stack.callback(lambda: adapter.drop_quietly(schema, *made))
        for entity in sorted({entity for entity, _ in features.passes}):
            keys = sorted(key for key in features.passes if key[0] == entity)
            if adapter.broken or not stack.enter_context(lock(entity)):
                for key in keys:
                    features.drop(key)
                continue
            for key in keys:
                name = features.table_name(key)
                try:
                    adapter.drop(schema, name, "table")  # a killed run's leftover
                    adapter.execute(exp.Create(this=table(schema, name), kind="TABLE",
                                               expression=features.passes[key].grouped()))
                    made.append(name)
                    adapter.create_work_index(schema, name, ["k"])
                    adapter.analyze(schema, name)
                    features.materialized(key, schema)
                except SegwError as exc:  # the segments meet the fault in their own queries
                    log.debug("relation %s of %s not shared: %s", key[1], entity, exc)
                    features.drop(key)
        if not features.passes:
            features = None
        yield features
