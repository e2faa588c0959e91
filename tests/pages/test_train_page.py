"""Train page (AppTest): the data before a run, starting runs (options reach the job row), refusing a start with
nothing labelled, the live panel drawn from job rows, the queue, the history of runs, deleting a model, and where a
typed model folder may be."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.engine_helpers import fill_store
from tram_core.jobs import queue
from tram_core.jobs.runner import run_job
from tram_core.store import JOB_DONE, JOB_QUEUED

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "train.py")


@pytest.fixture(autouse=True)
def no_worker_spawn(monkeypatch):
    """The page must not start a real worker process in these tests."""
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _pick_base(at: AppTest, text: str) -> AppTest:
    box = at.selectbox(key="train_base")
    label = next(o for o in box.options if text in o)
    return box.set_value(label).run()


def test_empty_database_offers_the_cold_start_model_by_default(store):
    """The embedded recipe mixes in ATT&CK's procedure examples: with nothing labelled its run is the cold-start
    model, so the page says so and queues it."""
    at = _page().run()
    assert not at.exception
    assert not any("Nothing is labelled yet" in w.value for w in at.warning)
    assert any("cold-start model" in c.value for c in at.caption)
    at = at.button(key="train_start").click().run()
    assert not at.exception and not at.error
    [job] = store.list_jobs()
    assert job.status == JOB_QUEUED and job.params["options"]["procedure_examples"] == "mix"


def test_empty_database_without_procedure_examples_explains_and_refuses_to_start(store):
    at = _page().run()
    box = next(s for s in at.selectbox if s.key and s.key.endswith("_procedure_examples"))
    at = box.set_value("off").run()
    assert not at.exception
    assert any("Nothing is labelled yet" in w.value for w in at.warning)
    at = at.button(key="train_start").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "Cannot start" in at.error[0].value and "Annotate" in at.error[0].value
    assert store.list_jobs() == []


def test_data_overview_counts_and_minimum(store):
    fill_store(store, reports=4, per_technique=4, unlabelled=3)
    at = _page().run()
    assert _metric(at, "Reports") == "4"
    assert _metric(at, "Labelled") == str(4 * 16)
    assert _metric(at, "With a technique") == str(4 * 12)
    assert _metric(at, "Negatives (no technique)") == str(4 * 4)
    assert not any("Nothing" in w.value for w in at.warning)
    # 16 sentences per technique: a minimum of 20 leaves every technique out, and says so
    at = at.number_input(key="train_min_count").set_value(20).run()
    assert any("No technique has 20 or more" in w.value for w in at.warning)
    assert any("3 techniques under the minimum of 20" in e.label for e in at.expander)


def test_start_submits_a_job_with_the_chosen_options(store):
    fill_store(store, reports=4, per_technique=4)
    at = _page().run()
    at = at.number_input(key="train_min_count").set_value(3).run()
    epochs_key = next(n.key for n in at.number_input if n.label == "epochs")
    at = at.number_input(key=epochs_key).set_value(2).run()
    at = at.button(key="train_start").click().run()
    assert not at.exception and not at.error
    assert any("queued" in s.value for s in at.success)
    [job] = store.list_jobs()
    options = job.params["options"]
    assert job.status == JOB_QUEUED and job.kind == "train"
    assert options["base"] == "embedded" and options["epochs"] == 2 and options["min_count"] == 3
    assert options["learning_rate"] is None  # left at the recipe default: the run resolves it
    assert job.created_by


def test_picked_test_reports_go_into_the_job(store):
    fill_store(store, reports=4, per_technique=4)
    at = _page().run()
    reports = sorted(r.id for r in store.list_reports())
    picker = at.multiselect(key="train_test_reports")
    assert picker.options == [f"#{r} {store.get_report(r).title}" for r in reports]
    at = picker.set_value([reports[2], reports[0]]).run()
    at = at.button(key="train_start").click().run()
    assert not at.exception and not at.error
    [job] = store.list_jobs()
    assert job.params["options"]["test_reports"] == [reports[0], reports[2]]


def test_baseline_tram50_and_a_second_start_is_queued(store):
    fill_store(store, reports=4, per_technique=4)
    at = _pick_base(_page().run(), "TF-IDF")
    assert not any(n.label == "epochs" for n in at.number_input)  # the baseline has no epochs
    at = at.radio(key="train_space").set_value("tram50").run()
    at = at.button(key="train_start").click().run()
    at = at.button(key="train_start").click().run()
    assert not at.error
    assert any("queued behind 1" in s.value for s in at.success)
    first, second = sorted(store.list_jobs(), key=lambda j: j.id)
    assert first.params["options"]["base"] == "baseline"
    assert len(first.params["options"]["classes"]) == 50
    at = _page().run()  # the queue is shown from the database
    assert any(f"Run {first.id} is queued" in i.value for i in at.info)
    queue = next(d.value for d in at.dataframe if "queued by" in d.value.columns)
    assert list(queue["run"]) == [second.id]


def test_pasted_label_space_with_an_unknown_id_is_refused(store):
    fill_store(store, reports=4, per_technique=4)
    at = _page().run()
    at = at.radio(key="train_space").set_value("pasted").run()
    at = at.text_area(key="train_pasted").input("T1105, T9999").run()
    assert any("T9999" in e.value for e in at.error)
    at = at.button(key="train_start").click().run()
    assert store.list_jobs() == []


def test_live_panel_shows_a_running_job_from_the_database(store):
    fill_store(store, reports=4, per_technique=4)
    job_id = queue.submit_training(store, {"base": "embedded", "epochs": 4}, "alice")
    store.claim_job(job_id, "worker-1", "cuda:0")
    store.update_job_progress(job_id, phase="training", step=21, total=60, epoch=2, loss=0.3125, eta_s=95,
                              message="epoch 2/4", metrics={"epochs": 4})
    store.add_job_points(job_id, [(s, 1 + s // 15, "loss", 1.0 / s) for s in range(5, 21, 5)]
                         + [(15, 1, "val_loss", 0.41), (15, 1, "val_micro_f1", 0.37)])
    at = _page().run()
    assert not at.exception
    assert _metric(at, "Step") == "21/60"
    assert _metric(at, "Device") == "cuda:0"
    assert _metric(at, "Running loss") == "0.3125"
    bars = at.get("progress")
    # 15 steps an epoch: step 21 is 35 % of the run and 6 of epoch 2's 15 steps (40 %); then a bar per phase
    assert [round(b.proto.value) for b in bars] == [35, 40, 100, 100, 35, 0, 0]
    assert [b.proto.text.split(":")[0] for b in bars[2:]] == ["Preparing", "Tokenizing", "Training", "Evaluating",
                                                             "Saving"]
    assert "Run: 35%" in bars[0].proto.text and "epoch 2/4" in bars[0].proto.text
    assert any("about 1 min 35 s left" in c.value for c in at.caption)
    validation = next(d.value for d in at.dataframe if "val_micro_f1" in d.value.columns)
    assert validation.iloc[0]["val_micro_f1"] == pytest.approx(0.37)
    assert at.get("vega_lite_chart")  # the running loss chart

    # the worker moves on: a fresh page (another viewer, a reload) shows the new state
    store.update_job_progress(job_id, step=42, epoch=3, loss=0.25)
    at = _page().run()
    assert _metric(at, "Step") == "42/60"
    bars = at.get("progress")
    assert [round(b.proto.value) for b in bars] == [70, 80, 100, 100, 70, 0, 0]

    at = at.button(key=f"train_cancel_{job_id}").click().run()
    assert store.get_job(job_id).cancel_requested
    assert any("Cancel requested" in w.value for w in at.warning)


def test_history_lists_finished_runs_with_scores_and_promotes(store, settings):
    fill_store(store, reports=6, per_technique=4)
    job_id = queue.submit_training(store, {"base": "baseline", "min_count": 2}, "tester")
    assert run_job(store, settings, store.claim_job(job_id, "w", "cpu")) == JOB_DONE
    model = store.get_model(store.get_job(job_id).model_id)
    at = _page().run()
    history = next(d.value for d in at.dataframe if "micro-F1 (tuned)" in d.value.columns)
    row = history.set_index("run").loc[job_id]
    assert row["status"] == "done" and row["base model"] == "baseline"
    assert row["micro-F1 (tuned)"] == f"{model.metrics['at_tuned']['micro_f1']:.3f}"
    assert row["model"] == f"#{model.id}"
    assert row["evaluate"] == f"./?model={model.id}"
    assert row["data"].startswith(f"{model.options['examples']} sentences")
    assert row["verdict"] == "no other quick or promoted model to compare it with yet"
    at = at.button(key="train_promote").click().run()
    assert not at.error
    assert store.promoted_model().id == model.id
    assert any(j.kind == "predict" for j in store.list_jobs())


def test_a_run_worse_than_the_quick_model_says_so_and_is_promoted_only_anyway(store, settings):
    from tests.views.verdict_helpers import confuse_labels, zero_signal_run
    from tram_core.jobs import quick_model

    fill_store(store, reports=6, per_technique=4)
    confuse_labels(store)
    quick = store.get_model(quick_model.retrain_quick_model(store, settings))
    zero_job = queue.submit_training(store, {"base": "embedded", "epochs": 1}, "tester")
    store.claim_job(zero_job, "w", "cpu")
    zero = zero_signal_run(store, quick)
    store.finish_job(zero_job, JOB_DONE, model_id=zero)
    at = _page().run()
    assert not at.exception
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert any(c.startswith(f"Quick model #{quick.id} (TF-IDF, retrained by the worker on its own): last retrained ")
               and c.endswith("It is promoted: it makes the suggestions.") for c in captions), captions
    history = next(d.value for d in at.dataframe if "verdict" in d.value.columns).set_index("run")
    verdict = history.loc[zero_job, "verdict"]
    assert verdict.startswith("scores 0.000 at 0.5: the model has not learned yet; the tuned threshold sits at the "
                              "grid's edge (0.05): train longer or with more data; worse than the promoted quick "
                              "model on the same ")
    at = at.selectbox(key="train_promote_pick").set_value(zero).run()
    assert any(w.value.endswith("do not promote.") for w in at.warning)
    at = at.button(key="train_promote").click().run()  # not ticked: refused, with the reason
    assert [e.value.replace("\\", "") for e in at.error] == [
        f"Cannot promote: Not promoted: model #{zero} is worse than the promoted quick model on the same "
        f"{len(quick.options['split']['test'])} test sentences (micro-F1 0.000 vs "
        f"{quick.metrics['at_tuned']['micro_f1']:.3f}); tick \"Promote anyway\" to promote it anyway."]
    assert store.promoted_model().id == quick.id
    at = at.checkbox(key=f"train_promote_anyway_{zero}").check().run()
    at = at.button(key="train_promote").click().run()
    assert not at.error and store.promoted_model().id == zero


# --------------------------------------------------------------------------------------------------- delete, folders


def _trained(store, settings) -> int:
    job_id = queue.submit_training(store, {"base": "baseline", "min_count": 2}, "tester")
    assert run_job(store, settings, store.claim_job(job_id, "w", "cpu")) == JOB_DONE
    return store.get_job(job_id).model_id


def _delete(at: AppTest, model_id: int) -> AppTest:
    box = next(s for s in at.selectbox if s.label == "Model to delete")
    at = box.set_value(model_id).run()
    button = next(b for b in at.button if b.label == "Delete model")
    assert button.disabled  # nothing happens before the confirmation
    next(c for c in at.checkbox if c.label == f"Yes, delete model #{model_id}, its suggestions and its folder").check()
    return next(b for b in at.run().button if b.label == "Delete model").click().run()


def test_a_model_is_deleted_after_a_confirmation_and_the_promoted_one_is_refused(store, settings):
    fill_store(store, reports=6, per_technique=4)
    promoted, spare = _trained(store, settings), _trained(store, settings)
    store.promote_model(promoted)
    spare_folder = Path(store.get_model(spare).path)
    at = _page().run()
    assert any(e.label == "Delete a model" for e in at.expander)
    at = _delete(at, promoted)
    assert not at.exception and [e.value.replace("\\", "") for e in at.error] == [
        f"Not deleted: Model #{promoted} '{store.get_model(promoted).name}' is the promoted model, the source of "
        "suggestions: promote another model first"]
    at = _delete(_page().run(), spare)
    assert not at.exception and not at.error
    assert any(s.value.replace("\\", "").startswith(f"Deleted model #{spare} ") for s in at.success)
    assert [m.id for m in store.list_models()] == [promoted] and not spare_folder.exists()
    history = next(d.value for d in at.dataframe if "micro-F1 (tuned)" in d.value.columns)
    assert f"#{spare}" not in set(history["model"])  # the runs below are drawn after the delete


def test_the_folder_box_says_where_a_folder_may_be(store):
    at = _pick_base(_page().run(), "model folder on this server")
    assert at.text_input(key="train_folder").help == "Any folder on the server (you are an admin)."


APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
PASSWORD = "correct horse battery"


def _signed_in_on_train(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_input(key="app_sign_in_name").input(name)
    at.text_input(key="app_sign_in_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click().run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def test_a_maintainer_may_type_only_an_allowed_folder_and_an_annotator_sees_no_delete(store, settings, tmp_path,
                                                                                     monkeypatch):
    from tram_core import accounts
    from tram_core.access import ADMIN, Actor

    fill_store(store, reports=6, per_technique=4)
    _trained(store, settings)
    secret = tmp_path / "secret" / "bert"
    secret.mkdir(parents=True)
    (secret / "config.json").write_text("{}")
    monkeypatch.setenv("TRAM_AUTH", "local")
    monkeypatch.setenv("TRAM_MODEL_FOLDERS", str(tmp_path / "shared"))
    for name, role in (("mia", "maintainer"), ("ann", "annotator")):
        accounts.add_user(store, Actor("ada", ADMIN), name, role, PASSWORD)
    at = _pick_base(_signed_in_on_train("mia"), "model folder on this server")
    assert any(e.label == "Delete a model" for e in at.expander)
    allowed = f"{settings.models_dir.resolve()}, {(tmp_path / 'shared').resolve()}"
    assert at.text_input(key="train_folder").help == f"The folder must lie inside one of: {allowed}"
    at = at.text_input(key="train_folder").input(str(secret)).run()
    at = at.button(key="train_start").click().run()
    assert [e.value.replace("\\", "") for e in at.error] == [
        f"Cannot start training: '{secret}' is outside the folders this server allows: {allowed}"]
    assert [j.kind for j in store.list_jobs()] == ["train"]  # only the run trained above
    at = _signed_in_on_train("ann")
    assert not any(e.label == "Delete a model" for e in at.expander)
    assert not any(b.label == "Delete model" for b in at.button)


def test_the_workers_panel_lists_each_machine_with_its_device_and_job(store):
    job_id = store.create_job("train", {"options": {"base": "baseline"}}, "ana")
    store.register_worker("gpu-box:7", 7, "gpu-box", "cuda:0")
    store.register_worker("cpu-box:8", 8, "cpu-box", "cpu")
    store.claim_next_job("gpu-box:7", "cuda:0")
    store.worker_heartbeat("gpu-box:7", job_id)
    at = _page().run()
    table = next(df.value for df in at.dataframe if "host" in df.value.columns)
    rows = {row["host"]: row for row in table.to_dict("records")}
    assert rows["gpu-box"]["device"] == "cuda:0" and rows["gpu-box"]["state"].startswith(f"running job {job_id}")
    assert rows["cpu-box"]["state"] == "idle"
