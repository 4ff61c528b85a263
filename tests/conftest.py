"""Shared fixtures: the same tests run on DuckDB, PostgreSQL and MariaDB (`engine` fixture)."""
from __future__ import annotations

import datetime as dt
import inspect
import itertools
import logging
import os
import re
import tempfile
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

from segwarehouse.warehouse.spark import LOCAL_DEFAULTS

# CI replays the same examples every run, so a red build is a regression, never a lucky draw;
# locally each run explores new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ENGINES = ("duckdb", "postgres", "mysql")
PG = {"type": "postgres", "host": os.environ.get("SEGW_TEST_PG_HOST", "127.0.0.1"), "port": 5432,
      "user": os.environ.get("SEGW_TEST_PG_USER", "postgres"), "dbname": "test"}
# Spark on the tests' tiny tables: planning and scheduling cost more than the data, so one shuffle
# partition, no adaptive re-planning and no whole-stage code generation (a quarter off the Spark
# tests' time; the same results: these choose plans, not answers). The JVMs (one per test process)
# compile with C1 only and collect garbage on one thread: a third less CPU on a busy 2-core
# machine, the same wall time alone.
SPARK_TEST_SETTINGS = {"spark.sql.shuffle.partitions": "1", "spark.default.parallelism": "1",
                       "spark.sql.adaptive.enabled": "false", "spark.sql.codegen.wholeStage": "false",
                       "spark.driver.extraJavaOptions": LOCAL_DEFAULTS["spark.driver.extraJavaOptions"]
                       + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
# Spark: one local SparkSession per test process (segwarehouse.warehouse.spark keeps it), with an
# in-memory catalog and a warehouse directory of its own.
SPARK = {"type": "spark", "method": "session", "server_side_parameters": {
    **SPARK_TEST_SETTINGS, "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.warehouse.dir": os.path.join(tempfile.gettempdir(), f"segw-spark-{os.getpid()}")}}
MY = {"type": "mysql", "host": os.environ.get("SEGW_TEST_MYSQL_HOST", "127.0.0.1"), "port": 3306,
      "user": "root", "password": ""}
_counter = itertools.count()


@dataclass
class TestProject:
    """A project folder written by a test, bound to one engine with schemas of its own."""
    root: Path
    engine: str
    model_schema: str
    segment_schema: str

    def load(self, **kwargs):
        from segwarehouse.project.loader import load_project
        return load_project(self.root, **kwargs)

    def build(self, as_of="2024-06-30 12:00:00", select=None):
        from segwarehouse.runner import build, parse_as_of
        return build(self.load(), parse_as_of(as_of), select, write_results=False)

    def adapter(self):
        from segwarehouse.project.profiles import load_target
        from segwarehouse.warehouse import connect
        return connect(load_target(self.root, "test", None))

    def query(self, sql: str) -> list[tuple]:
        """Run SQL written in this engine's dialect; {seg} and {mod} name the two schemas."""
        adapter = self.adapter()
        try:
            q = '`' if self.engine in ("mysql", "spark") else '"'
            return adapter.fetchall_text(sql.format(seg=f"{q}{self.segment_schema}{q}",
                                               mod=f"{q}{self.model_schema}{q}"))
        finally:
            adapter.close()

    def members(self, segment: str) -> set[str]:
        rows = self.query(f"SELECT {self.quote('key')} FROM {{seg}}.memberships "
                          f"WHERE {self.quote('segment')} = '{segment}'")
        return {r[0] for r in rows}

    def relation(self, name: str) -> list[tuple]:
        return sorted(self.query(f"SELECT * FROM {{seg}}.{self.quote(name)}"), key=repr)

    def quote(self, name: str) -> str:
        return f"`{name}`" if self.engine in ("mysql", "spark") else f'"{name}"'

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())


def in_schema(sql: str, schema: str):
    """A statement written in DuckDB's SQL with its tables named `t.<name>`, those tables put in
    `schema` (quoted): for any engine's adapter."""
    import sqlglot
    from sqlglot import exp

    return sqlglot.parse_one(sql, read="duckdb").transform(
        lambda n: exp.table_(n.name, db=schema, quoted=True) if isinstance(n, exp.Table) else n)


def cli(project: TestProject, *args):
    """Run `segw ARGS --project-dir PROJECT` in-process; a bug (not a user error) is raised."""
    from click.testing import CliRunner

    from segwarehouse.cli import main
    result = CliRunner().invoke(main, [*args, "--project-dir", str(project.root)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _drop_schemas(engine: str, schemas: list[str]) -> None:
    if engine == "postgres":
        import psycopg
        with psycopg.connect(host=PG["host"], user=PG["user"], dbname="test", autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    elif engine == "spark":
        from segwarehouse.warehouse.spark import _SESSIONS
        for session in _SESSIONS.values():
            for schema in schemas:
                session.sql(f"DROP SCHEMA IF EXISTS `{schema}` CASCADE")
    elif engine == "mysql":
        import pymysql
        conn = pymysql.connect(host=MY["host"], user="root", password="", autocommit=True)
        try:
            for schema in schemas:
                conn.cursor().execute(f"DROP DATABASE IF EXISTS `{schema}`")
        finally:
            conn.close()


def make_project(tmp_path: Path, engine: str, files: dict[str, str] | None = None,
                 config: dict | None = None) -> TestProject:
    """Write profiles.yml and segwarehouse.yml for `engine`, then the given files."""
    _check_servers_marker(engine)
    tag = f"t{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    model_schema, segment_schema = f"{tag}_m", f"{tag}_s"
    if engine == "duckdb":
        output = {"type": "duckdb", "path": "warehouse.duckdb", "schema": model_schema}
    elif engine == "postgres":
        output = {**PG, "schema": model_schema}
    elif engine == "spark":
        output = {**SPARK, "schema": model_schema}
    else:
        output = {**MY, "schema": model_schema}
    root = tmp_path / f"project_{engine}_{next(_counter)}"
    root.mkdir(parents=True)
    (root / "profiles.yml").write_text(yaml.safe_dump({"test": {"target": "dev", "outputs": {"dev": output}}}))
    settings = {"name": "test", "profile": "test", "segment_schema": segment_schema, **(config or {})}
    (root / "segwarehouse.yml").write_text(yaml.safe_dump(settings))
    project = TestProject(root, engine, model_schema, segment_schema)
    for path, text in (files or {}).items():
        project.write(path, text)
    return project


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


class _Statements(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record):
        self.sql.append(record.getMessage())


@pytest.fixture
def evaluate_changed_keys_however_many(monkeypatch):
    """Few-row test worlds change a large share of their keys each step; past a share the engines
    would evaluate everyone instead (tested on its own): keep the incremental path under test.
    A module asks for it with `pytestmark = pytest.mark.usefixtures(...)`."""
    from segwarehouse.warehouse.base import Adapter
    from segwarehouse.warehouse.duckdb import DuckDBAdapter
    for adapter_class in (Adapter, DuckDBAdapter):
        monkeypatch.setattr(adapter_class, "incremental_up_to", float("inf"))


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """Every SQL statement run during the test, whole, as the `-v` log shows it."""
    from segwarehouse.warehouse import base
    monkeypatch.setattr(base.one_line, "__defaults__", (10 ** 9,))  # not cut after SQL_SHOWN characters
    handler = _Statements()
    logger = logging.getLogger("segwarehouse.sql")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler.sql
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def project_factory(tmp_path, request):
    """make(engine, files, config) -> TestProject; schemas are dropped after the test."""
    made: list[TestProject] = []

    def make(engine: str, files: dict[str, str] | None = None, config: dict | None = None) -> TestProject:
        project = make_project(tmp_path, engine, files, config)
        made.append(project)
        return project

    yield make
    for project in made:
        _drop_schemas(project.engine, [project.model_schema, project.segment_schema])


AS_OF = dt.datetime(2024, 6, 30, 12, 0, 0)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/<dialect>/<segment>.sql from the compiler's output")


# -- the fast lane: `python -m pytest -m "not servers"` runs what needs no database server ----------
SERVER_ENGINES = ("postgres", "mysql")
# A test that reaches a server without naming it in a parameter: a literal engine name passed to
# the project helpers, a loop over ENGINES, or a driver used directly.
_SERVER_SOURCE = re.compile(r"""(project_factory|make_project)\([^)]*["'](postgres|mysql)["']"""
                            r"""|\b(psycopg|pymysql)\b|\b(PG|MY)\[|\bin ENGINES\b""")
# ... or, in a test with no engine parameter, an engine name chosen in the body for the helpers.
_ENGINE_NAME = re.compile(r"""["'](postgres|mysql)["']""")
_HELPERS = re.compile(r"\b(project_factory|make_project)\(")


def needs_servers(item) -> bool:
    """Whether a collected test needs PostgreSQL or MariaDB: a parameter naming one of them (the
    `engine` fixture, or any parametrize), or a body that reaches one. A test the rules miss fails
    at make_project (see _current_test) until it says `@pytest.mark.servers` itself."""
    if item.get_closest_marker("servers"):
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    engines = [v for v in params.values() if isinstance(v, str) and v in ENGINES]
    if any(v in SERVER_ENGINES for v in engines):
        return True
    function = getattr(item, "function", None)
    try:
        source = inspect.getsource(function) if function is not None else ""
    except (OSError, TypeError):
        return False
    if _SERVER_SOURCE.search(source):
        return True
    return not engines and bool(_ENGINE_NAME.search(source) and _HELPERS.search(source))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if needs_servers(item):
            item.add_marker(pytest.mark.servers)


_running: list = []  # the test being run, for make_project's check of the marker


@pytest.fixture(autouse=True)
def _current_test(request):
    _running.append(request.node)
    yield
    _running.remove(request.node)


def _check_servers_marker(engine: str) -> None:
    """A project on a server in a test not marked `servers` would break the fast lane: say so."""
    if engine in SERVER_ENGINES and _running and not _running[-1].get_closest_marker("servers"):
        pytest.fail(f"{_running[-1].nodeid} builds on {engine} but is not marked `servers`: add "
                    "@pytest.mark.servers (python -m pytest -m 'not servers' must need no server)",
                    pytrace=False)
