"""Training runs as the Train and Evaluate pages show them: a run's live progress from its job rows, the history of
runs with their key scores, and a trained model's evaluation inputs (metrics, per-epoch history, details)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from tram_core.errors import UserError
from tram_core.ml.model_card import ModelCard, evaluated_thresholds, key_scores

# The job statuses serve the Train page as run_history.JOB_*: pages never import the store module.
from tram_core.store import (
    JOB_DONE,
    JOB_FINISHED_STATUSES,
    JOB_QUEUED,
    JOB_RUNNING,
    Job,
    NotFoundError,
    TrainedModel,
    utcnow,
)
from tram_core.text_format import duration_text


@dataclass(frozen=True)
class RunProgress:
    """A training job's state for the live panel, read from the database only."""

    job: Job
    run_fraction: float
    epoch_fraction: float
    epoch: int
    epochs: int | None
    phase: str
    step: int
    total: int
    eta_text: str
    device: str
    loss: float | None
    points: pd.DataFrame  # step, epoch, name, value
    validation: pd.DataFrame  # one row per epoch: epoch and each val_* score

    @property
    def headline(self) -> str:
        what = f"Run {self.job.id}: {self.phase or self.job.status}"
        if self.epochs:
            what += f" · epoch {self.epoch}/{self.epochs}"
        elif self.epoch:
            what += f" · epoch {self.epoch}"
        if self.total:
            what += f" · step {self.step}/{self.total}"
        return what


def run_progress(store, job: Job) -> RunProgress:
    """The live panel's figures: run and epoch fractions, phase, step/total, ETA, device, loss and val points."""
    from tram_core.views.charts import points_frame

    epochs = job.metrics.get("epochs") if isinstance(job.metrics, dict) else None
    epochs = int(epochs) if epochs else None
    stepping = job.phase in ("training", "train", "evaluating") and job.total > 1
    if job.status == JOB_DONE:
        run_fraction, epoch_fraction = 1.0, 1.0
    elif stepping:
        run_fraction = min(1.0, job.step / job.total)
        epoch_fraction = run_fraction
        if epochs:
            per_epoch = job.total / epochs
            into = job.step - (max(job.epoch, 1) - 1) * per_epoch
            epoch_fraction = min(1.0, max(0.0, into / per_epoch)) if per_epoch else 0.0
    else:
        # preparing/tokenizing come before the first step; the final evaluating/saving come after the last
        run_fraction = 1.0 if job.phase in ("evaluating", "saving") and job.epoch else 0.0
        epoch_fraction = job.fraction
    points = points_frame(store.job_points(job.id))
    validation = pd.DataFrame(columns=["epoch"])
    val = points[points["name"].str.startswith("val_")]
    if not val.empty:
        validation = (val.pivot_table(index="epoch", columns="name", values="value", aggfunc="last")
                      .reset_index().rename_axis(None, axis=1))
    if job.eta_s is not None and job.status == JOB_RUNNING:
        eta = f"about {duration_text(job.eta_s)} left"
    elif job.status == JOB_QUEUED:
        eta = "waiting for the worker"
    else:
        eta = ""
    return RunProgress(job=job, run_fraction=float(run_fraction), epoch_fraction=float(epoch_fraction),
                       epoch=int(job.epoch or 0), epochs=epochs, phase=job.phase, step=int(job.step),
                       total=int(job.total), eta_text=eta, device=job.device or "", loss=job.loss,
                       points=points, validation=validation)


def _job_duration(job: Job) -> float | None:
    if job.started_at is None:
        return None
    end = job.finished_at or (utcnow() if job.status == JOB_RUNNING else None)
    return (end - job.started_at).total_seconds() if end else None


def _base_of(job: Job) -> str:
    return str((job.params.get("options") or {}).get("base", ""))


# The history may refit a TF-IDF recipe (like_for_like) for the verdicts of this many newest runs; older runs keep
# to stored scores and refits made before, so a long history draws in seconds.
REFITTED_RUNS = 3


def run_history(store, limit: int = 100, settings=None) -> pd.DataFrame:
    """One row per training run, newest first: status, base model, data size, duration, key scores, model id, and
    (with ``settings``) each finished run's verdict against the quick and the promoted model (run_verdict)."""
    models = {m.job_id: m for m in store.list_models() if m.job_id is not None}
    runs = [(job, models.get(job.id) or (_safe_model(store, job.model_id) if job.model_id else None))
            for job in store.list_jobs(limit=limit, kind="train")]
    verdicts = _verdicts(store, settings, [m for _, m in runs if m]) if settings is not None else {}
    rows = []
    for job, model in runs:
        scores = key_scores(model.metrics) if model else {}
        options = model.options if model else {}
        sentences = options.get("examples")
        reports = options.get("reports")
        rows.append({
            "run": job.id,
            "status": job.status,
            "base model": _base_of(job) or (model.base_model if model else ""),
            "data": f"{sentences} sentences, {reports} reports" if sentences is not None else "",
            "started": job.started_at,
            "duration": duration_text(_job_duration(job)),
            "micro-F1 (tuned)": scores.get("micro_f1"),
            "macro-F1 (tuned)": scores.get("macro_f1"),
            "report-F1": scores.get("report_f1"),
            "verdict": verdicts.get(model.id, "") if model else "",
            "model": model.id if model else None,
            "promoted": bool(model.promoted) if model else False,
            "by": job.created_by,
            "message": job.message,
        })
    return pd.DataFrame(rows, columns=["run", "status", "base model", "data", "started", "duration",
                                       "micro-F1 (tuned)", "macro-F1 (tuned)", "report-F1", "verdict", "model",
                                       "promoted", "by", "message"])


def _verdicts(store, settings, models: list[TrainedModel]) -> dict[int, str]:
    """model id -> its verdict line, for the runs' models that have scores (newest first; see REFITTED_RUNS)."""
    from tram_core.views.run_verdict import reference_models, run_verdict

    references = reference_models(store)
    scored = sorted({m.id: m for m in models if m.metrics}.values(), key=lambda m: -m.id)
    return {m.id: run_verdict(store, settings, m, refit=i < REFITTED_RUNS, references=references).text
            for i, m in enumerate(scored)}


HISTORY_TEXT_COLUMNS = ("base model", "data", "duration", "verdict", "by", "message")
HISTORY_SCORE_COLUMNS = ("micro-F1 (tuned)", "macro-F1 (tuned)", "report-F1")


def history_display(history: pd.DataFrame) -> pd.DataFrame:
    """The history as the Train page shows it: missing values blank (not 'None'), scores to three decimals, the
    start time to the minute, and an 'evaluate' link (``./?model=ID``) for runs that made a model."""
    table = history.copy()
    for column in HISTORY_TEXT_COLUMNS:
        table[column] = [value if isinstance(value, str) else "" for value in table[column]]
    for column in HISTORY_SCORE_COLUMNS:
        table[column] = ["" if value is None or value != value else f"{float(value):.3f}" for value in table[column]]
    table["started"] = ["" if value is None or value != value else f"{value:%Y-%m-%d %H:%M}"
                        for value in table["started"]]
    has_model = [value is not None and value == value for value in table["model"]]
    table["evaluate"] = [f"./?model={int(m)}" if ok else "" for m, ok in zip(table["model"], has_model)]
    table["model"] = [f"#{int(m)}" if ok else "" for m, ok in zip(table["model"], has_model)]
    return table


def _safe_model(store, model_id: int) -> TrainedModel | None:
    try:
        return store.get_model(model_id)
    except NotFoundError:
        return None


def queued_runs(store) -> list[Job]:
    """Training jobs waiting for the worker, oldest first (the order they will run in)."""
    return sorted(store.list_jobs(limit=200, status=JOB_QUEUED, kind="train"), key=lambda j: j.id)


def active_run(store) -> Job | None:
    """The running training job, else the newest queued one."""
    running = store.list_jobs(limit=1, status=JOB_RUNNING, kind="train")
    if running:
        return running[0]
    queued = queued_runs(store)
    return queued[0] if queued else None


def last_finished_run(store) -> tuple[Job, str] | None:
    """The newest finished training run and one line saying how it ended (status, duration, key score)."""
    for job in store.list_jobs(limit=20, kind="train"):
        if job.status not in JOB_FINISHED_STATUSES:
            continue
        line = f"Run {job.id}: {job.status}"
        duration = duration_text(_job_duration(job))
        if duration:
            line += f" in {duration}"
        model = _safe_model(store, job.model_id) if job.model_id else None
        micro = key_scores(model.metrics).get("micro_f1") if model else None
        if micro is not None:
            line += f" · test micro-F1 {micro:.3f} at tuned thresholds (model #{model.id})"
        elif job.message:
            line += f" · {job.message}"
        return job, line
    return None


# --------------------------------------------------------------------------------------------------- models


def evaluable_models(store) -> list[TrainedModel]:
    """Trained models that carry evaluation scores, newest first (imported-suggestion holders left out)."""
    return [m for m in store.list_models(include_imported=False) if m.metrics]


def parse_model_id(raw: Any) -> int:
    """A model id from a link or form value; a clear error for anything that is not a positive whole number."""
    text = str(raw[-1] if isinstance(raw, (list, tuple)) and raw else raw).strip()
    if not text.isdigit() or int(text) <= 0:
        raise UserError(f"'{text[:40]}' is not a model id: a model id is a positive whole number, like ?model=7")
    return int(text)


def find_model(store, raw: Any) -> TrainedModel:
    """The model a link asks for; UserError naming the id when it is not there or has no scores."""
    model_id = parse_model_id(raw)
    try:
        model = store.get_model(model_id)
    except NotFoundError:
        raise UserError(f"There is no trained model {model_id}; pick one of the trained models below.") from None
    if not model.metrics:
        raise UserError(f"Model {model_id} ('{model.name}') has no evaluation scores (it had no test reports).")
    return model


def model_history(model: TrainedModel) -> list[dict]:
    """The per-epoch history (train loss, validation loss, validation micro-F1) from the record or its folder."""
    history = (model.options or {}).get("history")
    if history:
        return list(history)
    try:
        return list(ModelCard.read(model.path).history)
    except UserError:  # a moved folder leaves the scores readable, only the curve is missing
        return []


def model_details(model: TrainedModel) -> dict[str, Any]:
    """Labelled facts about a run for the page header and the HTML report."""
    options = model.options or {}
    created: datetime = model.created_at
    details = {
        "model": f"#{model.id} {model.name}",
        "base model": model.base_model,
        "kind": model.kind,
        "techniques": len(model.classes),
        "labelled sentences": options.get("examples", ""),
        "reports": options.get("reports", ""),
        "trained": f"{created:%Y-%m-%d %H:%M} UTC",
        "promoted": "yes" if model.promoted else "no",
    }
    tuned_global = tuned_global_threshold(model)
    if tuned_global is not None:
        details["tuned global threshold"] = f"{tuned_global:.2f}"
    return details


def tuned_global_threshold(model: TrainedModel) -> float | None:
    """The global threshold the model's test scores were taken at; None when its evaluation stored none."""
    tuned = evaluated_thresholds(model.metrics)
    return tuned.global_ if tuned is not None else None
