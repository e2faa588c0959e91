"""Run comparison: per-technique F1 side by side, differences against the first run, missing techniques."""

from __future__ import annotations

import math

import pytest

from tests.views.run_samples import sample_metrics
from tram_core.views.run_comparison import RunMetrics, compare_runs


def _f1(metrics: dict, which: str, technique: str) -> float:
    return next(t["f1"] for t in metrics[which]["per_technique"] if t["technique"] == technique)


def test_differences_are_each_run_minus_the_first():
    a, b = sample_metrics(0), sample_metrics(2)
    result = compare_runs([RunMetrics("run 1", a), RunMetrics("run 2", b)])
    assert result.runs == ("run 1", "run 2") and result.reference == "run 1"
    row = result.per_technique.set_index("technique").loc["T1059.001"]
    assert row["run 1"] == pytest.approx(_f1(a, "at_tuned", "T1059.001"))
    assert row["run 2"] == pytest.approx(_f1(b, "at_tuned", "T1059.001"))
    assert row["Δ run 2"] == pytest.approx(_f1(b, "at_tuned", "T1059.001") - _f1(a, "at_tuned", "T1059.001"))
    assert row["Δ run 2"] > 0
    summary = result.summary.set_index("run")
    assert summary.loc["run 2", "Δ micro_f1"] == pytest.approx(b["at_tuned"]["micro_f1"] - a["at_tuned"]["micro_f1"])
    assert summary.loc["run 1", "Δ micro_f1"] == 0


def test_a_technique_missing_in_one_run_is_blank_not_zero():
    result = compare_runs([RunMetrics("A", sample_metrics(0)), RunMetrics("B", sample_metrics(1))])
    table = result.per_technique.set_index("technique")
    # T1105 is only in A, T1003.001 only in B
    assert math.isnan(table.loc["T1105", "B"]) and math.isnan(table.loc["T1105", "Δ B"])
    assert table.loc["T1105", "in_runs"] == 1
    assert math.isnan(table.loc["T1003.001", "A"]) and table.loc["T1003.001", "B"] > 0
    assert table.loc["T1566.001", "in_runs"] == 2


def test_three_runs_and_the_fixed_threshold_scores():
    runs = [RunMetrics(f"r{i}", sample_metrics(i)) for i in (0, 1, 2)]
    result = compare_runs(runs, which="at_0_5")
    assert list(result.per_technique.columns[:6]) == ["technique", "r0", "r1", "r2", "Δ r1", "Δ r2"]
    row = result.per_technique.set_index("technique").loc["T1059.001"]
    assert row["Δ r2"] == pytest.approx(_f1(runs[2].metrics, "at_0_5", "T1059.001")
                                        - _f1(runs[0].metrics, "at_0_5", "T1059.001"))


def test_needs_two_distinct_runs():
    with pytest.raises(ValueError, match="at least two"):
        compare_runs([RunMetrics("A", sample_metrics())])
    with pytest.raises(ValueError, match="must differ"):
        compare_runs([RunMetrics("A", sample_metrics()), RunMetrics("A", sample_metrics(1))])


def test_the_comparison_says_whether_the_runs_share_their_test_sentences(store):
    same = [RunMetrics("#1", sample_metrics(0), frozenset({1, 2, 3})),
            RunMetrics("#2", sample_metrics(2), frozenset({3, 2, 1}))]
    result = compare_runs(same)
    assert result.same_test_set is True
    assert result.test_set_note == "All runs were scored on the same 3 test sentences."
    differ = compare_runs([same[0], RunMetrics("#3", sample_metrics(2), frozenset({1, 2, 3, 4}))])
    assert differ.same_test_set is False
    assert "different test sentences (#1: 3, #3: 4)" in differ.test_set_note
    untested = compare_runs([same[0], RunMetrics("#5", sample_metrics(2), frozenset())])
    assert untested.same_test_set is False and untested.test_set_note.startswith("#5 had no test set")
    unknown = compare_runs([same[0], RunMetrics("#4", sample_metrics(2))])
    assert unknown.same_test_set is None and "did not record their test split" in unknown.test_set_note
    # from stored model records, as the Evaluate page builds them
    model_id = store.add_model("run", "baseline", "/nowhere", "baseline", ["T1105"], {"global": 0.5},
                               sample_metrics(0), {"split": {"test": [5, 6]}})
    assert RunMetrics.of_model("#x", store.get_model(model_id)).test_sentences == frozenset({5, 6})
