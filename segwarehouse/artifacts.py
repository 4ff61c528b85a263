"""target/run_results.json in dbt's shape (plus our counts) and target/manifest.json of segments."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import uuid
from pathlib import Path

RUN_RESULTS_SCHEMA = "https://schemas.segwarehouse.dev/segwarehouse/run-results/v1.json"
MANIFEST_SCHEMA = "https://schemas.segwarehouse.dev/segwarehouse/manifest/v1.json"
STATUS = {"success": "success", "failed": "error", "skipped": "skipped"}


class Invocation:
    """What this command invocation was: one id and its arguments, as dbt records them."""
    invocation_id: str = str(uuid.uuid4())
    args: dict = {}
    threads: int = 1

    @classmethod
    def start(cls, command: str | None, params: dict | None = None) -> None:
        cls.invocation_id = str(uuid.uuid4())
        cls.args = {"which": command, **{k: _plain(v) for k, v in (params or {}).items()}}


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") + ("Z" if value.tzinfo is None else "") if value else None


def unique_id(project_name: str, name: str) -> str:
    return f"segment.{project_name}.{name}"


def metadata(schema: str, project_name: str | None = None, adapter_type: str | None = None) -> dict:
    from .version import __version__
    return {"dbt_schema_version": schema, "segwarehouse_version": __version__,
            "generated_at": _stamp(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)),
            "invocation_id": Invocation.invocation_id, "project_name": project_name,
            "adapter_type": adapter_type, "env": {}}


def run_results(result, project_name: str | None = None, adapter_type: str | None = None) -> dict:
    """The run as dbt writes run_results.json (metadata, results[], elapsed_time, args), keeping
    our own keys (run_id, status, segments[], orphans, warnings) beside them."""
    out = result.to_json()
    elapsed = getattr(result, "elapsed_time", None)
    if elapsed is None:
        elapsed = ((result.finished_at - result.started_at).total_seconds()
                   if result.finished_at and result.started_at else 0.0)
    results = []
    for item in result.segments:
        seconds = getattr(item, "execution_time", None)
        if seconds is None:
            seconds = ((item.finished_at - item.started_at).total_seconds()
                       if item.finished_at and item.started_at else 0.0)
        began, ended = getattr(item, "timing", None) or (item.started_at, item.finished_at)
        status = STATUS.get(item.status, item.status)
        message = item.error if status != "success" else (
            f"{item.size} members, {item.entered} entered, {item.exited} exited")
        results.append({
            "unique_id": unique_id(project_name or "segwarehouse", item.segment),
            "status": status,
            "timing": [{"name": "execute", "started_at": _stamp(began),
                        "completed_at": _stamp(ended)}] if began else [],
            "thread_id": getattr(item, "thread_id", None) or "Thread-1",
            "execution_time": seconds,
            "adapter_response": {"_message": message if status == "success" else "",
                                 "rows_affected": item.size} if status == "success" else {},
            "message": message,
            "failures": None,
            "size": item.size, "entered": item.entered, "exited": item.exited, "moved": item.moved,
        })
    out.update({
        "metadata": metadata(RUN_RESULTS_SCHEMA, project_name, adapter_type),
        "results": results,
        "elapsed_time": elapsed,
        "args": Invocation.args,
    })
    return out


def write_json(root: Path, name: str, document: dict) -> Path:
    from .project.jinja import SECRETS

    path = root / "target" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: two runs of one project (a schedule and a manual run) may write at once.
    tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(SECRETS.mask(json.dumps(document, indent=2, default=str)) + "\n")
        tmp.replace(path)  # a reader never sees half a file
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_if_changed(path: Path, text: str) -> bool:
    """Write a file unless it already holds exactly `text` (rewriting a file costs far more than
    reading it, and an unchanged file keeps its time stamp); whether it was written."""
    try:
        if path.read_text() == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    path.write_text(text)
    return True


def manifest(project, hash_sql: dict[str, str] | None = None, known: dict[str, str] | None = None) -> dict:
    """Every segment and list with its definition, hashes and dependencies, for other tools.
    `hash_sql`: segment -> the SQL its compiled_sql_hash is taken from, where a caller already
    compiled it (see compile_segment); the others are compiled here unless the previous manifest
    has the hash of the same definition (`known`, as compiled_hashes gives it, if read already)."""
    from .catalog import HASH_AS_OF, definition_hash
    from .compiler.dialects import to_sql
    from .compiler.segment import segment_query
    from .project.loader import relation_for
    from .language import types as t
    from .words import segment_words

    name = project.config.name
    segments, lists = {}, {}
    parents: dict[str, list[str]] = {}
    known = compiled_hashes(project) if known is None else known
    for item in project.lists.values():
        lists[f"list.{name}.{item.name}"] = {
            "unique_id": f"list.{name}.{item.name}", "resource_type": "list", "name": item.name,
            "entity": item.entity, "source": item.source,
            "original_file_path": item.loc.file if item.loc else None}
    for segment in project.segments.values():
        entity = project.entities[segment.entity]
        definition = definition_hash(project, segment)
        sql_hash = known.get(definition)  # the same definition compiles to the same SQL: not again
        if sql_hash is None and hash_sql and segment.name in hash_sql:
            sql_hash = hashlib.sha256(hash_sql[segment.name].encode()).hexdigest()
        if sql_hash is None:
            sql = to_sql(segment_query(project, segment, HASH_AS_OF), project.dialect, copy=False)
            sql_hash = hashlib.sha256(sql.encode()).hexdigest()
        models = {entity.model}
        if segment.rules is not None:
            models |= {relation_for(entity, n).model for n in t.walk(segment.rules) if isinstance(n, t.Related)}
        refs = segment.references()
        depends = sorted([unique_id(name, r) for r in refs if r in project.segments]
                         + [f"list.{name}.{r}" for r in refs if r in project.lists])
        uid = unique_id(name, segment.name)
        parents[uid] = depends
        schema = project.segment_schema
        segments[uid] = {
            "unique_id": uid, "resource_type": "segment", "name": segment.name, "package_name": name,
            "entity": segment.entity, "materialized": segment.materialized,
            "schedule": project.schedule_of(segment), "title": segment.title,
            "description": segment.description, "category": segment.category, "tags": list(segment.tags),
            "columns": list(segment.columns), "splits": {s.name: str(s.percent) for s in segment.splits},
            "rules": segment_words(segment),
            "definition_hash": definition,
            "compiled_sql_hash": sql_hash,
            "compiled_dialect": project.dialect,
            "depends_on": {"nodes": depends, "segments": sorted(r for r in refs if r in project.segments),
                           "lists": sorted(r for r in refs if r in project.lists), "models": sorted(models)},
            "schema": schema, "alias": segment.name, "relation_name": f"{schema}.{segment.name}",
            "original_file_path": segment.loc.file if segment.loc else None,
        }
    children: dict[str, list[str]] = {uid: [] for uid in list(segments) + list(lists)}
    for uid, deps in parents.items():
        for dep in deps:
            children.setdefault(dep, []).append(uid)
    return {"metadata": metadata(MANIFEST_SCHEMA, name, project.target.type),
            "segments": segments, "lists": lists,
            "parent_map": parents | {uid: [] for uid in lists},
            "child_map": {uid: sorted(kids) for uid, kids in children.items()}}


def compiled_hashes(project) -> dict[str, str]:
    """definition hash -> compiled SQL hash, from the manifest the last command wrote (if any)."""
    try:
        previous = json.loads((project.root / "target" / "manifest.json").read_text())
        return {item["definition_hash"]: item["compiled_sql_hash"] for item in previous["segments"].values()
                if item.get("definition_hash") and item.get("compiled_sql_hash")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def write_manifest(project, hash_sql: dict[str, str] | None = None, known: dict[str, str] | None = None) -> Path:
    return write_json(project.root, "manifest.json", manifest(project, hash_sql, known))
