"""Server engines reached through SQLAlchemy: PostgreSQL and MariaDB/MySQL (more by dialect)."""
from __future__ import annotations

from ..errors import SegwError
from .base import Adapter


class ServerAdapter(Adapter):
    """Holds one DBAPI connection from a SQLAlchemy engine, in autocommit with explicit BEGIN."""

    driver = ""
    default_port = 0
    placeholder = "%s"

    def __init__(self, target):
        super().__init__(target)
        import sqlalchemy

        url = self.url(target)
        try:
            self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool,
                                                   connect_args=self.connect_args(target))
            self.connection = self.engine.raw_connection()
        except ImportError as exc:
            raise SegwError(f"the driver for {target.type} is not installed ({exc.name})",
                            target.location, f"pip install 'segwarehouse[{self.extra}]'") from None
        except Exception as exc:
            raise SegwError(f"cannot connect to {target.type} target '{target.name}': "
                            f"{self.describe_error(exc)}", target.location,
                            "check host, port, user and password in profiles.yml") from None
        self.set_autocommit()
        self.session_setup()

    extra = ""

    def url(self, target):
        import sqlalchemy

        settings = target.settings
        return sqlalchemy.engine.URL.create(
            self.driver, username=settings.get("user"), password=settings.get("password") or None,
            host=settings.get("host", "127.0.0.1"), port=int(settings.get("port", self.default_port)),
            database=self.database_name(target))

    def database_name(self, target) -> str | None:
        return target.settings.get("dbname") or target.settings.get("database")

    def connect_args(self, target) -> dict:
        return {}

    def set_autocommit(self) -> None:
        connection = self.connection.driver_connection
        if callable(getattr(connection, "autocommit", None)):
            connection.autocommit(True)
        else:
            connection.autocommit = True

    def session_setup(self) -> None:
        pass

    def _execute(self, sql, params=None):
        cursor = self.connection.cursor()
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        return cursor

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self.engine.dispose()


class PostgresAdapter(ServerAdapter):
    dialect = "postgres"
    driver = "postgresql+psycopg"
    default_port = 5432
    extra = "postgres"
    transactional_ddl = True
    drop_cascades = True
    max_identifier = 63

    def session_setup(self) -> None:
        self._execute("SET TIME ZONE 'UTC'")

    def lock(self, name: str, timeout: float) -> bool:
        import time
        deadline = time.monotonic() + timeout
        while True:
            got = self._execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,)).fetchone()[0]
            if got or time.monotonic() >= deadline:
                return bool(got)
            time.sleep(0.2)

    def release_lock(self, name: str) -> None:
        self._execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))


class MySQLAdapter(ServerAdapter):
    dialect = "mysql"
    driver = "mysql+pymysql"
    default_port = 3306
    extra = "mysql"
    transactional_ddl = False  # DDL commits implicitly in MySQL/MariaDB
    max_identifier = 64
    begin_statement = "START TRANSACTION"

    def database_name(self, target) -> str | None:
        # Connect without a default database: schemas are databases here, created on demand.
        return None

    def connect_args(self, target) -> dict:
        return {"charset": "utf8mb4", "init_command": "SET time_zone = '+00:00'"}

    def ensure_schema(self, schema: str) -> None:
        self._execute(f"CREATE DATABASE IF NOT EXISTS `{schema.replace('`', '``')}` "
                      "CHARACTER SET utf8mb4")

    def lock(self, name: str, timeout: float) -> bool:
        got = self._execute("SELECT GET_LOCK(%s, %s)", (name[:64], int(timeout))).fetchone()[0]
        return bool(got)

    def release_lock(self, name: str) -> None:
        self._execute("SELECT RELEASE_LOCK(%s)", (name[:64],))

    def rename_table(self, schema: str, old: str, new: str) -> None:
        from sqlglot import exp
        self.execute(f"RENAME TABLE {self.sql(exp.table_(old, db=schema, quoted=True))} "
                     f"TO {self.sql(exp.table_(new, db=schema, quoted=True))}")
