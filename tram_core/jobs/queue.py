"""The job queue: training and prediction run outside the page and report progress to the store.

A page (or the CLI) queues a job with ``submit_training`` / ``submit_prediction`` and makes sure a worker runs
with ``ensure_worker_running``; ``worker_state`` says what the status bar shows. The worker process
(``python -m tram_core worker``: ``worker.run_worker``) claims queued jobs one at a time per device and runs each
with ``runner.run_claimed_job``: ``training_jobs`` and ``prediction_jobs`` run the two kinds of job,
``progress`` writes phase, step/total, epoch, loss, validation scores, ETA and a heartbeat (at least every
``HEARTBEAT_INTERVAL_S`` seconds, from a thread, even during a long step) and stops between steps when a cancel
is requested, and ``quick_model`` retrains the quick model when the worker is idle. A worker that dies leaves a
job whose heartbeat goes stale; ``mark_stale_jobs`` (run by every worker and by ``worker_state``) fails it.
Labels and saved models are never touched by a failing job.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tram_core.jobs.options import JobError, options_dict
from tram_core.jobs.runner import logs_dir
from tram_core.store import JOB_RUNNING, Job, Store, WorkerInfo, utcnow
from tram_core.text_format import duration_text

DEFAULT_STALE_AFTER_S = 30.0
SPAWN_GRACE_S = 20.0


@dataclass(frozen=True)
class WorkerState:
    """What the status bar shows: is a worker alive, which job runs, and one line of text about it."""

    alive: bool
    job: Job | None
    text: str
    queued: int = 0
    workers: tuple[WorkerInfo, ...] = ()


def stale_after_s() -> float:
    """Seconds without a heartbeat after which a running job counts as dead (``TRAM_STALE_AFTER_S``, default 30)."""
    try:
        return max(1.0, float(os.environ.get("TRAM_STALE_AFTER_S", DEFAULT_STALE_AFTER_S)))
    except ValueError:
        return DEFAULT_STALE_AFTER_S


# --------------------------------------------------------------------------------------------------- submitting


def submit_training(store: Store, options: Any, user: str) -> int:
    """Queue a training job with ``options`` (TrainOptions or a dict of its fields); returns the job id.

    Test reports that are not in the store are refused here, not later in the worker.
    """
    values = options_dict(options)
    if values.get("test_reports") is not None:
        if not values["test_reports"]:
            raise JobError("The list of test reports is empty: name at least one report id, or leave it out")
        known = {r.id for r in store.list_reports()}
        missing = [r for r in values["test_reports"] if r not in known]
        if missing:
            raise JobError(f"Test report(s) {', '.join(map(str, missing))} do not exist; see the Reports page "
                           "or 'python -m tram_core reports' for report ids")
    return store.create_job("train", {"options": values}, user)


def submit_prediction(store: Store, model_id: int, report_id: int | None, user: str) -> int:
    """Queue a prediction job: suggestions from ``model_id`` for one report, or every unlabelled sentence."""
    model = store.get_model(model_id)
    if model.kind == "imported":
        raise JobError(f"Model {model.id} ('{model.name}') only holds imported suggestions and cannot predict")
    if report_id is not None:
        store.get_report(report_id)
    return store.create_job("predict", {"model_id": model.id, "report_id": report_id}, user)


def promote_and_predict(store: Store, model_id: int, user: str) -> int:
    """Promote ``model_id`` and queue a prediction job that refreshes suggestions for all unlabelled sentences."""
    store.promote_model(model_id)
    return submit_prediction(store, model_id, None, user)


# --------------------------------------------------------------------------------------------------- workers


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def process_gone(host: str, pid: int) -> bool:
    """True when ``pid`` ran on this host and no longer exists; a process on another host cannot be checked."""
    return host == socket.gethostname() and not _pid_alive(pid)


def job_worker_gone(job: Job) -> bool:
    """True when the worker that claimed ``job`` ('host:pid', maybe with ' (foreground)') ran here and has exited."""
    found = re.match(r"^(.*):(\d+)(?: \(foreground\))?$", job.worker or "")
    return bool(found) and process_gone(found.group(1), int(found.group(2)))


def live_workers(store: Store) -> list[WorkerInfo]:
    """Workers whose heartbeat is fresh (and, on this host, whose process exists)."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s())
    return [info for info in store.list_workers()
            if info.heartbeat_at >= cutoff and not process_gone(info.host, info.pid)]


def ensure_worker_running(settings) -> bool:
    """Start a detached worker process when no live worker exists; True when one was started."""
    store = Store.from_settings(settings)
    if live_workers(store):
        return False
    spawned = store.get_setting("worker_spawned_at")
    if spawned:
        try:
            if utcnow() - datetime.fromisoformat(spawned) < timedelta(seconds=SPAWN_GRACE_S):
                return False
        except ValueError:
            pass
    store.set_setting("worker_spawned_at", utcnow().isoformat())
    spawn_worker(settings)
    return True


def spawn_worker(settings) -> subprocess.Popen:
    """``python -m tram_core worker`` in its own session, output to TRAM_HOME/logs/worker.log."""
    package_root = str(Path(__file__).resolve().parents[2])  # the folder that holds tram_core/ (we are tram_core/jobs/)
    env = dict(os.environ)
    env["TRAM_HOME"] = str(settings.home)
    env["TRAM_DATABASE_URL"] = settings.database_url
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log = open(logs_dir(settings) / "worker.log", "ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "tram_core", "worker"], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=package_root,
                                start_new_session=True)
    finally:
        log.close()


def describe_job(job: Job) -> str:
    """One line about a job: 'training run 3 at 42% (epoch 2/6)', 'predicting with model 4 at 10%', 'queued'."""
    if job.kind == "train":
        what = f"training run {job.id}"
    else:
        what = f"predicting with model {job.params.get('model_id')}"
    if job.status != JOB_RUNNING:
        return f"{what}: {job.status}"
    text = f"{what} at {int(job.fraction * 100)}%"
    epochs = job.metrics.get("epochs") if isinstance(job.metrics, dict) else None
    details = []
    if job.kind == "train" and job.epoch:
        details.append(f"epoch {job.epoch}/{epochs}" if epochs else f"epoch {job.epoch}")
    elif job.phase and job.phase not in ("train", "training"):
        details.append(job.phase)
    if job.eta_s is not None and job.eta_s >= 1:
        details.append(f"about {duration_text(job.eta_s)} left")
    if details:
        text += f" ({', '.join(details)})"
    return text


def worker_state(store: Store) -> WorkerState:
    """Is a worker alive, what is it doing: for the status bar. Also fails jobs whose worker died."""
    store.mark_stale_jobs(stale_after_s())
    workers = tuple(live_workers(store))
    running = store.list_jobs(limit=1, status=JOB_RUNNING)
    queued = len(store.list_jobs(limit=1000, status="queued"))
    job = running[0] if running else None
    if job is not None:
        text = describe_job(job)
    elif not workers:
        text = "no worker running"
    else:
        text = "idle"
    if queued and job is None:
        text += f" · {queued} job{'s' if queued != 1 else ''} queued"
    return WorkerState(alive=bool(workers), job=job, text=text, queued=queued, workers=workers)
