"""A running job's progress rows, loss and metric points, ETA and cancel checks, and its heartbeat thread."""

from __future__ import annotations

import time

from tests.conftest import wait_for
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


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _running_job(store) -> int:
    job_id = store.create_job("train", {}, "ana")
    store.claim_next_job("w", "cpu")
    return job_id


def test_progress_is_written_by_the_clock_at_most_and_at_least_every_two_seconds(store):
    from tram_core.ml.training_run import ProgressEvent

    clock = FakeClock()
    job_id = _running_job(store)
    reporter = progress.JobReporter(store, job_id, clock=clock)
    assert reporter.min_interval_s == progress.PROGRESS_INTERVAL_S == 2.0
    reporter(ProgressEvent("training", 1, 100, 1, loss=0.9))  # a new phase is written at once
    shown = []
    for step in range(2, 12):  # a fast GPU: a step every 0.5 s; the row moves every 2 s, not every step
        clock.advance(0.5)
        reporter(ProgressEvent("training", step, 100, 1, loss=0.9))
        shown.append(store.get_job(job_id).step)
    assert shown == [1, 1, 1, 5, 5, 5, 5, 9, 9, 9]

    clock.advance(0.5)
    reporter(ProgressEvent("training", 12, 100, 1, loss=0.8))  # then the steps slow down: nothing for a while
    assert store.get_job(job_id).step == 9 and not reporter.flush_due()  # 1.5 s after the last write: waits
    clock.advance(0.25)
    assert not reporter.flush_due() and store.get_job(job_id).step == 9
    clock.advance(0.25)
    assert reporter.flush_due()  # 2 s after the last write the waiting step is written, with no new event
    assert store.get_job(job_id).step == 12 and store.get_job(job_id).loss == 0.8
    clock.advance(5.0)
    assert not reporter.flush_due()  # nothing new: nothing written


def test_the_writer_thread_shows_a_step_the_loop_reported_between_writes(store):
    from tram_core.ml.training_run import ProgressEvent

    job_id = _running_job(store)
    with progress.JobReporter(store, job_id, min_interval_s=0.3) as reporter:
        reporter(ProgressEvent("training", 1, 50, 1))
        reporter(ProgressEvent("training", 2, 50, 1))  # within 0.3 s of the first write: waits
        assert store.get_job(job_id).step == 1
        wait_for(lambda: store.get_job(job_id).step == 2, timeout=5, what="the waiting step to be written")


def test_phases_only_move_forward_and_a_phase_without_steps_shows_none(store):
    from tram_core.ml.training_run import ProgressEvent

    clock = FakeClock()
    job_id = _running_job(store)
    reporter = progress.JobReporter(store, job_id, clock=clock)
    seen = []

    def emit(*args, **kwargs) -> None:
        clock.advance(0.1)
        reporter(ProgressEvent(*args, **kwargs))
        job = store.get_job(job_id)
        seen.append((job.phase, job.step, job.total))

    emit("preparing", 0, 1, message="choosing the label space")
    emit("tokenizing", 0, 1, message="tokenizing sentences")
    assert store.get_job(job_id).total == 0  # no 'step 0/1' while tokenizing
    emit("training", 5, 10, 1, loss=0.7, message="epoch 1/2")
    emit("evaluating", 5, 10, 1, message="validation after epoch 1")  # the epoch's validation is training
    emit("training", 5, 10, 1, loss=0.6, metrics={"val_micro_f1": 0.4}, message="epoch 1/2 done")
    clock.advance(2.0)
    emit("training", 10, 10, 2, loss=0.5, message="epoch 2/2")
    assert store.get_job(job_id).eta_s is None  # at the last step there is nothing left to wait for
    emit("evaluating", 0, 1, message="tuning thresholds")
    emit("training", 10, 10, 2, loss=0.5, metrics={"val_micro_f1": 0.5}, message="epoch 2/2 done")  # late: stays
    emit("saving", 1, 1, message="saved")
    phases = [phase for phase, _, _ in seen]
    assert phases == ["preparing", "tokenizing", "training", "training", "training", "training", "evaluating",
                      "evaluating", "saving"]
    assert seen[7] == ("evaluating", 0, 0)  # never back to 'training · step 10/10' once it evaluates
    job = store.get_job(job_id)
    assert [name for name, _ in job.metrics["phases"]] == ["preparing", "tokenizing", "training", "evaluating",
                                                           "saving"]
    assert job.message == "saved" and job.metrics["val_micro_f1"] == 0.5 and job.metrics["epochs"] == 2


def test_a_loop_that_reports_every_step_adds_a_loss_point_per_write_not_per_step(store):
    from tram_core.ml.training_run import ProgressEvent

    clock = FakeClock()
    job_id = _running_job(store)
    reporter = progress.JobReporter(store, job_id, clock=clock)
    for step in range(1, 101):  # 100 steps in 10 s
        clock.advance(0.1)
        reporter(ProgressEvent("training", step, 100, 1, loss=1.0 / step))
    losses = store.job_points(job_id, "loss")
    assert 5 <= len(losses) <= 7 and losses[-1].step == 100  # one every 2 s, and the last step's
    assert [p.step for p in losses] == sorted(p.step for p in losses)
