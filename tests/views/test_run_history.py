"""Runs as the pages show them: live progress fractions from job rows, history rows, model links."""

from __future__ import annotations

import pytest

from tests.views.run_samples import sample_history, sample_metrics
from tram_core.errors import UserError
from tram_core.jobs import queue
from tram_core.views import run_history


def _running(store, step: int, total: int, epoch: int, epochs: int = 4, phase: str = "training") -> int:
    job_id = queue.submit_training(store, {"base": "embedded"}, "alice")
    store.claim_job(job_id, "w", "cpu")
    store.update_job_progress(job_id, phase=phase, step=step, total=total, epoch=epoch, loss=0.5, eta_s=30,
                              metrics={"epochs": epochs})
    return job_id


def test_progress_of_run_and_epoch(store):
    job_id = _running(store, step=50, total=80, epoch=3)
    store.add_job_points(job_id, [(20, 1, "val_micro_f1", 0.3), (40, 2, "val_micro_f1", 0.5),
                                  (40, 2, "val_loss", 0.2), (45, 3, "loss", 0.4)])
    progress = run_history.run_progress(store, store.get_job(job_id))
    assert progress.run_fraction == pytest.approx(50 / 80)
    assert progress.epoch_fraction == pytest.approx(10 / 20)  # 20 steps an epoch, 10 into epoch 3
    assert progress.eta_text == "about 30 s left"
    assert "epoch 3/4" in progress.headline and "step 50/80" in progress.headline
    assert list(progress.validation["val_micro_f1"]) == [0.3, 0.5]
    preparing = run_history.run_progress(store, store.get_job(_running(store, 0, 1, 0, phase="tokenizing")))
    assert preparing.run_fraction == 0.0


def test_history_row_and_queue(store, tmp_path):
    done = queue.submit_training(store, {"base": "baseline"}, "bob")
    store.claim_job(done, "w", "cpu")
    model_id = store.add_model("run 1", "baseline", str(tmp_path), "baseline", ["T1105"], {"global": 0.3},
                               sample_metrics(), {"examples": 120, "reports": 6, "history": sample_history()},
                               job_id=done)
    store.finish_job(done, "done", "trained", model_id=model_id)
    waiting = queue.submit_training(store, {"base": "embedded"}, "carol")
    table = run_history.run_history(store).set_index("run")
    assert table.loc[done, "micro-F1 (tuned)"] == pytest.approx(sample_metrics()["at_tuned"]["micro_f1"])
    assert table.loc[done, "data"] == "120 sentences, 6 reports" and table.loc[done, "model"] == model_id
    assert table.loc[waiting, "status"] == "queued"
    assert [j.id for j in run_history.queued_runs(store)] == [waiting]
    assert run_history.active_run(store).id == waiting
    shown = run_history.history_display(run_history.run_history(store)).set_index("run")
    assert shown.loc[done, "micro-F1 (tuned)"] == f"{sample_metrics()['at_tuned']['micro_f1']:.3f}"
    assert shown.loc[done, "report-F1"] == f"{sample_metrics()['document']['micro_f1']:.3f}"
    assert shown.loc[done, "evaluate"] == f"./?model={model_id}" and shown.loc[done, "model"] == f"#{model_id}"
    # a queued run has no scores, model, start or message yet: blank cells, never the word "None"
    assert list(shown.loc[waiting, ["micro-F1 (tuned)", "macro-F1 (tuned)", "report-F1", "model", "evaluate",
                                    "started", "message", "duration"]]) == [""] * 8
    assert "None" not in shown.astype(str).to_string()
    model = store.get_model(model_id)
    assert run_history.model_history(model) == sample_history()
    assert run_history.model_details(model)["tuned global threshold"] == "0.30"


@pytest.mark.parametrize("raw,message", [("abc", "not a model id"), ("0", "not a model id"),
                                         ("-3", "not a model id"), ("9999", "no trained model 9999")])
def test_bad_model_links(store, raw, message):
    with pytest.raises(UserError, match=message):
        run_history.find_model(store, raw)
