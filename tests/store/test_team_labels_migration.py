"""Revision 4 (team labelling tables): a database at revision 3 with labels upgrades on open, keeps its rows and takes
double annotation at once; the revision downgrades to 3. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from tests.store.revision5_columns import revision_5_columns
from tests.store.samples import TEXT, migrate, three_sentences
from tram_core.store import LABELLED, Store, migrations

NEW_TABLES = {"double_annotation_shares", "independent_answers", "adjudications", "suggestion_decisions"}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_revision_3_database_upgrades_keeps_its_labels_and_takes_double_annotation(store_url):
    migrate(store_url, "0003")
    assert not NEW_TABLES & _tables(store_url)
    with revision_5_columns(store_url):  # today's store code reads and writes them; revision 3 lacks them
        old = Store(store_url, create=False)
        report_id = old.add_report("A", TEXT, three_sentences(labels=(("T1059.003",), (), ())), user="ana").report_id
        sid = old.sentences(report_id)[0].id
        old.set_labels(old.sentences(report_id)[1].id, ["T1003"], "ana")
        before = [(s.id, s.labels, s.status) for s in old.sentences(report_id)]
        old.engine.dispose()
    store = Store(store_url)  # opening upgrades to the newest revision
    assert store.schema_revision() == (migrations.head(), migrations.head()) and migrations.head() >= "0004"
    assert NEW_TABLES <= _tables(store_url)
    assert [(s.id, s.labels, s.status) for s in store.sentences(report_id)] == before
    tl = store
    tl.set_double_share(100, "mia", report_id)
    tl.record_independent_answer(sid, "bo", ["T1105"], LABELLED)  # ana's earlier answer becomes the first
    assert [a.user for a in tl.independent_answers([sid])[sid]] == ["ana", "bo"]
    store.engine.dispose()


def test_revision_4_downgrades_to_revision_3(store_url):
    Store(store_url).engine.dispose()
    assert NEW_TABLES <= _tables(store_url)
    migrate(store_url, "0003", down=True)
    assert not NEW_TABLES & _tables(store_url)
    assert "reports" in _tables(store_url)
