"""Spark targets with dbt-spark's keys: `method: session` (local, what the tests use) and
`method: connect` (a Spark Connect server); bad keys are reported at their profiles.yml line."""
from __future__ import annotations

import textwrap

import pytest

from segwarehouse.errors import SegwError
from segwarehouse.project.profiles import load_target


def target_of(tmp_path, output: str):
    (tmp_path / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n" + textwrap.indent(textwrap.dedent(output), " " * 6))
    return load_target(tmp_path, "shop", None)


def test_session_target_defaults(tmp_path):
    target = target_of(tmp_path, "type: spark\nmethod: session\nhost: NA\nschema: analytics\n")
    assert (target.type, target.dialect, target.schema) == ("spark", "databricks", "analytics")
    # the local warehouse directory is relative to the project, like DuckDB's `path`
    assert target.settings["server_side_parameters"]["spark.sql.warehouse.dir"] == \
        str((tmp_path / "spark-warehouse").resolve())


def test_session_parameters_are_passed_and_relative_dirs_resolved(tmp_path):
    target = target_of(tmp_path, """
        type: spark
        method: session
        schema: analytics
        server_side_parameters:
          spark.driver.memory: 4g
          spark.sql.warehouse.dir: data/wh
    """)
    parameters = target.settings["server_side_parameters"]
    assert parameters["spark.driver.memory"] == "4g"
    assert parameters["spark.sql.warehouse.dir"] == str((tmp_path / "data" / "wh").resolve())


def test_connect_target_needs_an_sc_url(tmp_path):
    target = target_of(tmp_path, "type: spark\nmethod: connect\nhost: sc://spark.internal:15002\nschema: s\n")
    assert target.settings["host"] == "sc://spark.internal:15002"
    assert "server_side_parameters" not in target.settings  # nothing local to resolve
    with pytest.raises(SegwError) as info:
        target_of(tmp_path, "type: spark\nmethod: connect\nhost: spark.internal\nschema: s\n")
    assert "sc://HOST:PORT" in str(info.value) and "profiles.yml:" in str(info.value)


@pytest.mark.parametrize("method, hint", [("thrift", "Spark Connect"), ("sesion", "session")])
def test_methods_we_do_not_run_are_refused_with_a_way_out(tmp_path, method, hint):
    with pytest.raises(SegwError) as info:
        target_of(tmp_path, f"type: spark\nmethod: {method}\nschema: s\n")
    assert "must be session or connect" in str(info.value)
    assert hint in info.value.hint


def test_server_side_parameters_must_be_a_mapping(tmp_path):
    with pytest.raises(SegwError) as info:
        target_of(tmp_path, "type: spark\nmethod: session\nschema: s\nserver_side_parameters: [a, b]\n")
    assert "server_side_parameters" in str(info.value) and "profiles.yml:" in str(info.value)


def test_connect_builds_a_remote_session(tmp_path, monkeypatch):
    """The Connect client's own builder is asked for the remote URL (and a session in UTC), never
    pyspark's generic one, which would switch the whole process to Connect mode.
    test_connect_on_spark.py runs a real Spark Connect server."""
    from pyspark.sql.connect.session import SparkSession

    from segwarehouse.warehouse import spark
    asked = []

    class Builder:
        def remote(self, url):
            asked.append(url)
            return self

        def config(self, key, value):
            asked.append((key, value))
            return self

        def create(self):
            return "remote-session"

    monkeypatch.setattr(SparkSession, "builder", Builder())
    monkeypatch.setattr(spark, "_SESSIONS", {})
    monkeypatch.setattr(spark, "_check_reachable", lambda target, host: asked.append(("reachable?", host)))
    target = target_of(tmp_path, """
        type: spark
        method: connect
        host: sc://spark.internal:15002
        schema: s
        server_side_parameters: {spark.sql.shuffle.partitions: 8}
    """)
    assert spark.session_for(target) == "remote-session"
    assert asked == [("reachable?", "sc://spark.internal:15002"), "sc://spark.internal:15002",
                     ("spark.sql.session.timeZone", "UTC"),
                     ("spark.sql.shuffle.partitions", "8")]


def test_an_unreachable_connect_server_fails_at_once(tmp_path, monkeypatch):
    """Nothing listens at the URL: WarehouseUnavailable (exit 1, retry later) naming the address,
    not the Connect client's many minutes of retries."""
    import socket

    from segwarehouse.errors import WarehouseUnavailable
    from segwarehouse.warehouse import spark
    with socket.socket() as probe:  # a port of 127.0.0.1 that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(spark, "_SESSIONS", {})
    target = target_of(tmp_path, f"type: spark\nmethod: connect\nhost: sc://127.0.0.1:{port}\nschema: s\n")
    with pytest.raises(WarehouseUnavailable) as info:
        spark.session_for(target)
    assert f"127.0.0.1:{port}" in str(info.value) and "profiles.yml:" in str(info.value)
    assert info.value.exit_code == 1


class _Launches:
    """A stand-in for pyspark's local builder: each getOrCreate raises the next of `failures`."""

    def __init__(self, *failures):
        self.failures, self.calls = list(failures), 0

    def master(self, _):
        return self

    def appName(self, _):  # noqa: N802 (pyspark's name)
        return self

    def config(self, *_):
        return self

    def getOrCreate(self):  # noqa: N802
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return _Started()


class _Started:
    class sparkContext:  # noqa: N801
        @staticmethod
        def setLogLevel(_):  # noqa: N802
            pass


@pytest.mark.parametrize("failures, started, calls", [
    ([RuntimeError("[JAVA_GATEWAY_EXITED] Java gateway process exited")], True, 2),
    ([RuntimeError("[JAVA_GATEWAY_EXITED] one"), RuntimeError("[JAVA_GATEWAY_EXITED] two")], False, 2),
    ([RuntimeError("Java not found")], False, 1),
])
def test_a_jvm_that_dies_while_starting_is_started_once_more(tmp_path, monkeypatch, failures, started, calls):
    """A local JVM that exits before answering (a lost race for a port when several start at once)
    is launched a second time; a second death, or any other fault, is reported at the profile."""
    from pyspark.sql import SparkSession

    from segwarehouse.errors import WarehouseError
    from segwarehouse.warehouse import spark
    launches = _Launches(*failures)
    monkeypatch.setattr(SparkSession, "builder", launches)
    monkeypatch.setattr(spark, "_SESSIONS", {})
    monkeypatch.setattr(spark.time, "sleep", lambda _: None)
    target = target_of(tmp_path, "type: spark\nmethod: session\nschema: s\nserver_side_parameters:\n"
                                 "  spark.sql.catalogImplementation: in-memory\n")
    if started:
        assert isinstance(spark.session_for(target), _Started)
    else:
        with pytest.raises(WarehouseError) as info:
            spark.session_for(target)
        assert "cannot start Spark" in str(info.value) and "profiles.yml:" in str(info.value)
    assert launches.calls == calls
