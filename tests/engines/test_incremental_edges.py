"""Incremental segments, edge by edge: rows that come into view later, deleted entity rows, what forces
a full evaluation, and what `ls`, `status` and `validate` say about it."""
from __future__ import annotations

import json

import pytest
import sqlglot

from tests.conftest import cli, in_schema

ENTITIES = """
entities:
  - name: customer
    model: {schema}.customers
    key: customer_id
    loaded_at: {entity_loaded_at}
    relations:
      orders:
        model: {schema}.orders
        foreign_key: customer_id
        time: ordered_at
        loaded_at: _loaded_at
      visits:
        model: {schema}.visits
        foreign_key: customer_id
        time: visited_at
"""
SEGMENTS = """
segments:
  - name: buyers
    entity: customer
    rules: {related: orders, count: {gte: 1}}
    columns: [country]
  - name: germans
    entity: customer
    rules: {property: country, equals: de}
  - name: visitors
    entity: customer
    rules: {related: visits, within_last: 7 days}
  - name: custom
    entity: customer
    rules: {sql: "country <> 'fr'"}
"""


pytestmark = pytest.mark.usefixtures("evaluate_changed_keys_however_many")


def setup(project, entity_loaded_at="_loaded_at"):
    project.write("models/entities.yml", ENTITIES.format(schema=project.model_schema,
                                                        entity_loaded_at=entity_loaded_at))
    project.write("segments/all.yml", SEGMENTS)
    run(project, f"CREATE SCHEMA IF NOT EXISTS {project.model_schema}")
    run(project, f"CREATE TABLE {project.model_schema}.customers (customer_id INT, country VARCHAR(8), "
                 "_loaded_at TIMESTAMP)")
    run(project, f"CREATE TABLE {project.model_schema}.orders (customer_id INT, ordered_at TIMESTAMP, "
                 "_loaded_at TIMESTAMP)")
    run(project, f"CREATE TABLE {project.model_schema}.visits (customer_id INT, visited_at TIMESTAMP)")
    run(project, f"INSERT INTO {project.model_schema}.customers VALUES (1, 'de', '2030-01-01 00:00:00'), "
                 "(2, 'fr', '2030-01-01 00:00:00'), (3, 'de', '2030-01-01 00:00:00')")


def run(project, sql: str) -> None:
    adapter = project.adapter()
    try:
        adapter.execute(sqlglot.parse_one(sql, read="duckdb"))
    finally:
        adapter.close()


def modes(project) -> dict[str, tuple]:
    from segwarehouse.incremental import stored_modes
    adapter = project.adapter()
    try:
        return stored_modes(adapter, project.segment_schema)
    finally:
        adapter.close()


def member_relations(project) -> tuple[set[str], set[str]]:
    """The segments whose deleted members are found on their relation's typed key, and those
    expected: the relations of keys alone, where a relation takes its rows in the memberships'
    transaction (not on Spark)."""
    from segwarehouse.incremental import member_relations as found
    adapter = project.adapter()
    try:
        return (found(adapter, project.load(), "customer", ["buyers", "germans", "visitors", "custom"]),
                {"germans", "visitors", "custom"} if adapter.relation_rows_commit_with_memberships else set())
    finally:
        adapter.close()


def test_rows_that_come_into_view_later_and_deleted_entities(project_factory):
    project = project_factory("duckdb")
    setup(project)
    # an order dated in the future: it counts only once as_of passes it, two runs later
    run(project, f"INSERT INTO {project.model_schema}.orders VALUES (1, '2024-06-10 00:00:00', "
                 "'2030-01-01 00:00:00')")
    project.build("2024-06-01 00:00:00")
    assert project.members("buyers") == set()
    project.build("2024-06-05 00:00:00")
    assert modes(project)["buyers"] == ("incremental", None)
    assert project.members("buyers") == set()
    result = project.build("2024-06-12 00:00:00")
    assert project.members("buyers") == {"1"}
    assert project.relation("buyers") == [(1, "de")]
    sizes = {r.segment: r.size for r in result.segments}
    assert sizes["buyers"] == 1 and sizes["germans"] == 2

    # a deleted customer exits, although nothing of theirs was loaded; a relation of keys alone
    # is searched on its typed key, one with more columns (buyers') through memberships
    found, expected = member_relations(project)
    assert found == expected
    run(project, f"DELETE FROM {project.model_schema}.customers WHERE customer_id = 1")
    result = project.build("2024-06-12 01:00:00")
    assert project.members("buyers") == set() and project.members("germans") == {"3"}
    assert project.relation("buyers") == []
    assert {r.segment: (r.size, r.exited) for r in result.segments}["germans"] == (1, 1)

    # an update with a new loaded_at moves a customer; the others are not re-evaluated
    run(project, f"UPDATE {project.model_schema}.customers SET country = 'de', "
                 "_loaded_at = '2030-01-02 00:00:00' WHERE customer_id = 2")
    result = project.build("2024-06-12 02:00:00")
    assert project.members("germans") == {"2", "3"}
    assert {r.segment: r.size for r in result.segments}["germans"] == 2
    assert modes(project)["germans"] == ("incremental", None)


def test_what_forces_a_full_evaluation_and_how_it_is_shown(project_factory):
    project = project_factory("duckdb")
    setup(project)
    project.build("2024-06-01 00:00:00")
    assert modes(project)["germans"] == ("full", "first run")
    assert modes(project)["visitors"][0] == "full"
    assert "relation 'visits' of entity 'customer' has no `loaded_at`" in modes(project)["visitors"][1]
    assert "`sql:` condition" in modes(project)["custom"][1]

    listed = {item["name"]: item["evaluates"] for item in json.loads(cli(project, "ls", "--json").output)}
    assert listed["germans"] == {"mode": "incremental", "reason": None}
    assert listed["visitors"]["mode"] == "full"
    status = {row["segment"]: row["evaluated"] for row in json.loads(cli(project, "status", "--json").output)}
    assert status["germans"] == {"mode": "full", "reason": "first run"}

    project.build("2024-06-02 00:00:00")
    assert modes(project)["germans"] == ("incremental", None)
    project.write("segments/all.yml", SEGMENTS.replace("equals: de", "in: [de, fr]"))
    project.build("2024-06-03 00:00:00")
    assert modes(project)["germans"] == ("full", "its definition changed")
    assert project.members("germans") == {"1", "2", "3"}
    assert "all keys: its definition changed" in cli(project, "status").output.replace("\n", " ")

    result = cli(project, "rebuild", "germans")
    assert result.exit_code == 0, result.output
    assert modes(project)["germans"] == ("incremental", None)
    result = cli(project, "rebuild", "germans", "--full-refresh", "--yes")
    assert result.exit_code == 0, result.output
    assert modes(project)["germans"] == ("full", "a full evaluation was asked for")
    assert project.members("germans") == {"1", "2", "3"}


def test_a_wrong_loaded_at_column_is_named_with_its_line(project_factory):
    project = project_factory("duckdb")
    setup(project, entity_loaded_at="_loded_at")
    result = cli(project, "validate")
    assert result.exit_code == 2, result.output
    assert "models/entities.yml:5" in result.output
    assert "_loded_at" in result.output and "_loaded_at" in result.output


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
@pytest.mark.parametrize("indexed", [False, True], ids=["scan", "loaded_at_indexed"])
def test_incremental_on_servers_sees_future_rows_and_deletes(project_factory, engine, indexed):
    """Also where an index on loaded_at lets the rows past each mark be counted without a scan."""
    project = project_factory(engine)
    project.write("models/entities.yml", ENTITIES.format(schema=project.model_schema,
                                                        entity_loaded_at="_loaded_at"))
    project.write("segments/all.yml", SEGMENTS)
    adapter = project.adapter()
    try:
        adapter.ensure_schema(project.model_schema)
        for name, columns in (("customers", "customer_id INT, country VARCHAR(8), _loaded_at TIMESTAMP"),
                              ("orders", "customer_id INT, ordered_at TIMESTAMP, _loaded_at TIMESTAMP"),
                              ("visits", "customer_id INT, visited_at TIMESTAMP")):
            adapter.execute(in_schema(f"CREATE TABLE t.{name} ({columns})", project.model_schema))
        for name, values in (("customers", "(1, 'de', '2030-01-01 00:00:00'), (2, 'fr', '2030-01-01 00:00:00')"),
                             ("orders", "(1, '2024-06-10 00:00:00', '2030-01-01 00:00:00')")):
            adapter.execute(in_schema(f"INSERT INTO t.{name} VALUES {values}", project.model_schema))
        for name in ("customers", "orders"):
            if indexed:
                adapter.create_index(project.model_schema, name, ["_loaded_at"])
            assert adapter.finds_ranges(project.model_schema, name, "_loaded_at") is indexed
    finally:
        adapter.close()
    project.build("2024-06-01 00:00:00")
    project.build("2024-06-05 00:00:00")
    project.build("2024-06-12 00:00:00")
    assert modes(project)["buyers"] == ("incremental", None)
    assert project.members("buyers") == {"1"}
    adapter = project.adapter()
    try:
        adapter.execute(in_schema("DELETE FROM t.customers WHERE customer_id = 1", project.model_schema))
    finally:
        adapter.close()
    # both find deleted members of a relation of keys on its typed key (MariaDB's relation takes
    # its rows in the memberships' transaction; only a recreated one is swapped in after it)
    found, expected = member_relations(project)
    assert found == expected and found
    project.build("2024-06-13 00:00:00")
    assert project.members("buyers") == set() and project.members("germans") == set()


def test_when_most_keys_changed_everyone_is_evaluated(project_factory, monkeypatch):
    from segwarehouse.warehouse.duckdb import DuckDBAdapter
    monkeypatch.setattr(DuckDBAdapter, "incremental_up_to", 0.15)  # the engine's own threshold
    project = project_factory("duckdb")
    setup(project)
    project.build("2024-06-01 00:00:00")
    project.build("2024-06-01 01:00:00")
    assert modes(project)["germans"] == ("incremental", None)  # nothing changed: no key to evaluate
    run(project, f"UPDATE {project.model_schema}.customers SET country = 'fr', "
                 "_loaded_at = '2030-01-03 00:00:00' WHERE customer_id = 3")
    project.build("2024-06-01 02:00:00")
    assert modes(project)["germans"] == ("full", "33% of the keys changed; a full evaluation is cheaper here")
    assert project.members("germans") == {"1"}


def test_a_changed_model_makes_the_next_run_evaluate_everyone(project_factory):
    project = project_factory("duckdb")
    setup(project)
    # the entity is a model of the project over the raw table
    project.write("models/entities.yml", ENTITIES.format(schema=project.model_schema, entity_loaded_at="_loaded_at")
                  .replace(f"model: {project.model_schema}.customers", "model: shop_customers"))
    project.write("models/shop_customers.sql", f"SELECT * FROM {project.model_schema}.customers\n")
    project.build("2024-06-01 00:00:00")
    project.build("2024-06-01 01:00:00")
    assert modes(project)["germans"] == ("incremental", None)
    project.write("models/shop_customers.sql",
                  f"SELECT * FROM {project.model_schema}.customers WHERE customer_id <> 3\n")
    project.build("2024-06-01 02:00:00")
    assert modes(project)["germans"] == ("full", "a model, seed or var changed")
    assert project.members("germans") == {"1"}
