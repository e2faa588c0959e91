"""The job queue and running one job: training and prediction run outside the page and report progress to the store.

A page (or the CLI) queues a job with ``submit_training`` / ``submit_prediction`` and makes sure a worker runs
with ``ensure_worker_running``. The worker process (``python -m tram_core worker``: ``worker.run_worker``) claims
queued jobs one at a time per device and runs each with ``run_claimed_job``, which writes phase, step/total,
epoch, loss, validation scores, ETA and a heartbeat (at least every ``HEARTBEAT_INTERVAL_S`` seconds, from a
thread, even during a long step), stops between steps when a cancel is requested, and records the trained model.
A worker that dies leaves a job whose heartbeat goes stale; ``mark_stale_jobs`` (run by every worker and by
``worker_state``) fails it. Labels and saved models are never touched by a failing job.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tram_core.device import device_name
from tram_core.errors import UserError, is_user_error
from tram_core.model_card import key_scores
from tram_core.store import (
    JOB_CANCELLED,
    JOB_DONE,
    JOB_FAILED,
    JOB_RUNNING,
    Job,
    Store,
    TrainedModel,
    WorkerInfo,
    utcnow,
)
from tram_core.text_format import duration_text, error_line

HEARTBEAT_INTERVAL_S = 1.0
DEFAULT_STALE_AFTER_S = 30.0
PROGRESS_INTERVAL_S = 0.5
CANCEL_CHECK_INTERVAL_S = 0.5
QUICK_MODEL_EVERY = 50
QUICK_MODEL_MIN_LABELLED = 10
QUICK_MODEL_SINGLE_FIT_ABOVE = 5000  # labelled sentences: above this, one fit on the split (TF-IDF fits get slow)
SPAWN_GRACE_S = 20.0

BASE_SHORT_NAMES = {"embedded": "MiniLM", "tram-scibert": "SciBERT", "baseline": "TF-IDF"}


class JobError(UserError):
    """A job that cannot be queued or run as asked (bad option, nothing to train on)."""


class JobCancelled(Exception):
    """Raised inside a job when its cancel flag is seen between steps."""


@dataclass(frozen=True)
class WorkerState:
    """What the status bar shows: is a worker alive, which job runs, and one line of text about it."""

    alive: bool
    job: Job | None
    text: str
    queued: int = 0
    workers: tuple[WorkerInfo, ...] = ()


# --------------------------------------------------------------------------------------------------- settings


def stale_after_s() -> float:
    """Seconds without a heartbeat after which a running job counts as dead (``TRAM_STALE_AFTER_S``, default 30)."""
    try:
        return max(1.0, float(os.environ.get("TRAM_STALE_AFTER_S", DEFAULT_STALE_AFTER_S)))
    except ValueError:
        return DEFAULT_STALE_AFTER_S


def quick_model_every() -> int:
    """New label changes between two quick-model retrains (``TRAM_QUICK_MODEL_EVERY``, default 50)."""
    try:
        return max(1, int(os.environ.get("TRAM_QUICK_MODEL_EVERY", QUICK_MODEL_EVERY)))
    except ValueError:
        return QUICK_MODEL_EVERY


def logs_dir(settings) -> Path:
    path = Path(settings.home) / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------------------------- submitting


def _options_dict(options: Any) -> dict:
    """TrainOptions (or a dict of its fields) as a JSON-serialisable dict, checked against TrainOptions."""
    from tram_core.training import TrainOptions

    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        values = dataclasses.asdict(options)
    elif isinstance(options, dict):
        values = {k: v for k, v in options.items() if v is not None or k == "base"}
    else:
        raise JobError(f"Training options must be TrainOptions or a dict, not {type(options).__name__}")
    known = {f.name for f in dataclasses.fields(TrainOptions)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise JobError(f"Unknown training option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if values.get("device") is not None:
        values["device"] = device_name(values["device"])  # a typo is refused now; availability is the worker's call
    for key, value in list(values.items()):
        if isinstance(value, tuple):
            values[key] = list(value)
        elif isinstance(value, Path):
            values[key] = str(value)
    TrainOptions(**values)  # let the dataclass reject bad values now, not in the worker
    return values


def train_options(params: dict):
    """The TrainOptions a training job was queued with."""
    from tram_core.training import TrainOptions

    values = dict(params.get("options", {}))
    known = {f.name for f in dataclasses.fields(TrainOptions)}
    for f in dataclasses.fields(TrainOptions):
        if f.name in values and isinstance(values[f.name], list) and "tuple" in str(f.type):
            values[f.name] = tuple(values[f.name])
    return TrainOptions(**{k: v for k, v in values.items() if k in known})


def submit_training(store: Store, options: Any, user: str) -> int:
    """Queue a training job with ``options`` (TrainOptions or a dict of its fields); returns the job id.

    Test reports that are not in the store are refused here, not later in the worker.
    """
    values = _options_dict(options)
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


# --------------------------------------------------------------------------------------------------- progress


class JobReporter:
    """Turns progress events into job rows: throttled progress writes, loss/metric points, ETA, cancel checks."""

    def __init__(self, store: Store, job_id: int, total_epochs: int | None = None,
                 min_interval_s: float = PROGRESS_INTERVAL_S):
        self.store = store
        self.job_id = job_id
        self.total_epochs = total_epochs
        self.min_interval_s = min_interval_s
        self._last_write = 0.0
        self._last_cancel_check = 0.0
        self._cancel = False
        self._points: list[tuple[int, float, str, float]] = []
        self._total = -1
        self._last_step = 0
        self._phase_start: tuple[float, int] = (0.0, 0)
        self._pending: dict | None = None
        self.last_event: Any = None
        self.still_running = True

    def _eta(self, step: int, total: int) -> float:
        """Seconds left at the step rate since this stretch of steps began (same ``total``, steps not going back);
        -1 (unknown) at the start of a stretch. Validation time inside the stretch counts, so ETA includes it."""
        now = time.monotonic()
        t0, s0 = self._phase_start
        if total != self._total or step < self._last_step or total <= 1:
            self._total = total
            self._phase_start = (now, step)
            self._last_step = step
            return -1.0
        self._last_step = step
        done = step - s0
        if done <= 0 or step > total:
            return -1.0
        rate = done / max(now - t0, 1e-6)
        return max(0.0, (total - step) / rate)

    def __call__(self, event: Any) -> None:
        """Accept a training ProgressEvent (or anything with phase, step, total, epoch, loss, metrics, message)."""
        self.last_event = event
        phase = str(getattr(event, "phase", "") or "")
        step = int(getattr(event, "step", 0) or 0)
        total = int(getattr(event, "total", 0) or 0)
        epoch_value = getattr(event, "epoch", None)
        epoch = int(epoch_value) if epoch_value is not None else None
        loss = getattr(event, "loss", None)
        metrics = getattr(event, "metrics", None)
        message = getattr(event, "message", None)
        epochs = getattr(event, "epochs", None) or _epochs_in(message) or self.total_epochs
        if epochs:
            self.total_epochs = int(epochs)
        point_epoch = float(epoch_value) if epoch_value is not None else 0.0
        if loss is not None:
            self._points.append((step, point_epoch, "loss", float(loss)))
        if metrics:
            for name, value in _flat_numbers(metrics).items():
                self._points.append((step, point_epoch, name, value))
        eta = self._eta(step, total)
        row_metrics = None
        if metrics or self.total_epochs:
            row_metrics = dict(metrics or (self._pending or {}).get("metrics") or {})
            if self.total_epochs:
                row_metrics["epochs"] = self.total_epochs
        self._pending = {
            "phase": phase or None, "step": step, "total": total, "epoch": epoch,
            "loss": float(loss) if loss is not None else None, "eta_s": eta,
            "message": message if message else None, "metrics": row_metrics,
        }
        if metrics or time.monotonic() - self._last_write >= self.min_interval_s or (total and step >= total):
            self.flush()

    def flush(self) -> None:
        if self._points:
            self.store.add_job_points(self.job_id, self._points)
            self._points = []
        if self._pending is not None:
            self.still_running = self.store.update_job_progress(self.job_id, **self._pending)
            self._pending = None
        self._last_write = time.monotonic()

    def should_cancel(self) -> bool:
        """True once a cancel is requested (checked in the store at most every half second)."""
        if self._cancel:
            return True
        now = time.monotonic()
        if now - self._last_cancel_check >= CANCEL_CHECK_INTERVAL_S:
            self._last_cancel_check = now
            self._cancel = self.store.is_cancel_requested(self.job_id) or not self.still_running
        return self._cancel


def _epochs_in(message: str | None) -> int | None:
    """The N of 'epoch 2/N' in a progress message (training says how many epochs its recipe chose)."""
    found = re.search(r"epoch \d+/(\d+)", message or "")
    return int(found.group(1)) if found else None


def _flat_numbers(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a (shallow) metrics dict as point names: {'val_micro_f1': 0.4, ...}."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out[name[:50]] = float(value)
        elif isinstance(value, dict) and not prefix:
            for sub, sub_value in value.items():
                if isinstance(sub_value, (int, float)) and not isinstance(sub_value, bool):
                    out[f"{name}_{sub}"[:50]] = float(sub_value)
    return out


class Heartbeat:
    """A daemon thread that refreshes a job's and a worker's heartbeat every ``interval_s`` seconds."""

    def __init__(self, store: Store, worker_name: str | None, job_id: int | None,
                 interval_s: float = HEARTBEAT_INTERVAL_S):
        self.store = store
        self.worker_name = worker_name
        self.job_id = job_id
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-job-{job_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if self.job_id is not None:
                    self.store.heartbeat(self.job_id)
                if self.worker_name:
                    self.store.worker_heartbeat(self.worker_name, self.job_id)
            except Exception:  # a locked database for a moment must not kill the job
                continue

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------------------------------- running jobs


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


def base_short_name(base: str) -> str:
    """A short label for a base model spec: 'MiniLM', 'SciBERT', 'TF-IDF', a hub id's last part or a folder name."""
    if base in BASE_SHORT_NAMES:
        return BASE_SHORT_NAMES[base]
    if base.isdigit():
        return f"model {base}"
    return Path(base.rstrip("/")).name or base


def model_name(run: int, base: str, when: datetime | None = None) -> str:
    when = when or utcnow()
    return f"run {run} · {base_short_name(base)} · {when:%Y-%m-%d %H:%M}"


def check_trainable(examples: list) -> None:
    """Fail early, with a reason and a next step, when there is nothing worth training on."""
    if not examples:
        raise JobError("Nothing to train on: no labelled sentences yet. Label sentences on the Annotate page "
                       "or import a labelled dataset, then train again.")
    if not any(e.labels for e in examples):
        raise JobError(f"Nothing to train on: the {len(examples)} labelled sentences carry no technique. "
                       "Label some sentences with techniques, then train again.")
    reports = {e.report_id for e in examples}
    if len(reports) < 2:
        raise JobError(f"Labelled sentences come from {len(reports)} report; training holds out whole reports "
                       "for testing, so label sentences in at least 2 reports (3 or more for a validation set).")


def _split_dict(split: Any) -> dict | None:
    if split is None:
        return None
    if dataclasses.is_dataclass(split):
        return dataclasses.asdict(split)
    return dict(split) if isinstance(split, dict) else None


def training_record_options(job: Job, examples: int, reports: int, label_event_id: int | None, history: list,
                            split: dict | None) -> dict:
    """The ``options`` of the model row a training job records: its queued options plus what it trained on."""
    record = {**job.params.get("options", {}), "examples": examples, "reports": reports}
    if label_event_id is not None:
        record["label_event_id"] = label_event_id
    record["history"] = list(history or [])
    record["split"] = split
    return record


def run_training_job(store: Store, settings, job: Job) -> int:
    """Train as ``job`` asks and record the model; returns the model id. Raises on failure or cancel."""
    from tram_core.training import TrainingCancelled, train_model

    options = train_options(job.params)
    examples = store.examples()
    check_trainable(examples)
    watermark = store.label_event_watermark()
    output_dir = Path(settings.models_dir) / f"run-{job.id}"
    if output_dir.exists():
        shutil.rmtree(output_dir)
    reporter = JobReporter(store, job.id, total_epochs=getattr(options, "epochs", None))
    store.update_job_progress(job.id, phase="preparing", step=0, total=0,
                              message=f"{len(examples)} labelled sentences from "
                                      f"{len({e.report_id for e in examples})} reports")
    reports = len({e.report_id for e in examples})
    provenance = {"id": job.id, "label_event_id": watermark, "examples": len(examples), "reports": reports}
    try:
        result = train_model(examples, options, settings, output_dir, progress=reporter,
                             should_cancel=reporter.should_cancel, store=store, provenance=provenance)
    except TrainingCancelled as exc:
        shutil.rmtree(output_dir, ignore_errors=True)
        raise JobCancelled(str(exc)) from exc
    except BaseException:
        shutil.rmtree(output_dir, ignore_errors=True)
        raise
    reporter.flush()
    model_dir = Path(result.model_dir)
    base = str(getattr(options, "base", "") or "")
    record_options = training_record_options(job, len(examples), reports, watermark, list(result.history or []),
                                             _split_dict(result.split))
    model_id = store.add_model(model_name(job.id, base), result.card.kind, str(model_dir), base,
                               list(result.classes), result.thresholds.to_json(), dict(result.metrics),
                               record_options, job.id)
    return model_id


def run_prediction_job(store: Store, settings, job: Job) -> int:
    """Score sentences as ``job`` asks and store the suggestions; returns how many sentences were scored."""
    from tram_core.predict import PredictionCancelled, run_prediction

    reporter = JobReporter(store, job.id)
    try:
        count = run_prediction(store, settings, int(job.params["model_id"]), job.params.get("report_id"),
                               progress=reporter, should_cancel=reporter.should_cancel)
    except PredictionCancelled as exc:
        raise JobCancelled(str(exc)) from exc
    reporter.flush()
    return count


def run_job(store: Store, settings, job: Job) -> str:
    """Run one claimed job to its end and close it in the store; returns its final status. Never raises for a job's
    own failure (the job row says what went wrong); a stopped worker closes the job and re-raises."""
    device = job.device or str(getattr(settings, "device", "cpu"))
    options = None
    try:
        if job.kind == "train":
            options = train_options(job.params)
            model_id = run_training_job(store, settings, job)
            model = store.get_model(model_id)
            scores = key_scores(model.metrics)
            text = "trained"
            if scores["micro_f1"] is not None:
                text += f": test micro-F1 {scores['micro_f1']:.3f}"
                if scores["macro_f1"] is not None:
                    text += f", macro-F1 {scores['macro_f1']:.3f}"
                text += " at tuned thresholds"
            store.finish_job(job.id, JOB_DONE, f"{text} · model {model_id} '{model.name}'", model_id=model_id,
                             metrics={**scores, "epochs": store.get_job(job.id).metrics.get("epochs")})
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
        if is_out_of_memory(exc):
            _write_log(settings, job.id, exc)
            store.finish_job(job.id, JOB_FAILED, _oom_message(options, device))
            return JOB_FAILED
        if is_user_error(exc):
            store.finish_job(job.id, JOB_FAILED, error_line(exc))
            return JOB_FAILED
        log = _write_log(settings, job.id, exc)
        store.finish_job(job.id, JOB_FAILED, f"{type(exc).__name__}: {error_line(exc)} (details in {log})")
        return JOB_FAILED


def run_claimed_job(store: Store, settings, job: Job, worker_name: str | None = None) -> str:
    """``run_job`` with a heartbeat thread beating for the job (and the worker) all along."""
    with Heartbeat(store, worker_name, job.id):
        return run_job(store, settings, job)


# --------------------------------------------------------------------------------------------------- the worker


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
    package_root = str(Path(__file__).resolve().parents[1])
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


# --------------------------------------------------------------------------------------------------- quick model


def quick_model(store: Store) -> TrainedModel | None:
    """The newest quick (TF-IDF, trained on every labelled sentence) model, if any."""
    for model in store.list_models(include_imported=False):
        if model.options.get("quick"):
            return model
    return None


def should_retrain_quick_model(store: Store) -> bool:
    """Whether the idle worker should retrain the quick model now.

    Never while a model other than a quick one is promoted (its suggestions are the ones shown). Otherwise: when
    at least 10 sentences carry techniques and there is no quick model yet, or when enough label changes
    happened since the last quick model (or since a failed try): ``quick_model_every()`` (50), or a tenth of the
    labelled sentences when that is more, so a large corpus is not refitted every few minutes. A quick model
    saved in the old pickle format (which is refused when loaded) is retrained as soon as it may be.
    """
    promoted = store.promoted_model()
    if promoted is not None and not promoted.options.get("quick"):
        return False
    counts = store.corpus_counts()
    if counts["with_technique"] < QUICK_MODEL_MIN_LABELLED:
        return False
    every = max(quick_model_every(), (counts["labelled"] + counts["reviewed"]) // 10)
    watermark = store.label_event_watermark()
    failed_at = store.get_setting("quick_model_failed_at_event")
    if failed_at is not None and watermark - int(failed_at) < every:
        return False
    last = quick_model(store)
    if last is None or quick_model_in_pickle_format(last):
        return True
    return watermark - int(last.options.get("label_event_id", 0)) >= every


def quick_model_in_pickle_format(model: TrainedModel | None) -> bool:
    """Whether ``model`` is a quick model whose folder holds the old pickled baseline (never loaded; retrain it)."""
    if model is None or not model.options.get("quick") or not model.path:
        return False
    from tram_core.baseline import saved_with_pickle

    return saved_with_pickle(model.path)


def retrain_quick_model(store: Store, settings, user: str = "worker") -> int:
    """Train the TF-IDF baseline on the labelled sentences now and record it as the quick model; returns its id.

    Up to ``QUICK_MODEL_SINGLE_FIT_ABOVE`` labelled sentences: with 3 or more reports, a first fit on
    train_model's grouped split gives the scores and tuned thresholds, then the quick model itself is fitted on
    every labelled sentence (no holdout: it is for suggestions) and keeps those thresholds; with fewer reports
    it is fitted on everything at threshold 0.5 and has no scores. Above that size one fit on the grouped split
    serves both (the TF-IDF fit takes minutes there, and 70% of a large corpus suggests as well). The model is
    promoted when no other (transformer or hand-promoted) model is, and then suggestions for every unlabelled
    sentence are refreshed. The previous quick model is deleted (record and folder) unless it is still promoted.
    """
    from tram_core.predict import run_prediction
    from tram_core.training import TrainOptions, train_model

    examples = store.examples()
    if not any(e.labels for e in examples):
        raise JobError("Nothing to train the quick model on: no sentence carries a technique yet")
    watermark = store.label_event_watermark()
    stamp = utcnow()
    models_dir = Path(settings.models_dir)
    reports = len({e.report_id for e in examples})
    min_count = 3
    output_dir = models_dir / f"quick-{stamp:%Y%m%d-%H%M%S-%f}"
    split = None
    if reports >= 3 and len(examples) > QUICK_MODEL_SINGLE_FIT_ABOVE:
        options = TrainOptions(base="baseline", min_count=min_count)
        result = train_model(examples, options, settings, output_dir, store=store)
        metrics, thresholds, split = dict(result.metrics), result.thresholds, result.split
    else:
        metrics, tuned, scored = {}, None, None
        if reports >= 3:
            scored_dir = models_dir / f".quick-eval-{stamp:%Y%m%d-%H%M%S-%f}"
            try:
                scored = train_model(examples, TrainOptions(base="baseline", min_count=min_count), settings,
                                     scored_dir, store=store)
                metrics, tuned, split = dict(scored.metrics), scored.thresholds, scored.split
            finally:
                shutil.rmtree(scored_dir, ignore_errors=True)
        options = TrainOptions(base="baseline", min_count=min_count, validation_fraction=0.0, test_fraction=0.0)
        result = train_model(examples, options, settings, output_dir, store=store)
        thresholds = result.thresholds
        if tuned is not None and scored is not None and list(result.classes) == list(scored.classes):
            thresholds = tuned
            # The folder's card must decide as the model row does: the scoring fit's thresholds and scores.
            dataclasses.replace(result.card, thresholds=tuned, evaluation=metrics).write(result.model_dir)
    previous = quick_model(store)
    record_options = {
        **_options_dict(options), "quick": True, "examples": len(examples), "reports": reports,
        "label_event_id": watermark, "split": _split_dict(split), "history": [],
    }
    model_id = store.add_model(f"quick model · TF-IDF · {stamp:%Y-%m-%d %H:%M}", "baseline",
                               str(result.model_dir), "baseline", list(result.classes), thresholds.to_json(),
                               metrics, record_options, None)
    promoted = store.promoted_model()
    if promoted is None or promoted.options.get("quick"):
        store.promote_model(model_id)
        run_prediction(store, settings, model_id, None)
    if previous is not None and not store.get_model(previous.id).promoted:
        delete_model(store, settings, previous.id)
    return model_id


def delete_model(store: Store, settings, model_id: int) -> TrainedModel:
    """Delete a model record, its suggestions and (when it lies under TRAM_HOME/models) its folder."""
    record = store.delete_model(model_id)
    if record.path:
        path = Path(record.path).resolve()
        models_dir = Path(settings.models_dir).resolve()
        if models_dir in path.parents and path.exists():
            shutil.rmtree(path, ignore_errors=True)
    return record
