"""Team labelling in the store (store/team_labels.py, store/label_review.py): shares, independent answers that never
overwrite each other, adjudication with both originals in the history, undo, suggestion decisions and answering
times; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.store.samples import TEXT, add_sample_model, three_sentences
from tram_core.store import LABELLED, REVIEWED, UNLABELLED, NotFoundError, StoreError
from tram_core.store.label_review import SuggestionDecision
from tram_core.store.team_labels import selected_for_double


@pytest.fixture
def sentences(store):
    out = store.add_report("A", TEXT, three_sentences(), user="importer")
    return out.report_id, [s.id for s in store.sentences(out.report_id)]


def test_the_choice_of_sentences_is_stable_and_grows_with_the_share():
    at_20 = {i for i in range(5000) if selected_for_double(i, 20)}
    at_50 = {i for i in range(5000) if selected_for_double(i, 50)}
    assert at_20 < at_50 and 900 < len(at_20) < 1100 and 2350 < len(at_50) < 2650
    assert at_20 == {i for i in range(5000) if selected_for_double(i, 20)}
    assert not any(selected_for_double(i, 0) for i in range(100))
    assert all(selected_for_double(i, 100) for i in range(100))


def test_shares_are_kept_per_scope_newest_first(store, sentences):
    report_id, _ = sentences
    tl = store
    tl.set_double_share(10, "mia")
    tl.set_double_share(25, "mia", report_id, ["ann", "bo"])
    tl.set_double_share(30, "mia")
    shares = tl.double_shares()
    assert shares[None].percent == 30 and shares[report_id].annotators == ("ann", "bo")
    assert [s.percent for s in tl.double_share_history()] == [30, 25, 10]
    for bad in (-1, 100.5):
        with pytest.raises(StoreError, match="between 0 and 100"):
            tl.set_double_share(bad, "mia")
    with pytest.raises(NotFoundError):
        tl.set_double_share(10, "mia", 999)
    assert len(tl.double_share_history()) == 3  # nothing stored by the refusals


def test_the_second_answer_never_overwrites_the_first(store, sentences):
    _, ids = sentences
    tl = store
    first = tl.record_independent_answer(ids[0], "ann", ["T1059.003"], LABELLED)
    assert first.labels == ("T1059.003",) and first.updated_by == "ann"
    after = tl.record_independent_answer(ids[0], "bo", ["T1105"], LABELLED)
    assert after.labels == ("T1059.003",) and store.get_sentence(ids[0]).labels == ("T1059.003",)
    answers = tl.independent_answers(ids)[ids[0]]
    assert [(a.user, a.labels) for a in answers] == [("ann", ("T1059.003",)), ("bo", ("T1105",))]
    with pytest.raises(StoreError, match="already has two independent answers"):
        tl.record_independent_answer(ids[0], "cy", ["T1027"], LABELLED)
    tl.record_independent_answer(ids[0], "bo", ["T1105", "T1027"], REVIEWED)  # bo changes their own answer
    assert tl.independent_answers(ids)[ids[0]][1].revision == 2
    assert [e.action for e in store.label_history(ids[0])] == ["second-answer", "second-answer", "first-answer"]
    with pytest.raises(StoreError, match="not taken"):
        tl.record_independent_answer(ids[1], "cy", ["T1027"], LABELLED, annotators=("ann", "bo"))
    assert ids[1] not in tl.independent_answers(ids)


def test_an_answer_given_before_double_annotation_counts_as_the_first(store, sentences):
    _, ids = sentences
    store.set_labels(ids[1], ["T1003"], "ann")
    tl = store
    tl.record_independent_answer(ids[1], "bo", [], LABELLED)
    answers = tl.independent_answers([ids[1]])[ids[1]]
    assert [(a.user, a.labels) for a in answers] == [("ann", ("T1003",)), ("bo", ())]
    assert store.get_sentence(ids[1]).labels == ("T1003",)


def test_adjudication_keeps_both_originals_and_becomes_the_label(store, sentences):
    _, ids = sentences
    tl = store
    with pytest.raises(StoreError, match="0 independent answer"):
        tl.adjudicate(ids[0], "mia", ["T1105"], "second")
    tl.record_independent_answer(ids[0], "ann", ["T1059.003"], LABELLED)
    tl.record_independent_answer(ids[0], "bo", ["T1105"], LABELLED)
    decided = tl.adjudicate(ids[0], "mia", ["T1105"], "second")
    assert decided.labels == ("T1105",) and decided.status == REVIEWED and decided.updated_by == "mia"
    record = tl.adjudications()[ids[0]]
    assert (record.first_user, record.first_labels, record.second_user, record.second_labels, record.choice) == \
        ("ann", ("T1059.003",), "bo", ("T1105",), "second")
    event = store.label_history(ids[0])[0]
    assert (event.action, event.before_labels, event.after_labels) == ("adjudicate", ("T1059.003",), ("T1105",))
    with pytest.raises(StoreError, match="already"):
        tl.adjudicate(ids[0], "mia", ["T1059.003"], "first")
    with pytest.raises(StoreError, match="adjudicated by mia"):
        tl.record_independent_answer(ids[0], "ann", ["T1027"], LABELLED)
    tl.record_independent_answer(ids[2], "ann", ["T1027"], LABELLED)
    tl.record_independent_answer(ids[2], "bo", ["T1027"], LABELLED)
    with pytest.raises(StoreError, match="agree"):
        tl.adjudicate(ids[2], "mia", ["T1027"], "first")
    assert store.examples()[0].labels == ("T1105",)  # training reads the adjudicated answer


def test_undo_of_independent_answers(store, sentences):
    _, ids = sentences
    tl = store
    tl.record_independent_answer(ids[0], "ann", ["T1059.003"], LABELLED)
    tl.record_independent_answer(ids[0], "bo", ["T1105"], LABELLED)
    assert tl.undo_independent_answer("bo").labels == ("T1059.003",)
    assert [a.user for a in tl.independent_answers(ids)[ids[0]]] == ["ann"]
    tl.record_independent_answer(ids[0], "bo", ["T1105"], LABELLED)
    restored = tl.undo_independent_answer("ann")  # the first goes: bo's answer becomes the sentence's label
    assert restored.labels == ("T1105",) and [a.user for a in tl.independent_answers(ids)[ids[0]]] == ["bo"]
    store.set_labels(ids[1], ["T1003"], "ann")
    assert tl.undo_independent_answer("ann") is None  # ann's last answer is a plain label: undo_last's to undo
    assert store.undo_last("ann").status == UNLABELLED


def test_suggestion_decisions_and_answering_times(store, sentences):
    report_id, ids = sentences
    model_id = add_sample_model(store)
    review = store
    stored = review.record_suggestion_decisions([
        SuggestionDecision(ids[0], model_id, "T1105", "accept", True, 0.9),
        SuggestionDecision(ids[0], model_id, "T1027", "add", False, None),
        SuggestionDecision(ids[0], 999, "T1105", "accept", True, 0.9)], "ann")  # a model that is gone: skipped
    assert stored == 2
    assert [(d.technique, d.decision, d.user) for d in review.suggestion_decisions(model_id)] == \
        [("T1105", "accept", "ann"), ("T1027", "add", "ann")]
    assert review.report_completion()[0].completed_at is None
    for sid in ids:
        store.set_labels(sid, ["T1105"], "ann")
    store.record_independent_answer(ids[0], "bo", ["T1027"], LABELLED)
    events = review.answer_events(report_id=report_id)
    assert [e.user for e in events] == ["ann", "ann", "ann", "bo"]
    done = review.report_completion()[0]
    assert done.unanswered == 0 and done.completed_at >= done.created_at and done.sentences == 3
    store.delete_model(model_id)
    assert review.suggestion_decisions() == []
