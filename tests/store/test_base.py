"""The store's set-up (store/base.py, store/schema.py): a WAL SQLite file under TRAM_HOME."""

from __future__ import annotations

import sqlite3

from tests.store.samples import TEXT, three_sentences


def test_database_is_a_wal_sqlite_file_under_tram_home(store, tram_home):
    if not store.url.startswith("sqlite"):  # PostgreSQL: the data is on the server, no file under TRAM_HOME
        store.add_report("A", TEXT, three_sentences(), user="ana")
        assert store.engine.dialect.name == "postgresql" and not (tram_home / "tram.sqlite3").exists()
        assert store.corpus_counts() and len(store.sentences()) == 3
        return
    store.add_report("A", TEXT, three_sentences(), user="ana")
    db = tram_home / "tram.sqlite3"
    assert db.is_file()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM sentences").fetchone()[0] == 3
