"""`segw init` writes a project that builds at once (DuckDB as written; PostgreSQL and MariaDB with
the test servers' profile in place of the scaffold's)."""
from __future__ import annotations

import yaml
from click.testing import CliRunner

from segwarehouse.cli import main


def invoke(*args):
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_init_scaffolds_a_project_that_builds(engine, project_factory, tmp_path):
    folder = tmp_path / "My Shop-2026"
    made = invoke("init", str(folder))
    assert made.exit_code == 0, made.output
    for path in ("profiles.yml", "segwarehouse.yml", "seeds/customers.csv", "seeds/orders.csv",
                 "models/entities.yml", "segments/customers.yml"):
        assert (folder / path).is_file(), path
    config = yaml.safe_load((folder / "segwarehouse.yml").read_text())
    assert config["name"] == config["profile"] == "my_shop_2026"
    profile = yaml.safe_load((folder / "profiles.yml").read_text())
    assert profile["my_shop_2026"]["outputs"]["dev"]["type"] == "duckdb"
    assert "# " in (folder / "segments/customers.yml").read_text()  # explained with comments

    if engine != "duckdb":  # point the scaffold at the test server, schemas of the test's own
        server = project_factory(engine)
        (folder / "profiles.yml").write_text((server.root / "profiles.yml").read_text())
        config.update(profile="test", segment_schema=server.segment_schema)
        (folder / "segwarehouse.yml").write_text(yaml.safe_dump(config))
    built = invoke("build", "--project-dir", str(folder))
    assert built.exit_code == 0, built.output
    assert "loyal_opted_in" in built.stdout and "1 built, 0 failed" in built.stdout
    explained = invoke("explain", "loyal_opted_in", "4", "--json", "--project-dir", str(folder))
    assert explained.exit_code == 0, explained.output
    assert '"member": true' in explained.stdout
    overlap_free = invoke("explain", "loyal_opted_in", "3", "--json", "--project-dir", str(folder))
    assert '"member": false' in overlap_free.stdout  # opted out


def test_init_never_overwrites(tmp_path):
    assert invoke("init", str(tmp_path / "p")).exit_code == 0
    (tmp_path / "p" / "segments" / "customers.yml").write_text("segments: []\n")
    again = invoke("init", str(tmp_path / "p"))
    assert again.exit_code == 2 and "nothing was written" in again.stderr
    assert (tmp_path / "p" / "segments" / "customers.yml").read_text() == "segments: []\n"
    bad = invoke("init", str(tmp_path / "q"), "--name", "Bad Name")
    assert bad.exit_code == 2 and "invalid project name" in bad.stderr
