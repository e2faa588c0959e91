"""Running a training job: refused with a reason when there is nothing to train on; the model row it records."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.engine_helpers import fill_store
from tram_core.jobs import queue, training_jobs
from tram_core.jobs.worker import run_worker


def test_nothing_to_train_on_fails_with_a_clear_message(store, settings):
    empty = queue.submit_training(store, {"base": "baseline"}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    assert store.get_job(empty).status == "failed"
    assert store.get_job(empty).message.startswith("Nothing to train on: no labelled sentences yet")

    fill_store(store, reports=1)
    one_report = queue.submit_training(store, {"base": "baseline"}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    assert store.get_job(one_report).status == "failed"
    assert "at least 2 reports" in store.get_job(one_report).message


def test_check_trainable_names_what_is_missing():
    from tram_core.store import Example

    def example(sid: int, report: int, labels: tuple) -> Example:
        return Example(sid, report, f"report {report}", f"sentence {sid}", labels, "labelled")

    with pytest.raises(training_jobs.JobError, match="no labelled sentences yet"):
        training_jobs.check_trainable([])
    with pytest.raises(training_jobs.JobError, match="the 2 labelled sentences carry no technique"):
        training_jobs.check_trainable([example(1, 1, ()), example(2, 2, ())])
    with pytest.raises(training_jobs.JobError, match="at least 2 reports"):
        training_jobs.check_trainable([example(1, 1, ("T1105",)), example(2, 1, ())])
    training_jobs.check_trainable([example(1, 1, ("T1105",)), example(2, 2, ())])
    # the embedded model mixes in ATT&CK's procedure examples by default, so with nothing labelled it is the
    # cold-start model; the TF-IDF baseline (procedure examples off by default) still needs labels
    from tram_core.ml.training_options import TrainOptions

    training_jobs.check_trainable([], TrainOptions(base="embedded"))
    with pytest.raises(training_jobs.JobError, match="no labelled sentences yet"):
        training_jobs.check_trainable([], TrainOptions(base="baseline"))


def test_model_names_say_the_run_and_a_short_base_name():
    when = datetime(2024, 5, 1, 9, 30)
    assert training_jobs.model_name(3, "embedded", when) == "run 3 · MiniLM · 2024-05-01 09:30"
    assert training_jobs.model_name(4, "allenai/scibert_scivocab_uncased", when).startswith(
        "run 4 · scibert_scivocab_uncased · ")
    assert training_jobs.base_short_name("/models/my-bert/") == "my-bert"
    assert training_jobs.base_short_name("12") == "model 12"


def test_the_model_row_keeps_the_queued_options_and_what_was_trained_on(store):
    job = store.get_job(store.create_job("train", {"options": {"base": "baseline", "min_count": 2}}, "ana"))
    record = training_jobs.training_record_options(job, 64, 4, 17, [{"epoch": 1}], {"test": [3]})
    assert record == {"base": "baseline", "min_count": 2, "examples": 64, "reports": 4, "label_event_id": 17,
                      "history": [{"epoch": 1}], "split": {"test": [3]}}
    assert "label_event_id" not in training_jobs.training_record_options(job, 1, 1, None, [], None)


def _phases_while_it_runs(store, settings, job_id: int) -> list[str]:
    """Run the queued job in a worker (this process, another thread) and note each phase its row shows."""
    import threading

    from tram_core.jobs.progress import phase_rank

    worker = threading.Thread(target=run_worker, args=(settings,), kwargs={"once": True, "log": lambda _: None})
    worker.start()
    seen: list[str] = []
    while True:
        alive = worker.is_alive()
        phase = store.get_job(job_id).phase
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
        if not alive:
            break
        worker.join(timeout=0.02)
    assert store.get_job(job_id).status == "done", store.get_job(job_id).message
    ranks = [phase_rank(p) for p in seen]
    assert ranks == sorted(ranks), f"a phase came back: {seen}"
    return seen


def test_a_real_training_run_records_its_phases_in_order_and_never_goes_back(store, settings, tiny_bert_dir):
    from tests.engine_helpers import TINY_OPTIONS

    fill_store(store)
    job_id = queue.submit_training(store, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 3}), "ana")
    seen = _phases_while_it_runs(store, settings, job_id)
    assert "training" in seen and seen[-1] == "done"
    job = store.get_job(job_id)
    recorded = [name for name, _ in job.metrics["phases"]]
    assert recorded == ["preparing", "tokenizing", "training", "evaluating", "saving"]
    starts = [datetime.fromisoformat(when) for _, when in job.metrics["phases"]]
    assert starts == sorted(starts) and job.started_at <= starts[0] + timedelta(seconds=1)
    assert job.finished_at >= starts[-1]


def test_the_baseline_fits_without_tokenizing(store, settings):
    fill_store(store)
    job_id = queue.submit_training(store, {"base": "baseline", "min_count": 2}, "ana")
    _phases_while_it_runs(store, settings, job_id)
    recorded = [name for name, _ in store.get_job(job_id).metrics["phases"]]
    assert recorded == ["preparing", "training", "evaluating", "saving"]


def test_a_cold_start_run_needs_no_label_and_trains_on_attack(store, settings):
    """procedure_examples 'only' (or on, with nothing labelled) trains on ATT&CK's procedure examples alone."""
    job = queue.submit_training(store, {"base": "baseline", "procedure_examples": "only",
                                        "classes": ["T1059.001", "T1105"]}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    done = store.get_job(job)
    assert done.status == "done", done.message
    model = store.get_model(done.model_id)
    assert list(model.classes) == ["T1059.001", "T1105"] and model.options["examples"] == 0


def test_a_bad_procedure_option_is_refused_when_queued(store):
    from tram_core.errors import UserError

    with pytest.raises(UserError, match="Unknown procedure_examples 'always'"):
        queue.submit_training(store, {"base": "baseline", "procedure_examples": "always"}, "ana")
