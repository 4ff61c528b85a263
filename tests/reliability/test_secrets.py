"""A password read with env_var() never shows in output, errors, compiled SQL or run results."""
from __future__ import annotations

import json

from click.testing import CliRunner

from segwarehouse.cli import main
from tests.conftest import make_project

SECRET = "Zx9-SECRET-q7"


def test_password_never_leaks(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGW_TEST_SECRET", SECRET)
    project = make_project(tmp_path, "duckdb", {
        "seeds/people.csv": "id,country\n1,CH\n",
        "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
        "segments/s.yml": """
            segments:
              - {name: ok, entity: person, rules: {property: country, equals: CH}}
              - {name: broken, entity: person, rules: {property: contry, equals: x}}
        """,
    })
    profiles = project.root / "profiles.yml"
    profiles.write_text(profiles.read_text().replace(
        "type: duckdb", "type: duckdb\n      motherduck_token: \"{{ env_var('SEGW_TEST_SECRET') }}\""))
    runner = CliRunner()
    built = runner.invoke(main, ["build", "--project-dir", str(project.root)])
    assert built.exit_code == 1  # 'broken' fails on its unknown column
    compiled = runner.invoke(main, ["compile", "--project-dir", str(project.root)])
    printed = runner.invoke(main, ["compile", "--project-dir", str(project.root), "broken"])
    results = (project.root / "target" / "run_results.json").read_text()
    assert json.loads(results)["status"] == "partial_failure"
    errors = project.query("SELECT error FROM {seg}.segment_runs WHERE status = 'failed'")
    assert errors and all(SECRET not in (e[0] or "") for e in errors)
    for text in (built.output, compiled.output, printed.output, results,
                 *[p.read_text() for p in (project.root / "target" / "compiled").rglob("*.sql")]):
        assert SECRET not in text

    # A server that refuses the login does not echo the password either.
    pg = make_project(tmp_path, "postgres", {"models/entities.yml": "entities: []\n"})
    pg_profiles = pg.root / "profiles.yml"
    pg_profiles.write_text(pg_profiles.read_text().replace("host: 127.0.0.1", "host: 127.0.0.1\n      password: \"{{ env_var('SEGW_TEST_SECRET') }}\"").replace("port: 5432", "port: 1"))
    refused = runner.invoke(main, ["build", "--project-dir", str(pg.root)])
    assert refused.exit_code == 1 and "cannot connect" in refused.output  # a warehouse fault, not bad input
    assert SECRET not in (pg.root / "target" / "run_results.json").read_text()
    assert SECRET not in refused.output


def test_driver_messages_that_quote_the_password_are_masked(tmp_path, monkeypatch):
    from segwarehouse.project.jinja import SECRETS
    from segwarehouse.warehouse.base import Adapter

    monkeypatch.setenv("SEGW_TEST_SECRET", SECRET)
    project = make_project(tmp_path, "duckdb", {"models/entities.yml": "entities: []\n"})
    profiles = project.root / "profiles.yml"
    profiles.write_text(profiles.read_text().replace(
        "type: duckdb", "type: duckdb\n      motherduck_token: \"{{ env_var('SEGW_TEST_SECRET') }}\""))
    project.load()  # reading the profile registers the secret
    leaked = RuntimeError(f"could not connect to postgresql://segw:{SECRET}@db/analytics")
    assert Adapter.describe_error(leaked) == "could not connect to postgresql://segw:*****@db/analytics"
    assert SECRET not in SECRETS.mask(f"error near '{SECRET}'")
