"""The worker process (``python -m tram_core worker``): registers itself, tidies the models folder once at start,
starts its short lane (short_lane: predictions on the CPU beside a run), then loops: fail jobs whose worker went
stale, claim the next queued job (short ones first) and run it (runner.run_claimed_job); when idle and without a
short lane, retrain the quick model (quick_model).

It lives apart from ``queue`` because its start-up repair (model_folders) builds on ``queue``: keeping the loop here
keeps ``queue`` free of an import back from ``model_folders``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from typing import Callable

from tram_core.jobs import queue
from tram_core.jobs.model_folders import reconcile_model_folders
from tram_core.jobs.progress import Heartbeat
from tram_core.jobs.quick_model import (
    quick_model, quick_model_in_pickle_format, record_quick_model_failure, retrain_quick_model,
    should_retrain_quick_model,
)
from tram_core.jobs.runner import run_claimed_job
from tram_core.jobs.short_lane import start_short_lane
from tram_core.ml.device import resolve_device
from tram_core.store import Job, Store, unreachable_reason
from tram_core.text_format import error_line

# Held by the one worker that retrains the quick model (store.take_lease).
QUICK_MODEL_LEASE = "quick-model"


# Set by SIGTERM: the loop stops at its next turn even when the SystemExit the handler raises is swallowed (Python
# ignores an exception raised while a weakref callback or a __del__ runs, where a signal may land).
_STOP_SIGNAL: list[int] = []


def _raise_system_exit(signum, _frame) -> None:  # pragma: no cover - exercised by a real SIGTERM
    if _STOP_SIGNAL:
        return  # already stopping: a second SIGTERM must not cut the clean-up short
    _STOP_SIGNAL.append(signum)
    raise SystemExit(128 + signum)


def _stop_if_signalled() -> None:
    if _STOP_SIGNAL:
        raise SystemExit(128 + _STOP_SIGNAL[0])


def run_worker(settings, once: bool = False, poll_s: float = 1.0, device: str | None = None,
               log: Callable[[str], None] | None = None) -> int:
    """Take queued jobs and run them until stopped; with ``once``, run at most one job and return.

    Returns the number of jobs run (by both lanes). Unless ``once`` it starts a short lane (``TRAM_SHORT_LANE=0``
    turns it off) that runs predictions on the CPU while this lane trains and, when idle, retrains the quick TF-IDF
    model as ``should_retrain_quick_model`` says; without a short lane this lane does that when idle.
    """
    say = log or (lambda text: print(text, flush=True))
    device = resolve_device(device or getattr(settings, "device", "auto"))
    settings = dataclasses.replace(settings, device=device)
    store = Store.from_settings(settings)
    host = queue.worker_host(settings)
    name = _start(store, settings, host, device, say)
    lane = None if once else start_short_lane(store, settings, host, name, poll_s, say, when_idle=_when_idle)
    ran = 0
    try:
        while True:
            _stop_if_signalled()
            job = _claim_next_job(store, name, host, device, poll_s, say)
            if job is None:
                if once:
                    break
                if lane is None:
                    _when_idle(store, settings, name, say)
                time.sleep(poll_s)
                continue
            say(f"job {job.id}: {job.kind} started")
            status = run_claimed_job(store, settings, job, name)
            ran += 1
            say(f"job {job.id}: {status} - {store.get_job(job.id).message}")
            if once:
                break
    finally:
        if lane is not None:
            lane.stop()
            ran += lane.ran
        store.unregister_worker(name)
    return ran


def _start(store: Store, settings, host: str, device: str, say: Callable[[str], None]) -> str:
    """Register this worker, stop on SIGTERM as on Ctrl-C, tidy the models folder; returns the worker's name."""
    name = queue.worker_name(host)
    store.register_worker(name, os.getpid(), host, device)
    if threading.current_thread() is threading.main_thread():
        _STOP_SIGNAL.clear()
        signal.signal(signal.SIGTERM, _raise_system_exit)
    try:
        reconcile_model_folders(store, settings.models_dir, log=say, worker=name)
    except Exception as exc:  # noqa: BLE001 - tidying the models folder must never keep the worker from starting
        say(f"model folders not reconciled: {error_line(exc)}")
    say(f"worker {name} on {device}: waiting for jobs in {store.display_url}; models in {settings.models_dir}")
    return name


def _claim_next_job(store: Store, name: str, host: str, device: str, poll_s: float,
                    say: Callable[[str], None]) -> Job | None:
    """Fail stale jobs, beat, and claim the next queued job for this host's ``device`` (None when the queue is empty
    or the device is busy); while the database cannot be read, wait and try again."""
    while True:
        try:
            for job_id in store.mark_stale_jobs(queue.stale_after_s()):
                say(f"job {job_id}: failed, its worker stopped responding")
            store.worker_heartbeat(name)
            return store.claim_next_job(name, device, host=host)
        except Exception as exc:  # noqa: BLE001 - a database that is busy or away for a moment: try again
            say(f"cannot read the queue in {store.display_url} ({unreachable_reason(exc, store.url)}); "
                f"retrying in {max(poll_s, 5.0):.0f} s")
            time.sleep(max(poll_s, 5.0))


def _when_idle(store: Store, settings, name: str, say: Callable[[str], None]) -> None:
    """Retrain the quick model when ``should_retrain_quick_model`` says so, holding the ``QUICK_MODEL_LEASE`` so
    that of several idle workers (on any machine) one retrains it; a failure is noted, never fatal."""
    if not should_retrain_quick_model(store):
        return
    if not store.take_lease(QUICK_MODEL_LEASE, name, queue.stale_after_s()):
        return  # another worker is retraining it
    try:
        if not should_retrain_quick_model(store):  # the worker that held the lease before may have just done it
            return
        if quick_model_in_pickle_format(quick_model(store)):
            say("the quick model was saved in the old pickle format, which is never loaded: retraining it")
        with Heartbeat(store, name, None):
            model_id = retrain_quick_model(store, settings)
        say(f"quick model retrained: model {model_id}")
    except Exception as exc:  # noqa: BLE001 - the quick model is a nicety, never fatal
        say(f"quick model not retrained: {error_line(exc)}")
        record_quick_model_failure(store)
    finally:
        store.release_lease(QUICK_MODEL_LEASE, name)
