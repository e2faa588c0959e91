"""The job queue and worker: real `python -m tram_core worker` processes training a tiny BERT on a real SQLite store."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.engine_helpers import TINY_OPTIONS, cli, fill_store
from tram_core import jobs
from tests.conftest import wait_for
from tram_core.store import Store
from tram_core.trained import load_trained
from tram_core.worker import run_worker


def label_snapshot(store: Store) -> tuple:
    return (store.corpus_counts(), store.technique_counts(), len(store.label_history(limit=100000)))


def leftover_folders(settings, job_id: int) -> list[Path]:
    models = Path(settings.models_dir)
    if not models.exists():
        return []
    return [p for p in models.iterdir() if p.name == f"run-{job_id}" or p.name.startswith(f".run-{job_id}.")]


@pytest.fixture
def filled(store):
    fill_store(store)
    return store


@pytest.mark.slow
def test_training_job_goes_queued_running_done_in_a_worker_process(filled, settings, tram_home, tiny_bert_dir):
    job_id = jobs.submit_training(filled, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 6}), "ana")
    assert filled.get_job(job_id).status == "queued"
    assert jobs.worker_state(filled).text == "no worker running · 1 job queued"

    worker = cli(["worker", "--once"], tram_home, wait=False)
    seen_status, heartbeats, phases = set(), set(), set()
    try:
        def finished():
            job = filled.get_job(job_id)
            seen_status.add(job.status)
            if job.status == "running":
                heartbeats.add(job.heartbeat_at)
                phases.add(job.phase)
            return job.finished
        wait_for(finished, what="the training job to finish")
        output, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    job = filled.get_job(job_id)
    assert job.status == "done", output
    assert {"queued", "running", "done"} <= seen_status
    assert len(heartbeats) >= 2  # the heartbeat moved while it ran
    assert "training" in phases
    assert worker.returncode == 0

    losses = filled.job_points(job_id, "loss")
    assert losses and all(p.value > 0 for p in losses)
    assert [p.step for p in losses] == sorted(p.step for p in losses)
    assert filled.job_points(job_id, "val_micro_f1")  # validation scores per epoch for the live chart

    model = filled.get_model(job.model_id)
    assert model.job_id == job_id and model.name.startswith(f"run {job_id} · {tiny_bert_dir.name} · ")
    assert model.kind == "transformer" and not model.promoted
    assert set(model.classes) == {"T1003.001", "T1059.003", "T1105"}
    assert model.metrics["at_tuned"]["micro_f1"] >= 0 and "per_technique" in model.metrics["at_tuned"]
    assert model.options["split"]["test"] and model.options["examples"] == 64
    assert job.metrics["micro_f1"] == model.metrics["at_tuned"]["micro_f1"]
    assert job.metrics["epochs"] == 6 and f"model {model.id}" in job.message
    predictor = load_trained(model.path)
    assert predictor.predict_scores(["cmd.exe ran a script"]).shape == (1, 3)
    assert jobs.worker_state(filled).text == "no worker running"  # the --once worker left the registry


def test_cancel_of_a_queued_job_is_immediate_and_it_never_runs(filled, settings, tram_home):
    job_id = jobs.submit_training(filled, {"base": "baseline", "min_count": 2}, "ana")
    assert filled.request_cancel(job_id).status == "cancelled"
    assert run_worker(settings, once=True, log=lambda _: None) == 0
    assert filled.get_job(job_id).status == "cancelled"
    assert filled.list_models() == [] and leftover_folders(settings, job_id) == []


def test_cancel_of_a_running_job_stops_it_and_leaves_no_model(filled, settings, tiny_bert_dir):
    job_id = jobs.submit_training(filled, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 400}), "ana")
    worker = threading.Thread(target=run_worker, args=(settings,), kwargs={"once": True, "log": print})
    worker.start()
    try:
        wait_for(lambda: filled.get_job(job_id).step > 0, what="training steps")
        filled.request_cancel(job_id)
    finally:
        worker.join(timeout=120)
    job = filled.get_job(job_id)
    assert job.status == "cancelled"
    assert job.message.startswith("cancelled at step ") and "nothing was saved" in job.message
    assert job.step < job.total
    assert filled.list_models() == [] and leftover_folders(settings, job_id) == []


@pytest.mark.slow
def test_a_killed_worker_fails_its_job_once_stale_and_the_next_job_runs(filled, settings, tram_home, tiny_bert_dir,
                                                                          monkeypatch):
    monkeypatch.setenv("TRAM_STALE_AFTER_S", "3")
    before = label_snapshot(filled)
    long_job = jobs.submit_training(filled, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 400}), "ana")
    next_job = jobs.submit_training(filled, {"base": "baseline", "min_count": 2}, "ben")
    worker = cli(["worker"], tram_home, env={"TRAM_STALE_AFTER_S": "3"}, wait=False)
    try:
        wait_for(lambda: filled.get_job(long_job).step > 0, what="training steps")
        assert jobs.worker_state(filled).alive
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        killed_at = time.monotonic()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert filled.get_job(long_job).status == "running"  # nobody knows yet

    def failed_as_stale() -> bool:
        jobs.worker_state(filled)  # what the status bar polls: it also fails jobs whose heartbeat is stale
        return filled.get_job(long_job).status == "failed"

    wait_for(failed_as_stale, timeout=30, poll=0.2, what="the stale job to fail")
    detected_after = time.monotonic() - killed_at
    job = filled.get_job(long_job)
    assert "worker stopped responding" in job.message and "labels and saved models are intact" in job.message
    print(f"stale detection: job failed {detected_after:.1f} s after SIGKILL (threshold 3 s)")
    assert label_snapshot(filled) == before
    assert not jobs.worker_state(filled).alive

    assert run_worker(settings, once=True, log=print) == 1
    assert filled.get_job(next_job).status == "done"
    assert filled.get_model(filled.get_job(next_job).model_id).kind == "baseline"


def test_out_of_memory_fails_the_job_with_a_hint_not_a_traceback(filled, settings, monkeypatch):
    import torch

    from tram_core import training

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(training, "train_model", out_of_memory)
    job_id = jobs.submit_training(filled, {"base": "embedded", "batch_size": 64, "max_length": 256}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    job = filled.get_job(job_id)
    assert job.status == "failed"
    assert job.message.startswith("out of memory on ")
    assert "smaller batch size (now 64)" in job.message and "shorter max length (now 256)" in job.message
    assert "Traceback" not in job.message


def test_an_unexpected_error_is_one_line_with_the_traceback_in_a_log(filled, settings, monkeypatch):
    from tram_core import training

    def broken(*args, **kwargs):
        raise ValueError("shapes (3,) and (4,)\nnot aligned")

    monkeypatch.setattr(training, "train_model", broken)
    job_id = jobs.submit_training(filled, {"base": "baseline"}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    job = filled.get_job(job_id)
    log = Path(settings.home) / "logs" / f"job-{job_id}.log"
    assert job.status == "failed" and "\n" not in job.message
    assert job.message.startswith("ValueError: shapes (3,) and (4,) not aligned") and str(log) in job.message
    assert "Traceback" in log.read_text() and "broken" in log.read_text()


def test_nothing_to_train_on_fails_with_a_clear_message(store, settings):
    empty = jobs.submit_training(store, {"base": "baseline"}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    assert store.get_job(empty).status == "failed"
    assert store.get_job(empty).message.startswith("Nothing to train on: no labelled sentences yet")

    fill_store(store, reports=1)
    one_report = jobs.submit_training(store, {"base": "baseline"}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    assert store.get_job(one_report).status == "failed"
    assert "at least 2 reports" in store.get_job(one_report).message


def test_unknown_training_options_are_refused_when_queued(store):
    with pytest.raises(jobs.JobError, match="Unknown training option.*epochz"):
        jobs.submit_training(store, {"base": "baseline", "epochz": 3}, "ana")
    assert store.list_jobs() == []


def test_the_heartbeat_thread_beats_while_the_job_is_busy(store):
    job_id = store.create_job("train", {}, "ana")
    start = store.claim_next_job("w", "cpu").heartbeat_at
    beats = set()
    with jobs.Heartbeat(store, None, job_id, interval_s=0.1):
        for _ in range(10):  # a long step: the job itself writes nothing
            time.sleep(0.1)
            beats.add(store.get_job(job_id).heartbeat_at)
    assert len(beats - {start}) >= 3


def test_worker_state_describes_the_running_job(store):
    job_id = store.create_job("train", {"options": {"base": "baseline"}}, "ana")
    store.register_worker(jobs.worker_name(), os.getpid(), jobs.socket.gethostname(), "cpu")
    assert jobs.worker_state(store).text == "idle · 1 job queued"
    store.claim_next_job(jobs.worker_name(), "cpu")
    store.update_job_progress(job_id, phase="training", step=42, total=100, epoch=2, metrics={"epochs": 6})
    state = jobs.worker_state(store)
    assert state.alive and state.job.id == job_id
    assert state.text == f"training run {job_id} at 42% (epoch 2/6)"
    store.unregister_worker(jobs.worker_name())
    assert not jobs.worker_state(store).alive


@pytest.mark.slow
def test_ensure_worker_running_starts_one_detached_worker(settings, store):
    assert jobs.ensure_worker_running(settings) is True
    try:
        workers = wait_for(lambda: jobs.live_workers(store), timeout=60, what="the spawned worker")
        assert jobs.ensure_worker_running(settings) is False  # alive: not started twice
        assert os.getpgid(workers[0].pid) == workers[0].pid  # its own session: it outlives the page
        assert (Path(settings.home) / "logs" / "worker.log").exists()
    finally:
        for worker in store.list_workers():
            os.kill(worker.pid, signal.SIGTERM)
    wait_for(lambda: not store.list_workers(), timeout=30, what="the worker to leave the registry on SIGTERM")


def test_quick_model_is_trained_on_all_labels_promoted_and_suggests(filled, settings, store, monkeypatch):
    monkeypatch.setenv("TRAM_QUICK_MODEL_EVERY", "5")
    assert jobs.should_retrain_quick_model(filled)
    model_id = jobs.retrain_quick_model(filled, settings)
    model = filled.get_model(model_id)
    assert model.promoted and model.kind == "baseline" and model.options["quick"]
    assert model.options["examples"] == 64 and model.metrics["at_tuned"]["micro_f1"] >= 0
    unlabelled = [s.id for s in filled.sentences(status="unlabelled")]
    suggested = filled.suggestions_for(unlabelled)
    assert any(suggested[sid] for sid in unlabelled)
    assert not jobs.should_retrain_quick_model(filled)

    labelled = filled.sentences(status="labelled")
    every = max(5, len(labelled) // 10)  # TRAM_QUICK_MODEL_EVERY, or a tenth of the labelled sentences
    for sentence in labelled[: every - 1]:
        filled.set_labels(sentence.id, [], "ana")
    assert not jobs.should_retrain_quick_model(filled)
    filled.set_labels(labelled[every].id, [], "ana")
    assert jobs.should_retrain_quick_model(filled)
    newer = jobs.retrain_quick_model(filled, settings)
    assert filled.promoted_model().id == newer
    with pytest.raises(Exception):
        filled.get_model(model_id)  # the previous quick model is replaced
    assert not Path(model.path).exists()


def test_quick_model_leaves_a_promoted_trained_model_alone(filled, settings):
    other = filled.add_model("run 9", "transformer", "/nowhere", "embedded", ["T1105"], {}, {}, {}, None)
    filled.promote_model(other)
    quick = jobs.retrain_quick_model(filled, settings)
    assert filled.promoted_model().id == other and not filled.get_model(quick).promoted


def test_progress_events_become_job_rows_points_and_an_eta(store):
    from tram_core.training import ProgressEvent

    job_id = store.create_job("train", {}, "ana")
    store.claim_next_job("w", "cpu")
    reporter = jobs.JobReporter(store, job_id, min_interval_s=0.0)
    reporter(ProgressEvent("training", 5, 40, 1, loss=0.9, message="epoch 1/4"))
    first = store.get_job(job_id)
    assert (first.phase, first.step, first.total, first.epoch, first.loss) == ("training", 5, 40, 1, 0.9)
    assert first.metrics["epochs"] == 4 and first.eta_s is None  # no rate yet
    time.sleep(0.2)
    reporter(ProgressEvent("training", 10, 40, 1, loss=0.8, message="epoch 1/4"))
    eta = store.get_job(job_id).eta_s
    assert eta is not None and 1.2 * 0.99 <= eta < 60  # 5 steps took >= 0.2 s, so 30 more take >= 1.2 s
    reporter(ProgressEvent("training", 10, 40, 1, loss=0.8, metrics={"val_micro_f1": 0.5}, message="epoch 1/4 done"))
    reporter(ProgressEvent("evaluating", 0, 1, message="tuning thresholds"))
    last = store.get_job(job_id)
    assert last.phase == "evaluating" and last.eta_s is None  # a new stretch: the old ETA is not shown
    assert [(p.step, p.name, p.value) for p in store.job_points(job_id)] == [
        (5, "loss", 0.9), (10, "loss", 0.8), (10, "loss", 0.8), (10, "val_micro_f1", 0.5)]
    assert not reporter.should_cancel()
    store.request_cancel(job_id)
    time.sleep(jobs.CANCEL_CHECK_INTERVAL_S)
    assert reporter.should_cancel()


def test_no_quick_model_retrain_while_a_trained_model_is_promoted(filled, settings):
    assert jobs.should_retrain_quick_model(filled)
    other = filled.add_model("run 9", "transformer", "/nowhere", "embedded", ["T1105"], {}, {}, {}, None)
    filled.promote_model(other)
    assert not jobs.should_retrain_quick_model(filled)


def test_a_large_corpus_gets_one_quick_fit_on_the_split(filled, settings, monkeypatch):
    monkeypatch.setattr(jobs, "QUICK_MODEL_SINGLE_FIT_ABOVE", 10)
    model = filled.get_model(jobs.retrain_quick_model(filled, settings))
    assert model.options["split"]["test"] and model.metrics["at_tuned"]["micro_f1"] >= 0
    assert model.options["validation_fraction"] > 0 and model.promoted
