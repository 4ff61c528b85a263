"""A reader querying during builds sees each segment whole: the old members or the new, never a mix."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

N = 4000
FILES = {
    "seeds/people.csv": "id,seen_at\n" + "".join(
        f"{i},2024-01-{1 + i % 20:02d} 12:00:00\n" for i in range(1, N + 1)),
    "models/entities.yml": "entities:\n  - {name: person, model: people, key: id}\n",
    "segments/s.yml": """
        segments:
          - {name: recent, entity: person, rules: {property: seen_at, within_last: 5 days}}
          - {name: recent_table, entity: person, materialized: table,
             rules: {property: seen_at, within_last: 8 days}}
    """,
}
AS_OF = ["2024-01-10 00:00:00", "2024-01-18 00:00:00"]
# as_of never goes back, so the second state is the same shift made in the data: seen 8 days earlier
SHIFTED = "id,seen_at\n" + "".join(
    f"{i},{dt.datetime(2024, 1, 1 + i % 20, 12) - dt.timedelta(days=8):%Y-%m-%d %H:%M:%S}\n"
    for i in range(1, N + 1))


def expected(as_of: str) -> dict[str, frozenset[str]]:
    day = int(as_of[8:10])
    out = {}
    for name, days in (("recent", 5), ("recent_table", 8)):
        out[name] = frozenset(str(i) for i in range(1, N + 1) if day - days <= 1 + i % 20 < day)
    return out


def reader_connection(project):
    if project.engine == "duckdb":
        import duckdb  # the same process may open the same file again; DuckDB shares one instance
        return duckdb.connect(str(project.root / "warehouse.duckdb"))
    if project.engine == "mysql":
        import pymysql

        class Reader:  # the same execute().fetchall() shape as the other drivers
            def __init__(self):
                self.conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True,
                                            charset="utf8mb4")

            def execute(self, sql):
                cursor = self.conn.cursor()
                cursor.execute(sql.replace('"', "`"))
                return cursor

            def close(self):
                self.conn.close()
        return Reader()
    import psycopg
    return psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True)


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "mysql"])
def test_readers_never_see_half_a_segment(engine, project_factory):
    project = project_factory(engine, FILES)
    assert project.build(as_of=AS_OF[0]).exit_code == 0
    states = [expected(a) for a in AS_OF]
    seen: list[tuple[str, frozenset[str]]] = []
    stop = threading.Event()
    problems: list[str] = []
    schema = project.segment_schema

    def read() -> None:
        conn = reader_connection(project)
        try:
            deadline = time.monotonic() + 60
            while not stop.is_set() and time.monotonic() < deadline:
                for name in ("recent", "recent_table"):
                    rows = conn.execute(
                        f'SELECT "key" FROM "{schema}".memberships WHERE segment = \'{name}\'').fetchall()
                    own = conn.execute(f'SELECT id FROM "{schema}"."{name}"').fetchall()
                    members = frozenset(r[0] for r in rows)
                    seen.append((name, members))
                    if members not in (states[0][name], states[1][name]):
                        problems.append(f"{name}: a set of {len(members)} that is neither state")
                    if len(own) not in (len(states[0][name]), len(states[1][name])):
                        problems.append(f"{name}: own relation has {len(own)} rows")
        finally:
            conn.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for round_ in range(6):
            project.write("seeds/people.csv", SHIFTED if round_ % 2 == 0 else FILES["seeds/people.csv"])
            assert project.build(as_of=AS_OF[0]).exit_code == 0
    finally:
        stop.set()
        thread.join()
    assert not problems, problems[:5]
    assert len({members for _, members in seen}) >= 3  # the reader really saw both states change
