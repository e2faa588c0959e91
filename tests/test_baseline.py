"""The TF-IDF + logistic-regression baseline learns a separable toy set, keeps class order and survives save/load;
its word-cached character n-grams equal scikit-learn's char_wb features. Its folder holds no pickle, and an old
pickled model (``baseline.joblib``) is refused, never unpickled, by the CLI and the worker alike."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from sklearn.feature_extraction.text import TfidfVectorizer

from tests.engine_helpers import fill_store
from tram_core.baseline import (ARRAYS, LEGACY_MESSAGE, LEGACY_PICKLE, MANIFEST, VOCABULARY, BaselineError,
                                BaselineModel, BaselineOptions, WordCharTfidf, train_baseline)
from tram_core.cli import main
from tram_core.metrics import predict_sets, score_label_sets
from tram_core.thresholds import Thresholds

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
    model.thresholds = Thresholds(0.4, {"T1105": 0.3})
    folder = model.save(tmp_path / "baseline-1")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "baseline"
    assert manifest["classes"] == CLASSES
    assert manifest["thresholds"] == {"global": 0.4, "per_technique": {"T1105": 0.3}}
    loaded = BaselineModel.load(folder)
    assert loaded.classes == CLASSES and loaded.thresholds == model.thresholds
    edit_manifest(folder, lambda m: m.update(thresholds={"global": 0.4, "T1105": 0.3}))  # the older flat layout
    assert BaselineModel.load(folder).thresholds == model.thresholds
    np.testing.assert_array_equal(loaded.predict_scores(texts), model.predict_scores(texts))
    assert loaded.predict_scores([]).shape == (0, len(CLASSES))


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


# --------------------------------------------------------------------------------------------- on-disk format


def many_sentences(count: int = 300) -> list[str]:
    """``count`` seeded shuffles of the toy vocabulary plus words training never saw (so char n-grams carry them)."""
    texts, _ = toy_data()
    words = " ".join(texts).split() + ["Mimikatz2", "lsass.dmp", "zzqx", "Émotet", "HKLM\\Run", "a", "I"]
    rng = np.random.default_rng(7)
    return [" ".join(rng.choice(words, size=int(rng.integers(1, 25)))) for _ in range(count)]


@pytest.mark.parametrize("options", [BaselineOptions(), BaselineOptions(char_analyzer="char_wb", char_skip_df=None),
                                     BaselineOptions(char_skip_df=3)],
                         ids=["word-cached char n-grams", "scikit-learn char_wb", "common words skipped"])
def test_a_saved_model_scores_a_few_hundred_sentences_exactly_as_before(tmp_path, options):
    texts, labels = toy_data()
    model = train_baseline(texts, labels, CLASSES, options)
    loaded = BaselineModel.load(model.save(tmp_path / "model"))
    sentences = many_sentences()
    before, after = model.predict_scores(sentences), loaded.predict_scores(sentences)
    assert np.abs(before - after).max() < 1e-6
    np.testing.assert_array_equal(before, after)  # in fact bit for bit: the same arrays, the same arithmetic
    assert loaded.options == model.options and loaded.trained.tolist() == model.trained.tolist()


def test_the_saved_folder_is_data_only(tmp_path):
    from safetensors.numpy import load_file

    texts, labels = toy_data()
    folder = train_baseline(texts, labels, CLASSES).save(tmp_path / "model")
    (folder / LEGACY_PICKLE).write_bytes(b"left over")  # saving over an old folder removes its pickle
    train_baseline(texts, labels, CLASSES).save(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([MANIFEST, VOCABULARY, ARRAYS])
    for path in folder.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} starts like a pickle"
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["format"] == 2 and [p["type"] for p in manifest["features"]] == ["tfidf_vectorizer",
                                                                                     "word_char_tfidf"]
    vocabulary = json.loads((folder / VOCABULARY).read_text())
    assert set(vocabulary) == {"word", "char"} and vocabulary["word"]["vocabulary"]["lsass"] >= 0
    arrays = load_file(str(folder / ARRAYS))
    assert set(arrays) == {"word.idf", "word.weights", "char.idf", "char.weights", "bias", "trained", "constant"}
    for part in manifest["features"]:
        assert arrays[f"{part['name']}.weights"].shape == (part["n_features"], len(CLASSES))
        assert arrays[f"{part['name']}.weights"].dtype == np.float32
    assert arrays["trained"].dtype == bool


def test_parts_are_found_by_name_not_by_their_order_in_the_manifest(saved_folder):
    before = BaselineModel.load(saved_folder).predict_scores(many_sentences(50))
    edit_manifest(saved_folder, lambda m: m["features"].reverse())
    reordered = BaselineModel.load(saved_folder)
    assert [name for name, _ in reordered.features.transformer_list] == ["char", "word"]
    # the same features and weights; only the order of the float32 sums differs
    np.testing.assert_allclose(reordered.predict_scores(many_sentences(50)), before, atol=1e-6)


@pytest.fixture
def saved_folder(tmp_path):
    texts, labels = toy_data()
    return train_baseline(texts, labels, CLASSES).save(tmp_path / "model")


def edit_manifest(folder, change) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    change(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def edit_arrays(folder, change) -> None:
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(folder / ARRAYS))
    change(arrays)
    save_file(arrays, str(folder / ARRAYS))


def test_a_truncated_arrays_file_is_refused_with_a_clear_message(saved_folder):
    data = (saved_folder / ARRAYS).read_bytes()
    for cut in (len(data) // 2, 12, 3, 0):
        (saved_folder / ARRAYS).write_bytes(data[:cut])
        with pytest.raises(BaselineError, match=f"{saved_folder}: baseline.safetensors is damaged or truncated"):
            BaselineModel.load(saved_folder)


@pytest.mark.parametrize("damage, message", [
    (lambda f: edit_manifest(f, lambda m: m["classes"].append("T1055")),
     r"'word.weights' has shape \(\d+, 4\), expected \(\d+, 5\)"),
    (lambda f: edit_manifest(f, lambda m: m["classes"].pop()),
     r"'word.weights' has shape \(\d+, 4\), expected \(\d+, 3\)"),
    (lambda f: edit_manifest(f, lambda m: m["features"][1].update(n_features=m["features"][1]["n_features"] + 1)),
     "the 'char' vocabulary in vocabulary.json should number its"),
    (lambda f: edit_manifest(f, lambda m: m["features"][0].update(name="words")),
     "holds .* expected .*'words.idf'"),
    (lambda f: edit_manifest(f, lambda m: m.pop("features")), "manifest.json lacks features"),
    (lambda f: edit_manifest(f, lambda m: m.update(classes=["T1105"] * 4)), "a list of distinct technique IDs"),
    (lambda f: edit_manifest(f, lambda m: m.update(thresholds={"global": "high"})), "'thresholds' should map"),
    (lambda f: edit_manifest(f, lambda m: m["features"][0].update(type="pickle")), "unknown feature type 'pickle'"),
    (lambda f: edit_manifest(f, lambda m: m["features"][0]["params"].update(input="filename")),
     "unusable settings for feature part 'word'"),
    (lambda f: edit_manifest(f, lambda m: m["features"][0]["params"].update(norm="l7")),
     "unusable settings for feature part 'word'"),
    (lambda f: edit_manifest(f, lambda m: m["features"][1]["params"].update(ngram_range=[3, 500])),
     "unusable settings for feature part 'char'"),
    (lambda f: edit_manifest(f, lambda m: m.update(format=3)), "has format 3; this version reads format 2"),
    (lambda f: (f / MANIFEST).write_text('{"kind": "baseline", "classes": ['), "manifest.json is not valid JSON"),
    (lambda f: (f / VOCABULARY).write_text("[]"), "vocabulary.json should hold a JSON object"),
    (lambda f: (f / VOCABULARY).unlink(), "not a baseline model folder: vocabulary.json is missing"),
    (lambda f: (f / ARRAYS).unlink(), "not a baseline model folder: baseline.safetensors is missing"),
    (lambda f: edit_arrays(f, lambda a: a.update({"char.weights": a["char.weights"].astype(np.int32)})),
     "'char.weights' has dtype int32, expected float32 or float64"),
    (lambda f: edit_arrays(f, lambda a: a.update({"char.weights": a["char.weights"][1:]})),
     r"'char.weights' has shape \(\d+, 4\), expected \(\d+, 4\) \(from manifest.json and vocabulary.json\)"),
    (lambda f: edit_arrays(f, lambda a: a.update(bias=a["bias"][:2])), r"'bias' has shape \(2,\), expected \(4,\)"),
    (lambda f: edit_arrays(f, lambda a: a["constant"].__setitem__(0, np.nan)), "'constant' holds NaN"),
    (lambda f: edit_arrays(f, lambda a: a.pop("char.idf")), "baseline.safetensors holds"),
])
def test_a_malformed_folder_is_refused_naming_the_folder_and_the_problem(saved_folder, damage, message):
    damage(saved_folder)
    with pytest.raises(BaselineError, match=message) as raised:
        BaselineModel.load(saved_folder)
    assert str(raised.value).startswith(str(saved_folder)) and "\n" not in str(raised.value)


class RunsACommand:
    """Unpickling this calls os.system: what a planted baseline.joblib would do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def make_legacy_folder(folder, marker) -> None:
    """Turn a saved model folder into the old format, its baseline.joblib a pickle that would create ``marker``."""
    for name in (ARRAYS, VOCABULARY):
        (folder / name).unlink()
    edit_manifest(folder, lambda m: (m.pop("format"), m.pop("features"), m.update(weights=LEGACY_PICKLE)))
    payload = pickle.dumps({"features": RunsACommand(f"touch {marker}")}, protocol=4)
    assert payload.startswith(b"\x80\x04") and b"system" in payload
    (folder / LEGACY_PICKLE).write_bytes(payload)


@pytest.fixture
def legacy_model_folder(store, tmp_path):
    """A model folder as train_model wrote it before format 2 (tram_model.json and all), with a planted pickle."""
    texts, labels = toy_data()
    model = train_baseline(texts, labels, CLASSES)
    folder = model.save(tmp_path / "old-model")
    (folder / "tram_model.json").write_text(json.dumps({"format": 1, "kind": "baseline", "classes": CLASSES,
                                                        "thresholds": {"global": 0.5}}))
    make_legacy_folder(folder, tmp_path / "marker")
    return folder


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["--user", "ana", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_and_evaluate_refuse_a_pickled_model_without_loading_it(legacy_model_folder, capsys, tmp_path):
    marker = tmp_path / "marker"
    sentences = tmp_path / "in.json"
    sentences.write_text(json.dumps(["Mimikatz read credentials from the lsass process."]))
    data = tmp_path / "holdout.json"
    data.write_text(json.dumps([{"sentence": "Credentials were dumped from LSASS memory.", "labels": ["T1003.001"]}]))
    expected = (f"error: {legacy_model_folder}: this quick model was saved in the old pickle format, which can run "
                "code when loaded; retrain it (python -m tram_core train --base baseline)\n")
    assert LEGACY_MESSAGE.format(folder=legacy_model_folder) == expected[len("error: "):-1]
    for argv in (["predict", "--model", str(legacy_model_folder), str(sentences), "-o", str(tmp_path / "out.json")],
                 ["evaluate", "--model", str(legacy_model_folder), "--data", str(data)]):
        code, out, err = run_cli(capsys, *argv)
        assert (code, out, err) == (2, "", expected)
        assert not marker.exists(), f"{argv[0]} unpickled the planted file"
    assert not (tmp_path / "out.json").exists()


def test_a_damaged_model_is_one_line_and_exit_code_2_on_the_command_line(store, saved_folder, capsys, tmp_path):
    (saved_folder / "tram_model.json").write_text(json.dumps({"kind": "baseline", "classes": CLASSES}))
    (saved_folder / ARRAYS).write_bytes((saved_folder / ARRAYS).read_bytes()[:100])
    sentences = tmp_path / "in.json"
    sentences.write_text(json.dumps(["anything"]))
    code, out, err = run_cli(capsys, "predict", "--model", str(saved_folder), str(sentences), "-o",
                             str(tmp_path / "out.json"))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"error: {saved_folder}: baseline.safetensors is damaged or truncated")


def test_a_pickled_quick_model_is_reported_and_retrained_not_loaded(store, settings, tmp_path):
    from tram_core import jobs
    from tram_core.predict import run_prediction

    fill_store(store)
    old_id = jobs.retrain_quick_model(store, settings)
    old = store.get_model(old_id)
    assert old.promoted and not jobs.should_retrain_quick_model(store)
    marker = tmp_path / "marker"
    make_legacy_folder(Path(old.path), marker)
    assert jobs.quick_model_in_pickle_format(old)
    assert jobs.should_retrain_quick_model(store)  # at once, not after the next 50 label changes

    job_id = store.create_job("predict", {"model_id": old_id, "report_id": None}, "ana")
    job = store.claim_next_job("w", "cpu")
    assert jobs.run_job(store, settings, job) == "failed"
    assert store.get_job(job_id).message == LEGACY_MESSAGE.format(folder=old.path)
    with pytest.raises(BaselineError):
        run_prediction(store, settings, old_id)

    new_id = jobs.retrain_quick_model(store, settings)
    assert store.promoted_model().id == new_id and not jobs.should_retrain_quick_model(store)
    assert not Path(old.path).exists()  # the old quick model is deleted with its pickle
    assert not jobs.quick_model_in_pickle_format(store.get_model(new_id))
    assert not marker.exists()
