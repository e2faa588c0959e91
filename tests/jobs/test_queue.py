"""The job queue and worker: real `python -m tram_core worker` processes training a tiny BERT on a real SQLite store."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.engine_helpers import TINY_OPTIONS, cli, fill_store
from tram_core.jobs import queue
from tram_core.jobs.options import JobError
from tests.conftest import wait_for
from tram_core.jobs.worker import run_worker
from tram_core.ml.trained import load_trained
from tram_core.store import Store


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
    job_id = queue.submit_training(filled, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 6}), "ana")
    assert filled.get_job(job_id).status == "queued"
    assert queue.worker_state(filled).text == "no worker running · 1 job queued"

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
    assert queue.worker_state(filled).text == "no worker running"  # the --once worker left the registry


def test_cancel_of_a_queued_job_is_immediate_and_it_never_runs(filled, settings, tram_home):
    job_id = queue.submit_training(filled, {"base": "baseline", "min_count": 2}, "ana")
    assert filled.request_cancel(job_id).status == "cancelled"
    assert run_worker(settings, once=True, log=lambda _: None) == 0
    assert filled.get_job(job_id).status == "cancelled"
    assert filled.list_models() == [] and leftover_folders(settings, job_id) == []


def test_cancel_of_a_running_job_stops_it_and_leaves_no_model(filled, settings, tiny_bert_dir):
    job_id = queue.submit_training(filled, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 400}), "ana")
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
    long_job = queue.submit_training(filled, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 400}), "ana")
    next_job = queue.submit_training(filled, {"base": "baseline", "min_count": 2}, "ben")
    worker = cli(["worker"], tram_home, env={"TRAM_STALE_AFTER_S": "3"}, wait=False)
    try:
        wait_for(lambda: filled.get_job(long_job).step > 0, what="training steps")
        assert queue.worker_state(filled).alive
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        killed_at = time.monotonic()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert filled.get_job(long_job).status == "running"  # nobody knows yet

    def failed_as_stale() -> bool:
        queue.worker_state(filled)  # what the status bar polls: it also fails jobs whose heartbeat is stale
        return filled.get_job(long_job).status == "failed"

    wait_for(failed_as_stale, timeout=30, poll=0.2, what="the stale job to fail")
    detected_after = time.monotonic() - killed_at
    job = filled.get_job(long_job)
    assert "worker stopped responding" in job.message and "labels and saved models are intact" in job.message
    print(f"stale detection: job failed {detected_after:.1f} s after SIGKILL (threshold 3 s)")
    assert label_snapshot(filled) == before
    assert not queue.worker_state(filled).alive

    assert run_worker(settings, once=True, log=print) == 1
    assert filled.get_job(next_job).status == "done"
    assert filled.get_model(filled.get_job(next_job).model_id).kind == "baseline"


def test_unknown_training_options_are_refused_when_queued(store):
    with pytest.raises(JobError, match="Unknown training option.*epochz"):
        queue.submit_training(store, {"base": "baseline", "epochz": 3}, "ana")
    assert store.list_jobs() == []


def test_worker_state_describes_the_running_job(store):
    job_id = store.create_job("train", {"options": {"base": "baseline"}}, "ana")
    store.register_worker(queue.worker_name(), os.getpid(), queue.worker_host(), "cpu")
    assert queue.worker_state(store).text == "idle · 1 job queued"
    store.claim_next_job(queue.worker_name(), "cpu")
    store.update_job_progress(job_id, phase="training", step=42, total=100, epoch=2, metrics={"epochs": 6})
    state = queue.worker_state(store)
    assert state.alive and state.job.id == job_id
    assert state.text == f"training run {job_id} at 42% (epoch 2/6)"
    store.unregister_worker(queue.worker_name())
    assert not queue.worker_state(store).alive


@pytest.mark.slow
def test_ensure_worker_running_starts_one_detached_worker(settings, store):
    assert queue.ensure_worker_running(settings) is True
    try:
        workers = wait_for(lambda: queue.live_workers(store), timeout=60, what="the spawned worker")
        assert queue.ensure_worker_running(settings) is False  # alive: not started twice
        assert os.getpgid(workers[0].pid) == workers[0].pid  # its own session: it outlives the page
        assert (Path(settings.home) / "logs" / "worker.log").exists()
    finally:
        for worker in store.list_workers():
            os.kill(worker.pid, signal.SIGTERM)
    wait_for(lambda: not store.list_workers(), timeout=30, what="the worker to leave the registry on SIGTERM")


def test_worker_state_counts_the_jobs_other_machines_run(store):
    first = store.create_job("train", {"options": {"base": "baseline"}}, "ana")
    second = store.create_job("predict", {"model_id": 1}, "ana")
    store.register_worker("box-a:1", 1, "box-a", "cpu")
    store.register_worker("box-b:2", 2, "box-b", "cpu")
    assert store.claim_next_job("box-a:1", "cpu").id == second  # the prediction first: it takes seconds
    assert store.claim_next_job("box-b:2", "cpu").id == first  # same device name, another machine: runs too
    state = queue.worker_state(store)
    assert state.alive and {w.host for w in state.workers} == {"box-a", "box-b"}
    assert state.text == f"training run {first}: starting · 1 more running"  # the run heads the line
