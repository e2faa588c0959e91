"""Tests that fill a database at an older revision with today's store code: the columns revision 5 added, for the
time of the filling only (today's store reads and writes them), then dropped again, as the older revision had it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, text

COLUMNS = (("sentences", "kind", "VARCHAR(20) NOT NULL DEFAULT 'text'"), ("reports", "other_sources", "JSON"),
           ("reports", "fingerprint", "JSON"))


def _alter(url: str, statements: list[str]) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


@contextmanager
def revision_5_columns(url: str) -> Iterator[None]:
    """Inside: the database has revision 5's columns; afterwards: as before (the rows the filling stored stay)."""
    _alter(url, [f"ALTER TABLE {table} ADD COLUMN {column} {kind}" for table, column, kind in COLUMNS])
    try:
        yield
    finally:
        _alter(url, [f"ALTER TABLE {table} DROP COLUMN {column}" for table, column, _ in COLUMNS])
