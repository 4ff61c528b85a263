"""Engine tests re-run on Spark: here the `engine` fixture is "spark" (one local SparkSession for
the whole test process, see segwarehouse/warehouse/spark.py). `spark_connect` starts a real Spark
Connect server (its jar ships with pyspark 4) for the tests of `method: connect`."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import SPARK_TEST_SETTINGS


@pytest.fixture
def engine() -> str:
    return "spark"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def spark_connect(tmp_path_factory):
    """A Spark Connect server on 127.0.0.1, one per test process (started on first use, about 10 s):
    `spark-submit` of pyspark's own SparkConnectServer with an in-memory catalog. Yields its sc:// URL."""
    import pyspark

    from segwarehouse.warehouse import spark
    home = Path(pyspark.__file__).parent
    if not list((home / "jars").glob("spark-connect_*.jar")):
        pytest.fail(f"pyspark {pyspark.__version__} ships no Spark Connect server jar (pyspark 4 does): "
                    "pip install -e '.[test]'", pytrace=False)
    folder = tmp_path_factory.mktemp("spark-connect")
    port = _free_port()
    settings = {**spark.LOCAL_DEFAULTS, **SPARK_TEST_SETTINGS, "spark.sql.catalogImplementation": "in-memory",
                "spark.sql.warehouse.dir": str(folder / "warehouse"),
                "spark.connect.grpc.binding.address": "127.0.0.1", "spark.connect.grpc.binding.port": str(port)}
    command = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
               "--name", "segwarehouse-tests", "--master", "local[2]",
               *[part for key, value in settings.items() for part in ("--conf", f"{key}={value}")], "spark-internal"]
    log = folder / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True,
                                  env={**os.environ, "SPARK_HOME": str(home)})
    try:
        deadline = time.monotonic() + 300  # a start-up wait, not a timing assertion
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Spark Connect server did not start (exit {server.poll()}); "
                            f"its log: {log}\n{log.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.5)
        url = f"sc://127.0.0.1:{port}"
        yield url
        session = spark._SESSIONS.pop(f"connect:{url}", None)
        if session is not None:
            session.stop()
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server's own process group (start_new_session)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def use_connect(project, url: str):
    """Point a project made by project_factory("spark") at the Spark Connect server instead."""
    profiles = yaml.safe_load((project.root / "profiles.yml").read_text())
    profiles["test"]["outputs"]["dev"] = {"type": "spark", "method": "connect", "host": url,
                                          "schema": project.model_schema}
    (project.root / "profiles.yml").write_text(yaml.safe_dump(profiles))
    return project
