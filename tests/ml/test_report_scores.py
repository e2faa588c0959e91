"""Report-level scores: each report's techniques against the union of its labels, by sentence union or report rule."""

from __future__ import annotations

import numpy as np
import pytest

from tram_core.ml.report_scores import document_scores


def test_document_scores_union_per_report():
    report_ids = [1, 1, 1, 2, 2, 3]
    y_true = [{"T1005"}, {"T1027"}, set(), {"T1105"}, set(), set()]
    y_pred = [set(), {"T1027"}, {"T1005", "T1059.003"}, set(), set(), set()]
    # report 1: true {T1005, T1027}, predicted {T1005, T1027, T1059.003} -> TP 2, FP 1, FN 0 -> P 2/3, R 1
    # report 2: true {T1105}, predicted {} -> TP 0, FP 0, FN 1 -> 0, 0, 0
    # report 3: nothing true, nothing predicted -> not counted in macro
    doc = document_scores(report_ids, y_true, y_pred)
    rows = {r["report_id"]: r for r in doc["per_report"]}
    assert (rows[1]["tp"], rows[1]["fp"], rows[1]["fn"]) == (2, 1, 0)
    assert rows[1]["precision"] == pytest.approx(2 / 3) and rows[1]["recall"] == 1.0
    assert (rows[2]["tp"], rows[2]["fp"], rows[2]["fn"]) == (0, 0, 1)
    assert doc["reports"] == 3 and doc["reports_scored"] == 2
    # micro: TP 2, FP 1, FN 1 -> P 2/3, R 2/3
    assert doc["micro_precision"] == pytest.approx(2 / 3) and doc["micro_recall"] == pytest.approx(2 / 3)
    assert doc["macro_recall"] == pytest.approx(0.5)
    assert doc["macro_precision"] == pytest.approx(1 / 3)


def test_report_predictions_need_one_confident_or_two_moderate_sentences():
    from tram_core.ml.report_scores import report_predictions

    classes = ["T1005", "T1027"]
    scores = np.array([[0.30, 0.9], [0.25, 0.0], [0.10, 0.05], [0.5, 0.2]])
    predicted = report_predictions([5, 5, 5, 9], scores, classes, report_threshold=0.5)
    # report 5: T1005 has no sentence above 0.5 but two at 0.30 + 0.25; report 9: 0.5 is not above 0.5
    assert predicted == {5: {"T1005", "T1027"}, 9: set()}


def test_document_scores_take_report_level_predictions():
    doc = document_scores([1, 1, 2], [{"T1005"}, set(), {"T1027"}], None,
                          predicted_by_report={1: {"T1005", "T1105"}})
    rows = {r["report_id"]: r for r in doc["per_report"]}
    assert (rows[1]["tp"], rows[1]["fp"], rows[1]["fn"]) == (1, 1, 0)
    assert (rows[2]["tp"], rows[2]["fp"], rows[2]["fn"]) == (0, 0, 1)  # a report left out predicts nothing
    with pytest.raises(ValueError, match="needs sentence predictions or predictions per report"):
        document_scores([1], [set()], None)
