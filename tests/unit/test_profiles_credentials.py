"""Typed credentials: each warehouse type's profile keys are validated at load (unknown keys with a
did-you-mean, wrong types, dbt's aliases, secrets masked), and adapters read the typed fields."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from segwarehouse.errors import SegwError
from segwarehouse.project.credentials import (CREDENTIALS, PostgresCredentials, accepted_keys,
                                              is_secret_key)
from segwarehouse.project.jinja import SECRETS
from segwarehouse.project.profiles import ENGINE_DIALECTS, Target, load_target
from tests.unit.test_bad_input import assert_bad_input, run, write_project

REPO = Path(__file__).resolve().parents[2]


def target_of(tmp_path: Path, output: str, target: str = "dev") -> Target:
    (tmp_path / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n" + textwrap.indent(textwrap.dedent(output), " " * 6))
    return load_target(tmp_path, "shop", target)


def error_of(tmp_path: Path, output: str) -> SegwError:
    with pytest.raises(SegwError) as info:
        target_of(tmp_path, output)
    assert "Traceback" not in str(info.value)
    return info.value


def test_unknown_key_points_at_its_line_and_suggests_the_key(tmp_path):
    error = error_of(tmp_path, "type: postgres\nhots: db.internal\nport: 5432\n")
    assert str(error.location) == "profiles.yml:6"
    assert error.message == "unknown key 'hots' in target 'dev' of profile 'shop'"
    assert error.hint == "did you mean 'host'?"


def test_unknown_key_without_a_close_match_lists_the_keys(tmp_path):
    error = error_of(tmp_path, "type: mysql\nflux_capacitor: 1\n")
    assert "unknown key 'flux_capacitor'" in error.message
    assert error.hint.startswith("a mysql target takes: ") and "password" in error.hint and "host" in error.hint


@pytest.mark.parametrize("output, line, phrase, hint", [
    ("type: postgres\nport: [1, 2]\n", 6, "`port` of target 'dev' must be a whole number from 1 to 65535, got a list",
     "e.g. `port: 5432`"),
    ("type: postgres\nport: true\n", 6, "must be a whole number from 1 to 65535, got True", "port: 5432"),
    ("type: duckdb\nthreads: 0\n", 6, "`threads` of target 'dev' must be a whole number from 1 to 1024, got 0",
     "threads: 4"),
    ("type: postgres\nsslmode: sometimes\n", 6, "`sslmode` of target 'dev' must be one of 'disable'", "sslmode"),
    ("type: duckdb\npath: 7\n", 6, "`path` of target 'dev' must be text, got 7", "quote the value"),
    ("type: duckdb\nsettings: [threads]\n", 6, "`settings` of target 'dev' must be a mapping", "settings"),
    ("type: postgres\nhost: h\nconnect_timeout: soon\n", 7, "`connect_timeout` of target 'dev' must be a whole number",
     "connect_timeout"),
    ("type: mysql\nssl_disabled: perhaps\n", 6, "`ssl_disabled` of target 'dev' must be true or false", "ssl_disabled"),
])
def test_wrong_types_name_the_key_the_line_and_what_it_takes(tmp_path, output, line, phrase, hint):
    error = error_of(tmp_path, output)
    assert str(error.location) == f"profiles.yml:{line}"
    assert phrase in error.message
    assert hint in error.hint


def test_a_wrong_secret_is_reported_without_its_value(tmp_path):
    error = error_of(tmp_path, "type: postgres\npassword: {nested: hunter2-xyz}\n")
    assert "`password` of target 'dev' must be text" in error.message
    assert "hunter2-xyz" not in str(error)


def test_spark_connect_needs_its_host(tmp_path):
    error = error_of(tmp_path, "type: spark\nmethod: connect\nschema: s\n")
    assert "needs `host: sc://HOST:PORT`" in error.message and str(error.location) == "profiles.yml:6"


def test_dbt_aliases_are_read_and_numbers_from_env_var_are_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGW_TEST_PORT", "5433")
    target = target_of(tmp_path, """\
        type: postgres
        user: segw
        pass: "{{ env_var('SEGW_TEST_PW', 'pw-1') }}"
        dbname: analytics
        port: "{{ env_var('SEGW_TEST_PORT') | as_number }}"
        schema: shop
    """)
    credentials = target.credentials
    assert isinstance(credentials, PostgresCredentials)
    assert (credentials.password, credentials.database, credentials.port) == ("pw-1", "analytics", 5433)
    assert (credentials.host, credentials.connect_timeout, target.schema) == ("127.0.0.1", 10, "shop")
    assert target.settings == {"user": "segw", "password": "pw-1", "database": "analytics", "port": 5433,
                               "schema": "shop"}
    assert "pw-1" not in repr(credentials)  # secrets stay out of reprs and tracebacks
    my = target_of(tmp_path, "type: mariadb\nserver: db\nusername: u\nPWD: p\nschema: shop\n").credentials
    assert (my.host, my.user, my.password, my.port) == ("db", "u", "p", 3306)
    bq = target_of(tmp_path, "type: bigquery\nproject: p\ndataset: segs\nkeyfile: /k.json\n")
    assert bq.schema == "segs" and bq.credentials.keyfile == "/k.json"


def test_a_key_and_its_alias_together_are_refused(tmp_path):
    error = error_of(tmp_path, "type: postgres\npass: a\npassword: b\n")
    assert "sets `password` twice (as `pass` and `password`)" in error.message
    assert "`pass` is dbt's other name for `password`" in error.hint


def test_nested_values_render_env_var_and_secrets_are_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGW_TEST_S3_SECRET", "s3-Qq81-secret")
    target = target_of(tmp_path, """\
        type: duckdb
        path: ":memory:"
        settings:
          threads: 1
          s3_secret_access_key: "{{ env_var('SEGW_TEST_S3_SECRET') }}"
    """)
    assert target.credentials.settings["s3_secret_access_key"] == "s3-Qq81-secret"
    assert SECRETS.mask("denied for s3-Qq81-secret") == "denied for *****"
    assert "s3-Qq81-secret" not in repr(target) and "'threads': 1" in repr(target)
    assert is_secret_key("client_secret") and is_secret_key("pass") and not is_secret_key("passes")


def test_compile_only_types_keep_extra_dbt_keys(tmp_path):
    target = target_of(tmp_path, "type: snowflake\naccount: xy\nuser: u\nauthenticator: externalbrowser\n"
                                 "client_session_keep_alive: true\nschema: analytics\n")
    assert target.credentials.account == "xy" and target.schema == "analytics"
    assert target.settings["authenticator"] == "externalbrowser"
    error = error_of(tmp_path, "type: snowflake\naccount: xy\nport: x\n")  # the keys we read are typed
    assert "`port` of target 'dev' must be a whole number" in error.message


def test_every_target_of_the_example_project_loads():
    for name in ("dev", "pg", "mariadb"):
        target = load_target(REPO, "shop", name)
        assert target.credentials.schema_name == target.schema
    assert load_target(REPO, "shop", "dev").credentials.path == str((REPO / "warehouse.duckdb").resolve())


def test_a_target_built_by_hand_is_validated_too():
    target = Target("p", "prod", "postgres", "s", {"host": "db", "port": "5434"})
    assert (target.credentials.host, target.credentials.port) == ("db", 5434)
    with pytest.raises(SegwError, match="unknown key 'hots'"):
        Target("p", "prod", "postgres", "s", {"hots": "db"})


def test_every_model_accepts_type_threads_and_schema():
    assert set(ENGINE_DIALECTS) <= set(CREDENTIALS), "a new profile type needs its credentials model"
    for kind, model in CREDENTIALS.items():
        assert {"type", "threads", "schema"} <= set(accepted_keys(model)), kind


def test_postgres_connect_args_come_from_typed_fields():
    credentials = Target("p", "prod", "postgres", "s", {
        "sslmode": "require", "keepalives_idle": 30, "search_path": "a, b", "connect_timeout": 3}).credentials
    assert credentials.connect_args() == {"connect_timeout": 3, "application_name": "segwarehouse",
                                          "keepalives_idle": 30, "sslmode": "require",
                                          "options": "-c search_path=a,b"}


def test_duckdb_settings_reach_the_connection_and_a_bad_one_is_named(tmp_path, monkeypatch):
    from segwarehouse.warehouse.duckdb import DuckDBAdapter

    loaded = []  # json and parquet are built in (loaded anyway): see that each is asked for
    original = DuckDBAdapter.load_extension
    monkeypatch.setattr(DuckDBAdapter, "load_extension",
                        lambda self, name, target: (loaded.append(name), original(self, name, target)))
    adapter = DuckDBAdapter(target_of(tmp_path, "type: duckdb\npath: w.duckdb\nsettings: {threads: 3}\n"
                                                "extensions: [json, {name: parquet, repo: core}]\n"))
    try:
        assert adapter.fetchall_text("SELECT current_setting('threads')") == [(3,)]
        assert loaded == ["json", "parquet"]
    finally:
        adapter.close()
    with pytest.raises(SegwError) as info:
        DuckDBAdapter(target_of(tmp_path, "type: duckdb\npath: w.duckdb\nsettings: {thredas: 1}\n"))
    assert "DuckDB refused a setting of target 'dev'" in info.value.message and "thredas" in info.value.message
    assert str(info.value.location) == "profiles.yml:4" and "settings:" in info.value.hint


def test_duckdb_checkpoints_once_per_build_unless_the_profile_says_otherwise(tmp_path):
    """DuckDB's 16 MiB default made one large segment's commit rewrite the output tables, then the
    close rewrote them again; the adapter raises the threshold, and a user's own setting wins."""
    from segwarehouse.warehouse.duckdb import DuckDBAdapter

    threshold = "SELECT current_setting('checkpoint_threshold')"
    adapter = DuckDBAdapter(target_of(tmp_path, "type: duckdb\npath: w.duckdb\n"))
    try:
        assert adapter.fetchall_text(threshold) == [("256.0 MiB",)]
    finally:
        adapter.close()
    for key in ("checkpoint_threshold", "wal_autocheckpoint"):
        adapter = DuckDBAdapter(target_of(tmp_path, f"type: duckdb\npath: w.duckdb\nsettings: {{{key}: 8MB}}\n"))
        try:
            assert adapter.fetchall_text(threshold) == [("7.6 MiB",)], key
        finally:
            adapter.close()


def test_the_cli_reports_a_misspelt_key_at_its_line(tmp_path):
    root = write_project(tmp_path, extra={
        "profiles.yml": "p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      paht: wh.duckdb\n"})
    assert_bad_input(run(root, "validate", "--offline"), root, "profiles.yml:6:",
                     "unknown key 'paht' in target 'dev' of profile 'p'", "did you mean 'path'?")
