"""Run comparison: per-technique F1 side by side, differences against the first run, missing techniques."""

from __future__ import annotations

import math

import pytest

from tests.views.run_samples import sample_metrics
from tram_core.views.run_comparison import RunMetrics, compare_runs


def _f1(metrics: dict, which: str, technique: str) -> float:
    return next(t["f1"] for t in metrics[which]["per_technique"] if t["technique"] == technique)


def _by_id(table):
    """The per-technique table indexed by technique ID (its Technique column reads "T1055 Process Injection")."""
    return table.set_index(table["Technique"].str.split(" ").str[0])


def test_differences_are_each_run_minus_the_first():
    a, b = sample_metrics(0), sample_metrics(2)
    result = compare_runs([RunMetrics("run 1", a), RunMetrics("run 2", b)])
    assert result.runs == ("run 1", "run 2") and result.reference == "run 1"
    row = _by_id(result.per_technique).loc["T1059.001"]
    assert row["F1 run 1"] == pytest.approx(_f1(a, "at_tuned", "T1059.001"))
    assert row["F1 run 2"] == pytest.approx(_f1(b, "at_tuned", "T1059.001"))
    assert row["Δ F1 run 2 vs run 1"] == pytest.approx(
        _f1(b, "at_tuned", "T1059.001") - _f1(a, "at_tuned", "T1059.001"))
    assert row["Δ F1 run 2 vs run 1"] > 0 and result.difference_column("run 2") == "Δ F1 run 2 vs run 1"
    summary = result.summary.set_index("Run")
    assert summary.loc["run 2", "Δ micro F1 vs run 1"] == pytest.approx(
        b["at_tuned"]["micro_f1"] - a["at_tuned"]["micro_f1"])
    assert summary.loc["run 1", "Δ micro F1 vs run 1"] == 0
    assert summary.loc["run 2", "Micro precision"] == pytest.approx(b["at_tuned"]["micro_precision"])


def test_the_tables_speak_in_column_names_not_keys(catalog):
    result = compare_runs([RunMetrics("#3", sample_metrics(0)), RunMetrics("#5", sample_metrics(1))], catalog=catalog)
    assert list(result.summary.columns) == [
        "Run", "Micro precision", "Micro recall", "Micro F1", "Macro precision", "Macro recall", "Macro F1",
        "Δ micro precision vs #3", "Δ micro recall vs #3", "Δ micro F1 vs #3", "Δ macro precision vs #3",
        "Δ macro recall vs #3", "Δ macro F1 vs #3"]
    assert list(result.per_technique.columns) == ["Technique", "F1 #3", "F1 #5", "Δ F1 #5 vs #3", "Support",
                                                  "Scored in runs"]
    assert list(result.per_technique["Technique"]) == [
        "T1059.001 PowerShell", "T1566.001 Spearphishing Attachment", "T1071.001 Web Protocols",
        "T1105 Ingress Tool Transfer", "T1003.001 LSASS Memory"]
    assert not any("_" in name for name in [*result.summary.columns, *result.per_technique.columns])


def test_a_technique_missing_in_one_run_is_blank_not_zero():
    result = compare_runs([RunMetrics("A", sample_metrics(0)), RunMetrics("B", sample_metrics(1))])
    table = _by_id(result.per_technique)
    # T1105 is only in A, T1003.001 only in B
    assert math.isnan(table.loc["T1105", "F1 B"]) and math.isnan(table.loc["T1105", "Δ F1 B vs A"])
    assert table.loc["T1105", "Scored in runs"] == 1
    assert math.isnan(table.loc["T1003.001", "F1 A"]) and table.loc["T1003.001", "F1 B"] > 0
    assert table.loc["T1566.001", "Scored in runs"] == 2


def test_three_runs_and_the_fixed_threshold_scores():
    runs = [RunMetrics(f"r{i}", sample_metrics(i)) for i in (0, 1, 2)]
    result = compare_runs(runs, which="at_0_5")
    assert list(result.per_technique.columns[:6]) == ["Technique", "F1 r0", "F1 r1", "F1 r2", "Δ F1 r1 vs r0",
                                                      "Δ F1 r2 vs r0"]
    row = _by_id(result.per_technique).loc["T1059.001"]
    assert row["Δ F1 r2 vs r0"] == pytest.approx(_f1(runs[2].metrics, "at_0_5", "T1059.001")
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
