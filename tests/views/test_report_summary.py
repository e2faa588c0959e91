"""A report's techniques: analysts' labels beside the model's report-level finding, from a real SQLite store; and,
when the model has nothing for the report, whether it ran over it (the finished prediction jobs) or never did."""

from __future__ import annotations

import pytest

from tram_core.store import JOB_DONE, JOB_FAILED
from tram_core.views import report_summary as rs
from tests.views.test_annotation import TEXTS, add_model, add_report

SCORES = {
    0: {"T1566.001": 0.93},                   # one confident sentence
    2: {"T1055": 0.30, "T1003.001": 0.2},     # T1055: two moderate sentences (0.30 + 0.25)
    4: {"T1055": 0.25},
    3: {"T1003.001": 0.22},                   # T1003.001: 0.22 + 0.2, not enough
    5: {"T1041": 0.45},                       # above its own sentence threshold, below the report's
}


def test_the_model_finds_techniques_by_its_report_rule_beside_the_labels(store):
    report_id, ids = add_report(store, labels={3: ("T1003.001",), 1: ()})
    add_model(store, ids, SCORES, thresholds={"global": 0.5, "per_technique": {"T1041": 0.4}, "report": 0.5})
    summary = rs.report_summary(store, report_id)
    rows = {r.technique: r for r in summary.techniques}
    assert set(rows) == {"T1566.001", "T1055", "T1003.001", "T1041"}
    assert rows["T1566.001"].agreement == rs.FOUND_ONLY and rows["T1566.001"].needs_review
    assert rows["T1055"].model_finds and rows["T1055"].evidence == pytest.approx(0.55)
    assert rows["T1055"].suggested_sentences == 0  # no single sentence above 0.5, yet the report has it
    assert rows["T1055"].best_sentences == ((ids[2], 0.30), (ids[4], 0.25))
    assert rows["T1003.001"].agreement == rs.LABELLED_ONLY and rows["T1003.001"].labelled_sentences == 1
    assert not rows["T1041"].model_finds and rows["T1041"].suggested_sentences == 1
    assert rows["T1041"].agreement == rs.SUGGESTED_ONLY
    assert [r.technique for r in summary.techniques][:2] == ["T1566.001", "T1055"]  # most evidence first
    assert rows["T1566.001"].name == "Spearphishing Attachment"
    assert summary.caption() == (
        f"Model #{summary.model.id} has suggestions for 5 of {len(TEXTS)} sentences and finds 2 technique(s); 2 of "
        "them are not labelled on any sentence yet. Rule: a report has a technique when its 2 best sentence scores for it add up "
        "to more than 0.50.")


def test_a_model_without_a_report_threshold_finds_what_any_sentence_is_above(store):
    report_id, ids = add_report(store)
    add_model(store, ids, SCORES, thresholds={"global": 0.5, "per_technique": {"T1041": 0.4}})
    summary = rs.report_summary(store, report_id)
    assert {r.technique for r in summary.techniques if r.model_finds} == {"T1566.001", "T1041"}
    assert "any of its sentences" in summary.rule


def test_without_a_model_only_labels_are_listed(store):
    report_id, _ = add_report(store, labels={0: ("T1566.001",), 2: ("T1055", "T1566.001")})
    summary = rs.report_summary(store, report_id)
    assert [(r.technique, r.labelled_sentences, r.agreement) for r in summary.techniques] == [
        ("T1566.001", 2, rs.LABELLED), ("T1055", 1, rs.LABELLED)]
    assert summary.caption().startswith("No model")


def test_a_model_that_has_not_scored_the_report_says_so(store):
    report_id, ids = add_report(store, labels={0: ("T1566.001",)})
    _, other_ids = add_report(store, title="Other", texts=[t.replace("The", "A") for t in TEXTS])
    model_id = add_model(store, other_ids, SCORES, thresholds={"global": 0.5, "report": 0.5})
    summary = rs.report_summary(store, report_id, model_id=model_id)
    assert [(r.technique, r.agreement) for r in summary.techniques] == [("T1566.001", rs.LABELLED)]
    assert summary.sentences_scored == 0 and summary.last_run is None
    assert summary.caption() == (f"Model #{model_id} has no suggestions for this report yet and no record of a run "
                                 "over it: run it over the report to see which techniques it finds.")


def _prediction(store, model_id: int, report_id: int | None, status: str = JOB_DONE):
    """A prediction job of ``model_id`` through the jobs table: queued, claimed by a worker, finished."""
    job_id = store.create_job("predict", {"model_id": model_id, "report_id": report_id}, "ana")
    store.claim_job(job_id, "test-worker", "cpu")
    store.finish_job(job_id, status, "scored")
    return store.get_job(job_id)


def test_a_model_that_ran_over_the_report_and_found_nothing_says_so_with_the_date(store):
    report_id, _ = add_report(store, labels={0: ("T1566.001",)})
    _, other_ids = add_report(store, title="Other", texts=[t.replace("The", "A") for t in TEXTS])
    model_id = add_model(store, other_ids, SCORES, thresholds={"global": 0.5, "report": 0.5})
    _prediction(store, model_id, report_id, JOB_FAILED)  # a failed run is no run
    assert rs.report_summary(store, report_id, model_id=model_id).last_run is None
    _prediction(store, model_id + 1, report_id)  # another model's run says nothing about this one
    _prediction(store, model_id, report_id + 1)  # nor does this model's run over another report
    job = _prediction(store, model_id, report_id)
    summary = rs.report_summary(store, report_id, model_id=model_id)
    assert summary.last_run == rs.ModelRun(job.finished_at, True)
    assert summary.caption() == (f"Model #{model_id} ran over this report on {job.finished_at:%Y-%m-%d} and found "
                                 "nothing above 0.05: no sentence scored 0.05 or more for any technique.")
    assert "no suggestions for this report yet" not in summary.caption()


def test_a_run_over_every_unlabelled_sentence_is_told_apart(store):
    report_id, _ = add_report(store, labels={0: ("T1566.001",)})
    _, other_ids = add_report(store, title="Other", texts=[t.replace("The", "A") for t in TEXTS])
    model_id = add_model(store, other_ids, SCORES, thresholds={"global": 0.5, "report": 0.5})
    job = _prediction(store, model_id, None)
    caption = rs.report_summary(store, report_id, model_id=model_id).caption()
    assert caption.startswith(f"Model #{model_id} ran over the unlabelled sentences on {job.finished_at:%Y-%m-%d} "
                              "and found nothing above 0.05 in this report.")
    _prediction(store, model_id, report_id)  # the newest run wins
    assert rs.report_summary(store, report_id, model_id=model_id).last_run.whole_report


def test_a_model_with_suggestions_here_is_not_asked_about_its_runs(store):
    report_id, ids = add_report(store)
    model_id = add_model(store, ids, SCORES, thresholds={"global": 0.5, "report": 0.5})
    _prediction(store, model_id, report_id)
    summary = rs.report_summary(store, report_id, model_id=model_id)
    assert summary.last_run is None and summary.caption().startswith(f"Model #{model_id} has suggestions for 5 of")
