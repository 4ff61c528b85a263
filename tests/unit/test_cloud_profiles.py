"""Snowflake, BigQuery and Databricks profiles map onto their SQLAlchemy dialect URLs."""
from __future__ import annotations

import pytest

from segwarehouse.errors import SegwError
from segwarehouse.project.profiles import Target
from segwarehouse.warehouse import connect
from segwarehouse.warehouse.cloud import url_for


def test_snowflake_url_uses_dbt_keys():
    target = Target("p", "prod", "snowflake", "analytics",
                    {"account": "xy12345.eu-central-1", "user": "segw", "password": "s3cret",
                     "database": "SHOP", "warehouse": "WH", "role": "SEGW"})
    url = url_for(target)
    assert url.drivername == "snowflake"
    assert url.host == "xy12345.eu-central-1"
    assert url.database == "SHOP/analytics"
    assert dict(url.query) == {"warehouse": "WH", "role": "SEGW"}
    assert "s3cret" not in repr(url)


def test_bigquery_and_databricks_urls():
    bq = url_for(Target("p", "prod", "bigquery", "segments_ds", {"project": "my-proj", "keyfile": "/k.json"}))
    assert (bq.drivername, bq.host, bq.database) == ("bigquery", "my-proj", "segments_ds")
    assert dict(bq.query) == {"credentials_path": "/k.json"}
    db = url_for(Target("p", "prod", "databricks", "gold",
                        {"host": "dbc.cloud.databricks.com", "http_path": "/sql/1.0/x", "token": "t",
                         "catalog": "main"}))
    assert db.drivername == "databricks" and db.host == "dbc.cloud.databricks.com"
    assert dict(db.query) == {"http_path": "/sql/1.0/x", "catalog": "main", "schema": "gold"}


@pytest.mark.parametrize("kind", ["bigquery", "databricks"])
def test_building_without_transactions_is_refused_clearly(kind):
    with pytest.raises(SegwError, match="no multi-statement transactions") as info:
        connect(Target("p", "prod", kind, "s", {}))
    assert "segw compile --dialect" in info.value.hint
