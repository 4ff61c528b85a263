"""`segw funnel`: how entity rows pass a segment's top-level conditions, in one query.

For `all:` (and a rule list): how many rows pass each condition alone and each condition together
with every condition before it (cumulative). For `any:`: how many rows each branch matches alone,
how many only that branch brings, and the union so far. `none:` reads as `all:` of the negations.
The last row counts the members, include and exclude applied, as a build would."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlglot import exp

from .compiler.conditions import compile_condition
from .compiler.segment import membership_condition
from .explain import entity_frame, flag, frame_select
from .words import condition_words
from .project.loader import Project
from .language import types as t
from .warehouse.base import Adapter


@dataclass
class Step:
    condition: str
    alone: int
    cumulative: int          # all: passing this and every step before; any: the union so far
    only: int | None = None  # any: matched by this branch and no other


@dataclass
class Funnel:
    segment: str
    entity: str
    mode: str                # all | any | single
    total: int               # entity rows (with a key)
    steps: list[Step]
    members: int             # include and exclude applied
    as_of: dt.datetime | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"segment": self.segment, "entity": self.entity, "mode": self.mode, "total": self.total,
                "as_of": self.as_of.isoformat() if self.as_of else None, "members": self.members,
                "notes": self.notes,
                "steps": [{"condition": s.condition, "alone": s.alone, "cumulative": s.cumulative,
                           **({"only": s.only} if s.only is not None else {})} for s in self.steps]}


def steps_of(segment: t.Segment) -> tuple[str, list[t.Condition]]:
    rules = segment.rules
    if rules is None:
        return "single", []
    if isinstance(rules, t.All):
        return "all", list(rules.children)
    if isinstance(rules, t.NoneOf):
        return "all", [t.Not(child, loc=child.loc) for child in rules.children]
    if isinstance(rules, t.Any):
        return "any", list(rules.children)
    return "single", [rules]


def _count(predicate: exp.Expression) -> exp.Expression:
    return exp.Sum(this=flag(predicate))


def funnel(adapter: Adapter, project: Project, segment: t.Segment, as_of: dt.datetime | None) -> Funnel:
    frame = entity_frame(project, segment, as_of)
    mode, conditions = steps_of(segment)
    positive = [compile_condition(c, frame) for c in conditions]
    outputs: list[exp.Expression] = [exp.Count(this=exp.Star())]
    for index, predicate in enumerate(positive):
        outputs.append(_count(predicate.copy()))
        if mode == "any":
            outputs.append(_count(exp.or_(*[p.copy() for p in positive[:index + 1]])))
            others = [compile_condition(c, frame, negated=True) for j, c in enumerate(conditions) if j != index]
            outputs.append(_count(exp.and_(predicate.copy(), *others)))
        else:
            outputs.append(_count(exp.and_(*[p.copy() for p in positive[:index + 1]])))
    outputs.append(_count(membership_condition(segment, frame)))
    row = [int(v or 0) for v in adapter.fetchall(frame_select(frame, outputs))[0]]
    total, members = row[0], row[-1]
    steps, values = [], row[1:-1]
    width = 3 if mode == "any" else 2
    for index, condition in enumerate(conditions):
        chunk = values[index * width:(index + 1) * width]
        steps.append(Step(condition_words(condition), chunk[0], chunk[1], chunk[2] if mode == "any" else None))
    notes = []
    if segment.include:
        notes.append(f"include: {', '.join(segment.include)}")
    if segment.exclude:
        notes.append(f"exclude: {', '.join(segment.exclude)}")
    if mode == "single" and segment.rules is not None:
        notes.append("the rules are a single condition, not an `all:` or `any:` group")
    return Funnel(segment.name, segment.entity, mode, total, steps, members, frame.scope.clock.as_of, notes)


def funnel_table(result: Funnel):
    from rich.markup import escape
    from rich.table import Table

    def share(n: int) -> str:
        return f"{n / result.total:.1%}" if result.total else "-"

    when = f"as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC" if result.as_of else "live"
    table = Table(title=f"{result.segment}: funnel over {result.total:,} {result.entity} rows ({when})",
                  title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("condition", overflow="fold")
    table.add_column("alone", justify="right")
    if result.mode == "any":
        table.add_column("only this", justify="right")
        table.add_column("union so far", justify="right")
    else:
        table.add_column("cumulative", justify="right")
        table.add_column("of all rows", justify="right")
        table.add_column("dropped", justify="right")
    previous = result.total
    for index, step in enumerate(result.steps, 1):
        if result.mode == "any":
            table.add_row(str(index), escape(step.condition), f"{step.alone:,}", f"{step.only:,}",
                          f"{step.cumulative:,}")
        else:
            table.add_row(str(index), escape(step.condition), f"{step.alone:,}", f"{step.cumulative:,}",
                          share(step.cumulative), f"{previous - step.cumulative:,}")
            previous = step.cumulative
    extra = f" ({'; '.join(result.notes)})" if result.notes else ""
    table.add_section()
    if result.mode == "any":
        table.add_row("", f"[bold]members[/]{escape(extra)}", "", "", f"[bold]{result.members:,}[/]")
    else:
        table.add_row("", f"[bold]members[/]{escape(extra)}", "", f"[bold]{result.members:,}[/]",
                      share(result.members), "")
    return table
