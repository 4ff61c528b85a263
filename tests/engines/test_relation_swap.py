"""A column change that fails at any step never empties a segment's table (MariaDB: DDL cannot roll back)."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest

import segwarehouse.materialize as materialize
from segwarehouse.errors import WarehouseError
from tests.reliability.invariants import check_invariants

N = 3000
PEOPLE = "id,name,score\n" + "".join(f"{i},n{i},{i % 100}\n" for i in range(1, N + 1))
FILES = {
    "seeds/people.csv": PEOPLE,
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": """
        segments:
          - {name: high, entity: person, rules: {property: score, gte: 50}}
          - {name: high_table, entity: person, materialized: table, rules: {property: score, gte: 50}}
    """,
}
WITH_COLUMNS = FILES["segments/s.yml"].replace("entity: person, ", "entity: person, columns: [name], ")
SEGMENTS = ("high", "high_table")


class Injected(WarehouseError):
    pass


def _raise(*args, **kwargs):
    raise Injected("injected failure")


def fail_before_fill(monkeypatch):
    monkeypatch.setattr(materialize, "_create_relation", _raise)


def fail_during_fill(monkeypatch):
    real = materialize._create_relation

    def half(ctx, name, stage, columns, fill):
        real(ctx, name, stage, columns, fill)
        raise Injected("injected failure after the new relation was filled")
    monkeypatch.setattr(materialize, "_create_relation", half)


def fail_before_swap(monkeypatch):
    monkeypatch.setattr(materialize, "write_catalog", _raise)  # inside the data transaction


def fail_after_swap(monkeypatch):
    from segwarehouse.warehouse.base import Adapter
    from segwarehouse.warehouse.sqlalchemy_engines import MySQLAdapter
    for cls in (Adapter, MySQLAdapter):
        real = cls.swap_in

        def swapped(self, schema, name, new, then=None, _real=real):
            _real(self, schema, name, new, then)
            if new.endswith("__segw_new"):  # a segment's relation, not a model's
                raise Injected("injected failure after the swap")
        monkeypatch.setattr(cls, "swap_in", swapped)


def relation_keys(project, name: str) -> set[str]:
    return {str(row[0]) for row in project.query(f"SELECT id FROM {{seg}}.{project.quote(name)}")}


@pytest.mark.parametrize("inject", [fail_before_fill, fail_during_fill, fail_before_swap, fail_after_swap])
def test_a_failed_column_change_keeps_the_table_whole(engine, project_factory, monkeypatch, inject):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-01 00:00:00").exit_code == 0
    before = {name: project.members(name) for name in SEGMENTS}
    assert all(len(keys) == N // 2 for keys in before.values())
    old_columns = {name: project.adapter().columns(project.segment_schema, name) for name in SEGMENTS}

    project.write("segments/s.yml", WITH_COLUMNS)
    project.write("seeds/people.csv", PEOPLE.replace("\n1,n1,1\n", "\n1,n1,99\n"))  # one member more
    inject(monkeypatch)
    result = project.build(as_of="2024-06-02 00:00:00")
    for item in result.segments:
        keys = relation_keys(project, item.segment)
        assert keys == project.members(item.segment), (inject.__name__, item)
        assert keys in (before[item.segment], before[item.segment] | {"1"})
        columns = project.adapter().columns(project.segment_schema, item.segment)
        assert columns in (old_columns[item.segment], ["id", "name"])
    check_invariants(project)

    monkeypatch.undo()
    assert project.build(as_of="2024-06-03 00:00:00").exit_code == 0  # the next run heals
    for name in SEGMENTS:
        assert relation_keys(project, name) == before[name] | {"1"}
        assert project.adapter().columns(project.segment_schema, name) == ["id", "name"]
    adapter = project.adapter()
    leftovers = [n for n in (adapter.columns(project.segment_schema, f"{s}__segw_new") for s in SEGMENTS) if n]
    assert leftovers == []


@pytest.mark.parametrize("engine", ["mysql", "postgres"])
def test_sigkill_during_a_column_change_leaves_old_or_new(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-01 00:00:00").exit_code == 0
    before = {name: project.members(name) for name in SEGMENTS}
    rng = random.Random(20261128)
    columns = [FILES["segments/s.yml"], WITH_COLUMNS]
    for round_ in range(6):
        project.write("segments/s.yml", columns[(round_ + 1) % 2])
        process = subprocess.Popen([sys.executable, "-m", "segwarehouse", "build", "--as-of",
                                    f"2024-06-{2 + round_:02d} 00:00:00", "--project-dir", str(project.root)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        for name in SEGMENTS:
            keys = relation_keys(project, name)
            assert keys == before[name] == project.members(name)
    assert project.build(as_of="2024-06-20 00:00:00").exit_code == 0
    check_invariants(project)


def test_a_swap_a_killed_run_left_undone_is_finished_by_the_next_run(engine, project_factory, monkeypatch):
    """`--full-refresh` recreates a relation of the same columns. Where it is swapped in after the
    data commits (MariaDB), a run that dies in between leaves the old relation behind the new
    memberships; the next run swaps in the committed one, so the relation does not lag for good."""
    from segwarehouse.runner import build, parse_as_of
    from segwarehouse.warehouse.base import Adapter
    from segwarehouse.warehouse.sqlalchemy_engines import MySQLAdapter

    project = project_factory(engine, FILES)
    assert project.build(as_of="2024-06-01 00:00:00").exit_code == 0
    before = {name: project.members(name) for name in SEGMENTS}
    project.write("seeds/people.csv", PEOPLE.replace("\n1,n1,1\n", "\n1,n1,99\n"))  # one member more

    for cls in (Adapter, MySQLAdapter):
        def dies_before_the_rename(self, schema, name, new, then=None, _real=cls.swap_in):
            if schema == project.segment_schema and new.endswith("__segw_new"):  # a segment's relation
                raise KeyboardInterrupt("killed between the commit and the swap")
            _real(self, schema, name, new, then)  # a seed's or model's
        monkeypatch.setattr(cls, "swap_in", dies_before_the_rename)
    adapter = project.adapter()
    transactional = adapter.transactional_ddl
    adapter.close()
    if transactional:  # DuckDB, PostgreSQL: the relation is replaced in the transaction, no swap
        assert build(project.load(), parse_as_of("2024-06-02 00:00:00"), write_results=False,
                     full_refresh=True).exit_code == 0
    else:
        with pytest.raises(KeyboardInterrupt):
            build(project.load(), parse_as_of("2024-06-02 00:00:00"), write_results=False, full_refresh=True)
        committed = [name for name in SEGMENTS if project.members(name) == before[name] | {"1"}]
        assert len(committed) == 1, committed  # the run died after its first segment's commit
        assert relation_keys(project, committed[0]) == before[committed[0]]  # and before its swap
    monkeypatch.undo()

    project.write("seeds/people.csv", PEOPLE.replace("\n1,n1,1\n", "\n1,n1,99\n").replace("\n2,n2,2\n", "\n2,n2,98\n"))
    assert project.build(as_of="2024-06-03 00:00:00").exit_code == 0
    for name in SEGMENTS:
        assert project.members(name) == before[name] | {"1", "2"}
        assert relation_keys(project, name) == project.members(name), name
    check_invariants(project)
    leftovers = project.query("SELECT name FROM {seg}._segw_state WHERE name LIKE 'swap:%'")
    assert leftovers == []
