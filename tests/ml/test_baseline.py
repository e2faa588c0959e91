"""The TF-IDF + logistic-regression baseline learns a separable toy set, keeps class order, samples negatives with a
seed, and refuses unknown solvers and analyzers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ml.baseline_helpers import CLASSES, toy_data
from tram_core.ml.baseline import BaselineModel, BaselineOptions, train_baseline
from tram_core.ml.baseline_storage import BaselineError
from tram_core.ml.technique_scores import predict_sets, score_label_sets


def test_learns_an_obviously_separable_set():
    texts, labels = toy_data()
    model = train_baseline(texts, labels, CLASSES)
    held_out = [
        "Employees received a spearphishing email with a malicious attachment.",
        "The attackers dumped lsass memory to collect credentials.",
        "The backdoor downloaded more tools from a remote server.",
        "The appendix lists the indicators.",
    ]
    scores = model.predict_scores(held_out)
    assert scores.shape == (4, len(CLASSES))
    assert list(scores[:3, :3].argmax(axis=1)) == [0, 1, 2]
    predicted = predict_sets(scores, CLASSES, 0.5)
    assert predicted[:3] == [{"T1566.001"}, {"T1003.001"}, {"T1105"}]
    assert predicted[3] == set()
    training_fit = score_label_sets(labels, predict_sets(model.predict_scores(texts), CLASSES, 0.5), CLASSES)
    assert training_fit.micro_f1 == 1.0


def test_class_without_positives_scores_zero_and_order_is_kept():
    texts, labels = toy_data()
    model = train_baseline(texts, labels, CLASSES)
    assert model.classes == CLASSES
    scores = model.predict_scores(texts)
    assert np.all(scores[:, 3] == 0.0)
    # reversing the class list reverses the columns
    reversed_model = train_baseline(texts, labels, list(reversed(CLASSES)))
    rscores = reversed_model.predict_scores(texts)
    np.testing.assert_allclose(rscores[:, ::-1], scores, atol=1e-6)


def test_sgd_solver_also_learns():
    texts, labels = toy_data()
    model = train_baseline(texts, labels, CLASSES, BaselineOptions(solver="sgd", class_weight=None, n_jobs=2))
    predicted = predict_sets(model.predict_scores(texts), CLASSES, 0.5)
    assert score_label_sets(labels, predicted, CLASSES).micro_f1 > 0.9


def test_clear_errors(tmp_path):
    texts, labels = toy_data()
    with pytest.raises(BaselineError, match="not a baseline model folder: manifest.json is missing"):
        BaselineModel.load(tmp_path)
    with pytest.raises(BaselineError, match="3 texts but 2 label sets"):
        train_baseline(texts[:3], labels[:2], CLASSES)
    with pytest.raises(BaselineError, match="Unknown baseline solver"):
        train_baseline(texts, labels, CLASSES, BaselineOptions(solver="adam"))


def test_negative_sampling_still_learns_and_is_seeded():
    texts, labels = toy_data()
    options = BaselineOptions(max_negatives=8)  # each class: 6 positives + 8 of its 18 negatives
    first = train_baseline(texts, labels, CLASSES, options)
    second = train_baseline(texts, labels, CLASSES, options)
    np.testing.assert_array_equal(first.predict_scores(texts), second.predict_scores(texts))
    predicted = predict_sets(first.predict_scores(texts), CLASSES, 0.5)
    assert score_label_sets(labels, predicted, CLASSES).micro_f1 > 0.9
    assert not np.array_equal(first.predict_scores(texts), train_baseline(texts, labels, CLASSES).predict_scores(texts))


def test_previous_char_analyzer_still_learns_and_unknown_one_is_refused():
    texts, labels = toy_data()
    model = train_baseline(texts, labels, CLASSES, BaselineOptions(char_analyzer="char_wb", char_skip_df=None))
    predicted = predict_sets(model.predict_scores(texts), CLASSES, 0.5)
    assert score_label_sets(labels, predicted, CLASSES).micro_f1 == 1.0
    with pytest.raises(BaselineError, match="Unknown character analyzer"):
        train_baseline(texts, labels, CLASSES, BaselineOptions(char_analyzer="bytes"))
