"""A real dbt project (dbt-core + dbt-duckdb, run once in-process) and segments built on its models."""
from __future__ import annotations

import json
import os
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import TestProject as SegwProject, cli

DBT_FILES = {
    "dbt_project.yml": """
        name: analytics
        profile: analytics
        version: "1.0"
        config-version: 2
        seeds:
          analytics:
            +schema: raw
        models:
          analytics:
            +materialized: table
    """,
    "seeds/raw_customers.csv": "id,first_name,country,signed_up_at\n1,Ann,CH,2024-01-05\n2,Bob,FR,2024-02-01\n"
                               "3,Cem,CH,2024-03-01\n4,Dora,DE,2024-05-20\n",
    "seeds/raw_events.csv": "customer_id,kind,happened_at,_loaded_at\n1,open,2024-06-01 10:00:00,2024-06-01 11:00:00\n"
                            "1,click,2024-06-02 10:00:00,2024-06-02 11:00:00\n3,open,2023-01-01 10:00:00,2023-01-01 11:00:00\n"
                            "4,open,2024-06-20 09:00:00,2024-06-20 10:00:00\n",
    "models/stg_customers.sql": "{{ config(materialized='ephemeral') }}\nselect id as customer_id, first_name, country, "
                                "cast(signed_up_at as date) as signed_up_at from {{ ref('raw_customers') }}\n",
    # dbt quotes names on DuckDB and PostgreSQL: the mixed-case alias must be read exactly as written
    "models/dim_customers.sql": "{{ config(alias='Customers') }}\nselect * from {{ ref('stg_customers') }}\n",
    "models/sources.yml": """
        version: 2
        sources:
          - name: shop
            schema: "{{ target.schema }}_raw"
            loaded_at_field: _loaded_at
            freshness:
              warn_after: {count: 1, period: day}
            tables:
              - name: events
                identifier: raw_events
                meta: {owner: web}
                tags: [events]
    """,
}


def write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())


@pytest.fixture(scope="module")
def dbt_built(tmp_path_factory):
    """One `dbt build` for the module (dbt is slow to start): the dbt project and its warehouse."""
    root = tmp_path_factory.mktemp("dbt")
    analytics = root / "analytics"
    write(analytics, DBT_FILES)
    warehouse = root / "warehouse.duckdb"
    write(analytics, {"profiles.yml": f"""
        analytics:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{{{ env_var('ANALYTICS_DUCKDB', '{warehouse}') }}}}"
              schema: main
              threads: 1
    """})
    dbt_build(analytics)
    return analytics


def dbt_build(analytics: Path) -> None:
    from dbt.cli.main import dbtRunner

    started = time.monotonic()
    result = dbtRunner().invoke(["build", "--project-dir", str(analytics), "--profiles-dir", str(analytics),
                                 "--log-format", "text", "--quiet", "--no-send-anonymous-usage-stats"])
    print(f"dbt build took {time.monotonic() - started:.1f}s")
    assert result.success, result.exception
    assert (analytics / "target" / "manifest.json").is_file()


SEGMENTS = """
    segments:
      - name: swiss_openers
        entity: customer
        tags: [email]
        rules:
          all:
            - {property: country, equals: CH}
            - {event: open, within_last: 1 year}
      - name: active
        entity: customer
        rules:
          any:
            - {event: open, within_last: 30 days}
            - {event: click, within_last: 30 days}
"""


def segw_project(root: Path, analytics: Path, entities: str | None = None, schema: str = "segs",
                 engine: str = "duckdb") -> SegwProject:
    project = root / "segs"
    shutil.rmtree(project, ignore_errors=True)
    write(project, {
        "segwarehouse.yml": f"name: segs\ndbt_project: {os.path.relpath(analytics, project)}\nsegment_schema: {schema}\n",
        "models/entities.yml": entities or """
            entities:
              - name: customer
                model: ref('dim_customers')
                key: customer_id
                relations:
                  events:
                    model: source('shop', 'events')
                    foreign_key: customer_id
                    time: happened_at
                    name: kind
        """,
        "segments/s.yml": SEGMENTS,
    })
    return SegwProject(project, engine, "main", schema)


def members(project: SegwProject, segment: str) -> set[str]:
    from segwarehouse.warehouse import connect
    adapter = connect(project.load().target)  # the file dbt wrote (and dbt-duckdb keeps open)
    try:
        return {row[0] for row in adapter.fetchall_text(
            f"SELECT key FROM {project.segment_schema}.memberships WHERE segment = '{segment}'")}
    finally:
        adapter.close()


def test_segments_build_on_models_dbt_built(dbt_built, tmp_path):
    project = segw_project(tmp_path, dbt_built)
    loaded = project.load()  # the profile named in dbt_project.yml, found beside it
    assert loaded.target.profile == "analytics"
    assert loaded.relation_of("ref('dim_customers')") == ("main", "Customers")  # the alias dbt gave it
    assert loaded.relation_of("source('shop', 'events')") == ("main_raw", "raw_events")
    entity = loaded.entities["customer"]
    assert entity.relations["events"].loaded_at == "_loaded_at"  # the source's loaded_at_field
    result = cli(project, "build", "--as-of", "2024-06-25T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert members(project, "swiss_openers") == {"1"}
    assert members(project, "active") == {"1", "4"}
    results = json.loads((project.root / "target" / "run_results.json").read_text())
    assert [r["unique_id"] for r in results["results"]] == ["segment.segs.swiss_openers", "segment.segs.active"]


def test_dbt_references_that_cannot_be_resolved_are_clear_errors(dbt_built, tmp_path):
    cases = [
        ("model: ref('dim_customers')", "model: ref('dim_customer')",
         ["ref('dim_customer')", "no model, seed or snapshot 'dim_customer'", "did you mean 'dim_customers'"]),
        ("model: ref('dim_customers')", "model: ref('stg_customers')", ["is ephemeral", "materialize it"]),
        ("model: source('shop', 'events')", "model: source('shop', 'clicks')",
         ["no source table 'shop.clicks'", "shop.events"]),
    ]
    for old, new, phrases in cases:
        project = segw_project(tmp_path, dbt_built)
        path = project.root / "models" / "entities.yml"
        path.write_text(path.read_text().replace(old, new))
        result = cli(project, "validate", "--offline")
        assert result.exit_code == 2, result.output
        assert "models/entities.yml:" in result.output
        for phrase in phrases:
            assert phrase in result.output
    manifest = dbt_built / "target" / "manifest.json"
    saved = manifest.read_bytes()
    manifest.unlink()
    try:
        result = cli(segw_project(tmp_path, dbt_built), "ls")
        assert result.exit_code == 2
        assert "segwarehouse.yml:2" in result.output and "run `dbt parse` or `dbt build`" in result.output
    finally:
        manifest.write_bytes(saved)


def test_dbt_profile_habits(dbt_built, tmp_path, monkeypatch):
    """DBT_PROFILES_DIR, env_var with a default, as_number, and DBT_TARGET / --target."""
    elsewhere = tmp_path / "profiles"
    elsewhere.mkdir()
    warehouse = dbt_built.parent / "warehouse.duckdb"
    (elsewhere / "profiles.yml").write_text(textwrap.dedent(f"""
        analytics:
          target: "{{{{ env_var('SEGW_TEST_DBT_TARGET', 'dev') }}}}"
          outputs:
            dev:
              type: duckdb
              path: "{{{{ env_var('SEGW_TEST_NOT_SET', '{warehouse}') }}}}"
              threads: "{{{{ env_var('SEGW_TEST_THREADS', '3') | as_number }}}}"
            other:
              type: duckdb
              path: "{warehouse}"
              schema: elsewhere
    """))
    project = segw_project(tmp_path, dbt_built)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(elsewhere))
    target = project.load().target
    assert Path(target.settings["path"]) == warehouse and target.settings["threads"] == 3
    monkeypatch.setenv("DBT_TARGET", "other")
    assert project.load().target.schema == "elsewhere"
    assert project.load(target="dev").target.name == "dev"  # --target wins over DBT_TARGET


@pytest.mark.servers
def test_segments_build_on_models_dbt_built_on_postgres(tmp_path):
    """dbt-postgres builds the same project into its own schemas of the test database; the
    mixed-case alias "Customers" exists only quoted, and segwarehouse reads it as dbt wrote it."""
    from tests.conftest import PG, _drop_schemas

    tag = f"dbt{os.getpid()}_{time.monotonic_ns() % 10**8}"
    analytics = tmp_path / "analytics"
    write(analytics, DBT_FILES)
    write(analytics, {"profiles.yml": f"""
        analytics:
          target: dev
          outputs:
            dev:
              type: postgres
              host: {PG['host']}
              port: 5432
              user: {PG['user']}
              password: ""
              dbname: test
              schema: {tag}
              threads: 2
    """})
    try:
        dbt_build(analytics)
        project = segw_project(tmp_path, analytics, schema=f"{tag}_segs", engine="postgres")
        loaded = project.load()
        assert loaded.relation_of("ref('dim_customers')") == (tag, "Customers")
        assert loaded.relation_of("source('shop', 'events')") == (f"{tag}_raw", "raw_events")
        result = cli(project, "build", "--as-of", "2024-06-25T00:00:00Z", "--threads", "2")
        assert result.exit_code == 0, result.output
        assert members(project, "swiss_openers") == {"1"} and members(project, "active") == {"1", "4"}
    finally:
        _drop_schemas("postgres", [tag, f"{tag}_raw", f"{tag}_segs"])
