"""Predictions: prediction jobs store top suggestions, uncertainty order, labels for loose texts at tuned thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.engine_helpers import TINY_OPTIONS, fill_store
from tram_core.jobs import queue
from tram_core.jobs.worker import run_worker
from tram_core.ml import predict
from tram_core.ml.trained import load_trained


@pytest.fixture
def filled(store):
    fill_store(store)
    return store


def train(store, settings, options: dict) -> int:
    job_id = queue.submit_training(store, options, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    job = store.get_job(job_id)
    assert job.status == "done", job.message
    return job.model_id


@pytest.fixture
def baseline_model(filled, settings) -> int:
    return train(filled, settings, {"base": "baseline", "min_count": 2})


def test_a_prediction_job_stores_top_suggestions_for_every_unlabelled_sentence(filled, settings, baseline_model):
    job_id = queue.submit_prediction(filled, baseline_model, None, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    job = filled.get_job(job_id)
    unlabelled = filled.sentences(status="unlabelled")
    assert job.status == "done" and job.message == f"suggestions stored for {len(unlabelled)} sentences"
    assert job.step == job.total == len(unlabelled)

    stored = filled.suggestions_for([s.id for s in unlabelled], model_id=baseline_model)
    predictor = load_trained(filled.get_model(baseline_model).path)
    scores = predictor.predict_scores([s.text for s in unlabelled])
    for sentence, row in zip(unlabelled, scores):
        expected = sorted(((c, float(v)) for c, v in zip(predictor.classes, row) if v >= 0.05),
                          key=lambda pair: -pair[1])[:10]
        got = stored[sentence.id]
        assert [t for t, _ in got] == [t for t, _ in expected]
        assert [v for _, v in got] == pytest.approx([v for _, v in expected], abs=1e-5)
    labelled = filled.sentences(status="labelled")[:3]
    assert all(v == [] for v in filled.suggestions_for([s.id for s in labelled], model_id=baseline_model).values())


def test_predicting_one_report_replaces_only_that_reports_suggestions(filled, settings, baseline_model):
    predict.run_prediction(filled, settings, baseline_model, None)
    report_one = [s.id for s in filled.sentences(report_id=1)]
    others = [s.id for s in filled.sentences(status="unlabelled") if s.report_id != 1]
    before_others = filled.suggestions_for(others, model_id=baseline_model)
    filled.replace_suggestions(baseline_model, {sid: {} for sid in report_one})

    count = predict.run_prediction(filled, settings, baseline_model, report_id=1)
    assert count == len(report_one)  # every sentence of the report, labelled ones too
    assert any(filled.suggestions_for(report_one, model_id=baseline_model).values())
    assert filled.suggestions_for(others, model_id=baseline_model) == before_others


def test_a_cancelled_prediction_stops_between_batches(filled, settings, baseline_model):
    with pytest.raises(predict.PredictionCancelled):
        predict.run_prediction(filled, settings, baseline_model, None, should_cancel=lambda: True)


def test_predict_texts_labels_at_the_models_tuned_thresholds(filled, settings, tiny_bert_dir):
    model_id = train(filled, settings, dict(base=str(tiny_bert_dir), **TINY_OPTIONS))
    path = filled.get_model(model_id).path
    texts = ["The malware downloaded a payload from the server.", "Mimikatz read LSASS memory.", "Thanks."]
    results = predict.predict_texts(path, texts)

    predictor = predict.load_model(path)  # the same kernels (bf16 where the CPU has it) as predict_texts
    scores = predictor.predict_scores(texts)
    cut = np.array([predictor.thresholds.get(c, predictor.thresholds["global"]) for c in predictor.classes])
    assert [r["sentence"] for r in results] == texts
    for result, row in zip(results, scores):
        assert set(result["labels"]) == {c for c, v, t in zip(predictor.classes, row, cut) if v > t}
        assert list(result["scores"].values()) == sorted(result["scores"].values(), reverse=True)
        assert all(v >= 0.01 for v in result["scores"].values())


def test_a_model_is_found_by_id_name_or_folder(filled, baseline_model, tmp_path):
    model = filled.get_model(baseline_model)
    assert predict.resolve_model_path(filled, model.id) == predict.resolve_model_path(filled, model.name)
    assert str(predict.resolve_model_path(None, model.path)) == model.path
    with pytest.raises(Exception, match="No trained model"):
        predict.resolve_model_path(filled, "run 404")


def test_report_findings_apply_the_report_rule_to_predicted_sentences():
    from tram_core.ml.predict import report_findings

    results = [{"sentence": "a", "labels": ["T1105"], "scores": {"T1105": 0.7, "T1055": 0.3}},
               {"sentence": "b", "labels": [], "scores": {"T1055": 0.3, "T1105": 0.1}},
               {"sentence": "c", "labels": [], "scores": {"T1003": 0.2, "T9999": 0.9}}]  # T9999: not a class
    classes = ["T1003", "T1055", "T1105"]
    assert report_findings(results, classes, 0.5) == [("T1105", pytest.approx(0.8)), ("T1055", pytest.approx(0.6))]
    assert report_findings(results, classes, None) == [("T1105", pytest.approx(0.7))]  # no rule: sentence labels
    assert report_findings([], classes, 0.5) == []


def test_a_worker_loads_a_model_once_and_again_only_when_its_folder_changes(filled, settings, baseline_model,
                                                                                     monkeypatch):
    loads = []
    real_load = predict.load_model
    monkeypatch.setattr(predict, "load_model", lambda path, device=None: loads.append(path) or real_load(path, device))
    monkeypatch.setattr(predict, "_loaded", type(predict._loaded)())
    for report_id in (1, 2, 1):
        assert predict.run_prediction(filled, settings, baseline_model, report_id=report_id) > 0
    assert len(loads) == 1

    import os
    from pathlib import Path

    card = Path(filled.get_model(baseline_model).path) / "tram_model.json"
    stamp = card.stat().st_mtime_ns + 1_000_000_000
    os.utime(card, ns=(stamp, stamp))  # the folder written again at the same path
    predict.run_prediction(filled, settings, baseline_model, report_id=1)
    assert len(loads) == 2
    (card.parent / "extra.txt").write_text("a file added to the folder")
    predict.run_prediction(filled, settings, baseline_model, report_id=1)
    assert len(loads) == 3


def test_only_the_last_models_stay_loaded(filled, settings, monkeypatch):
    monkeypatch.setattr(predict, "_loaded", type(predict._loaded)())
    ids = [train(filled, settings, {"base": "baseline", "min_count": 2, "seed": seed}) for seed in (1, 2, 3)]
    for model_id in ids:
        predict.loaded_model(filled.get_model(model_id).path)
    kept = [key[0] for key in predict._loaded]
    assert len(kept) == predict.MODELS_KEPT_LOADED
    assert kept == [str(Path(filled.get_model(i).path).resolve()) for i in ids[-predict.MODELS_KEPT_LOADED:]]


@pytest.mark.parametrize("value, expected", [("0", False), ("off", False), ("false", False), ("no", False),
                                             ("1", True), ("on", True), ("true", True), ("yes", True)])
def test_bf16_scoring_can_be_set_by_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("TRAM_PREDICT_BF16", value)
    assert predict.scoring_bf16("cpu") is expected


def test_bf16_scoring_follows_the_cpu_when_not_set(monkeypatch):
    from tram_core.ml import cpu_features

    monkeypatch.delenv("TRAM_PREDICT_BF16", raising=False)
    assert predict.scoring_bf16("cpu") is cpu_features.cpu_has_fast_bf16()


@pytest.mark.parametrize("capability, expected", [((8, 0), True), ((9, 0), True), ((7, 5), False), ((7, 0), False)])
def test_bf16_scoring_on_a_gpu_needs_native_bf16(monkeypatch, capability, expected):
    import torch

    monkeypatch.delenv("TRAM_PREDICT_BF16", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert predict.scoring_bf16("cuda:0") is expected


def test_models_on_a_gpu_are_not_kept_loaded(filled, settings, baseline_model, monkeypatch):
    loads = []
    monkeypatch.setattr(predict, "resolve_device", lambda device: device or "cpu")
    monkeypatch.setattr(predict, "load_model", lambda path, device=None: loads.append(device) or object())
    monkeypatch.setattr(predict, "_loaded", type(predict._loaded)())
    path = filled.get_model(baseline_model).path
    predict.loaded_model(path, "cuda:0")
    predict.loaded_model(path, "cuda:0")
    assert loads == ["cuda:0", "cuda:0"] and not predict._loaded
    predict.loaded_model(path, "cpu")
    predict.loaded_model(path, "cpu")
    assert loads == ["cuda:0", "cuda:0", "cpu"]


def test_threads_sharing_a_kept_model_score_one_at_a_time_and_as_one_thread_would(filled, settings, tiny_bert_dir,
                                                                                   monkeypatch):
    import threading
    import time

    from tram_core.ml import training_loop

    model_id = train(filled, settings, dict(base=str(tiny_bert_dir), **TINY_OPTIONS))
    texts = [s.text for s in filled.sentences()][:40]
    inside, most_inside, real_score = [0], [0], training_loop.score_texts

    def watched_score(*args, **kwargs):
        inside[0] += 1
        most_inside[0] = max(most_inside[0], inside[0])
        time.sleep(0.02)  # long enough for another thread to come in, were it let in
        try:
            return real_score(*args, **kwargs)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(training_loop, "score_texts", watched_score)
    monkeypatch.setattr(predict, "_loaded", type(predict._loaded)())
    predictor = predict.loaded_model(filled.get_model(model_id).path)
    start = threading.Barrier(3)
    results, errors = {}, []

    def score(name: str) -> None:
        try:
            start.wait()
            for _ in range(3):
                results[name] = predictor.predict_scores(texts)
        except Exception as exc:  # noqa: BLE001 - the test reports any error a thread met
            errors.append(exc)

    threads = [threading.Thread(target=score, args=(f"t{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 3
    assert most_inside[0] == 1
    alone = predictor.predict_scores(texts)
    for got in results.values():
        np.testing.assert_allclose(got, alone, atol=1e-6)
