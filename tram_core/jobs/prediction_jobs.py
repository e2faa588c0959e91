"""Running a prediction job: score one report's (or every unlabelled) sentences with a model and store the
suggestions (predict.run_prediction), with progress and cancel through the job row."""

from __future__ import annotations

from tram_core.jobs.progress import JobCancelled, JobReporter
from tram_core.store import Job, Store


def run_prediction_job(store: Store, settings, job: Job) -> int:
    """Score sentences as ``job`` asks and store the suggestions; returns how many sentences were scored."""
    from tram_core.ml.predict import PredictionCancelled, run_prediction

    with JobReporter(store, job.id) as reporter:
        try:
            return run_prediction(store, settings, int(job.params["model_id"]), job.params.get("report_id"),
                                  progress=reporter, should_cancel=reporter.should_cancel)
        except PredictionCancelled as exc:
            raise JobCancelled(str(exc)) from exc
