"""``python -m tram_core agreement``: the Agreement page's figures as a summary, CSV or JSON, and one-line refusals."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.cli.helpers import run
from tests.views.test_annotation import SCORES, add_model, add_report
from tram_core.store.label_review import SuggestionDecision


@pytest.fixture
def answered(store):
    report_id, ids = add_report(store)
    model_id = add_model(store, ids, SCORES)
    tl = store
    for sid, first, second in ((ids[0], ["T1566.001"], ["T1566.001"]), (ids[2], ["T1055"], ["T1055", "T1027"])):
        tl.record_independent_answer(sid, "ann", first, "labelled")
        tl.record_independent_answer(sid, "bo", second, "labelled")
    store.record_suggestion_decisions(
        [SuggestionDecision(ids[0], model_id, "T1566.001", "accept", True, 0.93)], "ann")
    return report_id, ids


def test_the_summary_names_each_figure_with_its_interval(capsys, answered):
    code, out, err = run(capsys, "agreement", "--resamples", "50")
    assert code == 0, err
    assert "technique level: 2 sentence(s) answered by two annotators" in out
    assert "identical answers  0.500 [" in out and "(n=2)" in out
    assert "parent level: 2 sentence(s)" in out and "ann & bo" in out and "T1027" in out
    assert "adjudication: 1 sentence(s) whose two answers differ" in out
    assert "run-1" in out and "ann" in out


def test_csv_and_json_hold_the_same_figures(capsys, answered):
    report_id, _ = answered
    code, out, _ = run(capsys, "agreement", "--report", str(report_id), "--format", "csv", "--resamples", "50")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    overall = next(r for r in rows if (r["section"], r["level"], r["figure"]) ==
                   ("overall", "technique", "identical answers"))
    assert float(overall["value"]) == 0.5 and overall["sentences"] == "2"
    assert any(r["section"] == "technique" and r["subject"] == "T1027" and r["figure"] == "kappa" for r in rows)
    code, out, _ = run(capsys, "agreement", "--format", "json", "--resamples", "50")
    data = json.loads(out)
    assert data["agreement"]["technique"]["identical_answers"]["value"] == 0.5
    assert data["adjudication_queue"] == 1 and data["suggestion_acceptance"][0]["accepted"] == 1
    again = json.loads(run(capsys, "agreement", "--format", "json", "--resamples", "50")[1])
    assert again == data  # seeded: the same intervals every run


def test_refusals_are_one_line(capsys, store):
    code, _, err = run(capsys, "agreement", "--report", "999")
    assert code == 2 and err.strip().endswith("No report with id 999") and err.count("\n") <= 2
    code, _, err = run(capsys, "agreement", "--resamples", "0")
    assert code == 2 and "--resamples must be at least 1" in err
    code, out, _ = run(capsys, "agreement", "--resamples", "10")
    assert code == 0 and "technique level: 0 sentence(s)" in out
