"""Running one claimed job to its end: a training or prediction job runs with a heartbeat thread beating, and
however it ends (done, cancelled, out of memory, a user error, a crash, a stopped worker) its row says so in one
line; a crash's traceback goes to TRAM_HOME/logs/job-<id>.log."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from tram_core.errors import is_user_error
from tram_core.jobs.options import train_options
from tram_core.jobs.prediction_jobs import run_prediction_job
from tram_core.jobs.progress import Heartbeat, JobCancelled
from tram_core.jobs.training_jobs import finish_training_job, run_training_job
from tram_core.store import JOB_CANCELLED, JOB_DONE, JOB_FAILED, Job, Store, utcnow
from tram_core.text_format import error_line


def logs_dir(settings) -> Path:
    path = Path(settings.home) / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_job(store: Store, settings, job: Job) -> str:
    """Run one claimed job to its end and close it in the store; returns its final status. Never raises for a job's
    own failure (the job row says what went wrong); a stopped worker closes the job and re-raises."""
    device = job.device or str(getattr(settings, "device", "cpu"))
    options = None
    try:
        if job.kind == "train":
            options = train_options(job.params)
            finish_training_job(store, job, run_training_job(store, settings, job))
            return JOB_DONE
        if job.kind == "predict":
            count = run_prediction_job(store, settings, job)
            store.finish_job(job.id, JOB_DONE, f"suggestions stored for {count} sentences",
                             model_id=int(job.params["model_id"]), metrics={"sentences": count})
            return JOB_DONE
        store.finish_job(job.id, JOB_FAILED, f"unknown job kind '{job.kind}'")
        return JOB_FAILED
    except JobCancelled:
        current = store.get_job(job.id)
        where = f" at step {current.step}/{current.total}" if current.total else ""
        store.finish_job(job.id, JOB_CANCELLED, f"cancelled{where}; nothing was saved")
        return JOB_CANCELLED
    except (KeyboardInterrupt, SystemExit):
        store.finish_job(job.id, JOB_FAILED, "the worker was stopped while running this job; "
                                             "labels and saved models are intact")
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a readable job row
        store.finish_job(job.id, JOB_FAILED, failure_message(settings, job, exc, options, device))
        return JOB_FAILED


def run_claimed_job(store: Store, settings, job: Job, worker_name: str | None = None) -> str:
    """``run_job`` with a heartbeat thread beating for the job (and the worker) all along."""
    with Heartbeat(store, worker_name, job.id):
        return run_job(store, settings, job)


def failure_message(settings, job: Job, exc: BaseException, options: Any, device: str) -> str:
    """One line for a failed job: a hint for out of memory, the message of a user error, else the error with the
    log that holds its traceback."""
    if is_out_of_memory(exc):
        _write_log(settings, job.id, exc)
        return _oom_message(options, device)
    if is_user_error(exc):
        return error_line(exc)
    log = _write_log(settings, job.id, exc)
    return f"{type(exc).__name__}: {error_line(exc)} (details in {log})"


def is_out_of_memory(exc: BaseException) -> bool:
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except Exception:  # pragma: no cover
        pass
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        "out of memory" in str(exc).lower() or isinstance(exc, MemoryError))


def _oom_message(options: Any, device: str) -> str:
    batch = getattr(options, "batch_size", None)
    length = getattr(options, "max_length", None)
    now_batch = f" (now {batch})" if batch else ""
    now_length = f" (now {length})" if length else ""
    return (f"out of memory on {device}: train again with a smaller batch size{now_batch} "
            f"or a shorter max length{now_length}; labels and saved models are intact")


def _write_log(settings, job_id: int, exc: BaseException) -> Path:
    path = logs_dir(settings) / f"job-{job_id}.log"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"--- job {job_id} failed at {utcnow():%Y-%m-%d %H:%M:%S} UTC\n")
        fh.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return path
