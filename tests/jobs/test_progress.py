"""A running job's progress rows, loss and metric points, ETA and cancel checks, and its heartbeat thread."""

from __future__ import annotations

import time

from tram_core.jobs import progress


def test_the_heartbeat_thread_beats_while_the_job_is_busy(store):
    job_id = store.create_job("train", {}, "ana")
    start = store.claim_next_job("w", "cpu").heartbeat_at
    beats = set()
    with progress.Heartbeat(store, None, job_id, interval_s=0.1):
        for _ in range(10):  # a long step: the job itself writes nothing
            time.sleep(0.1)
            beats.add(store.get_job(job_id).heartbeat_at)
    assert len(beats - {start}) >= 3


def test_progress_events_become_job_rows_points_and_an_eta(store):
    from tram_core.ml.training_run import ProgressEvent

    job_id = store.create_job("train", {}, "ana")
    store.claim_next_job("w", "cpu")
    reporter = progress.JobReporter(store, job_id, min_interval_s=0.0)
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
    time.sleep(progress.CANCEL_CHECK_INTERVAL_S)
    assert reporter.should_cancel()
