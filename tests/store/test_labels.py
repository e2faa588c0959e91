"""Label writes (store/labels.py): history, undo, conflicts and concurrent writers on a real SQLite file."""

from __future__ import annotations

import threading

import pytest

from tests.store.samples import TEXT, three_sentences
from tram_core.store import UNLABELLED, ConflictError, Store


def test_every_change_is_in_the_history_and_undo_restores(store):
    out = store.add_report("A", TEXT, three_sentences(), user="ana")
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
    out = store.add_report("A", TEXT, three_sentences(), user="ana")
    opened = store.sentences(out.report_id)[0]
    store.set_labels(opened.id, ["T1059.003"], "bo", expected_version=opened.version)
    with pytest.raises(ConflictError) as err:
        store.set_labels(opened.id, [], "ana", expected_version=opened.version)
    assert "bo" in str(err.value)
    assert err.value.current.labels == ("T1059.003",)
    assert store.get_sentence(opened.id).labels == ("T1059.003",)


def test_undo_never_overwrites_a_later_answer_by_someone_else(store):
    out = store.add_report("A", TEXT, three_sentences(), user="ana")
    sid = store.sentences(out.report_id)[0].id
    store.set_labels(sid, ["T1003"], "ana")
    store.set_labels(sid, ["T1059.001"], "bo")
    with pytest.raises(ConflictError) as err:
        store.undo_last("ana")
    assert "bo" in str(err.value) and "nothing undone" in str(err.value)
    assert store.get_sentence(sid).labels == ("T1059.001",)  # bo's answer stays
    assert [e.action for e in store.label_history(sid)] == ["label", "label"]
    store.set_labels(sid, ["T1003"], "ana")  # ana answers again: her own latest change can be undone
    assert store.undo_last("ana").labels == ("T1059.001",)


def test_concurrent_writers_do_not_lose_labels(settings):
    first = Store.from_settings(settings)
    out = first.add_report("A", TEXT, three_sentences(), user="ana")
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
