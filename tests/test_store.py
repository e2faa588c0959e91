"""The store keeps reports, sentences, labels and their history in a real SQLite file."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tram_core.store import (
    LABELLED,
    REVIEWED,
    UNLABELLED,
    ConflictError,
    NewSentence,
    NotFoundError,
    Store,
    StoreError,
)

TEXT = "Actors used cmd.exe to run commands. They dumped LSASS memory. Nothing else happened."


def _sentences(labels=((), (), ())):
    parts = ["Actors used cmd.exe to run commands.", "They dumped LSASS memory.", "Nothing else happened."]
    spans = [(TEXT.index(p), TEXT.index(p) + len(p)) for p in parts]
    return [
        NewSentence(TEXT[s:e], s, e, tuple(lab), LABELLED if lab else UNLABELLED)
        for (s, e), lab in zip(spans, labels)
    ]


def test_database_is_a_wal_sqlite_file_under_tram_home(store, tram_home):
    store.add_report("A", TEXT, _sentences(), user="ana")
    db = tram_home / "tram.sqlite3"
    assert db.is_file()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM sentences").fetchone()[0] == 3


def test_same_report_twice_is_not_duplicated_and_says_so(store):
    first = store.add_report("A", TEXT, _sentences(), user="ana")
    again = store.add_report("A copy", "  " + TEXT.replace(" ", "  ") + "\n", [], user="bo")
    assert first.created and not again.created
    assert again.report_id == first.report_id
    assert "already imported" in again.message
    assert len(store.list_reports()) == 1


def test_report_summary_counts_progress_and_techniques(store):
    out = store.add_report("A", TEXT, _sentences(((), ("T1003.001",), ())), user="ana")
    sentences = store.sentences(out.report_id)
    store.set_labels(sentences[0].id, ["T1059.003"], "ana", status=REVIEWED)
    summary = store.list_reports()[0]
    assert (summary.sentences, summary.labelled, summary.reviewed) == (3, 1, 1)
    assert summary.techniques == ("T1003.001", "T1059.003")
    assert summary.progress == pytest.approx(2 / 3)


def test_no_technique_is_a_labelled_negative_distinct_from_unlabelled(store):
    out = store.add_report("A", TEXT, _sentences(), user="ana")
    s = store.sentences(out.report_id)
    store.set_labels(s[2].id, [], "ana")
    examples = store.examples()
    assert [(e.text, e.labels) for e in examples] == [("Nothing else happened.", ())]
    assert len(store.examples(include_unlabelled=True)) == 3
    assert store.corpus_counts()["labelled"] == 1


def test_every_change_is_in_the_history_and_undo_restores(store):
    out = store.add_report("A", TEXT, _sentences(), user="ana")
    sid = store.sentences(out.report_id)[1].id
    store.set_labels(sid, ["T1003"], "ana")
    store.set_labels(sid, ["T1003.001"], "ana")
    restored = store.undo_last("ana")
    assert restored.labels == ("T1003",)
    assert store.get_sentence(sid).labels == ("T1003",)
    history = store.label_history(sid)
    assert [e.action for e in history] == ["undo", "label", "label"]
    assert history[1].undone and history[1].after_labels == ("T1003.001",)
    assert store.undo_last("ana").status == UNLABELLED
    assert store.undo_last("ana") is None


def test_change_by_someone_else_is_a_conflict_not_an_overwrite(store):
    out = store.add_report("A", TEXT, _sentences(), user="ana")
    opened = store.sentences(out.report_id)[0]
    store.set_labels(opened.id, ["T1059.003"], "bo", expected_version=opened.version)
    with pytest.raises(ConflictError) as err:
        store.set_labels(opened.id, [], "ana", expected_version=opened.version)
    assert "bo" in str(err.value)
    assert err.value.current.labels == ("T1059.003",)
    assert store.get_sentence(opened.id).labels == ("T1059.003",)


def test_bad_input_is_rejected_and_leaves_data_untouched(store):
    with pytest.raises(StoreError, match="offsets"):
        store.add_report("Bad", "short", [NewSentence("short", 0, 99)])
    with pytest.raises(StoreError, match="no text"):
        store.add_report("Empty", "   ", [])
    assert store.list_reports() == []
    out = store.add_report("A", TEXT, _sentences(), user="ana")
    sid = store.sentences(out.report_id)[0].id
    with pytest.raises(StoreError, match="status"):
        store.set_labels(sid, ["T1003"], "ana", status="done")
    with pytest.raises(NotFoundError):
        store.set_labels(999, ["T1003"], "ana")
    assert store.get_sentence(sid).labels == ()


def test_delete_report_removes_its_sentences_but_keeps_history(store):
    out = store.add_report("A", TEXT, _sentences(((), ("T1003.001",), ())), user="ana")
    store.delete_report(out.report_id, user="ana")
    assert store.list_reports() == [] and store.sentences() == []
    assert store.technique_counts() == {}
    assert any(e.action == "delete-report" for e in store.label_history())


def test_filters_by_status_technique_and_text(store):
    out = store.add_report("A", TEXT, _sentences(((), ("T1003.001",), ())), user="ana")
    assert [s.position for s in store.sentences(out.report_id, status=UNLABELLED)] == [0, 2]
    assert [s.position for s in store.sentences(technique="T1003.001")] == [1]
    assert [s.position for s in store.sentences(search="CMD.EXE")] == [0]


def test_text_search_takes_percent_and_underscore_literally(store):
    texts = ["Uptime was 100% all year.", "Uptime was 1000 days.", "The a_b flag was set.", "The axb flag was set.",
             "A back\\slash path."]
    text, sentences = "", []
    for sentence in texts:
        start = len(text)
        text += sentence + " "
        sentences.append(NewSentence(sentence, start, start + len(sentence)))
    store.add_report("Wildcards", text, sentences, user="ana")
    assert [s.text for s in store.sentences(search="100%")] == [texts[0]]
    assert [s.text for s in store.sentences(search="a_b")] == [texts[2]]
    assert [s.text for s in store.sentences(search="%")] == [texts[0]]
    assert [s.text for s in store.sentences(search="_")] == [texts[2]]
    assert [s.text for s in store.sentences(search="back\\slash")] == [texts[4]]
    assert len(store.sentences(search="UPTIME")) == 2  # still case-insensitive


def test_concurrent_writers_do_not_lose_labels(settings):
    first = Store.from_settings(settings)
    out = first.add_report("A", TEXT, _sentences(), user="ana")
    ids = [s.id for s in first.sentences(out.report_id)]
    errors = []

    def label(user, tech):
        try:
            own = Store.from_settings(settings)
            for sid in ids:
                own.set_labels(sid, [tech], user)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=label, args=(u, t)) for u, t in (("ana", "T1003"), ("bo", "T1005"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(first.label_history()) == 6
    assert all(len(first.get_sentence(sid).labels) == 1 for sid in ids)
