"""Running a training job: check there is something to train on, train (training.train_model) into
``models/run-<job id>`` with progress reported to the job row, and record the trained model."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from tram_core.jobs.options import JobError, split_dict, train_options
from tram_core.jobs.progress import JobCancelled, JobReporter
from tram_core.ml.model_card import key_scores
from tram_core.store import JOB_DONE, Job, Store, utcnow

BASE_SHORT_NAMES = {"embedded": "MiniLM", "tram-scibert": "SciBERT", "baseline": "TF-IDF"}


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


def check_trainable(examples: list, options=None) -> None:
    """Fail early, with a reason and a next step, when there is nothing worth training on. A run on ATT&CK's
    procedure examples alone (the cold-start model, procedure_training.is_cold_start) needs no label."""
    from tram_core.ml.procedure_training import is_cold_start

    if options is not None and is_cold_start(options, examples):
        return
    if not examples:
        raise JobError("Nothing to train on: no labelled sentences yet. Label sentences on the Annotate page "
                       "or import a labelled dataset, then train again (or train on ATT&CK's procedure examples "
                       "alone: procedure_examples 'only').")
    if not any(e.labels for e in examples):
        raise JobError(f"Nothing to train on: the {len(examples)} labelled sentences carry no technique. "
                       "Label some sentences with techniques, then train again.")
    reports = {e.report_id for e in examples}
    if len(reports) < 2:
        raise JobError(f"Labelled sentences come from {len(reports)} report; training holds out whole reports "
                       "for testing, so label sentences in at least 2 reports (3 or more for a validation set).")


def training_record_options(job: Job, examples: int, reports: int, label_event_id: int | None, history: list,
                            split: dict | None, procedure_examples: str | None = None) -> dict:
    """The ``options`` of the model row a training job records: its queued options plus what it trained on
    (``procedure_examples``: the mode the run used, from its card, where the queued options left it to the
    recipe)."""
    record = {**job.params.get("options", {}), "examples": examples, "reports": reports}
    if procedure_examples is not None:
        record["procedure_examples"] = procedure_examples
    if label_event_id is not None:
        record["label_event_id"] = label_event_id
    record["history"] = list(history or [])
    record["split"] = split
    return record


def run_training_job(store: Store, settings, job: Job) -> int:
    """Train as ``job`` asks and record the model; returns the model id. Raises on failure or cancel."""
    from tram_core.ml.training import train_model
    from tram_core.ml.training_run import TrainingCancelled

    options = train_options(job.params)
    examples = store.examples()
    check_trainable(examples, options)
    watermark = store.label_event_watermark()
    output_dir = Path(settings.models_dir) / f"run-{job.id}"
    if output_dir.exists():
        shutil.rmtree(output_dir)
    reports = len({e.report_id for e in examples})
    provenance = {"id": job.id, "label_event_id": watermark, "examples": len(examples), "reports": reports}
    with JobReporter(store, job.id, total_epochs=getattr(options, "epochs", None)) as reporter:
        reporter.begin("preparing", f"{len(examples)} labelled sentences from {reports} reports")
        try:
            result = train_model(examples, options, settings, output_dir, progress=reporter,
                                 should_cancel=reporter.should_cancel, store=store, provenance=provenance)
        except TrainingCancelled as exc:
            shutil.rmtree(output_dir, ignore_errors=True)
            raise JobCancelled(str(exc)) from exc
        except BaseException:
            shutil.rmtree(output_dir, ignore_errors=True)
            raise
    model_dir = Path(result.model_dir)
    base = str(getattr(options, "base", "") or "")
    record_options = training_record_options(job, len(examples), reports, watermark, list(result.history or []),
                                             split_dict(result.split),
                                             result.card.options.get("procedure_examples"))
    model_id = store.add_model(model_name(job.id, base), result.card.kind, str(model_dir), base,
                               list(result.classes), result.thresholds.to_json(), dict(result.metrics),
                               record_options, job.id)
    return model_id


def finish_training_job(store: Store, job: Job, model_id: int) -> None:
    """Close ``job`` as done, naming its model and the model's test scores at tuned thresholds."""
    model = store.get_model(model_id)
    scores = key_scores(model.metrics)
    text = "trained"
    if scores["micro_f1"] is not None:
        text += f": test micro-F1 {scores['micro_f1']:.3f}"
        if scores["macro_f1"] is not None:
            text += f", macro-F1 {scores['macro_f1']:.3f}"
        text += " at tuned thresholds"
    ran = store.get_job(job.id).metrics
    store.finish_job(job.id, JOB_DONE, f"{text} · model {model_id} '{model.name}'", model_id=model_id,
                     metrics={**scores, "epochs": ran.get("epochs"), "phases": ran.get("phases", [])})
