"""A baseline model folder survives save/load bit for bit and holds data only; a damaged folder is one line naming it,
and an old pickled model (``baseline.joblib``) is refused, never unpickled, by the CLI and the worker alike."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.ml.baseline_helpers import CLASSES, toy_data
from tests.engine_helpers import fill_store
from tram_core.cli import main
from tram_core.ml.baseline import BaselineModel, BaselineOptions, train_baseline
from tram_core.ml.baseline_storage import ARRAYS, LEGACY_MESSAGE, LEGACY_PICKLE, MANIFEST, VOCABULARY, BaselineError
from tram_core.ml.thresholds import Thresholds


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
    from tram_core.jobs.quick_model import quick_model_in_pickle_format, retrain_quick_model, should_retrain_quick_model
    from tram_core.jobs.runner import run_job
    from tram_core.ml.predict import run_prediction

    fill_store(store)
    old_id = retrain_quick_model(store, settings)
    old = store.get_model(old_id)
    assert old.promoted and not should_retrain_quick_model(store)
    marker = tmp_path / "marker"
    make_legacy_folder(Path(old.path), marker)
    assert quick_model_in_pickle_format(old)
    assert should_retrain_quick_model(store)  # at once, not after the next 50 label changes

    job_id = store.create_job("predict", {"model_id": old_id, "report_id": None}, "ana")
    job = store.claim_next_job("w", "cpu")
    assert run_job(store, settings, job) == "failed"
    assert store.get_job(job_id).message == LEGACY_MESSAGE.format(folder=old.path)
    with pytest.raises(BaselineError):
        run_prediction(store, settings, old_id)

    new_id = retrain_quick_model(store, settings)
    assert store.promoted_model().id == new_id and not should_retrain_quick_model(store)
    assert not Path(old.path).exists()  # the old quick model is deleted with its pickle
    assert not quick_model_in_pickle_format(store.get_model(new_id))
    assert not marker.exists()
