"""Double annotation, adjudication, suggestion review and throughput as the views decide them, against a real store:
who sees which answer, where an answer goes, what the page says, the queue and the decisions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.views.test_annotation import SCORES, TEXTS, add_model, add_report
from tram_core.attack import UnknownTechniqueError
from tram_core.ml.thresholds import Thresholds
from tram_core.store import REVIEWED, UNLABELLED, NotFoundError
from tram_core.views import annotation as ann
from tram_core.views import annotation_panel as panel
from tram_core.views import double_annotation as dbl
from tram_core.views import suggestion_review as review
from tram_core.views.throughput import person_throughput, team_throughput


@pytest.fixture
def doubled(store):
    """The 6-sentence report with a model's suggestions, every sentence double-annotated."""
    report_id, ids = add_report(store)
    add_model(store, ids, SCORES)
    dbl.set_share(store, "mia", 100, report_id)
    return report_id, ids


def queue_for(store, report_id, viewer):
    return ann.load_queue(store, report_id, viewer=viewer)


def test_each_annotator_sees_only_their_own_answer_until_both_answered(store, doubled):
    report_id, ids = doubled
    ann_view = queue_for(store, report_id, "ann")
    opened = ann_view.get(ids[3])
    saved = panel.save_answer(store, opened, ["T1003.001"], "ann")
    assert saved.saved and "stays hidden" in saved.message and saved.sentence.labels == ("T1003.001",)
    bo_view = queue_for(store, report_id, "bo")
    hidden = bo_view.get(ids[3])
    assert hidden.status == UNLABELLED and hidden.labels == () and hidden.updated_by == ""
    assert ann.initial_choice(hidden, bo_view.suggestions(ids[3])) == {"T1003.001"}  # the model's tick, not ann's
    assert "another annotator has answered" in dbl.note(bo_view.double[ids[3]], "bo")
    assert not re.search(r"\bann\b", dbl.note(bo_view.double[ids[3]], "bo"))  # nor who it was
    assert bo_view.progress().answered == 0 and queue_for(store, report_id, "ann").progress().answered == 1
    assert store.get_sentence(ids[3]).labels == ("T1003.001",)  # the first answer is the sentence's label
    panel.save_answer(store, hidden, ["T1003"], "bo")
    both = queue_for(store, report_id, "bo")
    assert both.get(ids[3]).labels == ("T1003",)  # still their own, now next to ann's in the note
    line = dbl.note(both.double[ids[3]], "bo")
    assert "ann: T1003.001" in line and "bo: T1003" in line and "differ" in line
    assert store.get_sentence(ids[3]).labels == ("T1003.001",)


def test_answers_alike_settle_the_sentence_and_it_is_answered_as_usual_after(store, doubled):
    report_id, ids = doubled
    for who in ("ann", "bo"):
        panel.save_answer(store, queue_for(store, report_id, who).get(ids[0]), ["T1566.001"], who)
    view = queue_for(store, report_id, "cy")
    state = view.double[ids[0]]
    assert state.phase == dbl.AGREED and "both answered alike" in dbl.note(state, "cy")
    result = panel.save_answer(store, view.get(ids[0]), ["T1566.001", "T1204"], "cy")
    assert result.saved and store.get_sentence(ids[0]).labels == ("T1204", "T1566.001")


def test_a_third_person_and_an_unnamed_person_are_refused(store):
    report_id, ids = add_report(store)
    dbl.set_share(store, "mia", 100, report_id, ["ann", "bo"])
    cy_view = queue_for(store, report_id, "cy")
    assert "your answer is not taken" in dbl.note(cy_view.double[ids[1]], "cy")
    with pytest.raises(Exception, match="not taken"):
        panel.save_answer(store, cy_view.get(ids[1]), [], "cy", no_technique=True)
    assert store.get_sentence(ids[1]).status == UNLABELLED and not store.independent_answers(ids)


def test_shares_outside_the_range_or_with_one_annotator_are_refused(store):
    report_id, _ = add_report(store)
    for bad, words in ((150, "between 0 and 100"), (-5, "between 0 and 100"), ("half", "a number of percent")):
        with pytest.raises(dbl.DoubleAnnotationError, match=words):
            dbl.set_share(store, "mia", bad)
    with pytest.raises(dbl.DoubleAnnotationError, match=f"report {report_id} needs two annotators; only ann"):
        dbl.set_share(store, "mia", 20, report_id, ["ann", "ann"])
    with pytest.raises(NotFoundError):
        dbl.set_share(store, "mia", 20, 999)
    assert store.double_shares() == {}
    assert dbl.set_share(store, "mia", "20%").percent == 20


def test_undo_brings_back_the_state_before_the_own_answer(store, doubled):
    report_id, ids = doubled
    panel.save_answer(store, queue_for(store, report_id, "ann").get(ids[2]), ["T1055"], "ann")
    panel.save_answer(store, queue_for(store, report_id, "bo").get(ids[2]), ["T1027"], "bo")
    restored = panel.undo_last(store, "bo")
    assert restored.id == ids[2] and restored.status == UNLABELLED  # bo sees the sentence as unanswered again
    assert queue_for(store, report_id, "bo").double[ids[2]].phase == dbl.OPEN


def test_the_technique_view_hides_the_other_answer_and_accept_answers_independently(store, doubled):
    report_id, ids = doubled
    panel.save_answer(store, queue_for(store, report_id, "ann").get(ids[3]), ["T1003.001"], "ann")
    panel.save_answer(store, queue_for(store, report_id, "ann").get(ids[1]), ["T1082"], "ann")
    assert [h.sentence.id for h in panel.technique_hits(store, "T1082", viewer="bo")] == []
    hit = next(h for h in panel.technique_hits(store, "T1003.001", viewer="bo") if h.sentence.id == ids[3])
    assert not hit.labelled and hit.score == 0.97
    result = panel.apply_technique_decision(store, hit.sentence, "T1003.001", True, "bo")
    assert result.saved and "independent answer" in result.message
    assert [a.user for a in store.independent_answers([ids[3]])[ids[3]]] == ["ann", "bo"]


def test_the_queue_shows_both_answers_and_a_decision_settles_it(store, doubled, catalog):
    report_id, ids = doubled
    panel.save_answer(store, queue_for(store, report_id, "ann").get(ids[2]), ["T1055"], "ann")
    panel.save_answer(store, queue_for(store, report_id, "bo").get(ids[2]), ["T1055", "T1027"], "bo")
    panel.save_answer(store, queue_for(store, report_id, "ann").get(ids[4]), [], "ann", no_technique=True)
    [entry] = dbl.adjudication_queue(store)
    assert entry.sentence.text == TEXTS[2] and (entry.first.user, entry.second.user) == ("ann", "bo")
    assert entry.second.labels == ("T1027", "T1055")
    with pytest.raises(UnknownTechniqueError):
        dbl.adjudicate(store, "mia", ids[2], "edited", ["T9999"], catalog)
    with pytest.raises(dbl.DoubleAnnotationError, match="no two independent answers"):
        dbl.adjudicate(store, "mia", ids[4], "first")
    decided = dbl.adjudicate(store, "mia", ids[2], "edited", ["t1055.012"], catalog)
    assert decided.labels == ("T1055.012",) and decided.status == REVIEWED
    assert dbl.adjudication_queue(store) == []
    state = queue_for(store, report_id, "ann").double[ids[2]]
    assert state.phase == dbl.ADJUDICATED and "adjudicated by mia: T1055.012" in dbl.note(state, "ann")
    [item] = dbl.agreement_items(store, report_id)
    assert item.answers == (("ann", frozenset({"T1055"})), ("bo", frozenset({"T1055", "T1027"})))


def test_a_save_records_what_the_answer_did_with_the_suggestions(store):
    report_id, ids = add_report(store)
    model_id = add_model(store, ids, SCORES)
    queue = ann.load_queue(store, report_id)
    decisions = review.answer_decisions(queue, ids[0], ["T1055", "T1204"])
    assert {(d.technique, d.decision, d.predicted) for d in decisions} == {
        ("T1566.001", "reject", True), ("T1055", "accept", False), ("T1204", "add", False)}
    assert review.answer_decisions(queue, ids[1], ["T1082"]) == []  # the model scored nothing there
    review.record(store, "ann", decisions)
    review.record(store, "ann", review.decisions_for(ids[3], model_id, [("T1003.001", 0.97)], Thresholds.of(0.5),
                                                     ["T1003.001"], ["T1003.001"]))
    rows = {(a.model_id, a.technique): a for a in review.model_acceptance(store)}
    overall = rows[(model_id, "*")]
    assert (overall.accepted, overall.rejected, overall.added) == (2, 1, 1)
    assert overall.precision == pytest.approx(1 / 2)  # of 2 above-threshold suggestions, 1 kept
    assert overall.recall == pytest.approx(1 / 3)  # of 3 kept techniques, 1 predicted
    assert rows[(model_id, "T1003.001")].acceptance == 1.0


def test_throughput_per_person_and_report(store):
    report_id, ids = add_report(store)
    for sid in ids[:4]:
        store.set_labels(sid, ["T1082"], "ann")
    store.set_labels(ids[4], ["T1082"], "bo")
    people, hourly, reports = team_throughput(store)
    assert {(p.user, p.sentences) for p in people} == {("ann", 4), ("bo", 1)}
    assert all(p.active_hours >= 1 for p in people) and sum(h["answers"] for h in hourly) == 5
    assert reports[0].duration is None and "1 of 6 open" in reports[0].text(reports[0].imported + timedelta(hours=3))
    store.set_labels(ids[5], [], "bo")
    assert team_throughput(store)[2][0].duration is not None
    assert person_throughput([]) == []
