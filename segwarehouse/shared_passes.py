"""A run's shared relation passes in the warehouse: per entity that two or more of the run's segments
read, one wide table of its rows and every measure they need (one grouped scan per relation), and
one more of only the changed keys' rows for its incremental segments, made before they are built
and dropped when the run ends."""
from __future__ import annotations

import datetime as dt
import logging
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
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


def evaluated_among_changed_keys(project: Project, names: list[str], increments: dict) -> dict[tuple[str, str], list[str]]:
    """The run's incremental segments with keys to re-evaluate, by the shared table of their
    entity's changed keys (incremental.shared_inputs)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in names:
        increment = increments.get(name)
        if increment is not None and increment.incremental and increment.keys_table is not None \
                and not increment.nothing_changed:
            groups.setdefault(increment.keys_table, []).append(name)
    return groups


@dataclass
class Passes:
    """A run's wide tables: one Features for the segments evaluated in full, and one per entity for
    the incremental segments evaluated among its changed keys (tables of those keys' rows only)."""
    full: Features | None = None
    narrowed: list[Features] = field(default_factory=list)

    def of(self, name: str) -> Features | None:
        """The Features a segment's evaluation reads, if one was planned for it."""
        for features in ([self.full] if self.full is not None else []) + self.narrowed:
            if name in features.planned and features.wide:
                return features
        return None


@contextmanager
def shared_passes(adapter: Adapter, project: Project, names: list[str], increments: dict, as_of: dt.datetime,
                  lock: Callable[[str], ContextManager[bool]]) -> Iterator[Passes]:
    """The run's Passes, with the wide table of every entity that two or more segments read
    made (one grouped scan per relation); for incremental segments, the same among their changed
    keys only. An accelerator only: an entity whose table cannot be made, or that another run
    holds (`lock(entity)`), is left to each segment's own query."""
    plans = []
    kept: dict = {}  # kept measures current at as_of (kept.py), per (entity, relation)
    for increment in increments.values():
        kept.update(increment.kept or {})
    full = evaluated_in_full(project, names, increments)
    if len(full) > 1:
        plans.append(plan_features(project, full, as_of, schema=project.segment_schema, kept=kept))
    for keys, among in sorted(evaluated_among_changed_keys(project, names, increments).items()):
        if len(among) > 1 or kept:  # a table of kept measures is worth making for one segment too
            plans.append(plan_features(project, among, as_of, schema=project.segment_schema, keys=keys, kept=kept,
                                       readers_at_least=1 if kept else 2))
    schema = project.segment_schema
    passes = Passes()
    with ExitStack() as stack:
        made: list[str] = []
        stack.callback(lambda: adapter.drop_quietly(schema, *made))
        for features in plans:
            for entity, name, query in list(features.statements()):
                if adapter.broken or not stack.enter_context(lock(f"{entity}:{name}")):
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
            if features.wide:
                if features.keys is None:
                    passes.full = features
                else:
                    passes.narrowed.append(features)
        yield passes
