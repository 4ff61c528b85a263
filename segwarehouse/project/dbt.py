"""A dbt project beside ours: read its target/manifest.json and resolve ref()/source() to relations."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Location, SegwError, did_you_mean
from .yamlfile import load_yaml

# ref('customers'), ref("pkg", "customers"), ref('customers', v=2), source('shop', 'events')
CALL = re.compile(r"""^\s*(?P<fn>ref|source)\s*\(\s*(?P<args>.*?)\s*\)\s*$""", re.S)
ARG = re.compile(r"""\s*(?:(?P<kw>[A-Za-z_]+)\s*=\s*)?(?:'(?P<s>[^']*)'|"(?P<d>[^"]*)"|(?P<n>\d+))\s*(?:,|$)""")
RELATION_TYPES = ("model", "seed", "snapshot")
UNQUOTED_FOLDS = {"snowflake": str.upper, "postgres": str.lower, "redshift": str.lower}


@dataclass(frozen=True)
class Call:
    """A parsed `ref(...)` or `source(...)` as written in models/*.yml."""
    fn: str
    args: tuple[str, ...]
    version: str | None = None


@dataclass(frozen=True)
class Relation:
    """Where a dbt node lives: database, schema and identifier, and what dbt says of it."""
    database: str | None
    schema: str
    identifier: str
    unique_id: str
    loaded_at_field: str | None = None


def parse_call(text: str) -> Call | None:
    """`ref('x')` / `ref('pkg', 'x')` / `source('a', 'b')` -> Call; anything else -> None."""
    match = CALL.match(str(text))
    if not match:
        return None
    args, version, rest = [], None, match["args"]
    while rest:
        arg = ARG.match(rest)
        if not arg:
            return Call(match["fn"], ("?",))  # malformed: reported by resolve()
        value = next(v for v in (arg["s"], arg["d"], arg["n"]) if v is not None)
        if arg["kw"] in ("v", "version"):
            version = value
        elif arg["kw"] is None:
            args.append(value)
        rest = rest[arg.end():]
    return Call(match["fn"], tuple(args), version)


def project_file(dbt_dir: Path, where: Location | None) -> dict:
    """dbt_project.yml of the dbt project named by `dbt_project:`."""
    path = dbt_dir / "dbt_project.yml"
    if not path.is_file():
        raise SegwError(f"`dbt_project: {dbt_dir}` has no dbt_project.yml", where,
                        "point `dbt_project:` at the folder holding your dbt project's dbt_project.yml "
                        "(relative to segwarehouse.yml)")
    data = load_yaml(path, str(path)).data
    if not isinstance(data, dict):
        raise SegwError(f"{path} is not a mapping", Location(str(path)))
    return data


@dataclass
class Manifest:
    """The nodes and sources of a dbt manifest.json, looked up by name."""
    path: Path
    project_name: str
    adapter_type: str | None
    nodes: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    disabled: dict = field(default_factory=dict)
    quoting: dict = field(default_factory=dict)

    def resolve(self, text: str, where: Location | None, dialect: str) -> Relation:
        call = parse_call(text)
        if call is None or "?" in call.args:
            raise SegwError(f"cannot read {text!r}", where,
                            "write ref('model'), ref('package', 'model') or source('source', 'table')")
        if call.fn == "ref":
            return self._ref(call, text, where, dialect)
        return self._source(call, text, where, dialect)

    def _ref(self, call: Call, text: str, where, dialect: str) -> Relation:
        if len(call.args) not in (1, 2):
            raise SegwError(f"{text} takes a model name, or a package and a model name", where)
        name = call.args[-1]
        package = call.args[0] if len(call.args) == 2 else None
        found = [n for n in self.nodes.values() if n.get("resource_type") in RELATION_TYPES
                 and n.get("name") == name and (package is None or n.get("package_name") == package)]
        if call.version is not None:
            found = [n for n in found if str(n.get("version")) == call.version]
        elif len(found) > 1 and any(n.get("version") is not None for n in found):
            latest = [n for n in found if str(n.get("version")) == str(n.get("latest_version"))]
            found = latest or found
        if len(found) > 1:  # the root project's node wins, as in dbt
            found = [n for n in found if n.get("package_name") == self.project_name] or found
        if not found:
            if any(n.get("name") == name for group in self.disabled.values() for n in group):
                raise SegwError(f"{text}: dbt model '{name}' is disabled", where,
                                "enable it in the dbt project, then run `dbt build` (or `dbt parse`)")
            names = {n.get("name") for n in self.nodes.values() if n.get("resource_type") in RELATION_TYPES}
            raise SegwError(f"{text}: no model, seed or snapshot '{name}' in the dbt manifest {self.path}",
                            where, did_you_mean(name, names) or
                            "run `dbt parse` again if you added it since the last dbt run")
        node = found[0]
        config = node.get("config") or {}
        if config.get("materialized") == "ephemeral":
            raise SegwError(f"{text}: dbt model '{name}' is ephemeral, so it has no relation to read",
                            where, "materialize it as a view or table in dbt, or name a model that reads it")
        quoting = {**self.quoting, **(config.get("quoting") or {})}
        return Relation(*_quoted(node.get("database"), node["schema"], node.get("alias") or node["name"],
                                 quoting, dialect), node["unique_id"])

    def _source(self, call: Call, text: str, where, dialect: str) -> Relation:
        if len(call.args) != 2:
            raise SegwError(f"{text} takes a source name and a table name", where,
                            "e.g. source('shop', 'events')")
        source, table = call.args
        found = [s for s in self.sources.values() if s.get("source_name") == source and s.get("name") == table]
        if not found:
            tables = {f"{s.get('source_name')}.{s.get('name')}" for s in self.sources.values()}
            raise SegwError(f"{text}: no source table '{source}.{table}' in the dbt manifest {self.path}",
                            where, (did_you_mean(f"{source}.{table}", tables) or
                                    f"sources: {', '.join(sorted(tables)) or 'none'}"))
        node = found[0]
        quoting = {**self.quoting, **{k: v for k, v in (node.get("quoting") or {}).items() if v is not None}}
        return Relation(*_quoted(node.get("database"), node["schema"], node.get("identifier") or node["name"],
                                 quoting, dialect), node["unique_id"], node.get("loaded_at_field"))


def _quoted(database, schema, identifier, quoting: dict, dialect: str):
    """Names as the warehouse stores them: dbt leaves unquoted parts to the engine's case folding."""
    fold = UNQUOTED_FOLDS.get(dialect)
    default = dialect != "snowflake"  # dbt quotes by default except on Snowflake

    def name(value, part):
        if value is None or fold is None or quoting.get(part, default):
            return value
        return fold(value)
    return name(database, "database"), name(schema, "schema"), name(identifier, "identifier")


def load_manifest(dbt_dir: Path, where: Location | None) -> Manifest:
    """The dbt project's manifest.json (under its `target-path`), read without running dbt."""
    settings = project_file(dbt_dir, where)
    target_path = str(settings.get("target-path") or "target")
    path = dbt_dir / target_path / "manifest.json"
    if not path.is_file():
        raise SegwError(f"the dbt project {dbt_dir} has no {target_path}/manifest.json", where,
                        f"run `dbt parse` or `dbt build` in {dbt_dir} first; segwarehouse reads dbt's "
                        "manifest to find the relations of ref() and source()")
    try:
        data = json.loads(path.read_text())
        metadata = data.get("metadata") or {}
        return Manifest(path, str(settings.get("name") or metadata.get("project_name") or ""),
                        metadata.get("adapter_type"), data.get("nodes") or {}, data.get("sources") or {},
                        data.get("disabled") or {}, dict(settings.get("quoting") or {}))
    except (ValueError, AttributeError, TypeError) as exc:
        raise SegwError(f"{path} is not a dbt manifest: {exc}", where,
                        "run `dbt parse` again to rewrite it") from None


def target_database(target) -> str | None:
    """The database segwarehouse's target connects to, named as dbt names it."""
    settings = target.settings
    if target.type == "duckdb":
        path = str(settings.get("path", ":memory:"))
        return "memory" if path == ":memory:" else Path(path).stem
    if target.type in ("mysql", "mariadb"):
        return None  # a MySQL "database" is a schema
    return settings.get("database") or settings.get("dbname") or settings.get("project") or settings.get("catalog")
