"""The job queue (store/jobs.py): claims, progress, cancel, stale jobs and live curves on a real SQLite file."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from tram_core.store import JobRow, NotFoundError, Store, StoreError, utcnow


def test_short_jobs_are_claimed_first_then_the_oldest_one_at_a_time_per_device(store):
    first = store.create_job("train", {"options": {"base": "baseline"}}, "ana")
    second = store.create_job("predict", {"model_id": 1}, "ben")
    assert store.get_job(first).status == "queued"

    claimed = store.claim_next_job("w1", "cpu")
    assert claimed.id == second  # a prediction never waits behind an older training run
    assert claimed.status == "running" and claimed.worker == "w1"
    assert claimed.heartbeat_at is not None and claimed.started_at is not None
    assert store.claim_next_job("w2", "cpu") is None  # the CPU is busy with the prediction
    other = store.claim_next_job("w3", "cuda:0")
    assert other.id == first and other.device == "cuda:0"
    assert store.claim_next_job("w3", "cuda:1") is None


def test_a_short_lane_runs_predictions_beside_a_run_on_the_same_machine(store):
    from tram_core.store.jobs import SHORT_LANE_SUFFIX

    run, later_run = (store.create_job("train", {"options": {"base": "embedded"}}, "ana") for _ in range(2))
    assert store.claim_next_job("box-a:10", "cuda:0").id == run
    predictions = [store.create_job("predict", {"model_id": 1}, "ben") for _ in range(3)]
    lane = "box-a:10" + SHORT_LANE_SUFFIX
    beside = store.claim_next_job(lane, "cpu")
    assert (beside.id, beside.host, beside.device, beside.worker) == (predictions[0], "box-a", "cpu", lane)
    assert store.claim_next_job("box-a:11" + SHORT_LANE_SUFFIX, "cpu") is None  # one short-lane job per machine
    assert store.claim_next_job("box-b:10" + SHORT_LANE_SUFFIX, "cpu").id == predictions[1]  # another machine's
    assert store.claim_next_job("box-a:12", "cpu").id == predictions[2]  # box-a's cpu main lane takes one too
    for job_id in predictions:
        store.finish_job(job_id, "done", "ok")
    assert store.claim_next_job(lane, "cpu") is None  # a short lane never takes a training run
    assert store.get_job(later_run).status == "queued"
    assert store.claim_next_job("box-a:12", "cpu").id == later_run  # a run on box-a's cpu ...
    extra = store.create_job("predict", {"model_id": 1}, "ben")
    assert store.claim_next_job(lane, "cpu").id == extra  # ... and a prediction beside it on the same cpu


def test_one_job_at_a_time_per_host_and_device_and_hosts_run_side_by_side(store):
    jobs = [store.create_job("predict", {"model_id": i}, "ana") for i in range(4)]
    first = store.claim_next_job("box-a:10", "cpu")
    assert (first.id, first.host, first.device) == (jobs[0], "box-a", "cpu")
    assert store.claim_next_job("box-a:11", "cpu") is None  # a second worker on box-a's cpu waits its turn
    second = store.claim_next_job("box-b:10", "cpu")  # box-b's cpu is another device
    assert (second.id, second.host) == (jobs[1], "box-b")
    third = store.claim_next_job("w", "cuda:0", host="box-a")  # the host given outright, not read from the name
    assert (third.id, third.host) == (jobs[2], "box-a")
    assert store.claim_next_job("box-a:12", "cuda:0") is None
    store.finish_job(first.id, "done", "ok")
    assert store.claim_next_job("box-a:11", "cpu").id == jobs[3]  # box-a's cpu is free again


def test_a_foreground_run_counts_for_its_host(store):
    foreground = store.create_job("train", {}, "ana")
    queued = store.create_job("train", {}, "ana")
    assert store.claim_job(foreground, "box-a:77 (foreground)", "cpu").host == "box-a"
    assert store.claim_next_job("box-a:10", "cpu") is None
    assert store.claim_next_job("box-b:10", "cpu").id == queued


def test_two_workers_never_claim_the_same_job(settings):
    setup = Store.from_settings(settings)
    ids = [setup.create_job("train", {"n": i}, "ana") for i in range(24)]
    claims: dict[str, list[int]] = {"a": [], "b": [], "c": []}

    def work(name: str) -> None:
        store = Store(settings.database_url)  # its own engine, as a second process would have
        while True:
            job = store.claim_next_job(name, f"dev-{name}")
            if job is None:
                if not store.list_jobs(status="queued"):
                    return
                continue
            claims[name].append(job.id)
            store.finish_job(job.id, "done", "ok")

    threads = [threading.Thread(target=work, args=(name,)) for name in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    claimed = [i for got in claims.values() for i in got]
    assert sorted(claimed) == ids  # every job exactly once
    assert all(setup.get_job(i).status == "done" for i in ids)


def test_progress_updates_given_fields_and_heartbeat_and_stops_after_finish(store):
    job_id = store.create_job("train", {}, "ana")
    job = store.claim_next_job("w", "cpu")
    with store.session() as s:  # make the claim look older, so a fresh heartbeat is visible
        s.execute(update(JobRow).where(JobRow.id == job_id).values(heartbeat_at=utcnow() - timedelta(seconds=10)))
    assert store.update_job_progress(job_id, phase="training", step=3, total=12, epoch=1, loss=0.7, eta_s=9.0)
    after = store.get_job(job_id)
    assert (after.phase, after.step, after.total, after.epoch, after.loss, after.eta_s) == \
        ("training", 3, 12, 1, 0.7, 9.0)
    assert after.heartbeat_at > job.heartbeat_at
    assert after.fraction == pytest.approx(0.25)
    assert store.update_job_progress(job_id, step=6, message="epoch 1/2")
    after = store.get_job(job_id)
    assert (after.phase, after.step, after.loss, after.message) == ("training", 6, 0.7, "epoch 1/2")

    assert store.finish_job(job_id, "done", "trained", model_id=None)
    assert not store.update_job_progress(job_id, step=7)  # the worker learns the job is over
    assert not store.heartbeat(job_id)
    assert not store.finish_job(job_id, "failed", "late")  # a closed job stays as it was closed
    assert store.get_job(job_id).status == "done" and store.get_job(job_id).fraction == 1.0


def test_cancel_is_immediate_for_queued_and_a_flag_for_running_jobs(store):
    running = store.create_job("train", {}, "ana")
    queued = store.create_job("train", {}, "ana")
    store.claim_next_job("w", "cpu")

    assert store.request_cancel(queued).status == "cancelled"
    assert store.get_job(queued).finished_at is not None
    flagged = store.request_cancel(running)
    assert flagged.status == "running" and flagged.cancel_requested
    assert store.is_cancel_requested(running)
    assert store.claim_next_job("w2", "gpu") is None  # a cancelled job is never claimed
    with pytest.raises(NotFoundError):
        store.request_cancel(999)


def test_stale_running_jobs_fail_with_a_reassuring_message(store):
    stale = store.create_job("train", {}, "ana")
    fresh = store.create_job("train", {}, "ana")
    store.claim_next_job("w1", "cpu")
    store.claim_next_job("w2", "cuda")
    with store.session() as s:
        s.execute(update(JobRow).where(JobRow.id == stale).values(heartbeat_at=utcnow() - timedelta(seconds=95)))

    assert store.mark_stale_jobs(60) == [stale]
    job = store.get_job(stale)
    assert job.status == "failed"
    assert "no heartbeat for 95 s" in job.message and "labels and saved models are intact" in job.message
    assert store.get_job(fresh).status == "running"
    assert store.mark_stale_jobs(60) == []


def test_job_points_keep_their_order_and_can_be_filtered(store):
    job_id = store.create_job("train", {}, "ana")
    store.add_job_points(job_id, [(5, 1, "loss", 0.9), (10, 1, "loss", 0.7), (10, 1, "val_micro_f1", 0.4)])
    store.add_job_points(job_id, [(15, 2, "loss", 0.5)])
    assert [p.value for p in store.job_points(job_id, "loss")] == [0.9, 0.7, 0.5]
    assert [p.name for p in store.job_points(job_id)] == ["loss", "loss", "val_micro_f1", "loss"]


def test_unknown_job_kind_is_refused(store):
    with pytest.raises(StoreError, match="Unknown job kind 'dance'"):
        store.create_job("dance", {}, "ana")
