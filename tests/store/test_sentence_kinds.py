"""Revision 5 in the store: marked noise blocks stored per sentence and kept out of training negatives unless an
analyst answers them; other sources of a report; near-duplicate fingerprints; the migration from revision 4. On
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from tests.io.noise_samples import SHA256_LIST, report_with
from tests.store.samples import migrate
from tram_core.io.importer import prepare_bytes, store_prepared
from tram_core.store import LABELLED, UNLABELLED, NewSentence, Store, StoreError, migrations

TEXT = "The actor ran whoami. Hashes follow.\n" + SHA256_LIST[:129] + "\nThat was all."


def _sentences(status=UNLABELLED):
    first, second = TEXT.index("The actor"), TEXT.index("Hashes")
    block, last = TEXT.index(SHA256_LIST[:64]), TEXT.index("That was all.")
    return [NewSentence("The actor ran whoami.", first, first + 21, (), status),
            NewSentence("Hashes follow.", second, second + 14, (), status),
            NewSentence(" ".join(SHA256_LIST[:129].split()), block, block + 129, (), status, kind="indicators"),
            NewSentence("That was all.", last, last + 13, (), status)]


def test_a_sentences_kind_is_stored_and_read_back(store):
    report_id = store.add_report("Kinds", TEXT, _sentences(), user="ana").report_id
    kinds = [s.kind for s in store.sentences(report_id)]
    assert kinds == ["text", "text", "indicators", "text"]
    assert [s.kind for s in store.annotation_report_sentences(report_id)] == kinds
    assert store.get_sentence(store.sentences(report_id)[2].id).marked
    assert store.annotation_marked_unlabelled() == 1 and store.annotation_marked_unlabelled(report_id + 1) == 0


def test_an_unknown_kind_is_refused_in_one_line_and_nothing_stored(store):
    bad = _sentences()
    bad[2] = NewSentence(bad[2].text, bad[2].start, bad[2].end, kind="banner")
    with pytest.raises(StoreError) as refused:
        store.add_report("Bad kind", TEXT, bad, user="ana")
    assert "unknown kind 'banner'" in str(refused.value) and "\n" not in str(refused.value)
    assert store.list_reports() == []


def test_an_imported_negative_block_is_no_training_example_until_an_analyst_answers_it(store):
    report_id = store.add_report("Imported", TEXT, _sentences(LABELLED), user="importer").report_id
    ids = [s.id for s in store.sentences(report_id)]
    assert [e.sentence_id for e in store.examples()] == [ids[0], ids[1], ids[3]]
    store.set_labels(ids[2], [], "ana", status=LABELLED)  # an analyst says: no technique, on purpose
    assert ids[2] in {e.sentence_id for e in store.examples()}


def test_a_block_labelled_with_a_technique_is_an_example(store):
    sentences = _sentences(LABELLED)
    sentences[2] = NewSentence(sentences[2].text, sentences[2].start, sentences[2].end, ("T1027",), LABELLED,
                               kind="indicators")
    report_id = store.add_report("Labelled block", TEXT, sentences, user="importer").report_id
    block = store.sentences(report_id)[2]
    assert [e.labels for e in store.examples() if e.sentence_id == block.id] == [("T1027",)]


def test_an_imported_document_marks_its_blocks_and_an_unlabelled_block_is_no_example(store):
    prepared = prepare_bytes(report_with(SHA256_LIST).encode(), "iocs.txt")
    report_id = store_prepared(store, [prepared], "ana")[0].outcomes[0].report_id
    sentences = store.sentences(report_id)
    assert [s.kind for s in sentences] == ["text", "indicators", "text"]
    assert store.examples(include_unlabelled=True)[1].sentence_id == sentences[1].id  # the export keeps it
    assert len(store.examples()) == 0


def test_other_sources_are_recorded_once_and_merges_share_the_transaction(store):
    report_id = store.add_report("Doc", TEXT, _sentences(), source="doc.pdf", user="ana").report_id
    assert store.add_other_source(report_id, "doc.docx") == ("doc.docx",)
    assert store.add_other_source(report_id, "doc.docx") == ("doc.docx",)
    assert store.add_other_source(report_id, "doc.pdf") == ("doc.docx",)  # its own source is not another
    store.add_reports([], "ana", merges=[(report_id, "doc.html")])
    assert store.get_report(report_id).other_sources == ("doc.docx", "doc.html")
    with pytest.raises(StoreError):
        store.add_reports([], "ana", merges=[(report_id + 99, "x.html")])


def test_fingerprints_are_stored_per_report(store):
    report_id = store.add_report("Doc", TEXT, _sentences(), user="ana").report_id
    assert store.report_fingerprints()[0][3] is None
    store.set_report_fingerprints({report_id: {"values": [1, 2]}, report_id + 5: {"values": []}})
    assert store.report_fingerprints() == [(report_id, "Doc", store.get_report(report_id).content_hash,
                                            {"values": [1, 2]})]


def test_a_revision_4_database_upgrades_with_its_sentences_as_prose(store_url):
    from tests.store.revision5_columns import revision_5_columns
    from tests.store.samples import TEXT as OLD_TEXT, three_sentences

    migrate(store_url, "0004")
    with revision_5_columns(store_url):  # today's store writes them; revision 4 lacks them
        old = Store(store_url, create=False)
        report_id = old.add_report("Old", OLD_TEXT, three_sentences(labels=(("T1059.003",), (), ())),
                                   user="ana").report_id
        before = [(s.id, s.text, s.labels, s.status) for s in old.sentences(report_id)]
        old.engine.dispose()
    store = Store(store_url)  # opening upgrades to the newest revision
    assert store.schema_revision()[0] == migrations.head()
    assert [(s.id, s.text, s.labels, s.status) for s in store.sentences(report_id)] == before
    assert {s.kind for s in store.sentences(report_id)} == {"text"}
    assert store.get_report(report_id).other_sources == () and store.report_fingerprints()[0][3] is None
    assert [e.text for e in store.examples()] == [before[0][1]]  # the one labelled sentence, as before
    store.engine.dispose()


def test_revision_5_downgrades_to_revision_4(store_url):
    Store(store_url).engine.dispose()
    migrate(store_url, "0004", down=True)
    engine = create_engine(store_url)
    columns = {c["name"] for c in inspect(engine).get_columns("sentences")}
    report_columns = {c["name"] for c in inspect(engine).get_columns("reports")}
    engine.dispose()
    assert "kind" not in columns and not {"other_sources", "fingerprint"} & report_columns
