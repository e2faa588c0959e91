"""What every aggregate of the store shares: the engine and one transaction per public call."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Self

from sqlalchemy.orm import Session, sessionmaker

from tram_core.store.migrations import check_known, current, head, upgrade
from tram_core.store.schema import make_engine


class StoreBase:
    """The engine and sessions behind ``Store``; each aggregate mixin builds its reads and writes on ``session``."""

    def __init__(self, url: str, create: bool = True):
        """Open the database at ``url``; with ``create`` (the default) bring its schema to the newest revision
        (``migrations.upgrade``: a new database is created, an older one upgraded, a newer one refused)."""
        self.url = url
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            upgrade(self.engine)

    @classmethod
    def from_settings(cls, settings) -> Self:
        settings.ensure_dirs()
        return cls(settings.database_url)

    def upgrade_schema(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; (the revision it had, or ``"legacy"``/None, the newest)."""
        return upgrade(self.engine)

    def schema_revision(self) -> tuple[str | None, str]:
        """(the database's schema revision, or ``"legacy"`` for a pre-migrations database, None when empty; the
        newest revision this TRAM knows). Raises ``StoreError`` for a revision it does not know."""
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
