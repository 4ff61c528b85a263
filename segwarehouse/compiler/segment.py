"""A segment becomes one SELECT of its members: key, split and carried columns."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.errors import SqlglotError, UnsupportedError

from ..errors import SegwError
from ..language import types as t
from .conditions import TEXT, Frame, Scope, compile_condition, measure_value
from .dialects import WRITES_PLAIN_TREES_AS_IS, HexToInt, to_sql
from .timeexpr import Clock, at_twin

if TYPE_CHECKING:
    from ..project.loader import Project

SPLIT_BUCKETS = 10000


def split_expression(segment: t.Segment, key: exp.Expression) -> exp.Expression:
    """CASE over md5('<segment>:<key>') bucketed into 0..9999 against cumulative percentages."""
    digest = exp.MD5(this=exp.Concat(expressions=[exp.Literal.string(f"{segment.split_seed or segment.name}:"),
                                                  exp.cast(key, TEXT.copy(), copy=False)], safe=True))
    bucket = exp.Mod(this=HexToInt(this=exp.Substring(this=digest, start=exp.Literal.number(1),
                                                       length=exp.Literal.number(8))),
                     expression=exp.Literal.number(SPLIT_BUCKETS))
    case = exp.Case()
    upper = Decimal(0)
    for split in segment.splits[:-1]:
        upper += split.percent * (SPLIT_BUCKETS // 100)
        case = case.when(exp.LT(this=exp.paren(bucket.copy(), copy=False), expression=exp.Literal.number(int(upper))),
                         exp.Literal.string(split.name), copy=False)
    return case.else_(exp.Literal.string(segment.splits[-1].name), copy=False)


def membership_condition(segment: t.Segment, frame: Frame, negated: bool = False) -> exp.Expression:
    """(rules OR in include) AND NOT in exclude, as a predicate TRUE exactly when it holds (or,
    negated, when it does not); include and exclude are lists or segments of the same entity."""
    def source(name: str) -> t.Condition:
        if name in frame.scope.project.lists:
            return t.InList(name, loc=segment.loc)
        return t.InSegment(name, loc=segment.loc)

    inside = ([segment.rules] if segment.rules is not None else []) + [source(n) for n in segment.include]
    tree: t.Condition = inside[0] if len(inside) == 1 else t.Any(tuple(inside), loc=segment.loc)
    if segment.exclude:
        tree = t.All((tree, t.NoneOf(tuple(source(n) for n in segment.exclude), loc=segment.loc)),
                     loc=segment.loc)
    return compile_condition(tree, frame, negated)


def _select(segment: t.Segment, scope: Scope, outputs) -> exp.Select:
    project = scope.project
    entity = project.entities[segment.entity]
    frame = Frame(scope, entity, scope.alias("e"))
    outer_segment, scope.segment = scope.segment, segment
    try:
        condition = membership_condition(segment, frame)
    finally:
        scope.segment = outer_segment
    schema, name = scope.entity_relation(entity, frame.alias)
    # The query is built in place (copy=False): every part is fresh and used once.
    query = exp.select(*outputs(frame)).from_(
        exp.alias_(exp.table_(name, db=schema, quoted=True), frame.alias, table=True, quoted=True, copy=False),
        copy=False)
    for join in frame.all_joins():
        query = query.join(join, copy=False)
    key = frame.column(entity.key)
    # A wide table of an incremental run's changed keys holds those keys only: no second filter
    # (which, on a table without statistics, PostgreSQL may plan as a nested loop).
    narrowed = scope.keys is not None and scope.features is not None and \
        (schema, name) == (scope.features.schema, scope.features.table_name(entity.name))
    return query.where(exp.and_(exp.not_(exp.Is(this=key, expression=exp.null()), copy=False),
                                *([] if narrowed else scope.only_keys(key.copy())), condition, copy=False),
                       copy=False)


def segment_query(project: Project, segment: t.Segment, as_of: dt.datetime | None,
                  sql_dialect: str | None = None, keys: tuple[str, str] | None = None,
                  tables: dict[str, tuple[str, str]] | None = None, features=None) -> exp.Select:
    """The members of a segment at as_of (None: live, for views) with split, columns and traits;
    with `keys` (schema, table with column `k`), only among those keys, reading models from
    `tables` (model -> (schema, table)) where given (incremental runs); with `features` (a run's
    shared relation passes, compiler/features.py), reading the passes it shares from there."""
    return _query(project, segment, as_of, sql_dialect, keys, tables, features)[0]


def _query(project: Project, segment: t.Segment, as_of: dt.datetime | None, sql_dialect: str | None = None,
           keys: tuple[str, str] | None = None, tables: dict[str, tuple[str, str]] | None = None,
           features=None, twin: dt.datetime | None = None) -> tuple[exp.Select, Clock]:
    """segment_query, and the clock it was built with (did it read as_of?), with a `twin` instant
    for the clock if given (see Clock)."""
    entity = project.entities[segment.entity]
    clock = Clock(None if segment.materialized == "view" else as_of, twin)
    scope = Scope(project, clock, sql_dialect or project.config.models_dialect or project.dialect,
                  keys=keys, tables=tables, features=features)

    def outputs(frame: Frame) -> list[exp.Expression]:
        key = frame.column(entity.key)
        columns = [exp.alias_(key, entity.key, quoted=True, copy=False)]
        if segment.splits:
            columns.append(exp.alias_(split_expression(segment, key.copy()), "split", quoted=True, copy=False))
        for name in segment.columns:
            if name == entity.key:
                continue
            columns.append(exp.alias_(frame.column(name), name, quoted=True, copy=False))
        for trait in segment.traits:  # [1.1] measures per member, from the same relation passes
            columns.append(exp.alias_(measure_value(trait.measure, frame), trait.name, quoted=True, copy=False))
        return columns

    return _select(segment, scope, outputs), clock


def _unsupported_condition(project: Project, segment: t.Segment, dialect: str) -> t.Condition | None:
    """The `sql:` condition (ours are portable) that a dialect cannot express, if one is."""
    from .conditions import parse_sql_condition

    names = [segment.name, *sorted(project.dependencies(segment.name))]
    for name in names:
        rules = project.segments[name].rules
        for node in t.walk(rules) if rules is not None else ():
            if isinstance(node, t.Sql):
                source = project.config.models_dialect or project.dialect
                parsed = parse_sql_condition(project.sql_text(node), source, node)
                try:
                    to_sql(parsed, dialect)
                except UnsupportedError:
                    return node
    return None


def _plain(project: Project, segment: t.Segment) -> bool:
    """Whether the segment's query holds only nodes the compiler made: no parsed `sql:` condition
    in it, its traits, its related `where:`s or any segment it reads. sqlglot writes such a tree
    without rewriting it, so it can be written twice without a copy."""
    names, seen = [segment.name], set()
    while names:
        name = names.pop()
        if name in seen or name not in project.segments:
            continue  # a list, or a segment already looked at
        seen.add(name)
        other = project.segments[name]
        names.extend(other.include)
        names.extend(other.exclude)
        stack = [trait.measure for trait in other.traits] + ([other.rules] if other.rules is not None else [])
        while stack:
            for node in t.walk(stack.pop()):
                if isinstance(node, t.Sql):
                    return False
                if isinstance(node, t.Related) and node.where is not None:
                    stack.append(node.where)
                elif isinstance(node, t.InSegment):
                    names.append(node.segment)
    return True


def compile_segment(project: Project, segment: t.Segment, as_of: dt.datetime | None,
                    dialect: str, pretty: bool = True, hash_sql: dict[str, str] | None = None,
                    hash_as_of: dt.datetime | None = None) -> str:
    """The segment's SELECT as SQL text in a dialect, or a SegwError naming what cannot be said.

    With `hash_sql`, also records there (under the segment's name) the SQL its compiled_sql_hash
    is taken from (the project's dialect, not pretty, at `hash_as_of`: catalog.HASH_AS_OF) when
    this query gives it, so the manifest need not build it a second time: the dialect is the
    project's, and the query does not depend on as_of (or both are live), or it does and was
    built with hash_as_of as its clock's twin and would be built the same way there."""
    same_dialect = hash_sql is not None and dialect == project.dialect
    query, clock = _query(project, segment, as_of, twin=hash_as_of if same_dialect else None)
    same_clock = not clock.read and (as_of is not None or segment.materialized == "view")
    try:
        if same_dialect and (same_clock or (clock.twin is not None and clock.twin_same)):
            # the query is written again below: copied unless that leaves it as it was
            as_is = dialect in WRITES_PLAIN_TREES_AS_IS and _plain(project, segment)
            tree = query if as_is else query.copy()
            back = None if same_clock else at_twin(tree)
            hash_sql[segment.name] = to_sql(tree, dialect, copy=False)
            if back is not None:
                back()
        return to_sql(query, dialect, pretty=pretty, copy=False)  # the query is fresh and unshared
    except UnsupportedError as exc:
        culprit = _unsupported_condition(project, segment, dialect)
        what = f"its condition at {culprit.loc}" if culprit is not None else "it"
        raise SegwError(f"segment '{segment.name}' cannot be compiled for {dialect}: {what} uses "
                        f"something {dialect} cannot express ({exc})",
                        culprit.loc if culprit is not None else segment.loc,
                        "rewrite the condition portably, or build on another engine") from None
    except SqlglotError as exc:
        raise SegwError(f"segment '{segment.name}' cannot be compiled for {dialect}: {exc}",
                        segment.loc) from None
