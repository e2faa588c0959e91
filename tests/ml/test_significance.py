"""The paired bootstrap over reports: full-sample values match the metrics module, and its intervals behave."""

import numpy as np
import pytest

from tram_core.ml.report_scores import document_scores
from tram_core.ml.significance import paired_bootstrap
from tram_core.ml.technique_scores import scores_from_matrices


def _random_case(seed=0, sentences=400, techniques=6, reports=12):
    rng = np.random.default_rng(seed)
    truth = rng.random((sentences, techniques)) < 0.15
    report_ids = np.sort(rng.integers(100, 100 + reports, sentences)).tolist()
    noisy = lambda flip: truth ^ (rng.random(truth.shape) < flip)  # noqa: E731
    return report_ids, truth, noisy(0.05), noisy(0.2)


def test_full_sample_values_are_the_metrics_modules_scores():
    report_ids, truth, a, b = _random_case()
    classes = [f"T{1000 + j}" for j in range(truth.shape[1])]
    result = paired_bootstrap(report_ids, truth, a, b, resamples=50)
    for name, predicted in (("a", a), ("b", b)):
        scores = scores_from_matrices(truth, predicted, classes)
        sets = lambda m: [{c for c, hit in zip(classes, row) if hit} for row in m]  # noqa: E731
        document = document_scores(report_ids, sets(truth), sets(predicted), classes)
        assert getattr(result["micro_f1"], name) == pytest.approx(scores.micro_f1)
        assert getattr(result["macro_f1"], name) == pytest.approx(scores.macro_f1)
        assert getattr(result["doc_micro_f1"], name) == pytest.approx(document["micro_f1"])


def test_a_clearly_better_model_is_ahead_in_every_resample():
    report_ids, truth, good, poor = _random_case()
    result = paired_bootstrap(report_ids, truth, good, poor, resamples=500)
    micro = result["micro_f1"]
    assert micro.a > micro.b
    assert micro.a_ahead == 1.0
    assert 0 < micro.difference_low <= micro.difference <= micro.difference_high
    assert 1 < micro.ratio_low <= micro.ratio <= micro.ratio_high
    assert "ahead in 100.0% of 500 resamples of 12 reports" in micro.line()


def test_identical_predictions_differ_by_nothing():
    report_ids, truth, a, _ = _random_case()
    for diff in paired_bootstrap(report_ids, truth, a, a.copy(), resamples=200).values():
        assert (diff.difference_low, diff.difference_high, diff.a_ahead, diff.tied) == (0.0, 0.0, 0.0, 1.0)
        assert "ahead in 0.0% (tied in 100.0%) of 200 resamples" in diff.line()
        assert diff.ratio == pytest.approx(1.0)


def test_a_lead_from_one_report_is_not_called_sure():
    """Ten reports; the models differ on one only, so that report is left out of about 35% of resamples."""
    report_ids = [r for r in range(10) for _ in range(20)]
    truth = np.zeros((200, 3), dtype=bool)
    truth[::4, 0] = True
    a = truth.copy()
    b = truth.copy()
    b[:20] = ~truth[:20]  # report 0: B gets every sentence wrong
    micro = paired_bootstrap(report_ids, truth, a, b, resamples=4000, seed=1)["micro_f1"]
    assert 0.58 < micro.a_ahead < 0.72  # 1 - 0.9 ** 10 = 0.65
    assert micro.a_ahead + micro.tied == 1.0  # B is never ahead
    assert micro.difference_low == 0.0


def test_the_same_seed_gives_the_same_intervals():
    report_ids, truth, a, b = _random_case()
    first = paired_bootstrap(report_ids, truth, a, b, resamples=300, seed=5)
    assert first == paired_bootstrap(report_ids, truth, a, b, resamples=300, seed=5)


@pytest.mark.parametrize("change, message", [
    (dict(predicted_b=np.zeros((3, 2), dtype=bool)), "predicted_b has shape (3, 2) but the truth has (4, 2)"),
    (dict(report_ids=[1, 1, 2]), "3 report ids for 4 sentences"),
    (dict(report_ids=[7, 7, 7, 7]), "needs at least 2 reports, not 1"),
    (dict(resamples=0), "resamples must be at least 1"),
    (dict(confidence=1.0), "confidence must be between 0 and 1"),
    (dict(truth=np.zeros(4, dtype=bool)), "truth must be a (sentences, techniques) matrix"),
])
def test_bad_input_says_what_is_wrong(change, message):
    arguments = dict(report_ids=[1, 1, 2, 2], truth=np.zeros((4, 2), dtype=bool),
                     predicted_a=np.zeros((4, 2), dtype=bool), predicted_b=np.zeros((4, 2), dtype=bool))
    arguments.update(change)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        paired_bootstrap(**arguments)


def test_report_level_predictions_replace_the_union_of_sentences():
    report_ids = [1, 1, 2, 2]
    truth = np.array([[1, 0], [0, 0], [0, 1], [0, 0]], dtype=bool)
    nothing = np.zeros_like(truth)
    # sentence predictions are empty, but report-level sets find both techniques for A and a wrong one for B
    result = paired_bootstrap(report_ids, truth, nothing, nothing, resamples=100,
                              report_predicted_a={1: [0], 2: [1]}, report_predicted_b={1: [1]})
    assert result["doc_micro_f1"].a == 1.0
    assert result["doc_micro_f1"].b == 0.0
    assert result["micro_f1"].a == result["micro_f1"].b == 0.0
    with pytest.raises(ValueError, match=r"reports without test sentences: \[3\]"):
        paired_bootstrap(report_ids, truth, nothing, nothing, report_predicted_a={3: [0]})
