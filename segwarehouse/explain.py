"""`segw explain`: a segment's rule tree for one entity, every node TRUE/FALSE with the values that
decided it, computed by the warehouse in one query from the same compiler that builds the segment.

Each node of the tree is compiled (with `compile_condition`, the builder's own function) into one
column of a single SELECT over the entity row filtered to the key; related measures are read from
the very relation-pass columns the node's predicate compares, so the values shown are the values
the build used."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlglot import exp

from .catalog import stored_segment
from .compiler.conditions import Frame, Scope, compile_condition
from .compiler.segment import membership_condition, split_expression
from .compiler.timeexpr import Clock, delta
from .errors import SegwError, did_you_mean
from .outputs import col, table, text
from .project.loader import Project
from .language import types as t
from .warehouse.base import Adapter
from .words import condition_words


# -- shared with funnel: one FROM level over the entity, as the segment query builds it -------------
def entity_frame(project: Project, segment: t.Segment, as_of: dt.datetime | None) -> Frame:
    """A compile frame over the segment's entity rows at as_of (views: live), like segment_query's."""
    clock = Clock(None if segment.materialized == "view" else as_of)
    scope = Scope(project, clock, project.config.models_dialect or project.dialect)
    scope.segment = segment
    return Frame(scope, project.entities[segment.entity], scope.alias("e"))


def frame_select(frame: Frame, outputs: list[exp.Expression]) -> exp.Select:
    """SELECT outputs FROM the entity with every join the compiled conditions asked for; rows with a
    NULL key are never members, so they are left out as in the segment query. Call it after every
    condition has been compiled (the relation passes collect their measures while compiling)."""
    project, entity = frame.scope.project, frame.entity
    schema, name = project.relation_of(entity.model)
    query = exp.select(*outputs).from_(
        exp.alias_(exp.table_(name, db=schema, quoted=True), frame.alias, table=True, quoted=True))
    for join in frame.all_joins():
        query = query.join(join)
    return query.where(exp.not_(exp.Is(this=frame.column(entity.key), expression=exp.null())))


def flag(predicate: exp.Expression) -> exp.Expression:
    """A predicate (TRUE exactly when it holds) as 1/0 on every engine."""
    return exp.Case(ifs=[exp.If(this=predicate, true=exp.Literal.number(1))], default=exp.Literal.number(0))


def require_segment(project: Project, name: str) -> t.Segment:
    if name not in project.segments:
        raise SegwError(f"unknown segment '{name}'",
                        hint=did_you_mean(name, project.segments) or "see `segw ls` for the segments")
    return project.segments[name]


# -- the tree --------------------------------------------------------------------------------------
@dataclass
class Node:
    kind: str       # all, any, none, not, property, related, in_segment, in_list, near, sql, include, ...
    label: str
    column: str     # output column of its TRUE/FALSE
    values: dict[str, str] = field(default_factory=dict)   # what is shown -> output column
    notes: dict[str, str] = field(default_factory=dict)    # shown as they are (windows, SQL)
    children: list["Node"] = field(default_factory=list)
    result: bool | None = None
    shown: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.kind, "condition": self.label, "result": self.result,
                "values": {k: _json_value(v) for k, v in self.shown.items()},
                **({"notes": self.notes} if self.notes else {}),
                "children": [c.to_json() for c in self.children]}


@dataclass
class Explanation:
    segment: str
    entity: str
    key: str
    as_of: dt.datetime | None
    member: bool
    split: str | None
    tree: Node
    stored: str | None = None     # 'member' | 'not a member' | None (not stored: view / never built)
    entered_at: dt.datetime | None = None

    def to_json(self) -> dict:
        return {"segment": self.segment, "entity": self.entity, "key": self.key,
                "as_of": self.as_of.isoformat() if self.as_of else None, "member": self.member,
                "split": self.split, "stored": self.stored,
                "entered_at": self.entered_at.isoformat() if self.entered_at else None,
                "tree": self.tree.to_json()}


class TreeBuilder:
    """Compiles every node of a segment's tree into output columns of one SELECT."""

    def __init__(self, frame: Frame):
        self.frame = frame
        self.outputs: list[exp.Expression] = []
        self.counter = 0

    def output(self, expression: exp.Expression) -> str:
        self.counter += 1
        name = f"x{self.counter}"
        self.outputs.append(exp.alias_(expression, name, quoted=True))
        return name

    def passes(self) -> set[str]:
        return {p.derived for p in self.frame.passes.values()}

    def segment(self, segment: t.Segment, label: str) -> Node:
        """(rules OR include) AND NOT exclude, as compiled for membership, with its parts."""
        scope = self.frame.scope
        outer, scope.segment = scope.segment, segment
        try:
            node = Node("segment", label, self.output(flag(membership_condition(segment, self.frame))))
            if segment.rules is not None:
                node.children.append(self.condition(segment.rules))
            for name in segment.include:
                node.children.append(self.source("include", name))
            for name in segment.exclude:
                node.children.append(self.source("exclude", name))
        finally:
            scope.segment = outer
        return node

    def source(self, kind: str, name: str) -> Node:
        project = self.frame.scope.project
        if name in project.lists:
            leaf = t.InList(name, loc=None)
            return Node(kind, f"{kind} list {name}", self.output(flag(compile_condition(leaf, self.frame))))
        inner = self.segment(project.segments[name], f"{kind} segment {name}")
        inner.kind = kind
        return inner

    def buckets(self, node: t.Condition, predicate: exp.Expression, out: Node) -> Node:
        """[1.1] A quantile-bucket leaf: the value's rank among the entity rows, how many were
        ranked, and the bucket they give (computed as the compiler does: floor(N·(r−1)/c) + 1)."""
        test = node.measure.test if isinstance(node, t.Related) else getattr(node, "test", None)
        alias = getattr(getattr(self.frame, "buckets", None), "alias", None)
        if test is None or test.op != "bucket" or alias is None:
            return out
        refs = {r.name: r for r in predicate.find_all(exp.Column) if r.table == alias}
        ranks = sorted(n for n in refs if n.startswith("r"))
        if ranks and f"c{ranks[0][1:]}" in refs:
            out.values["rank"] = self.output(refs[ranks[0]].copy())
            out.values["ranked rows"] = self.output(refs[f"c{ranks[0][1:]}"].copy())
            out.notes["buckets"] = str(test.value.buckets)
        return out

    def condition(self, node: t.Condition) -> Node:
        frame = self.frame
        before = self.passes()
        predicate = compile_condition(node, frame)
        column = self.output(flag(predicate))
        if isinstance(node, (t.All, t.Any, t.NoneOf)):
            kind = {t.All: "all", t.Any: "any", t.NoneOf: "none"}[type(node)]
            out = Node(kind, {"all": "all of", "any": "any of", "none": "none of"}[kind], column)
            out.children = [self.condition(c) for c in node.children]
            return out
        if isinstance(node, t.Not):
            out = Node("not", "not", column)
            out.children = [self.condition(node.child)]
            return out
        if isinstance(node, t.Property):
            out = Node("property", condition_words(node), column)
            out.values[node.column] = self.output(frame.column(node.column))
            return self.buckets(node, predicate, out)
        if isinstance(node, t.Related):
            out = Node("related", condition_words(node), column)
            derived = self.passes() | before
            seen: list[str] = []
            for ref in predicate.find_all(exp.Column):
                if ref.table in derived and ref.sql() not in seen:
                    seen.append(ref.sql())
            measure = node.measure
            name = f"{measure.kind}({measure.of})" if measure.of else measure.kind
            for index, ref_sql in enumerate(seen):
                ref = next(r for r in predicate.find_all(exp.Column) if r.sql() == ref_sql)
                out.values[name if index == 0 else f"{name}#{index + 1}"] = self.output(ref.copy())
            if measure.kind in ("count", "sum", "count_distinct"):
                out.notes["zero rows"] = "count as 0"
            if node.window is not None:
                out.notes["window"] = window_text(node.window, frame.scope.clock.as_of)
            return self.buckets(node, predicate, out)
        if isinstance(node, t.InSegment):
            project = frame.scope.project
            out = self.segment(project.segments[node.segment], f"in_segment {node.segment}")
            out.kind = "in_segment"
            return out
        if isinstance(node, t.InList):
            return Node("in_list", condition_words(node), column)
        if isinstance(node, t.Near):
            out = Node("near", condition_words(node), column)
            if isinstance(predicate, exp.LTE):
                out.values["distance_km"] = self.output(predicate.this.copy())
            return out
        if isinstance(node, t.Sql):
            return Node("sql", condition_words(node), column)
        return Node(type(node).__name__.lower(), condition_words(node), column)


def window_text(window: t.Comparison, as_of: dt.datetime | None) -> str:
    """A related leaf's time window in words, with its bounds when as_of is fixed."""
    value = window.value
    words = f"{window.op} {_plain(value)}"
    if as_of is None:
        return words + " (live)"

    def point(v):
        if isinstance(v, t.Ago):
            return as_of - delta(v.duration)
        return v

    stamp = "%Y-%m-%d %H:%M:%S"
    try:
        if window.op == "within_last":
            return f"{words}: ({(as_of - delta(value)):{stamp}}, {as_of:{stamp}}]"
        if window.op == "after":
            return f"{words}: ({point(value):{stamp}}, {as_of:{stamp}}]"
        if window.op == "before":
            return f"{words}: before {point(value):{stamp}}"
        if window.op == "between":
            low, high = value
            return f"{words}: [{point(low):{stamp}}, {point(high):{stamp}}]"
    except (TypeError, ValueError):
        pass
    return words + f" (as of {as_of:{stamp}})"


def _plain(value) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    if isinstance(value, t.Ago):
        return f"{value.duration} ago"
    return str(value)


def _json_value(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _fill(node: Node, row: dict) -> None:
    node.result = bool(int(row[node.column]))
    node.shown = {name: row[column] for name, column in node.values.items()}
    if "buckets" in node.notes:
        rank, ranked = node.shown.get("rank"), node.shown.get("ranked rows")
        buckets = int(node.notes.pop("buckets"))
        node.shown["bucket"] = None if rank is None or not ranked \
            else buckets * (int(rank) - 1) // int(ranked) + 1
    for child in node.children:
        _fill(child, row)


def explain(adapter: Adapter, project: Project, segment: t.Segment, key: str,
            as_of: dt.datetime | None) -> Explanation:
    """The segment's tree for the entity whose key (as text) is `key`, in one query."""
    entity = project.entities[segment.entity]
    frame = entity_frame(project, segment, as_of)
    builder = TreeBuilder(frame)
    tree = builder.segment(segment, f"member of {segment.name}")
    if segment.splits:
        builder.outputs.append(exp.alias_(split_expression(segment, frame.column(entity.key)), "split",
                                          quoted=True))
    query = frame_select(frame, builder.outputs)
    query = query.where(adapter.key_text(frame.column(entity.key)).eq(text(key)))
    columns = [o.alias for o in builder.outputs]
    rows = adapter.fetchall(query.limit(2))
    if not rows:
        raise SegwError(f"no {entity.name} with {entity.key} = '{key}' in '{entity.model}'",
                        entity.at("key"), "the key is compared as text, exactly as stored "
                        "(e.g. `segw preview " + segment.name + "` shows members' keys)")
    if len(rows) > 1:
        raise SegwError(f"{entity.key} = '{key}' is not unique in '{entity.model}'", entity.at("key"),
                        f"make `{entity.key}` unique")
    row = dict(zip(columns, rows[0]))
    _fill(tree, row)
    _zero(tree)
    member = tree.result
    result = Explanation(segment.name, entity.name, key, frame.scope.clock.as_of, bool(member),
                         row.get("split") if member else None, tree)
    _stored(adapter, project, segment, key, result)
    return result


def _stored(adapter: Adapter, project: Project, segment: t.Segment, key: str, result: Explanation) -> None:
    """The stored membership of the key, for comparison (table and incremental segments)."""
    schema = project.segment_schema
    if segment.materialized == "view" or adapter.relation_kind(schema, "memberships") is None:
        return
    if stored_segment(adapter, schema, segment.name) is None:
        return
    rows = adapter.fetchall(exp.select(col("entered_at")).from_(table(schema, "memberships"))
                            .where(col("segment").eq(text(segment.name)), col("key").eq(text(key))))
    result.stored = "member" if rows else "not a member"
    result.entered_at = rows[0][0] if rows else None


def default_as_of(adapter: Adapter, project: Project, segment: t.Segment) -> dt.datetime | None:
    """The as_of the stored membership was computed at, when there is one."""
    schema = project.segment_schema
    if segment.materialized == "view":
        return None
    stored = stored_segment(adapter, schema, segment.name)
    return stored.last_as_of if stored is not None and stored.status == "active" else None


# -- rendering -------------------------------------------------------------------------------------
def _show(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value) if isinstance(value, str) else str(value)


def explanation_tree(result: Explanation):
    from rich.markup import escape
    from rich.tree import Tree

    def mark(ok: bool) -> str:
        return "[bold green]TRUE [/]" if ok else "[bold red]FALSE[/]"

    def label(node: Node) -> str:
        parts = [mark(bool(node.result)), escape(node.label)]
        shown = [f"{escape(name)} = {escape(_show(value))}" for name, value in node.shown.items()]
        shown += [f"{escape(k)}: {escape(v)}" for k, v in node.notes.items() if k != "zero rows"]
        if shown:
            parts.append("[dim]— " + "; ".join(shown) + "[/]")
        return " ".join(parts)

    when = f"as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC" if result.as_of else "live (view)"
    verdict = "[bold green]member[/]" if result.member else "[bold red]not a member[/]"
    head = (f"[bold]{escape(result.segment)}[/] for {escape(result.entity)} {escape(result.key)} "
            f"{when}: {verdict}" + (f" (split {escape(str(result.split))})" if result.split else ""))
    tree = Tree(head)

    def add(parent, node: Node) -> None:
        branch = parent.add(label(node))
        for child in node.children:
            add(branch, child)

    for child in result.tree.children:
        add(tree, child)
    return tree


def _zero(node: Node) -> None:
    """count/sum/count_distinct over zero rows read as 0 (the compiled predicate coalesces them)."""
    if node.kind == "related" and node.notes.get("zero rows"):
        node.shown = {k: (0 if v is None else v) for k, v in node.shown.items()}
    for child in node.children:
        _zero(child)
