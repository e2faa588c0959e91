"""Model folders against model rows: find, and at worker start repair, what a killed worker left in TRAM_HOME/models."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from tram_core.errors import UserError
from tram_core.jobs import queue
from tram_core.jobs.training_jobs import model_name, training_record_options
from tram_core.ml.model_card import MODEL_INFO_FILE, ModelCard, key_scores
from tram_core.ml.training_model import HEAD_FILE
from tram_core.store import JOB_DONE, JOB_FAILED, JOB_RUNNING, Job, NotFoundError, Store, TrainedModel, utcnow

# models/base holds downloaded base models (models.tram_scibert_dir), never training output.
BASE_CACHE_FOLDER = "base"
# What training names its folders: run-<job id> (jobs.run_training_job) and quick-<stamp> (retrain_quick_model),
# written first as .<name>.<random>.partial (training.train_model); .quick-eval-<stamp> is a scoring fit that
# retrain_quick_model deletes once it has its scores.
RUN_FOLDER = re.compile(r"^run-(\d+)$")
QUICK_FOLDER = re.compile(r"^quick-\d{8}-\d{6}-\d+$")
PARTIAL_RUN_FOLDER = re.compile(r"^\.run-(\d+)\..+\.partial$")
PARTIAL_SUFFIX = ".partial"
QUICK_EVAL_PREFIX = ".quick-eval-"
BASELINE_MANIFEST = "manifest.json"
# Worker clocks and the file system's may disagree a little when the database is shared between hosts.
CLOCK_SLACK = timedelta(minutes=5)
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")

# Finding kinds (what disagrees) and repairs (what the worker start does about it).
STALE_PARTIAL = "stale partial folder"
UNREGISTERED = "folder without a model row"
MISSING_FOLDER = "model row without its folder"
IN_USE = "in use"
REMOVE = "remove"
REGISTER = "register"
KEEP = "keep"
REPORT_ONLY = "report"


class FolderTaken(Exception):
    """Another worker recorded the folder (or closed its job) while this one was recording it."""


@dataclass(frozen=True)
class Finding:
    """One folder or row where the models folder and the model rows disagree, and what a worker start does."""

    kind: str  # STALE_PARTIAL | UNREGISTERED | MISSING_FOLDER | IN_USE
    path: Path
    reason: str
    repair: str  # REMOVE | REGISTER | KEEP | REPORT_ONLY
    job: Job | None = None
    model: TrainedModel | None = None

    def line(self) -> str:
        """One line for ``models --check``."""
        if self.kind == MISSING_FOLDER and self.model is not None:
            return f"{self.kind}: model {self.model.id} '{self.model.name}' -> {self.path} ({self.reason})"
        return f"{self.kind}: {self.path} ({self.reason})"


@dataclass
class ReconcileResult:
    """What ``reconcile_model_folders`` did: folders removed, folders recorded as models, what it left alone."""

    removed: list[Path] = field(default_factory=list)
    registered: dict[Path, int] = field(default_factory=dict)  # folder -> id of its new model row
    kept: list[Path] = field(default_factory=list)  # a live job or worker may still be writing these
    missing: list[int] = field(default_factory=list)  # ids of model rows whose folder is missing
    lines: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------- inspecting


def read_folder_card(folder: Path) -> tuple[ModelCard | None, str | None]:
    """The folder's card, or None and why it cannot be read (missing, not JSON, not a card)."""
    try:
        return ModelCard.read(folder), None
    except UserError as exc:  # ModelCardError: the message names the file and what is wrong
        return None, str(exc)


def incomplete_because(folder: Path, card: ModelCard | None, unreadable: str | None = None) -> str | None:
    """Why ``folder`` is not a complete trained model (None when it is one): the files training writes last."""
    if card is None:
        return unreadable or f"{MODEL_INFO_FILE} is missing or unreadable"
    if card.kind == "baseline":
        # Only the manifest: the baseline's weight files changed names between formats (baseline.py).
        needed = [BASELINE_MANIFEST]
    else:
        needed = ["config.json", "tokenizer_config.json"] + ([] if card.pooling == "cls" else [HEAD_FILE])
        if not any((folder / name).is_file() for name in WEIGHT_FILES):
            return "no model weights"
    absent = [name for name in needed if not (folder / name).is_file()]
    return f"{', '.join(absent)} missing" if absent else None


def folder_job_id(folder: Path, card: ModelCard | None) -> int | None:
    """The training job that wrote ``folder``: its card's job id, else the run-<id> folder name."""
    if card is not None and card.job is not None and card.job.id is not None:
        return card.job.id
    named = RUN_FOLDER.match(folder.name) or PARTIAL_RUN_FOLDER.match(folder.name)
    return int(named.group(1)) if named else None


def _inside(path: Path, folder: Path) -> Path | None:
    """The child of ``folder`` that ``path`` lies in (or is), or None when it is outside ``folder``."""
    try:
        relative = path.relative_to(folder)
    except ValueError:
        return None
    return folder / relative.parts[0] if relative.parts else None


def _resolved(text: str) -> Path | None:
    try:
        return Path(text).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return None


@dataclass
class _Snapshot:
    """The rows and liveness one pass needs, read once."""

    models_dir: Path
    rows: list[TrainedModel]
    referenced: set[Path]  # children of models_dir a model row, a base model spec or a job points at
    jobs_by_id: dict[int, Job]
    live_job_ids: set[int]
    other_live_workers: int

    def job_is_live(self, job_id: int | None) -> bool:
        return job_id is not None and job_id in self.live_job_ids


def _snapshot(store: Store, models_dir: Path, stale_after_s: float, worker: str | None) -> _Snapshot:
    rows = store.list_models()
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    all_jobs = store.list_jobs(limit=1_000_000)
    jobs_by_id = {job.id: job for job in all_jobs}
    # A running job is live while its heartbeat is fresh and (on this host) its worker process exists: a worker
    # killed a moment ago still has a fresh heartbeat, and its half-written folder must not wait 30 s.
    live_job_ids = {job.id for job in all_jobs
                    if job.status == JOB_RUNNING and job.heartbeat_at is not None and job.heartbeat_at >= cutoff
                    and not queue.job_worker_gone(job)}
    other_workers = [w for w in store.list_workers()
                     if w.name != worker and w.heartbeat_at >= cutoff and not queue.process_gone(w.host, w.pid)]
    # Folders a row records, and folders named as a base model (a local folder spec) by a model or a job.
    pointers = [row.path for row in rows if row.path]
    pointers += [row.base_model for row in rows if row.base_model]
    pointers += [str((row.options or {}).get("base") or "") for row in rows]
    pointers += [str(((job.params or {}).get("options") or {}).get("base") or "") for job in all_jobs]
    referenced = set()
    for text in pointers:
        if not text or text.startswith("trained:"):
            continue
        path = _resolved(text)
        child = _inside(path, models_dir) if path is not None else None
        if child is not None:
            referenced.add(child)
    return _Snapshot(models_dir, rows, referenced, jobs_by_id, live_job_ids, len(other_workers))


def _written_at(folder: Path) -> datetime:
    """When training wrote the folder (its card), as naive UTC like the store's times."""
    try:
        stamp = (folder / MODEL_INFO_FILE).stat().st_mtime
    except OSError:
        return utcnow()
    return datetime.fromtimestamp(stamp, timezone.utc).replace(tzinfo=None)


def _registerable_job(snapshot: _Snapshot, job_id: int | None, folder: Path) -> tuple[Job | None, str]:
    """The training job a complete unrecorded folder can be recorded for, or None and why not."""
    if job_id is None:
        return None, "no training job named in it"
    job = snapshot.jobs_by_id.get(job_id)
    if job is None:
        return None, f"job {job_id} does not exist"
    if job.kind != "train":
        return None, f"job {job_id} is a {job.kind} job"
    if job.model_id is not None:
        # The job recorded its model and the row was deleted since: the folder is a leftover of that delete.
        return None, f"job {job_id} already recorded model {job.model_id}, which was deleted"
    if job.status not in (JOB_FAILED, JOB_RUNNING):
        return None, f"job {job_id} is {job.status}"
    if job.started_at is not None and _written_at(folder) < job.started_at - CLOCK_SLACK:
        # Job ids start again in a new database: an older folder with the same id is not this job's.
        return None, f"written before job {job_id} started"
    return job, f"job {job_id} ({job.status}) trained it"


def inspect_model_folders(store: Store, models_dir: str | Path, stale_after_s: float | None = None,
                          worker: str | None = None) -> list[Finding]:
    """Every disagreement between ``models_dir`` and the model rows, with the repair a worker start would make.

    Only direct children of ``models_dir`` are looked at; the base-model cache (``base``), links, folders a model
    row or a base model spec points at, and folders that are not TRAM training output are never findings.
    ``worker`` is the name of the worker asking, so its own registry entry does not count as another live worker.
    """
    models_dir = Path(models_dir).resolve()
    stale_after_s = queue.stale_after_s() if stale_after_s is None else stale_after_s
    snapshot = _snapshot(store, models_dir, stale_after_s, worker)
    findings: list[Finding] = []
    children = sorted(models_dir.iterdir()) if models_dir.is_dir() else []
    for folder in children:
        if folder.is_symlink() or not folder.is_dir() or folder.name == BASE_CACHE_FOLDER:
            continue
        if folder in snapshot.referenced:
            continue
        temporary = folder.name.endswith(PARTIAL_SUFFIX) or folder.name.startswith(QUICK_EVAL_PREFIX)
        card, unreadable = (None, None) if temporary else read_folder_card(folder)
        if not temporary and card is None and not (RUN_FOLDER.match(folder.name) or QUICK_FOLDER.match(folder.name)):
            continue  # not written by TRAM's training: somebody else's folder
        job_id = folder_job_id(folder, card)
        job = snapshot.jobs_by_id.get(job_id) if job_id is not None else None
        if snapshot.job_is_live(job_id):
            findings.append(Finding(IN_USE, folder, f"job {job_id} is running with a fresh heartbeat", KEEP, job))
            continue
        if job_id is None and snapshot.other_live_workers:
            # Quick models belong to no job; a live worker may be writing one right now.
            findings.append(Finding(IN_USE, folder, "no job named in it and another worker is alive", KEEP))
            continue
        if temporary:
            owner = f"job {job_id} is {job.status}" if job is not None else (
                f"job {job_id} does not exist" if job_id is not None else "no worker is writing it")
            findings.append(Finding(STALE_PARTIAL, folder, owner, REMOVE, job))
            continue
        why_incomplete = incomplete_because(folder, card, unreadable)
        registerable, why = _registerable_job(snapshot, job_id, folder)
        if why_incomplete is None and registerable is not None:
            findings.append(Finding(UNREGISTERED, folder, f"complete; {why}", REGISTER, registerable))
        else:
            findings.append(Finding(UNREGISTERED, folder, why_incomplete or why, REMOVE, job))
    for row in snapshot.rows:
        if row.kind == "imported" or not row.path:
            continue  # imported suggestions have no folder
        if not Path(row.path).is_dir():
            findings.append(Finding(MISSING_FOLDER, Path(row.path), "missing", REPORT_ONLY, model=row))
    return findings


# --------------------------------------------------------------------------------------------------- repairing


def register_folder(store: Store, folder: Path, job: Job) -> int:
    """Record a complete model folder that ``job`` trained as a model row; close the job as done with it."""
    card = ModelCard.read(folder)
    options = job.params.get("options", {}) or {}
    base = str(options.get("base") or "")
    examples, reports = card.trained_on()
    label_event_id = card.job.label_event_id if card.job is not None else None
    record_options = training_record_options(job, examples, reports, label_event_id, card.history,
                                            card.recorded_split(), (card.options or {}).get("procedure_examples"))
    metrics = card.evaluation or {}
    model_id = store.add_model(model_name(job.id, base, _written_at(folder)), card.kind, str(folder), base,
                               list(card.classes), card.thresholds.to_json(), dict(metrics), record_options, job.id)
    name = store.get_model(model_id).name
    message = (f"trained · model {model_id} '{name}' (recorded when a worker started: the worker that trained it "
               "stopped before recording it)")
    job_metrics = {**key_scores(metrics), "epochs": job.metrics.get("epochs")}
    # Closing the job is the atomic step: when two workers start together, only one closes it, and the other
    # takes its row back. A running job may have been failed as stale since it was read: either way counts.
    closed = (store.finish_job(job.id, JOB_DONE, message, model_id=model_id, metrics=job_metrics)
              or store.recover_failed_job(job.id, model_id, message, job_metrics))
    if not closed:
        store.delete_model(model_id)
        raise FolderTaken(f"job {job.id} was closed meanwhile (another worker recorded {folder})")
    return model_id


def reconcile_model_folders(store: Store, models_dir: str | Path, log: Callable[[str], None] | None = None,
                            worker: str | None = None, stale_after_s: float | None = None) -> ReconcileResult:
    """Repair what ``inspect_model_folders`` finds: remove stale partial folders and unrecordable folders, record
    complete folders whose training job is known; a row whose folder is missing is only reported. One log line
    per finding acted on or reported."""
    say = log or (lambda text: None)
    result = ReconcileResult()

    def note(text: str) -> None:
        result.lines.append(text)
        say(text)

    for finding in inspect_model_folders(store, models_dir, stale_after_s, worker):
        if finding.repair == KEEP:
            result.kept.append(finding.path)
        elif finding.repair == REMOVE:
            shutil.rmtree(finding.path, ignore_errors=True)
            if finding.path.exists():
                note(f"model folders: could not remove {finding.path} ({finding.kind}: {finding.reason})")
                continue
            result.removed.append(finding.path)
            note(f"model folders: removed {finding.kind} {finding.path} ({finding.reason})")
        elif finding.repair == REGISTER and finding.job is not None:
            try:
                model_id = register_folder(store, finding.path, finding.job)
            except (OSError, ValueError, KeyError, TypeError, NotFoundError, FolderTaken) as exc:
                note(f"model folders: could not record {finding.path} for job {finding.job.id}: {exc}")
                continue
            result.registered[finding.path] = model_id
            note(f"model folders: recorded {finding.path} as model {model_id} ({finding.reason}); "
                 f"job {finding.job.id} is done")
        elif finding.kind == MISSING_FOLDER and finding.model is not None:
            result.missing.append(finding.model.id)
            note(f"model folders: model {finding.model.id} '{finding.model.name}' has no folder at {finding.path}; "
                 "restore the folder or delete the model")
    return result


def check_lines(store: Store, models_dir: str | Path) -> list[str]:
    """``models --check``: one line per disagreement (folders in use by a live job are not one); empty when all
    agree."""
    return [f.line() for f in inspect_model_folders(store, models_dir) if f.kind != IN_USE]
