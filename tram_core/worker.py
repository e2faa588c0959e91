"""The worker process (``python -m tram_core worker``): registers itself, tidies the models folder once at start,
then claims queued jobs one at a time and runs each (jobs.run_claimed_job); when idle, retrains the quick model.

It lives apart from ``jobs`` because its start-up repair (model_folders) builds on ``jobs``: keeping the loop here
keeps ``jobs`` free of an import back from ``model_folders``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import threading
import time
from typing import Callable

from tram_core import jobs
from tram_core.device import resolve_device
from tram_core.model_folders import reconcile_model_folders
from tram_core.store import Store
from tram_core.text_format import error_line


def _raise_system_exit(signum, _frame) -> None:  # pragma: no cover - exercised by a real SIGTERM
    raise SystemExit(128 + signum)


def run_worker(settings, once: bool = False, poll_s: float = 1.0, device: str | None = None,
               log: Callable[[str], None] | None = None) -> int:
    """Take queued jobs and run them until stopped; with ``once``, run at most one job and return.

    Returns the number of jobs run. When idle (and not ``once``) it retrains the quick TF-IDF model as
    ``should_retrain_quick_model`` says.
    """
    say = log or (lambda text: print(text, flush=True))
    device = resolve_device(device or getattr(settings, "device", "auto"))
    settings = dataclasses.replace(settings, device=device)
    store = Store.from_settings(settings)
    name = jobs.worker_name()
    store.register_worker(name, os.getpid(), socket.gethostname(), device)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_system_exit)
    try:
        reconcile_model_folders(store, settings.models_dir, log=say, worker=name)
    except Exception as exc:  # noqa: BLE001 - tidying the models folder must never keep the worker from starting
        say(f"model folders not reconciled: {error_line(exc)}")
    say(f"worker {name} on {device}: waiting for jobs in {store.display_url}")
    ran = 0
    try:
        while True:
            try:
                for job_id in store.mark_stale_jobs(jobs.stale_after_s()):
                    say(f"job {job_id}: failed, its worker stopped responding")
                store.worker_heartbeat(name)
                job = store.claim_next_job(name, device)
            except Exception as exc:  # noqa: BLE001 - a database that is busy or away for a moment: try again
                say(f"cannot read the queue ({error_line(exc)}); retrying in {max(poll_s, 5.0):.0f} s")
                time.sleep(max(poll_s, 5.0))
                continue
            if job is None:
                if once:
                    break
                if jobs.should_retrain_quick_model(store):
                    if jobs.quick_model_in_pickle_format(jobs.quick_model(store)):
                        say("the quick model was saved in the old pickle format, which is never loaded: "
                            "retraining it")
                    try:
                        with jobs.Heartbeat(store, name, None):
                            model_id = jobs.retrain_quick_model(store, settings)
                        say(f"quick model retrained: model {model_id}")
                    except Exception as exc:  # noqa: BLE001 - the quick model is a nicety, never fatal
                        say(f"quick model not retrained: {error_line(exc)}")
                        store.set_setting("quick_model_failed_at_event", str(store.label_event_watermark()))
                time.sleep(poll_s)
                continue
            say(f"job {job.id}: {job.kind} started")
            status = jobs.run_claimed_job(store, settings, job, name)
            ran += 1
            say(f"job {job.id}: {status} - {store.get_job(job.id).message}")
            if once:
                break
    finally:
        store.unregister_worker(name)
    return ran
