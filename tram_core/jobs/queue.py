"""The job queue: training and prediction run outside the page and report progress to the store.

A page (or the CLI) queues a job with ``submit_training`` / ``submit_prediction`` and makes sure a worker runs
with ``ensure_worker_running``; ``worker_state`` is the one read of the queue that the sidebar line and the Train
page's live panel both draw. The worker process (``python -m tram_core worker``: ``worker.run_worker``) claims
queued jobs, short ones (predictions) first, one at a time per device and lane: its main lane takes any job, its
short lane (``short_lane``) takes predictions on the CPU while the main lane trains, so a prediction never waits
behind a run. ``runner.run_claimed_job`` runs each: ``training_jobs`` and ``prediction_jobs`` run the two kinds of
job, ``progress`` writes phases in order, step/total, epoch, loss, validation scores, ETA (at most and at least
every ``PROGRESS_INTERVAL_S`` seconds while it moves) and a heartbeat (at least every ``HEARTBEAT_INTERVAL_S``
seconds, from a thread, even during a long step) and stops between steps when a cancel is requested, and
``quick_model`` retrains the quick model when a lane is idle. A worker that dies leaves a job whose heartbeat goes
stale; ``mark_stale_jobs`` (run by every worker and by ``worker_state``) fails it. Labels and saved models are
never touched by a failing job."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tram_core.jobs.options import JobError, options_dict
from tram_core.jobs.runner import logs_dir
from tram_core.settings import this_host
from tram_core.store import JOB_QUEUED, JOB_RUNNING, Job, Store, WorkerInfo, utcnow
from tram_core.store.jobs import SHORT_JOB_KINDS, WORKER_NAME
from tram_core.text_format import duration_text

DEFAULT_STALE_AFTER_S = 30.0
SPAWN_GRACE_S = 20.0


@dataclass(frozen=True)
class WorkerState:
    """One read of the queue, the one source of the sidebar line and the Train page's live panel: is a worker
    alive, the jobs running (newest first) and waiting (in the order they start), and one line about them."""

    alive: bool
    job: Job | None
    text: str
    queued: int = 0
    workers: tuple[WorkerInfo, ...] = ()
    running: tuple[Job, ...] = ()
    waiting: tuple[Job, ...] = ()

    @property
    def line(self) -> str:
        """The sidebar's line: 'Worker: …', saying that jobs wait when no worker runs."""
        return f"Worker: {self.text}" if self.alive else f"Worker: {self.text} (jobs wait until one runs)"


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


def worker_host(settings=None) -> str:
    """The host a worker goes by: the settings' (TRAM_WORKER_HOST, else the machine's host name)."""
    return getattr(settings, "worker_host", "") or this_host()


def worker_name(host: str | None = None) -> str:
    """This process's name as a worker: 'host:pid' (``host`` defaults to ``worker_host()``)."""
    return f"{host or worker_host()}:{os.getpid()}"


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
    """True when ``pid`` ran on this host (as TRAM_WORKER_HOST, else the host name, says) and no longer exists; a
    process on another host cannot be checked."""
    return host == this_host() and not _pid_alive(pid)


def job_worker_gone(job: Job) -> bool:
    """True when the worker that claimed ``job`` ('host:pid', maybe with ' (foreground)' or ' (short lane)') ran
    here and has exited."""
    found = WORKER_NAME.match(job.worker or "")
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
    env["TRAM_MODELS_DIR"] = str(settings.models_dir)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log = open(logs_dir(settings) / "worker.log", "ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "tram_core", "worker"], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=package_root,
                                start_new_session=True)
    finally:
        log.close()


def describe_job(job: Job) -> str:
    """One line about a job: 'training run 3 at 42% (epoch 2/6, about 5 min left)', 'training run 3: tokenizing',
    'training run 3: cancelling (it stops at its next step)', 'predicting with model 4 at 10%', '…: queued'."""
    if job.kind == "train":
        what = f"training run {job.id}"
    else:
        what = f"predicting with model {job.params.get('model_id')}"
    if job.status != JOB_RUNNING:
        return f"{what}: {job.status}"
    if job.cancel_requested:
        return f"{what}: cancelling (it stops at its next step)"
    if job.total <= 1 and job.phase and job.phase not in ("train", "training"):
        return f"{what}: {job.phase}"
    text = f"{what} at {int(job.fraction * 100)}%"
    epochs = job.metrics.get("epochs") if isinstance(job.metrics, dict) else None
    details = []
    if job.phase and job.phase not in ("train", "training"):
        details.append(job.phase)
    elif job.kind == "train" and job.epoch:
        details.append(f"epoch {job.epoch}/{epochs}" if epochs else f"epoch {job.epoch}")
    if job.eta_s is not None and job.eta_s >= 1:
        details.append(f"about {duration_text(job.eta_s)} left")
    if details:
        text += f" ({', '.join(details)})"
    return text


def start_order(jobs: list[Job]) -> list[Job]:
    """Queued jobs in the order workers claim them: short jobs (predictions) first, then the oldest first."""
    return sorted(jobs, key=lambda job: (job.kind not in SHORT_JOB_KINDS, job.id))


def worker_state(store: Store) -> WorkerState:
    """Is a worker alive, what runs and what waits, read once: for the sidebar and the Train page alike. Also fails
    jobs whose worker died first, so neither shows a dead job as running."""
    store.mark_stale_jobs(stale_after_s())
    workers = tuple(live_workers(store))
    running = store.list_jobs(limit=1000, status=JOB_RUNNING)
    waiting = start_order(store.list_jobs(limit=1000, status=JOB_QUEUED))
    training = [j for j in running if j.kind == "train"]
    job = (training or running or [None])[0]  # a run is what people wait for: it heads the line
    if job is not None:
        text = describe_job(job)
        if len(running) > 1:  # several lanes, devices or hosts at work: the headline job, and how many more
            text += f" · {len(running) - 1} more running"
    elif not workers:
        text = "no worker running"
    else:
        text = "idle"
    if waiting and job is None:
        text += f" · {len(waiting)} job{'s' if len(waiting) != 1 else ''} queued"
    return WorkerState(alive=bool(workers), job=job, text=text, queued=len(waiting), workers=workers,
                       running=tuple(running), waiting=tuple(waiting))
