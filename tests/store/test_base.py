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


def test_opening_a_new_sqlite_file_waits_for_another_process_that_holds_its_write_lock(tmp_path):
    # SQLite answers "database is locked" at once (no busy wait) when a connection asks for WAL mode while
    # another holds the write lock, as a second process does while the first creates the schema.
    import threading
    import time

    from tram_core.store.schema import make_engine

    path = tmp_path / "new.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    with make_engine(f"sqlite:///{path}").connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").fetchone()[0]
    release.join()
    holder.close()
    assert mode == "wal" and time.monotonic() - started >= 0.4
