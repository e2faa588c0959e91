"""Job lanes: a prediction never waits behind a training run. A worker's short lane takes predictions on the CPU
while its main lane trains, in a real `python -m tram_core worker` process and in this process's threads."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import wait_for
from tests.engine_helpers import TINY_OPTIONS, cli, fill_store
from tram_core.jobs import queue
from tram_core.jobs.runner import run_job
from tram_core.jobs.short_lane import ShortLane, short_lane_enabled
from tram_core.store import JOB_DONE
from tram_core.store.jobs import SHORT_LANE_SUFFIX

WAIT_BOUND_S = 15.0  # a generous bound on how long a prediction may wait behind a run (a poll is 1 s)


def trained_baseline(store, settings) -> int:
    """A TF-IDF model trained here and promoted (a promoted trained model: no quick-model retrain to wait for)."""
    job_id = queue.submit_training(store, {"base": "baseline", "min_count": 2}, "tester")
    assert run_job(store, settings, store.claim_job(job_id, "setup:1", "cpu")) == JOB_DONE
    model_id = store.get_job(job_id).model_id
    store.promote_model(model_id)
    return model_id


def unlabelled_suggested(store, model_id: int) -> int:
    unlabelled = [s.id for s in store.sentences(status="unlabelled")]
    suggested = store.suggestions_for(unlabelled, model_id)
    return sum(1 for sid in unlabelled if suggested[sid])


@pytest.mark.slow
def test_a_prediction_queued_behind_a_long_run_starts_within_seconds(store, settings, tram_home, tiny_bert_dir):
    fill_store(store, unlabelled=5)  # 20 unlabelled sentences to suggest for
    model_id = trained_baseline(store, settings)
    long_run = queue.submit_training(store, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 400}), "ana")
    worker = cli(["worker"], tram_home, wait=False)
    try:
        wait_for(lambda: store.get_job(long_run).step > 0, timeout=180, what="the run's training steps")
        queued_at = time.monotonic()
        prediction = queue.submit_prediction(store, model_id, None, "ben")
        wait_for(lambda: store.get_job(prediction).status != "queued", timeout=60, poll=0.05,
                 what="the prediction to start")
        waited = time.monotonic() - queued_at
        done = wait_for(lambda: (job := store.get_job(prediction)).finished and job, timeout=60,
                        what="the prediction to finish")
        run = store.get_job(long_run)
        print(f"a prediction behind a running run waited {waited:.1f} s to start, "
              f"{(done.finished_at - done.started_at).total_seconds():.1f} s to run; the run is at step "
              f"{run.step}/{run.total}")
        assert done.status == "done", done.message
        assert run.status == "running"  # it ran beside the run, not after it
        assert waited < WAIT_BOUND_S
        assert done.worker.endswith(SHORT_LANE_SUFFIX) and done.device == "cpu" and done.host == run.host
        assert done.message == "suggestions stored for 20 sentences" and unlabelled_suggested(store, model_id) == 20
        lanes = {w.name: w.device for w in queue.live_workers(store)}
        assert lanes == {run.worker: "cpu", run.worker + SHORT_LANE_SUFFIX: "cpu (short jobs)"}

        store.request_cancel(long_run)
        wait_for(lambda: store.get_job(long_run).finished, timeout=60, what="the run to stop")
        assert store.get_job(long_run).status == "cancelled"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:  # never leave a worker behind, even when the test fails
            os.killpg(worker.pid, signal.SIGKILL)
            raise
    assert not store.list_workers()  # both lanes left the registry on SIGTERM


def test_the_short_lane_runs_a_prediction_while_the_cpu_trains(store, settings):
    fill_store(store)
    model_id = trained_baseline(store, settings)
    run = queue.submit_training(store, {"base": "baseline"}, "ana")
    main = queue.worker_name("box-a")
    assert store.claim_next_job(main, "cpu", host="box-a").id == run  # the main lane is busy with a run
    prediction = queue.submit_prediction(store, model_id, None, "ben")
    assert store.claim_next_job("box-a:99999", "cpu") is None  # another main lane on box-a's cpu would wait
    said = []
    lane = ShortLane(store, settings, "box-a", main, poll_s=0.1, say=said.append).start()
    try:
        assert {w.name: w.device for w in store.list_workers()} == {main + SHORT_LANE_SUFFIX: "cpu (short jobs)"}
        done = wait_for(lambda: (job := store.get_job(prediction)).finished and job, timeout=60,
                        what="the prediction in the short lane")
    finally:
        lane.stop()
    assert done.status == "done" and done.worker == main + SHORT_LANE_SUFFIX and lane.ran == 1
    assert store.get_job(run).status == "running"  # the run was never in the lane's way
    assert store.list_workers() == []  # the lane left the registry when it stopped


def test_the_short_lane_can_be_turned_off():
    assert short_lane_enabled({}) and short_lane_enabled({"TRAM_SHORT_LANE": "1"})
    assert not any(short_lane_enabled({"TRAM_SHORT_LANE": value}) for value in ("0", "false", "No", "off"))
