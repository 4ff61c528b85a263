"""Engine tests re-run on Spark: here the `engine` fixture is "spark" (one local SparkSession for
the whole test process, see segwarehouse/warehouse/spark.py)."""
from __future__ import annotations

import pytest


@pytest.fixture
def engine() -> str:
    return "spark"
