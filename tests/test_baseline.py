"""The TF-IDF + logistic-regression baseline learns a separable toy set, keeps class order and survives save/load;
its word-cached character n-grams equal scikit-learn's char_wb features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sklearn.feature_extraction.text import TfidfVectorizer

from tram_core.baseline import BaselineError, BaselineModel, BaselineOptions, WordCharTfidf, train_baseline
from tram_core.metrics import predict_sets, score_label_sets

CLASSES = ["T1566.001", "T1003.001", "T1105", "T1112"]  # deliberately not sorted; T1112 never occurs

PHISHING = [
    "The actor sent spearphishing emails with a malicious Word attachment to employees.",
    "Victims received a phishing email carrying a weaponized attachment.",
    "A spearphishing attachment was mailed to the finance team.",
    "The email attachment contained a malicious macro that users opened.",
    "Targets were lured by phishing messages with malicious attachments.",
    "Another spearphishing email delivered an attachment with a macro.",
]
LSASS = [
    "The tool dumped LSASS memory with procdump to harvest credentials.",
    "Mimikatz read credentials from lsass process memory.",
    "They accessed LSASS memory to extract password hashes.",
    "A minidump of lsass.exe was created to steal credentials.",
    "Credential dumping from LSASS memory followed.",
    "The operators dumped lsass memory using comsvcs.dll.",
]
DOWNLOAD = [
    "The implant downloaded additional tools from the command server.",
    "A second stage payload was transferred from a remote server with certutil.",
    "They used PowerShell to download further tools onto the host.",
    "Additional malware was downloaded over HTTP from the attacker server.",
    "The loader fetched its next stage from a remote URL.",
    "Tools were transferred to the victim with bitsadmin downloads.",
]
NEUTRAL = [
    "The report was published in March.",
    "Our researchers thank the partner organisations.",
    "This section describes the timeline of the campaign.",
    "The group has been active since at least 2016.",
    "Indicators are listed in the appendix.",
    "We assess this with moderate confidence.",
]


def toy_data():
    texts = PHISHING + LSASS + DOWNLOAD + NEUTRAL
    labels = [{"T1566.001"}] * 6 + [{"T1003.001"}] * 6 + [{"T1105"}] * 6 + [set()] * 6
    return texts, labels


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


def test_save_and_load_give_identical_scores(tmp_path):
    texts, labels = toy_data()
    steps = []
    model = train_baseline(texts, labels, CLASSES, progress=lambda step, total, message: steps.append((step, total)))
    assert steps[-1] == (len(CLASSES) + 1, len(CLASSES) + 1)
    model.thresholds = {"global": 0.4, "T1105": 0.3}
    folder = model.save(tmp_path / "baseline-1")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "baseline"
    assert manifest["classes"] == CLASSES
    assert manifest["thresholds"] == {"global": 0.4, "T1105": 0.3}
    loaded = BaselineModel.load(folder)
    assert loaded.classes == CLASSES and loaded.thresholds == model.thresholds
    np.testing.assert_array_equal(loaded.predict_scores(texts), model.predict_scores(texts))
    assert loaded.predict_scores([]).shape == (0, len(CLASSES))


def test_sgd_solver_also_learns():
    texts, labels = toy_data()
    model = train_baseline(texts, labels, CLASSES, BaselineOptions(solver="sgd", class_weight=None, n_jobs=2))
    predicted = predict_sets(model.predict_scores(texts), CLASSES, 0.5)
    assert score_label_sets(labels, predicted, CLASSES).micro_f1 > 0.9


def test_clear_errors(tmp_path):
    texts, labels = toy_data()
    with pytest.raises(BaselineError, match="not a baseline model folder"):
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


def test_word_cached_char_ngrams_equal_scikit_learns_char_wb():
    texts, _ = toy_data()
    texts = texts + ["Short  words:\ta, I\nand cmd.exe /c whoami; T1055 HKLM\\Software\\Run!"]
    ours = WordCharTfidf(ngram_range=(3, 5), min_df=1, max_features=None).fit(texts)
    sklearns = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1).fit(texts)
    assert set(ours.vocabulary_) == set(sklearns.vocabulary_)
    order = [ours.vocabulary_[g] for g in sorted(sklearns.vocabulary_, key=sklearns.vocabulary_.get)]
    unseen = ["Mimikatz2 dumped LSASS.", "nothing known here zzqx"]
    for batch in (texts, unseen):
        np.testing.assert_allclose(ours.transform(batch)[:, order].toarray(), sklearns.transform(batch).toarray(),
                                   atol=1e-6)


def test_common_words_add_no_char_ngrams_but_unseen_words_do():
    texts, _ = toy_data()
    features = WordCharTfidf(ngram_range=(3, 5), min_df=1, max_features=None, skip_df=3).fit(texts)
    assert "the" in features.skipped_words_ and "lsass" in features.skipped_words_
    assert "mimikatz" not in features.skipped_words_
    assert features.transform(["the the the"]).nnz == 0
    assert features.transform(["mimikatz2"]).nnz > 0  # a new tool name still shares n-grams with mimikatz


def test_previous_char_analyzer_still_learns_and_unknown_one_is_refused():
    texts, labels = toy_data()
    model = train_baseline(texts, labels, CLASSES, BaselineOptions(char_analyzer="char_wb", char_skip_df=None))
    predicted = predict_sets(model.predict_scores(texts), CLASSES, 0.5)
    assert score_label_sets(labels, predicted, CLASSES).micro_f1 == 1.0
    with pytest.raises(BaselineError, match="Unknown character analyzer"):
        train_baseline(texts, labels, CLASSES, BaselineOptions(char_analyzer="bytes"))
