"""SQL models and CSV seeds: discovery, Jinja rendering (ref, source, var, config) and DAG order."""
from __future__ import annotations

import csv
import io
import datetime as dt
import graphlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from ..errors import Location, SegwError, did_you_mean
from .jinja import make_environment, render, var_function
from .yamlfile import read_text

MATERIALIZATIONS = ("view", "table")


@dataclass
class Model:
    """A model (models/NAME.sql) or a seed (seeds/NAME.csv); both become relations."""
    name: str
    shown: str
    path: Path
    kind: str  # "sql" or "seed"
    description: str | None = None
    column_types: dict[str, str] = field(default_factory=dict)  # seeds: column -> sqlglot type name


@dataclass
class RenderedModel:
    model: Model
    sql: str  # in the target's dialect
    materialized: str
    depends_on: list[str] = field(default_factory=list)


@dataclass
class Seed:
    columns: list[str]
    types: list[str]  # sqlglot type names
    rows: list[tuple]


def discover(root: Path) -> dict[str, Model]:
    found: dict[str, Model] = {}
    for folder, pattern, kind in (("models", "*.sql", "sql"), ("seeds", "*.csv", "seed")):
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob(pattern)):
            shown = str(path.relative_to(root))
            name = path.stem
            if name in found:
                raise SegwError(f"two models are named '{name}'", Location(shown),
                                f"the other is {found[name].shown}; rename one of them")
            found[name] = Model(name, shown, path, kind)
    return found


def load_macros(root: Path) -> list[tuple[str, str]]:
    base = root / "macros"
    if not base.is_dir():
        return []
    return [(str(p.relative_to(root)), read_text(p, str(p.relative_to(root))))
            for p in sorted(base.rglob("*.sql"))]


def jinja_with_macros(macros: list[tuple[str, str]], variables: dict, extra: dict | None = None):
    """A Jinja environment holding var(), env_var(), `extra` and every macro of macros/ as globals.

    Macros see globals only (not the caller's context), so what they need must be here."""
    env = make_environment()
    env.globals["var"] = var_function(variables)
    env.globals.update(extra or {})
    for shown, text in macros:
        try:
            module = env.from_string(text).module
        except SegwError:
            raise
        except Exception as exc:  # a Jinja syntax fault in a macro file
            line = getattr(exc, "lineno", None)
            raise SegwError(f"macro file does not load: {getattr(exc, 'message', exc)}",
                            Location(shown, line), "check its {% macro %} blocks") from None
        for name in dir(module):
            if not name.startswith("_"):
                env.globals[name] = getattr(module, name)
    return env


class ModelRenderer:
    """Renders models for one target: ref() and source() name relations in the model schema."""

    def __init__(self, models: dict[str, Model], sources: dict[tuple[str, str], tuple[str, str]],
                 env, schema: str, source_dialect: str, target_dialect: str, as_of: dt.datetime,
                 target=None):
        self.models, self.sources, self.env = models, sources, env
        self.schema, self.source_dialect, self.target_dialect = schema, source_dialect, target_dialect
        self.as_of = as_of
        self.target = target

    def relation_text(self, schema: str, name: str) -> str:
        return exp.table_(name, db=schema, quoted=True).sql(dialect=self.source_dialect)

    def render(self, model: Model) -> RenderedModel:
        depends: list[str] = []
        config = {"materialized": "view"}

        def ref(name: str) -> str:
            if name not in self.models:
                raise SegwError(f"ref('{name}'): no model or seed named '{name}'", Location(model.shown),
                                did_you_mean(name, self.models) or "models are models/*.sql and seeds/*.csv")
            depends.append(name)
            return self.relation_text(self.schema, name)

        def source(source_name: str, table: str) -> str:
            if (source_name, table) not in self.sources:
                known = [f"{s}.{t}" for s, t in self.sources]
                raise SegwError(f"source('{source_name}', '{table}') is not declared",
                                Location(model.shown),
                                did_you_mean(f"{source_name}.{table}", known) or
                                "declare it under `sources:` in a models/*.yml file")
            schema, name = self.sources[(source_name, table)]
            return self.relation_text(schema, name)

        def set_config(**kwargs) -> str:
            for key, value in kwargs.items():
                if key != "materialized" or value not in MATERIALIZATIONS:
                    raise SegwError(f"config({key}={value!r}) is not supported", Location(model.shown),
                                    "models take config(materialized='view') or 'table'")
                config[key] = value
            return ""

        text = read_text(model.path, model.shown)
        context = {"ref": ref, "source": source, "config": set_config,
                   "as_of": self.as_of.strftime("%Y-%m-%d %H:%M:%S"), "this": model.name,
                   "target": self.target_context()}
        sql = render(self.env, text, Location(model.shown, 1), context).strip().rstrip(";").strip()
        if not sql:
            raise SegwError("model is empty", Location(model.shown), "write one SELECT statement")
        sql = self.transpile(model, sql)
        return RenderedModel(model, sql, config["materialized"], depends)

    def target_context(self) -> dict:
        """dbt's `target`: type, name, schema and dialect of the target being built."""
        if self.target is None:
            return {"type": self.target_dialect, "name": "", "schema": self.schema,
                    "dialect": self.target_dialect}
        return {"type": self.target.type, "name": self.target.name, "schema": self.schema,
                "dialect": self.target.dialect, "profile_name": self.target.profile}

    def transpile(self, model: Model, sql: str) -> str:
        try:
            statements = sqlglot.parse(sql, read=self.source_dialect)
        except ParseError as exc:
            err = exc.errors[0] if exc.errors else {}
            raise SegwError(f"model SQL does not parse: {err.get('description', exc)}",
                            Location(model.shown, err.get("line")), "the model must be one SELECT") from None
        statements = [s for s in statements if s is not None]
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise SegwError("a model must be exactly one SELECT (or WITH ... SELECT) statement",
                            Location(model.shown), "remove other statements")
        if self.source_dialect == self.target_dialect:
            return sql
        try:
            return statements[0].sql(dialect=self.target_dialect, unsupported_level=ErrorLevel.RAISE)
        except SqlglotError as exc:
            raise SegwError(f"model cannot be written in {self.target_dialect}: {exc}",
                            Location(model.shown), "rewrite the construct portably") from None


def build_order(rendered: dict[str, RenderedModel]) -> list[str]:
    graph = {name: set(r.depends_on) for name, r in rendered.items()}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise SegwError(f"models refer to each other in a cycle: {' -> '.join(cycle)}",
                        Location(rendered[cycle[0]].model.shown), "break the cycle of ref() calls") from None


SEED_TYPE_NAMES = {"text": "TEXT", "varchar": "TEXT", "string": "TEXT", "bigint": "BIGINT",
                   "integer": "BIGINT", "int": "BIGINT", "double": "DOUBLE", "float": "DOUBLE",
                   "decimal": "DOUBLE", "numeric": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
                   "timestamp": "TIMESTAMP"}


def seed_header(model: Model) -> list[str]:
    """The column names of a seed CSV (its first row), checked."""
    text = read_text(model.path, model.shown)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise SegwError("seed CSV is empty", Location(model.shown), "add a header row") from None
    header = [h.strip() for h in header]
    if not all(header) or len(set(header)) != len(header):
        raise SegwError("seed CSV header has empty or repeated column names", Location(model.shown, 1))
    return header


def read_seed(model: Model) -> Seed:
    """Rows of a seed; types are inferred except where `model.column_types` fixes them (list keys
    stay text exactly as written, `seeds: {NAME: {column_types: ...}}` in segwarehouse.yml)."""
    header = seed_header(model)
    reader = csv.reader(io.StringIO(read_text(model.path, model.shown), newline=""))
    next(reader)
    rows, lines = [], []
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            raise SegwError(f"row has {len(row)} values, the header has {len(header)}",
                            Location(model.shown, reader.line_num), "quote values that contain commas")
        rows.append([None if v == "" else v for v in row])
        lines.append(reader.line_num)
    fixed = {c: SEED_TYPE_NAMES.get(ty.strip().lower(), "TEXT") for c, ty in model.column_types.items()}
    types = [fixed.get(name) or infer_type([r[i] for r in rows]) for i, name in enumerate(header)]
    converted = []
    for row, line in zip(rows, lines):
        out = []
        for name, value, ty in zip(header, row, types):
            try:
                out.append(convert(value, ty))
            except (ValueError, InvalidOperation):
                raise SegwError(f"value {value!r} of column '{name}' is not a {ty.lower()}",
                                Location(model.shown, line),
                                "fix the value, or change the column's type under `seeds:` in "
                                "segwarehouse.yml") from None
        converted.append(tuple(out))
    return Seed(header, types, converted)


def _is(parse, value: str) -> bool:
    try:
        parse(value)
        return True
    except (ValueError, InvalidOperation):
        return False


def infer_type(values: list[str | None]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "TEXT"
    if all(v.lstrip("-").isdigit() and len(v.lstrip("-")) <= 18 for v in present):
        return "BIGINT"
    if all(v.lower() in ("true", "false") for v in present):
        return "BOOLEAN"
    if all(len(v) == 10 and _is(dt.date.fromisoformat, v) for v in present):
        return "DATE"
    if all(len(v) > 10 and _is(dt.datetime.fromisoformat, v) for v in present):
        return "TIMESTAMP"
    if all(_is(Decimal, v) and "e" not in v.lower() and v.lower() not in ("nan", "inf", "-inf", "infinity")
           for v in present):
        return "DOUBLE"
    return "TEXT"


def convert(value: str | None, type_name: str):
    if value is None:
        return None
    if type_name == "BIGINT":
        return int(value)
    if type_name == "BOOLEAN":
        if value.lower() not in ("true", "false"):
            raise ValueError(value)
        return value.lower() == "true"
    if type_name == "DATE":
        return dt.date.fromisoformat(value)
    if type_name == "TIMESTAMP":
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return parsed
    if type_name == "DOUBLE":
        return float(value)
    return value
