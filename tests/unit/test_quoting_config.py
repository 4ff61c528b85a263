"""dbt's `quoting:` in segwarehouse.yml: Snowflake finds unquoted (upper-case) names by default, and
names quoted as written when the project says so."""
from __future__ import annotations

import textwrap

import pytest

import segwarehouse
from segwarehouse.errors import SegwError
from segwarehouse.project.loader import load_project

FILES = {
    "models/entities.yml": """
        entities:
          - name: customer
            model: shop.customers
            key: customer_id
        """,
    "segments/s.yml": """
        segments:
          - name: swiss
            entity: customer
            rules: {property: country, equals: CH}
        """,
    "profiles.yml": """
        p:
          target: prod
          outputs:
            prod: {type: snowflake, account: xy, user: u, password: pw, database: SHOP, warehouse: WH, schema: analytics}
        """,
}


def project(tmp_path, config: str):
    for path, text in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(textwrap.dedent(text))
    (tmp_path / "segwarehouse.yml").write_text("name: q\nprofile: p\n" + textwrap.dedent(config))
    return load_project(tmp_path)


def test_snowflake_default_finds_upper_case_names(tmp_path):
    sql = segwarehouse.compile(project(tmp_path, ""), "swiss")
    assert '"SHOP"."CUSTOMERS"' in sql and '"COUNTRY"' in sql


def test_quoting_config_keeps_names_as_written(tmp_path):
    sql = segwarehouse.compile(project(tmp_path, "quoting: {database: true, schema: true, identifier: true}\n"),
                               "swiss")
    assert '"shop"."customers"' in sql and '"country"' in sql
    # and loading another project without it goes back to the default
    other = tmp_path / "other"
    other.mkdir()
    assert '"SHOP"."CUSTOMERS"' in segwarehouse.compile(project(other, ""), "swiss")


def test_unknown_quoting_key_is_refused(tmp_path):
    with pytest.raises(SegwError, match="quoting"):
        project(tmp_path, "quoting: {tables: true}\n")
