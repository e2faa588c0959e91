"""Schema changes through Alembic: the migration environment (``env.py``, ``versions/``) configured in code.

``prepare(engine)`` runs whenever a ``Store`` opens a database (the app, the worker and the CLI all do):

- a new, empty database is created by running every revision;
- a database made before migrations existed (TRAM's tables, no ``alembic_version``) is recognised, stamped at
  revision 0001 (whose tables it has) and upgraded;
- a database at a known older revision is upgraded (revisions are additive, so this is safe on start);
- a database at a revision this TRAM does not know (a newer TRAM upgraded it) is refused with one line.

Upgrades are serialised across processes: ``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from tram_core.store.records import StoreError

SCRIPT_DIR = Path(__file__).resolve().parent
LEGACY_REVISION = "0001"  # what a database made by ``create_all`` before migrations has
LEGACY = "legacy"  # the state of such a database: TRAM's revision-1 tables and no alembic_version
_PG_LOCK_KEY = 727_001  # pg_advisory_lock key of TRAM's schema upgrades


@lru_cache(maxsize=1)
def scripts() -> ScriptDirectory:
    return ScriptDirectory(str(SCRIPT_DIR))


def head() -> str:
    return scripts().get_current_head()


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_DIR))
    config.attributes["connection"] = connection
    return config


def _legacy_tables() -> tuple[str, ...]:
    return scripts().get_revision(LEGACY_REVISION).module.TABLES


def state(connection: Connection) -> str | None:
    """The database's revision, ``LEGACY`` for a pre-migrations TRAM database, or None for an empty one."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None:
        return revision
    tables = set(inspect(connection).get_table_names())
    if not tables & set(_legacy_tables()):
        return None
    missing = sorted(set(_legacy_tables()) - tables)
    if missing:
        raise StoreError(f"The database has some of TRAM's tables but not {', '.join(missing)}, and no schema "
                         "revision: it was not made by TRAM; point TRAM_DATABASE_URL at a TRAM or an empty database")
    return LEGACY


def check_known(revision: str | None) -> None:
    """Refuse a revision this TRAM does not know (the database was upgraded by a newer TRAM)."""
    if revision in (None, LEGACY):
        return
    try:
        known = scripts().get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise StoreError(f"The database is at schema revision {revision}, which this TRAM does not know (its newest "
                         f"is {head()}): a newer TRAM upgraded it; upgrade TRAM to use this database")


@contextmanager
def _upgrade_lock(connection: Connection) -> Iterator[None]:
    """One process upgrades at a time: BEGIN IMMEDIATE (SQLite) or a session advisory lock (PostgreSQL)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
            connection.commit()
        return
    yield


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the newest revision; (the revision or state it had, the one it has now)."""
    with engine.connect() as connection:
        before = state(connection)
        check_known(before)
        connection.rollback()
        if before == head():
            return before, before
        with _upgrade_lock(connection):
            before = state(connection)  # again, under the lock: another process may have upgraded meanwhile
            check_known(before)
            config = _config(connection)
            if before == LEGACY:
                command.stamp(config, LEGACY_REVISION)
            command.upgrade(config, "head")
            connection.commit()
        return before, head()


def current(engine: Engine) -> str | None:
    """The database's revision (``LEGACY`` or None as ``state`` says), read without changing anything."""
    with engine.connect() as connection:
        return state(connection)
