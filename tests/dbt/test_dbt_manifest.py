"""Resolving ref()/source() from a dbt manifest: packages, versions, aliases, quoting per engine."""
from __future__ import annotations

import json

import pytest

from segwarehouse.errors import SegwError
from segwarehouse.project.dbt import load_manifest, parse_call

NODES = {
    "model.shop.orders": {"resource_type": "model", "name": "orders", "package_name": "shop", "unique_id":
                          "model.shop.orders", "database": "analytics", "schema": "marts", "alias": "fct_orders",
                          "config": {"materialized": "table"}},
    "model.util.orders": {"resource_type": "model", "name": "orders", "package_name": "util", "unique_id":
                          "model.util.orders", "database": "analytics", "schema": "util", "alias": "orders",
                          "config": {"materialized": "view"}},
    "model.shop.dim_customers.v1": {"resource_type": "model", "name": "dim_customers", "package_name": "shop",
                                    "unique_id": "model.shop.dim_customers.v1", "database": "analytics",
                                    "schema": "marts", "alias": "dim_customers_v1", "version": 1,
                                    "latest_version": 2, "config": {}},
    "model.shop.dim_customers.v2": {"resource_type": "model", "name": "dim_customers", "package_name": "shop",
                                    "unique_id": "model.shop.dim_customers.v2", "database": "analytics",
                                    "schema": "marts", "alias": "dim_customers", "version": 2,
                                    "latest_version": 2, "config": {}},
}
SOURCES = {"source.shop.web.Events": {"resource_type": "source", "source_name": "web", "name": "Events",
                                      "unique_id": "source.shop.web.Events", "database": "analytics",
                                      "schema": "Raw", "identifier": "Events", "loaded_at_field": "_etl_at",
                                      "quoting": {"identifier": True, "schema": None}}}


@pytest.fixture
def manifest(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\ntarget-path: build\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "manifest.json").write_text(json.dumps(
        {"metadata": {"adapter_type": "postgres"}, "nodes": NODES, "sources": SOURCES}))
    return load_manifest(tmp_path, None)


def test_parse_call_reads_refs_and_sources_as_dbt_writes_them():
    assert parse_call("ref('orders')").args == ("orders",)
    assert parse_call('ref("util", "orders")').args == ("util", "orders")
    assert parse_call("ref('dim_customers', v=1)").version == "1"
    assert parse_call("source( 'web' ,'Events' )").args == ("web", "Events")
    assert parse_call("orders") is None and parse_call("marts.orders") is None


def test_refs_resolve_to_schema_and_alias(manifest):
    def where(text):
        relation = manifest.resolve(text, None, "postgres")
        return relation.schema, relation.identifier
    assert where("ref('orders')") == ("marts", "fct_orders")  # the root package's model wins
    assert where("ref('util', 'orders')") == ("util", "orders")
    assert manifest.resolve("ref('dim_customers')", None, "postgres").identifier == "dim_customers"  # latest
    assert manifest.resolve("ref('dim_customers', v=1)", None, "postgres").identifier == "dim_customers_v1"


def test_unquoted_parts_fold_as_the_engine_folds_them(manifest):
    pg = manifest.resolve("source('web', 'Events')", None, "postgres")
    assert (pg.schema, pg.identifier, pg.loaded_at_field) == ("Raw", "Events", "_etl_at")  # dbt quotes on PG
    snow = manifest.resolve("source('web', 'Events')", None, "snowflake")
    assert (snow.database, snow.schema, snow.identifier) == ("ANALYTICS", "RAW", "Events")  # identifier quoted
    assert manifest.resolve("ref('orders')", None, "snowflake").identifier == "FCT_ORDERS"


def test_unresolvable_calls_say_why(manifest):
    for text, phrase in [("ref('order')", "did you mean 'orders'"), ("source('web')", "source name and a table"),
                         ("ref('orders', 'x', 'y')", "takes a model name"), ("ref(orders)", "cannot read")]:
        with pytest.raises(SegwError) as caught:
            manifest.resolve(text, None, "postgres")
        assert phrase in str(caught.value)
