"""The Train service against a real store: the live panel from job rows, the form's records, start, cancel, the
history of runs and promotion, deleting a model, and the server folders a run may start from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.engine_helpers import fill_store
from tram_core.errors import UserError
from tram_core.jobs import queue
from tram_core.jobs.runner import run_job
from tram_core.services import train as svc
from tram_core.services import train_live as live
from tram_core.store import JOB_DONE, JOB_QUEUED


def choice(ctx, kind: str):
    return next(c for c in svc.base_choices(ctx) if c.kind == kind and not c.needs)


def test_without_a_run_the_panel_says_so(ctx):
    panel = live.live_panel(ctx)
    assert panel.job_id is None and not panel.can_cancel and panel.bars == ()
    assert panel.info.startswith("No run in progress. Worker: ")


def test_a_running_job_is_drawn_from_its_rows_and_can_be_cancelled(ctx):
    fill_store(ctx.store, reports=4, per_technique=4)
    job_id = queue.submit_training(ctx.store, {"base": "embedded", "epochs": 4}, "alice")
    queued = queue.submit_training(ctx.store, {"base": "baseline"}, "bob")
    ctx.store.claim_job(job_id, "worker-1", "cuda:0")
    ctx.store.update_job_progress(job_id, phase="training", step=21, total=60, epoch=2, loss=0.3125, eta_s=95,
                                  message="epoch 2/4", metrics={"epochs": 4})
    ctx.store.add_job_points(job_id, [(s, 1 + s // 15, "loss", 1.0 / s) for s in range(5, 21, 5)]
                             + [(15, 1, "val_loss", 0.41), (15, 1, "val_micro_f1", 0.37)])
    panel = live.live_panel(ctx)
    assert (panel.job_id, panel.running, panel.title) == (job_id, True, f"Run {job_id}")
    # the run's steps, the epoch, then a bar per phase: preparing and tokenizing done, training at 35%, the rest
    assert [round(b.fraction * 100) for b in panel.bars] == [35, 40, 100, 100, 35, 0, 0]
    assert panel.bars[0].text.startswith("Run: 35% · ") and panel.bars[1].text == "Epoch 2/4: 40%"
    assert [b.text for b in panel.bars[2:]] == [
        "Preparing: done", "Tokenizing: done", "Training: 35% · epoch 2/4 · step 21/60 · about 1 min 35 s left",
        "Evaluating: waiting", "Saving: waiting"]
    assert dict(panel.figures) == {"Phase": "training", "Step": "21/60", "Running loss": "0.3125",
                                   "Device": "cuda:0"}
    assert panel.notes == ("about 1 min 35 s left",)
    assert panel.loss_chart is not None and panel.validation.iloc[0]["val_micro_f1"] == pytest.approx(0.37)
    assert list(panel.queue["run"]) == [queued] and list(panel.queue["queued by"]) == ["bob"]
    live.cancel_run(ctx, "alice", job_id)
    panel = live.live_panel(ctx)
    assert panel.cancel_requested and not panel.can_cancel


def test_a_queued_run_says_it_waits(ctx):
    job_id = queue.submit_training(ctx.store, {"base": "baseline"}, "alice")
    panel = live.live_panel(ctx)
    assert not panel.running and panel.info.startswith(f"Run {job_id} is queued (waiting for the worker)")


def test_the_queue_says_each_job_s_lane_and_when_it_starts(ctx):
    store = ctx.store
    store.register_worker("box-a:10", 10, "box-a", "cuda:0")
    store.register_worker("box-a:10 (short lane)", 10, "box-a", "cpu (short jobs)")
    run = queue.submit_training(store, {"base": "embedded"}, "alice")
    assert store.claim_next_job("box-a:10", "cuda:0").id == run
    store.update_job_progress(run, phase="training", step=10, total=100, eta_s=600)
    second = queue.submit_training(store, {"base": "baseline"}, "bob")
    third = queue.submit_training(store, {"base": "embedded"}, "bob")
    prediction = store.create_job("predict", {"model_id": 4, "report_id": None}, "cleo")
    table = live.live_panel(ctx).queue
    assert list(table.columns) == ["run", "what", "lane", "starts", "queued by", "queued at"]
    assert table[["run", "lane", "starts"]].values.tolist() == [  # the order they start in: the prediction first
        [prediction, "short", "within seconds"],
        [second, "training", f"when run {run} ends (about 10 min 00 s)"],
        [third, "training", f"after run {second}"]]
    assert table["what"].tolist()[:2] == ["suggestions by model 4 for every unlabelled sentence",
                                          "training on baseline"]
    store.unregister_worker("box-a:10 (short lane)")  # no short lane: the prediction waits for a free worker
    assert live.live_panel(ctx).queue["starts"].tolist()[0] == "when a worker is free"
    store.unregister_worker("box-a:10")
    assert set(live.live_panel(ctx).queue["starts"]) == {"when a worker starts"}


def test_the_sidebar_and_the_panel_agree_after_a_cancel(ctx):
    from tram_core.services import common

    ctx.store.register_worker(queue.worker_name(), os.getpid(), queue.worker_host(), "cpu")
    job_id = queue.submit_training(ctx.store, {"base": "embedded", "epochs": 4}, "alice")
    ctx.store.claim_next_job(queue.worker_name(), "cpu")
    ctx.store.update_job_progress(job_id, phase="training", step=8, total=240, epoch=1, eta_s=1380,
                                  metrics={"epochs": 4})
    panel = live.live_panel(ctx)
    assert common.worker_status_line(ctx) == panel.worker_line == \
        f"Worker: training run {job_id} at 3% (epoch 1/4, about 23 min 00 s left)"
    assert panel.running and "about 23 min 00 s left" in panel.notes

    live.cancel_run(ctx, "alice", job_id)  # the worker has not seen it yet: the run is cancelling, not running on
    panel = live.live_panel(ctx)
    assert common.worker_status_line(ctx) == panel.worker_line == \
        f"Worker: training run {job_id}: cancelling (it stops at its next step)"
    assert panel.cancel_requested and not panel.can_cancel and not any("left" in n for n in panel.notes)
    training = next(b for b in panel.bars if b.text.startswith("Training:"))
    assert training.text.endswith("· cancelling") and "left" not in training.text

    ctx.store.finish_job(job_id, "cancelled", "cancelled at step 9/240; nothing was saved")  # the worker stops it
    panel = live.live_panel(ctx)
    assert panel.job_id is None and panel.info == "No run in progress. Worker: idle."
    assert common.worker_status_line(ctx) == panel.worker_line == "Worker: idle"
    assert panel.bars[0].text.startswith(f"Run {job_id}: cancelled")


@pytest.mark.slow
def test_with_a_real_worker_neither_the_sidebar_nor_the_panel_shows_a_cancelled_run_running(ctx, tram_home,
                                                                                           tiny_bert_dir):
    import signal
    import time

    from tests.conftest import wait_for
    from tests.engine_helpers import TINY_OPTIONS, cli
    from tram_core.services import common

    fill_store(ctx.store)
    job_id = queue.submit_training(ctx.store, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 400}), "al")
    worker = cli(["worker"], tram_home, wait=False)
    try:
        wait_for(lambda: live.live_panel(ctx).running and ctx.store.get_job(job_id).step > 0, timeout=180,
                 what="the run's training steps")
        live.cancel_run(ctx, "alice", job_id)
        readings = []
        while not ctx.store.get_job(job_id).finished:
            readings.append((common.worker_status_line(ctx), live.live_panel(ctx)))
            time.sleep(0.05)
        after = (common.worker_status_line(ctx), live.live_panel(ctx))
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    assert ctx.store.get_job(job_id).status == "cancelled"
    for line, panel in readings:  # while the worker stops it: 'cancelling', or already gone, never running on
        assert f"training run {job_id} at" not in line and "left" not in line, line
        assert panel.job_id is None or panel.cancel_requested
        assert not any("left" in note for note in panel.notes)
    line, panel = after
    assert panel.job_id is None and f"training run {job_id}" not in line and line == panel.worker_line


def test_a_run_that_starts_and_ends_between_two_ticks_still_redraws_the_page(ctx, settings):
    """The panel never saw the run (queued, ran and finished between two ticks): the newest finished run changed,
    so the page redraws and its promote list offers the new model."""
    fill_store(ctx.store, reports=4, per_technique=4)
    first = live.live_panel(ctx)
    assert first.job_id is None and first.last_finished_id is None
    job_id = queue.submit_training(ctx.store, {"base": "baseline", "min_count": 2}, "alice")
    assert run_job(ctx.store, settings, ctx.store.claim_job(job_id, "w", "cpu")) == JOB_DONE
    later = live.live_panel(ctx)
    assert later.job_id is None and later.last_finished_id == job_id
    assert live.page_needs_redraw(first.marks, later)
    assert not live.page_needs_redraw(later.marks, live.live_panel(ctx))  # once drawn, the ticks stay quiet
    assert not live.page_needs_redraw(None, later)  # the page's first draw


def test_a_shown_run_that_ends_redraws_the_page_and_a_queued_one_starting_does_not(ctx, settings):
    fill_store(ctx.store, reports=4, per_technique=4)
    job_id = queue.submit_training(ctx.store, {"base": "baseline", "min_count": 2}, "alice")
    queued = live.live_panel(ctx)
    assert queued.job_id == job_id and not queued.running
    job = ctx.store.claim_job(job_id, "w", "cpu")
    running = live.live_panel(ctx)
    assert running.running and not live.page_needs_redraw(queued.marks, running)
    ctx.store.request_cancel(job_id)
    assert run_job(ctx.store, settings, job) != JOB_DONE  # cancelled: it ended all the same
    ended = live.live_panel(ctx)
    assert ended.job_id is None and ended.last_finished_id == job_id
    assert live.page_needs_redraw(running.marks, ended)


def test_label_spaces(ctx):
    assert svc.label_space(ctx, svc.CORPUS).classes is None
    assert len(svc.label_space(ctx, svc.TRAM50).classes) == 50
    assert svc.label_space(ctx, svc.PASTED, "").quiet  # nothing pasted yet: no error shown until Start
    refused = svc.label_space(ctx, svc.PASTED, "T1105, T9999")
    assert "T9999" in refused.error and not refused.quiet


def test_the_data_panel_counts_and_says_why_a_run_cannot_start(ctx):
    empty = svc.data_panel(ctx, 10, svc.label_space(ctx, svc.CORPUS))
    assert empty.problem.startswith("Nothing is labelled yet") and empty.chart is None
    # the embedded model's form stands at 'mix': with nothing labelled that run is the cold-start model
    mode = svc.shown_procedure_mode(ctx, choice(ctx, "embedded"), None)
    cold = svc.data_panel(ctx, 10, svc.label_space(ctx, svc.CORPUS), mode)
    assert mode == "mix" and not cold.problem and cold.caption.startswith("No analyst label is used")
    assert svc.shown_procedure_mode(ctx, choice(ctx, "baseline"), None) == "off"
    assert svc.shown_procedure_mode(ctx, choice(ctx, "embedded"), "off") == "off"
    fill_store(ctx.store, reports=4, per_technique=4, unlabelled=3)
    data = svc.data_panel(ctx, 20, svc.label_space(ctx, svc.CORPUS))
    assert dict(data.figures) == {"Reports": 4, "Sentences": 4 * 19, "Labelled": 4 * 16, "With a technique": 4 * 12,
                                  "Negatives (no technique)": 4 * 4}
    assert data.problem.startswith("No technique has 20 or more")
    mixed = svc.data_panel(ctx, 3, svc.label_space(ctx, svc.CORPUS), "mix")
    assert "procedure examples are added to training ('mix'); they are never counted" in mixed.caption
    assert dict(mixed.figures)["With a technique"] == 4 * 12  # the analysts' sentences only
    assert data.under_minimum_title == "3 techniques under the minimum of 20 (left out)"
    rows = svc.under_minimum_rows(ctx, data)
    assert len(rows) == 3 and all(r["name"] and r["sentences"] == 16 for r in rows)
    fixed = svc.data_panel(ctx, 10, svc.label_space(ctx, svc.PASTED, "T1105, T1134"))
    assert fixed.without_examples.startswith("1 techniques of the label space have no labelled sentence: ")
    assert fixed.chart is not None


def test_the_option_form_follows_the_base_model(ctx):
    baseline = svc.option_form(ctx, choice(ctx, "baseline"))
    assert baseline.note and not [f for f in baseline.main + baseline.advanced if f.name == "epochs"]
    embedded = svc.option_form(ctx, choice(ctx, "embedded"))
    epochs = next(f for f in embedded.main if f.name == "epochs")
    assert epochs.kind == "int" and epochs.from_recipe and epochs.help_text.endswith("(recipe default for this "
                                                                                      "base model)")
    rate = next(f for f in embedded.main if f.name == "learning_rate")
    assert rate.number_format == "%.1e" and rate.step == pytest.approx(rate.default / 10)
    loss = next(f for f in embedded.main if f.name == "loss")
    assert loss.choices[loss.choice_index] == loss.default


def test_start_queues_runs_and_refuses_what_cannot_train(ctx):
    with pytest.raises(UserError, match="Nothing is labelled yet"):
        svc.start_training(ctx, "alice", svc.TrainRequest(choice(ctx, "baseline")))
    fill_store(ctx.store, reports=4, per_technique=4)
    reports = sorted(svc.test_report_choices(ctx))
    request = svc.TrainRequest(choice(ctx, "baseline"), space=svc.TRAM50, test_reports=(reports[2], reports[0]))
    first = svc.start_training(ctx, "alice", request)
    [job] = ctx.store.list_jobs()
    assert first == f"Run {job.id} is queued." and job.status == JOB_QUEUED and job.created_by == "alice"
    assert len(job.params["options"]["classes"]) == 50
    assert job.params["options"]["test_reports"] == [reports[0], reports[2]]
    [audited] = ctx.store.audit_events(kinds=("train",))  # the audit trail: who queued which run on what base
    assert (audited.user, audited.target, audited.after) == ("alice", f"job {job.id}", {
        "base": "baseline", "label space": svc.TRAM50, "techniques": 50, "min count": svc.DEFAULT_MIN_COUNT})
    assert svc.start_training(ctx, "bob", request).endswith("is queued behind 1 other run(s).")
    with pytest.raises(UserError, match="T9999"):
        svc.start_training(ctx, "alice", svc.TrainRequest(choice(ctx, "baseline"), space=svc.PASTED, pasted="T9999"))
    hub = next(c for c in svc.base_choices(ctx) if c.needs == "hub")
    with pytest.raises(UserError, match="Hugging Face model ID"):
        svc.start_training(ctx, "alice", svc.TrainRequest(hub))
    assert "picked report(s)" in svc.test_reports_note(ctx, request.choice, [reports[0]])


def test_the_history_lists_runs_and_a_model_can_be_promoted(ctx):
    assert svc.history_table(ctx) is None
    fill_store(ctx.store, reports=6, per_technique=4)
    job_id = queue.submit_training(ctx.store, {"base": "baseline", "min_count": 2}, "tester")
    assert run_job(ctx.store, ctx.settings, ctx.store.claim_job(job_id, "w", "cpu")) == JOB_DONE
    model_id = ctx.store.get_job(job_id).model_id
    row = svc.history_table(ctx).set_index("run").loc[job_id]
    assert row["status"] == "done" and row["evaluate"] == f"./?model={model_id}" and row["model"] == f"#{model_id}"
    assert row["verdict"] == "no other quick or promoted model to compare it with yet"
    assert svc.HISTORY_COLUMNS.index("verdict") == svc.HISTORY_COLUMNS.index("report-F1") + 1
    promotion = svc.promotion(ctx)
    assert promotion.choices.ids == (model_id,) and promotion.caption.endswith("None is promoted yet.")
    line = svc.promote(ctx, "alice", model_id)
    assert line.startswith(f"Model #{model_id} is promoted") and ctx.store.promoted_model().id == model_id
    assert any(j.kind == "predict" and j.created_by == "alice" for j in ctx.store.list_jobs())
    assert "★ promoted" in svc.promotion(ctx).caption


def test_a_run_worse_than_the_quick_model_is_promoted_only_when_confirmed(ctx):
    from tests.views.verdict_helpers import confuse_labels, zero_signal_run
    from tram_core.jobs import quick_model

    fill_store(ctx.store)
    confuse_labels(ctx.store)
    quick = ctx.store.get_model(quick_model.retrain_quick_model(ctx.store, ctx.settings))
    assert svc.quick_model_line(ctx).startswith(f"Quick model #{quick.id} (TF-IDF, retrained by the worker on its "
                                                "own): last retrained ")
    zero = zero_signal_run(ctx.store, quick)
    check = svc.promotion_check(ctx, zero)
    assert check.needs_confirmation and check.sentence.startswith("Scores 0.000 at 0.5: the model has not learned")
    assert "worse than the promoted quick model on the same" in check.sentence
    with pytest.raises(UserError) as refused:
        svc.promote(ctx, "alice", zero)
    assert str(refused.value).endswith('; tick "Promote anyway" to promote it anyway.')
    assert ctx.store.promoted_model().id == quick.id and ctx.store.audit_events(kinds=("promote",)) == []
    assert svc.promote(ctx, "alice", zero, anyway=True).startswith(f"Model #{zero} is promoted")
    [audited] = ctx.store.audit_events(kinds=("promote",))
    assert audited.after["promoted"] == zero and audited.after["anyway"][0].startswith("worse than the promoted "
                                                                                        "quick model")
    assert not svc.promotion_check(ctx, zero).needs_confirmation  # it is the promoted one now


# --------------------------------------------------------------------------------------------------- delete a model


def _model_in_models_folder(ctx, name: str, promote: bool = False) -> tuple[int, Path]:
    """A model row whose folder lies in the models folder, with one suggestion."""
    from tests.views.test_annotation import add_report

    folder = ctx.settings.models_dir / name
    folder.mkdir(parents=True)
    (folder / "model_info.json").write_text("{}")
    model_id = ctx.store.add_model(name, "baseline", str(folder), "baseline", ["T1055"], {"global": 0.5}, {}, {})
    _, ids = add_report(ctx.store, title=f"report for {name}")
    ctx.store.replace_suggestions(model_id, {ids[0]: {"T1055": 0.9}})
    if promote:
        ctx.store.promote_model(model_id)
    return model_id, folder


def test_deleting_a_model_removes_its_row_suggestions_and_folder(ctx):
    model_id, folder = _model_in_models_folder(ctx, "run-41")
    assert svc.deletable_models(ctx).ids == (model_id,)
    line = svc.delete_model(ctx, "mia", model_id)
    assert line == f"Deleted model #{model_id} 'run-41' and its suggestions; removed its folder {folder.resolve()}."
    assert not folder.exists() and ctx.store.list_models() == []
    assert ctx.store.annotation_suggested_with("T1055", model_id) == {}
    [audited] = ctx.store.audit_events(kinds=("delete model",))
    assert (audited.user, audited.target) == ("mia", f"model {model_id}")
    assert audited.before == {"name": "run-41", "kind": "baseline", "path": str(folder)}
    with pytest.raises(UserError, match=f"No trained model with id {model_id}"):
        svc.delete_model(ctx, "mia", model_id)


def test_the_promoted_model_and_a_model_a_job_uses_are_refused_and_kept(ctx):
    promoted, promoted_folder = _model_in_models_folder(ctx, "run-1", promote=True)
    used, used_folder = _model_in_models_folder(ctx, "run-2")
    base_of, base_folder = _model_in_models_folder(ctx, "run-3")
    with pytest.raises(UserError, match="is the promoted model, the source of suggestions: promote another"):
        svc.delete_model(ctx, "mia", promoted)
    predict = queue.submit_prediction(ctx.store, used, None, "bob")
    train = queue.submit_training(ctx.store, {"base": f"trained:{base_of}"}, "bob")
    ctx.store.claim_job(train, "worker-1", "cpu")
    with pytest.raises(UserError, match=f"used by queued predict job {predict}: wait for it to end or cancel it"):
        svc.delete_model(ctx, "mia", used)
    with pytest.raises(UserError, match=f"used by running train job {train}"):
        svc.delete_model(ctx, "mia", base_of)
    assert {m.id for m in ctx.store.list_models()} == {promoted, used, base_of}
    assert promoted_folder.is_dir() and used_folder.is_dir() and base_folder.is_dir()
    assert ctx.store.audit_events(kinds=("delete model",)) == []
    ctx.store.request_cancel(predict)  # a queued job is cancelled at once: the model is free
    assert svc.delete_model(ctx, "mia", used).startswith(f"Deleted model #{used} ")


def test_a_folder_outside_the_models_folder_is_left_alone(ctx, tmp_path):
    outside = tmp_path / "somebody-elses-model"
    outside.mkdir()
    model_id = ctx.store.add_model("mine", "transformer", str(outside), "embedded", ["T1055"], {}, {}, {})
    line = svc.delete_model(ctx, "mia", model_id)
    assert line.endswith(f"its folder {outside} is outside the models folder and stays.")
    assert outside.is_dir() and ctx.store.list_models() == []


# --------------------------------------------------------------------------------------------------- server folders


def test_a_maintainer_s_model_folder_must_be_inside_the_allowed_folders(ctx, tmp_path, monkeypatch):
    import dataclasses

    from tram_core.access import ADMIN, MAINTAINER, Actor

    fill_store(ctx.store, reports=4, per_technique=4)
    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    for folder in (allowed / "bert", secret / "bert"):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    ctx = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, model_folders=(allowed,)))
    monkeypatch.setenv("TRAM_AUTH", "local")
    mia, ada = Actor("mia", MAINTAINER), Actor("ada", ADMIN)
    folder_choice = next(c for c in svc.base_choices(ctx) if c.needs == "folder")
    refusals = []
    for typed in (str(secret / "bert"), str(secret / "nothing-here"), f"{allowed}/../secret/bert"):
        with pytest.raises(UserError, match="is outside the folders this server allows") as refused:
            svc.start_training(ctx, mia, svc.TrainRequest(folder_choice, typed))
        refusals.append(str(refused.value).replace(typed, "PATH"))
    assert len(set(refusals)) == 1 and ctx.store.list_jobs() == []  # the same words whether it exists or not
    assert str(allowed) in svc.folder_help(ctx, mia) and "any folder" in svc.folder_help(ctx, ada).lower()
    svc.start_training(ctx, mia, svc.TrainRequest(folder_choice, str(allowed / "x" / ".." / "bert")))
    svc.start_training(ctx, ada, svc.TrainRequest(folder_choice, str(secret / "bert")))
    bases = [j.params["options"]["base"] for j in reversed(ctx.store.list_jobs())]
    assert bases == [str((allowed / "bert").resolve()), str((secret / "bert").resolve())]
