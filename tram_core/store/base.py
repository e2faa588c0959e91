"""What every aggregate of the store shares: the engine, one transaction per public call, and where models lie."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Self

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from tram_core.store.migrations import check_known, current, head, upgrade
from tram_core.store.records import StoreError
from tram_core.store.schema import make_engine


def masked_url(url: str) -> str:
    """A database URL as it may be shown: any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def unreachable_reason(exc: BaseException, url: str = "") -> str:
    """Why a connection failed, on one line: the driver's own words (``connection refused``, ``password
    authentication failed for user "u"``, ``database "x" does not exist``), never the URL's password."""
    cause = getattr(exc, "orig", None) or exc
    lines = [" ".join(line.split()) for line in str(cause).splitlines()]
    text = "; ".join(line for line in lines if line) or type(cause).__name__
    text = text.removeprefix("connection failed: ")
    try:
        password = make_url(url).password if url else None
    except ArgumentError:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text


class StoreBase:
    """The engine and sessions behind ``Store``; each aggregate mixin builds its reads and writes on ``session``."""

    def __init__(self, url: str, create: bool = True, models_dir: str | Path | None = None):
        """Open the database at ``url``; with ``create`` (the default) bring its schema to the newest revision
        (``migrations.upgrade``: a new database is created, an older one upgraded, a newer one refused).

        ``models_dir`` is the folder model paths are stored relative to (``Settings.models_dir``), so every machine
        that mounts it at its own place finds the same models; without it paths are stored and read as given.
        A database that cannot be reached (wrong host, port, password or name) raises a one-line ``StoreError``.
        """
        self.url = url
        self.models_dir = Path(models_dir) if models_dir is not None else None
        try:
            if url.startswith("sqlite:///"):
                Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            self.engine = make_engine(url)
        except ArgumentError as exc:
            raise StoreError(f"TRAM_DATABASE_URL is not a database URL ({unreachable_reason(exc)}): use "
                             "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE") from None
        except (NoSuchModuleError, ImportError, ValueError) as exc:
            raise StoreError(f"TRAM cannot use the database {masked_url(url)}: {unreachable_reason(exc, url)}; "
                             "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE") from None
        except OSError as exc:
            raise StoreError(f"Cannot make the folder of the database {masked_url(url)}: {exc}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            with self.reaching_database():
                upgrade(self.engine)

    @classmethod
    def from_settings(cls, settings) -> Self:
        settings.ensure_dirs()
        return cls(settings.database_url, models_dir=settings.models_dir)

    @contextmanager
    def reaching_database(self) -> Iterator[None]:
        """Turn a failure to connect (or to talk to the database at all) into one ``StoreError`` line that names
        the database (password hidden) and says why."""
        try:
            yield
        except DBAPIError as exc:
            if not exc.connection_invalidated and not _is_connect_failure(exc):
                raise
            raise StoreError(f"Cannot reach the database {self.display_url}: "
                             f"{unreachable_reason(exc, self.url)}") from None

    def upgrade_schema(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; (the revision it had, or ``"legacy"``/None, the newest)."""
        with self.reaching_database():
            return upgrade(self.engine)

    def schema_revision(self) -> tuple[str | None, str]:
        """(the database's schema revision, or ``"legacy"`` for a pre-migrations database, None when empty; the
        newest revision this TRAM knows). Raises ``StoreError`` for a revision it does not know."""
        with self.reaching_database():
            revision = current(self.engine)
        check_known(revision)
        return revision, head()

    @property
    def display_url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on any error."""
        with self._sessions() as session:
            with session.begin():
                yield session


def _is_connect_failure(exc: DBAPIError) -> bool:
    """Whether ``exc`` came from opening a connection (not from a statement): psycopg's and sqlite3's
    OperationalError raised before any statement ran have no SQL attached."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError)) and not exc.statement
