"""Loads a project directory into one resolved Project: config, target, models, entities, segments."""
from __future__ import annotations

import gc
import graphlib
from dataclasses import dataclass, field
from pathlib import Path

from ..compiler.dialects import use_project_quoting
from ..errors import Location, SegwError, did_you_mean
from ..language import types as t
from ..language.parse import Parser
from ..language.types import relation_for  # also imported from here by build and tools
from .config import CONFIG_FILE, ProjectConfig, load_config, seed_config_location
from .jinja import render
from .models import Model, discover, jinja_with_macros, load_macros, seed_header
from .profiles import Target, load_target
from .yamlfile import YamlDoc, load_yaml


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    target: Target
    models: dict[str, Model]
    sources: dict[tuple[str, str], tuple[str, str]]
    entities: dict[str, t.Entity]
    segments: dict[str, t.Segment]  # in dependency order: what a segment reads comes first
    lists: dict[str, t.StaticList]
    macros: list[tuple[str, str]] = field(default_factory=list)
    priority_lists: dict[str, t.PriorityList] = field(default_factory=dict)  # [1.1]
    # `model: ref('x')` / `source('a', 'b')` as written -> (schema, name), from dbt's manifest or sources
    external: dict[str, tuple[str, str]] = field(default_factory=dict)
    dbt: object = None  # the dbt Manifest of `dbt_project:`, if any
    source_loaded_at: dict[tuple[str, str], str] = field(default_factory=dict)  # loaded_at_field
    # Resolved at load for the compiler, which reads no files and renders no Jinja:
    sql_texts: dict[t.Sql, str] = field(default_factory=dict, repr=False)  # `sql:` node -> Jinja rendered
    list_keys: dict[str, str] = field(default_factory=dict)  # list name -> the column its keys are in
    _rendered_with: tuple = field(default=(), repr=False, compare=False)  # (macros, vars, env) of sql_texts

    @property
    def model_schema(self) -> str:
        return self.config.target_schema or self.target.schema

    @property
    def segment_schema(self) -> str:
        return self.config.segment_schema

    @property
    def dialect(self) -> str:
        return self.target.dialect

    def jinja(self, extra: dict | None = None):
        return jinja_with_macros(self.macros, self.config.vars, extra)

    def resolve(self) -> None:
        """Render every segment's `sql:` conditions with the project's vars and macros, once (a
        Jinja fault is a SegwError at the condition's line). Loading calls it; call it again after
        replacing segments, `config.vars` or `macros` (`sql_text` notices replaced vars and macros)."""
        env = None
        texts: dict[t.Sql, str] = {}
        for segment in self.segments.values():
            for node in t.walk(segment.rules) if segment.rules is not None else ():
                if isinstance(node, t.Sql) and node not in texts:
                    env = env or self.jinja()  # made only when needed: it compiles every macro file
                    texts[node] = render(env, node.text, node.loc)
        self.sql_texts = texts
        self._rendered_with = (self.macros, self.config.vars, env)

    def sql_text(self, node: t.Sql) -> str:
        """A `sql:` condition's text with its Jinja rendered, as resolved at load; rendered again
        when `config.vars` or `macros` were replaced since, or for a condition added after."""
        made = self._rendered_with
        if not made or made[0] is not self.macros or made[1] is not self.config.vars:
            self.resolve()
        text = self.sql_texts.get(node)
        if text is None:
            env = self._rendered_with[2] or self.jinja()
            self._rendered_with = (self.macros, self.config.vars, env)
            text = self.sql_texts[node] = render(env, node.text, node.loc)
        return text

    @classmethod
    def load(cls, project_dir: str | Path = ".", target: str | None = None, **kwargs) -> "Project":
        return load_project(project_dir, target, **kwargs)

    def relation_of(self, model_name: str) -> tuple[str, str]:
        """(schema, name) of a model, a seed, a dbt ref()/source(), or a `schema.table` already in
        the warehouse."""
        if model_name in self.external:
            return self.external[model_name]
        if model_name in self.models:
            return self.model_schema, model_name
        if "." in model_name:
            schema, _, name = model_name.rpartition(".")
            return schema, name
        return self.model_schema, model_name

    def schedule_of(self, segment: t.Segment) -> str:
        return segment.schedule or self.config.schedule

    def dependencies(self, name: str) -> set[str]:
        """Segments a segment reads through in_segment, include or exclude, transitively."""
        out: set[str] = set()
        stack = [name]
        while stack:
            for ref in self.segments[stack.pop()].references():
                if ref in self.segments and ref not in out:
                    out.add(ref)
                    stack.append(ref)
        return out


def load_project(project_dir: str | Path = ".", target: str | None = None,
                 profiles_dir: str | Path | None = None, vars: dict | None = None) -> Project:
    # Loading makes many objects that live on (the project) and little garbage: the collector's
    # passes over them while they are made cost 10-25% of loading a large project (1,000 segments).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load_project(project_dir, target, profiles_dir, vars)
    finally:
        if collecting:
            gc.enable()


def _load_project(project_dir: str | Path, target: str | None, profiles_dir: str | Path | None,
                  vars: dict | None) -> Project:
    root = Path(project_dir)
    if not root.is_dir():
        raise SegwError(f"project directory '{root}' does not exist", hint="pass --project-dir DIR")
    config = load_config(root)
    if vars:
        config = config.model_copy(update={"vars": {**config.vars, **vars}})
    dbt_dir = root / config.dbt_project if config.dbt_project else None
    target_obj = load_target(root, config.profile, target,
                             Path(profiles_dir) if profiles_dir else None,
                             profile_location=config._locations.get("profile"),
                             config_missing=not (root / CONFIG_FILE).is_file(), dbt_dir=dbt_dir)
    quoting = config.quoting
    use_project_quoting(target_obj.dialect, *(None, None, None) if quoting is None else
                        (quoting.database, quoting.schema_, quoting.identifier))
    models = discover(root)
    entities: dict[str, t.Entity] = {}
    segments: dict[str, t.Segment] = {}
    lists: dict[str, t.StaticList] = {}
    sources: dict[tuple[str, str], tuple[str, str]] = {}
    source_loaded_at: dict[tuple[str, str], str] = {}
    seen: dict[str, Location] = {}

    def claim(name: str, loc: Location | None, kind: str) -> None:
        if name in seen:
            raise SegwError(f"duplicate name '{name}' ({kind})", loc,
                            f"'{name}' is already defined at {seen[name]}; names of segments and "
                            f"lists are unique in the project")
        seen[name] = loc

    for doc in _yaml_files(root, "models"):
        parser = Parser(doc)
        data = _top_mapping(doc, ("entities", "models", "sources", "version"))
        for i, node in enumerate(parser.sequence(data.get("entities") or [], "`entities`", data, "entities")):
            entity = parser.entity(node, data["entities"], i)
            if entity.name in entities:
                raise SegwError(f"duplicate entity '{entity.name}'", entity.loc, "rename one of them")
            entities[entity.name] = entity
        for i, node in enumerate(parser.sequence(data.get("sources") or [], "`sources`", data, "sources")):
            node = parser.mapping(node, "a source", data["sources"], i)
            parser.check_keys(node, SOURCE_KEYS, "a source")
            name = parser.text(node, "name", "a source")
            schema = parser.text(node, "schema", "a source", required=False) or name
            tables = parser.sequence(node.get("tables") or [], "`tables`", node, "tables")
            for j, table in enumerate(tables):
                table = parser.mapping(table, "a source table", tables, j)
                parser.check_keys(table, SOURCE_TABLE_KEYS, "a source table")
                table_name = parser.text(table, "name", "a source table")
                identifier = parser.text(table, "identifier", "a source table", required=False)
                sources[(name, table_name)] = (schema, identifier or table_name)
                loaded_at = (parser.text(table, "loaded_at_field", "a source table", required=False)
                             or parser.text(node, "loaded_at_field", "a source", required=False))
                if loaded_at:
                    source_loaded_at[(name, table_name)] = loaded_at
        for i, node in enumerate(parser.sequence(data.get("models") or [], "`models`", data, "models")):
            node = parser.mapping(node, "a model description", data["models"], i)
            name = parser.text(node, "name", "a model description")
            if name not in models:
                raise SegwError(f"models/*.yml describes '{name}', which is not a model",
                                doc.at(node, "name"), did_you_mean(name, models))
            models[name].description = node.get("description")

    priority_lists: dict[str, t.PriorityList] = {}
    for doc in _yaml_files(root, "segments"):
        parser = Parser(doc)
        data = _top_mapping(doc, ("segments", "lists", "priority_lists"))
        if not data:
            raise SegwError("file has no `segments:` or `lists:`", doc.at(),
                            "add segments or lists, or delete the file")
        for i, node in enumerate(parser.sequence(data.get("lists") or [], "`lists`", data, "lists")):
            item = parser.static_list(node, data["lists"], i)
            claim(item.name, item.loc, "list")
            lists[item.name] = item
        for i, node in enumerate(parser.sequence(data.get("segments") or [], "`segments`", data, "segments")):
            segment = parser.segment(node, data["segments"], i)
            claim(segment.name, segment.loc, "segment")
            segments[segment.name] = segment
        for i, node in enumerate(parser.sequence(data.get("priority_lists") or [], "`priority_lists`",
                                                 data, "priority_lists")):
            item = parser.priority_list(node, data["priority_lists"], i)
            if item.name in priority_lists:
                raise SegwError(f"duplicate priority list '{item.name}'", item.loc,
                                f"'{item.name}' is already defined at {priority_lists[item.name].loc}")
            priority_lists[item.name] = item
    for item in priority_lists.values():
        for derived in _derived_segments(item, segments, lists):
            claim(derived.name, derived.loc, f"derived segment of priority list '{item.name}'")
            segments[derived.name] = derived

    project = Project(root, config, target_obj, models, sources, entities, {}, lists,
                      load_macros(root), priority_lists, source_loaded_at=source_loaded_at)
    if dbt_dir is not None:
        from .dbt import load_manifest
        project.dbt = load_manifest(dbt_dir, config._locations.get("dbt_project"))
    _resolve_dbt_calls(project)
    _resolve(project, segments)
    project.resolve()
    return project


def _derived_segments(item: t.PriorityList, segments: dict[str, t.Segment],
                      lists: dict[str, t.StaticList]) -> list[t.Segment]:
    """[1.1] Each listed segment S gets `<list>__S` = S minus every segment listed before it, a
    `table` segment carrying S's columns and traits and built on S's schedule."""
    from ..language.parse import MAX_NAME

    out: list[t.Segment] = []
    before: list[str] = []
    entity = None
    for name, loc in zip(item.segments, item.item_locs):
        if name not in segments:
            if name in lists:
                raise SegwError(f"priority list '{item.name}' lists '{name}', which is a static list, "
                                f"not a segment", loc, "priority lists order segments; wrap the list in a "
                                f"segment (`include: [{name}]`) to list it")
            raise SegwError(f"priority list '{item.name}' lists unknown segment '{name}'", loc,
                            did_you_mean(name, segments) or "list segments defined in segments/*.yml")
        if name in before:
            raise SegwError(f"priority list '{item.name}' lists segment '{name}' twice", loc,
                            "each segment has one priority in a list; remove the second mention")
        segment = segments[name]
        if entity is None:
            entity = segment.entity
        elif segment.entity != entity:
            raise SegwError(f"priority list '{item.name}' mixes entities: '{name}' is of entity "
                            f"{segment.entity}, the segments before it of entity {entity}", loc,
                            "a priority list orders segments of one entity")
        derived = f"{item.name}__{name}"
        if len(derived) > MAX_NAME:
            raise SegwError(f"priority list '{item.name}' would derive segment '{derived}', which is "
                            f"{len(derived)} characters long (at most {MAX_NAME})", loc,
                            f"each listed segment S becomes '<list>__S'; shorten the list's name or "
                            f"the segment's so that together they stay within {MAX_NAME - 2} characters")
        lower = f", not in {', '.join(before)}" if before else ""
        out.append(t.Segment(
            name=derived, entity=segment.entity, rules=t.InSegment(name, loc=loc), exclude=tuple(before),
            materialized="table", schedule=segment.schedule, columns=segment.columns,
            traits=segment.traits, title=f"{segment.title or name} ({item.name})",
            description=f"Members of {name}{lower} (priority list {item.name}).",
            category=segment.category, tags=segment.tags, loc=loc, priority=(item.name, name)))
        before.append(name)
    return out


def _yaml_files(root: Path, folder: str):
    base = root / folder
    if not base.is_dir():
        return
    for path in sorted(list(base.rglob("*.yml")) + list(base.rglob("*.yaml"))):
        shown = str(path.relative_to(root))
        doc = load_yaml(path, shown)
        if doc.data is None:
            raise SegwError("file is empty", Location(shown),
                            f"add content or delete the file from {folder}/")
        yield doc


def _top_mapping(doc: YamlDoc, allowed: tuple[str, ...]) -> dict:
    parser = Parser(doc)
    data = parser.mapping(doc.data, "the file's top level")
    parser.check_keys(data, allowed, f"{doc.path}")
    return data


def _resolve(project: Project, segments: dict[str, t.Segment]) -> None:
    """Check every name points at something real, and order segments so references come first."""
    for entity in project.entities.values():
        _check_model(project, entity.model, entity.loc, f"entity '{entity.name}'")
        for rel in entity.relations.values():
            _check_model(project, rel.model, rel.loc, f"relation '{rel.name}' of entity '{entity.name}'")
        for metric in entity.metrics.values():  # outcomes of `segw report`: a relation with time
            relation = relation_for(entity, metric.related)
            if not relation.time:
                raise SegwError(f"metric '{metric.name}' of entity '{entity.name}' reads relation "
                                f"'{relation.name}', which has no `time:` column", metric.loc,
                                f"add `time: <column>` to relation '{relation.name}': outcomes count "
                                "only rows after a member entered")
    for item in project.lists.values():
        _entity(project, item.entity, item.loc, f"list '{item.name}'")
        if item.source.endswith(".csv"):
            stem = Path(item.source).stem
            if stem not in project.models or project.models[stem].kind != "seed":
                raise SegwError(f"list '{item.name}' reads {item.source}, which is not a seed",
                                item.loc, "put the CSV in seeds/ and write `from: seeds/NAME.csv`")
        else:
            _check_model(project, item.source, item.loc, f"list '{item.name}'")
    _seed_types(project)
    graph: dict[str, set[str]] = {}
    for segment in segments.values():
        entity = _entity(project, segment.entity, segment.loc, f"segment '{segment.name}'")
        _check_output_names(segment, entity)
        for name in segment.include + segment.exclude:
            _member_source(project, segments, segment, name, segment.loc, entity.name)
        if segment.rules is not None:
            _check_condition(project, segments, segment, entity, segment.rules)
        for trait in segment.traits:
            relation_for(entity, trait.measure)
        graph[segment.name] = {r for r in segment.references() if r in segments}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise SegwError(f"segments refer to each other in a cycle: {' -> '.join(cycle)}",
                        segments[cycle[0]].loc,
                        "a segment cannot depend on itself through in_segment, include or exclude") from None
    project.segments.update((name, segments[name]) for name in order)


# dbt's keys of sources.yml, accepted so that a dbt sources file reads as it is
SOURCE_KEYS = ("name", "schema", "tables", "description", "database", "freshness", "loaded_at_field", "meta",
               "tags", "loader", "quoting", "config", "overrides")
SOURCE_TABLE_KEYS = ("name", "identifier", "description", "freshness", "loaded_at_field", "meta", "tags",
                     "columns", "quoting", "config", "tests", "data_tests", "external", "loader")


def _resolve_dbt_calls(project: Project) -> None:
    """`model: ref('x')` / `source('a', 'b')` of entities, relations and lists: their relations,
    from the dbt manifest (`dbt_project:`) or this project's own models and sources. A source's
    `loaded_at_field` becomes the entity's or relation's `loaded_at` unless that is given."""
    import dataclasses

    from .dbt import parse_call, target_database

    def resolve(text: str, loc) -> tuple[str | None, str]:
        """(loaded_at_field, the model name to use) of a `model:`."""
        call = parse_call(text)
        if call is None:
            return None, text
        if project.dbt is not None:
            relation = project.dbt.resolve(text, loc, project.dialect)
            mine = target_database(project.target)
            if relation.database and mine and relation.database.lower() != str(mine).lower():
                raise SegwError(f"{text} is in database '{relation.database}', but target "
                                f"'{project.target.name}' connects to '{mine}'", loc,
                                "point profiles.yml at the database dbt builds into (for DuckDB: the "
                                "same file), or use the same profile as dbt")
            project.external[text] = (relation.schema, relation.identifier)
            return relation.loaded_at_field, text
        if call.fn == "source" and tuple(call.args) in project.sources:
            project.external[text] = project.sources[tuple(call.args)]
            return project.source_loaded_at.get(tuple(call.args)), text
        if call.fn == "ref" and len(call.args) == 1 and call.args[0] in project.models:
            return None, call.args[0]  # our own model, built by us
        what = "sources in models/*.yml" if call.fn == "source" else "models/*.sql or seeds/*.csv"
        raise SegwError(f"{text} names nothing in this project", loc,
                        f"declare it among the {what}, or name the dbt project that builds it with "
                        "`dbt_project: ../path` in segwarehouse.yml")

    for name, entity in list(project.entities.items()):
        relations = {}
        for rel_name, rel in entity.relations.items():
            loaded, model = resolve(rel.model, rel.at("model"))
            if loaded and hasattr(rel, "loaded_at") and rel.loaded_at is None:
                rel = dataclasses.replace(rel, loaded_at=loaded)
            relations[rel_name] = dataclasses.replace(rel, model=model) if model != rel.model else rel
        loaded, model = resolve(entity.model, entity.at("model"))
        changes = {"relations": relations, "model": model}
        if loaded and hasattr(entity, "loaded_at") and entity.loaded_at is None:
            changes["loaded_at"] = loaded
        project.entities[name] = dataclasses.replace(entity, **changes)
    for name, item in list(project.lists.items()):
        _, model = resolve(item.source, item.loc)
        if model != item.source:
            project.lists[name] = dataclasses.replace(item, source=model)


def _check_model(project: Project, name: str, loc, what: str) -> None:
    if name in project.models or "." in name or name in project.external:
        return
    raise SegwError(f"{what} uses model '{name}', which is not a model or seed of this project", loc,
                    did_you_mean(name, project.models) or
                    "name a models/*.sql or seeds/*.csv file, or write schema.table for an existing table")


def _entity(project: Project, name: str, loc, what: str) -> t.Entity:
    if name not in project.entities:
        raise SegwError(f"unknown entity '{name}' in {what}", loc,
                        did_you_mean(name, project.entities) or
                        f"entities are declared in models/*.yml (known: {', '.join(project.entities) or 'none'})")
    return project.entities[name]


def _member_source(project: Project, segments: dict, segment: t.Segment, name: str, loc,
                   entity: str, kind: str = "segment or list") -> None:
    candidates = {}
    if kind in ("segment or list", "segment"):
        candidates.update(segments)
    if kind in ("segment or list", "list"):
        candidates.update(project.lists)
    if name not in candidates:
        raise SegwError(f"segment '{segment.name}' refers to unknown {kind} '{name}'", loc,
                        did_you_mean(name, candidates) or f"define a {kind} named '{name}'")
    other = candidates[name]
    if other.entity != entity:
        raise SegwError(f"segment '{segment.name}' (entity {entity}) refers to '{name}' of entity "
                        f"{other.entity}", loc, "segments and lists combine only within one entity")


def _check_condition(project: Project, segments: dict, segment: t.Segment, entity: t.Entity,
                     condition: t.Condition) -> None:
    for node in t.walk(condition):
        if isinstance(node, t.InSegment):
            _member_source(project, segments, segment, node.segment, node.loc, entity.name, "segment")
        elif isinstance(node, t.InList):
            _member_source(project, segments, segment, node.list_name, node.loc, entity.name, "list")
        elif isinstance(node, t.Related):
            relation_for(entity, node)


RESERVED_PREFIX = "_segw_"


def _check_output_names(segment: t.Segment, entity: t.Entity) -> None:
    """Columns of a segment's own relation must not collide with `split` or segwarehouse's own."""
    seen: set[str] = set()
    for column in (entity.key, *segment.columns):
        is_key = column == entity.key and column not in segment.columns
        where = entity.at("key") if is_key else segment.loc
        if column.lower().startswith(RESERVED_PREFIX):
            raise SegwError(f"column '{column}' of segment '{segment.name}' uses the reserved prefix "
                            f"'{RESERVED_PREFIX}'", where, "rename the column in the model, or drop it from `columns:`")
        if segment.splits and column.lower() == "split":
            raise SegwError(f"segment '{segment.name}' has `splits:`, so its relation has a column "
                            f"'split'; its {'key' if column == entity.key else 'carried'} column "
                            f"'{column}' would collide with it", where,
                            "rename the column in the model (e.g. split_name)" +
                            ("" if is_key else ", or drop it from `columns:`"))
        if column in seen and column != entity.key:
            raise SegwError(f"column '{column}' is listed twice in `columns:` of segment '{segment.name}'",
                            segment.loc, "list each column once")
        seen.add(column)
    for trait in segment.traits:  # [1.1] split and `columns:` are checked by the parser
        if trait.name == entity.key or trait.name.lower().startswith(RESERVED_PREFIX):
            what = (f"the key column of entity '{entity.name}'" if trait.name == entity.key
                    else f"the reserved prefix '{RESERVED_PREFIX}'")
            raise SegwError(f"trait '{trait.name}' of segment '{segment.name}' uses {what}", trait.loc,
                            "give the trait another name")


def _seed_types(project: Project) -> None:
    """Apply `seeds: {NAME: {column_types: ...}}`, record each list's key column in
    `project.list_keys` (a CSV list's from its seed's header, read here once), and keep the key
    column of a seed a list reads as text exactly as written (`00042` stays `00042`, not 42)."""
    config = project.config
    headers: dict[str, list[str]] = {}  # seed -> its header, read once
    for name, settings in config.seeds.items():
        model = project.models.get(name)
        if model is None or model.kind != "seed":
            seeds = [m for m, model in project.models.items() if model.kind == "seed"]
            raise SegwError(f"`seeds:` in {CONFIG_FILE} names '{name}', which is not a seed",
                            seed_config_location(config, name),
                            did_you_mean(name, seeds) or f"seeds are seeds/*.csv (found: {', '.join(seeds) or 'none'})")
        header = headers[name] = seed_header(model)
        for column, type_name in settings.column_types.items():
            if column not in header:
                raise SegwError(f"seed '{name}' has no column '{column}'",
                                seed_config_location(config, name, column),
                                did_you_mean(column, header) or f"columns: {', '.join(header)}")
            model.column_types[column] = type_name
    joined = {e.model for e in project.entities.values()} | {
        r.model for e in project.entities.values() for r in e.relations.values()}
    for item in project.lists.values():
        key = project.entities[item.entity].key
        if not item.source.endswith(".csv"):
            project.list_keys[item.name] = item.key_column or key
            continue
        model = project.models[Path(item.source).stem]
        if model.name not in headers:
            headers[model.name] = seed_header(model)
        header = headers[model.name]
        column = item.key_column or (key if key in header else header[0])
        if column not in header:
            raise SegwError(f"list '{item.name}' reads key column '{column}', which {model.shown} does not have",
                            item.loc, did_you_mean(column, header) or f"columns: {', '.join(header)}")
        project.list_keys[item.name] = column
        if model.name not in joined:  # an entity's own seed keeps its types: its keys join as they are
            model.column_types.setdefault(column, "text")
