"""Model folders against model rows: what a killed worker leaves, `models --check`, and the repair at worker start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.engine_helpers import TINY_OPTIONS, cli, fill_store
from tram_core.cli import main
from tram_core.jobs import queue
from tram_core.jobs.runner import run_job
from tram_core.jobs.model_folders import FolderTaken, inspect_model_folders, reconcile_model_folders, register_folder
from tram_core.jobs.worker import run_worker
from tram_core.ml.model_card import MODEL_INFO_FILE
from tram_core.store import JOB_DONE, JOB_FAILED, Store

CLASSES = ["T1003.001", "T1059.003", "T1105"]
STALE_MESSAGE = "worker stopped responding (no heartbeat for 40 s); labels and saved models are intact"


def write_model_folder(folder: Path, job_id: int | None = None) -> Path:
    """A complete (baseline-kind) model folder as training writes it; ``job_id`` goes into tram_model.json."""
    folder.mkdir(parents=True)
    info = {
        "format": 1, "kind": "baseline", "classes": CLASSES, "base_model": "baseline", "pooling": None,
        "thresholds": {"global": 0.5, "per_technique": {c: 0.4 for c in CLASSES}},
        "evaluation": {"at_tuned": {"micro_f1": 0.75, "macro_f1": 0.5}},
        "history": [], "data": {"split_seed": 13, "sentence_ids": {"train": [1, 2], "validation": [3], "test": [4]},
                                "counts": {"train": {"sentences": 2, "reports": 1}}},
    }
    if job_id is not None:
        info["job"] = {"id": job_id, "label_event_id": 7, "examples": 4, "reports": 3,
                       "split": {"train": [1, 2], "validation": [3], "test": [4], "seed": 13,
                                 "test_reports": [3]}}
    (folder / MODEL_INFO_FILE).write_text(json.dumps(info))
    (folder / "manifest.json").write_text("{}")
    return folder


def write_partial(folder: Path) -> Path:
    """A half-written training folder: some weights, no tram_model.json yet."""
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"\0" * 1024)
    return folder


def training_job(store: Store, status: str, worker: str | None = None) -> int:
    """A training job that is running for ``worker`` (fresh heartbeat) or failed as stale."""
    job_id = store.create_job("train", {"options": {"base": "baseline", "min_count": 2}}, "ana")
    store.claim_job(job_id, worker or queue.worker_name(), "cpu")
    if status == JOB_FAILED:
        store.finish_job(job_id, JOB_FAILED, STALE_MESSAGE)
    return job_id


def dead_pid() -> int:
    """The id of a process of this host that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def check(capsys) -> tuple[int, list[str]]:
    code = main(["--user", "ana", "models", "--check"])
    out, err = capsys.readouterr()
    assert err == ""
    return code, out.splitlines()


def test_check_lists_disagreements_and_the_worker_start_repairs_them(store, settings, tmp_path, capsys):
    models = settings.models_dir
    models.mkdir(parents=True, exist_ok=True)
    # A worker killed mid-training: its job failed as stale, its .partial folder stayed.
    killed_mid_training = training_job(store, JOB_FAILED)
    stale_partial = write_partial(models / f".run-{killed_mid_training}.k3x9.partial")
    # A worker killed between the rename and the model row: a complete folder nobody recorded.
    killed_before_recording = training_job(store, JOB_FAILED)
    unrecorded = write_model_folder(models / f"run-{killed_before_recording}", killed_before_recording)
    # Another worker, alive, writing its job's folder right now.
    running = training_job(store, "running")
    in_progress = write_partial(models / f".run-{running}.a1b2.partial")
    # A row whose folder is gone, a row whose folder is there, and folders that are not ours to touch.
    gone = store.add_model("run 90 · gone", "baseline", str(models / "run-90"), "baseline", CLASSES, {}, {}, {})
    kept_model = write_model_folder(models / "run-50")
    store.add_model("run 50 · kept", "baseline", str(kept_model), "baseline", CLASSES, {}, {}, {})
    orphan_without_job = write_model_folder(models / "run-77")
    quick_leftover = write_model_folder(models / "quick-20250101-120000-000001")
    base_cache = write_partial(models / "base" / ".tram-scibert.x.partial")
    not_training_output = write_partial(models / "my-notes")
    outside = write_partial(tmp_path / "elsewhere" / ".run-1.zz.partial")
    (models / "linked").symlink_to(outside, target_is_directory=True)

    code, lines = check(capsys)
    assert code == 1
    assert f"stale partial folder: {stale_partial} (job {killed_mid_training} is failed)" in lines
    assert (f"folder without a model row: {unrecorded} (complete; job {killed_before_recording} (failed) "
            "trained it)") in lines
    assert f"folder without a model row: {orphan_without_job} (job 77 does not exist)" in lines
    assert f"folder without a model row: {quick_leftover} (no training job named in it)" in lines
    assert f"model row without its folder: model {gone} 'run 90 · gone' -> {models / 'run-90'} (missing)" in lines
    untouchable = (in_progress, kept_model, models / "base", not_training_output, outside, models / "linked")
    assert not [line for line in lines if any(str(path) in line for path in untouchable)]
    assert len(lines) == 6  # five findings and the summary line
    # --check only reports
    assert all(path.exists() for path in (stale_partial, unrecorded, orphan_without_job, quick_leftover))

    logged: list[str] = []
    result = reconcile_model_folders(store, models, log=logged.append, worker="this-worker")
    assert sorted(result.removed) == sorted([stale_partial, orphan_without_job, quick_leftover])
    assert result.kept == [in_progress] and result.missing == [gone]
    assert list(result.registered) == [unrecorded]
    assert logged == result.lines and len(logged) == 5  # one line per action, and the missing folder
    assert any(line.startswith("model folders: removed stale partial folder") and str(stale_partial) in line
               for line in logged)

    model = store.get_model(result.registered[unrecorded])
    assert model.path == str(unrecorded) and model.job_id == killed_before_recording and model.kind == "baseline"
    assert model.name.startswith(f"run {killed_before_recording} · TF-IDF · ")
    assert list(model.classes) == CLASSES and model.thresholds["global"] == 0.5
    assert model.metrics["at_tuned"]["micro_f1"] == 0.75
    assert model.options["examples"] == 4 and model.options["label_event_id"] == 7
    assert model.options["split"]["test_reports"] == [3] and model.options["min_count"] == 2
    job = store.get_job(killed_before_recording)
    assert job.status == JOB_DONE and job.model_id == model.id and f"model {model.id}" in job.message
    assert job.metrics["micro_f1"] == 0.75
    assert store.get_job(killed_mid_training).status == JOB_FAILED  # nothing was saved: it stays failed

    for untouched in (in_progress, kept_model, base_cache, not_training_output, outside, models / "linked"):
        assert untouched.exists()
    assert list(outside.iterdir())

    code, lines = check(capsys)
    assert code == 1 and lines[0].startswith(f"model row without its folder: model {gone} ")
    assert len(lines) == 2
    store.delete_model(gone)
    code, lines = check(capsys)
    assert code == 0 and lines == [f"model folders in {models} and model rows agree"]


def test_a_running_job_whose_worker_process_is_gone_is_not_live(store, settings):
    models = settings.models_dir
    dead_worker = f"{socket.gethostname()}:{dead_pid()}"
    job_id = training_job(store, "running", worker=dead_worker)  # heartbeat still fresh: killed a moment ago
    partial = write_partial(models / f".run-{job_id}.q1.partial")
    complete_job = training_job(store, "running", worker=dead_worker)
    complete = write_model_folder(models / f"run-{complete_job}", complete_job)

    result = reconcile_model_folders(store, models)
    assert result.removed == [partial] and not partial.exists()
    model_id = result.registered[complete]
    job = store.get_job(complete_job)
    assert job.status == JOB_DONE and job.model_id == model_id


def test_a_folder_whose_model_was_deleted_is_removed_not_recorded_again(store, settings):
    models = settings.models_dir
    job_id = training_job(store, "running")
    folder = write_model_folder(models / f"run-{job_id}", job_id)
    model_id = store.add_model("run · x", "baseline", str(folder), "baseline", CLASSES, {}, {}, {}, job_id)
    store.finish_job(job_id, JOB_DONE, "trained", model_id=model_id)
    store.delete_model(model_id)  # the folder's delete failed, say

    result = reconcile_model_folders(store, models)
    assert result.removed == [folder] and result.registered == {}
    assert f"job {job_id} already recorded model {model_id}, which was deleted" in result.lines[0]


def test_a_folder_older_than_its_job_is_another_databases_and_is_removed(store, settings):
    models = settings.models_dir
    job_id = training_job(store, JOB_FAILED)
    folder = write_model_folder(models / f"run-{job_id}", job_id)
    an_hour_ago = time.time() - 3600
    os.utime(folder / MODEL_INFO_FILE, (an_hour_ago, an_hour_ago))

    result = reconcile_model_folders(store, models)
    assert result.removed == [folder] and result.registered == {}
    assert f"written before job {job_id} started" in result.lines[0]
    assert store.get_job(job_id).status == JOB_FAILED


def test_two_workers_recording_one_folder_leave_one_row(store, settings):
    models = settings.models_dir
    job_id = training_job(store, JOB_FAILED)
    folder = write_model_folder(models / f"run-{job_id}", job_id)
    as_read_by_both = store.get_job(job_id)
    first = register_folder(store, folder, as_read_by_both)
    with pytest.raises(FolderTaken):
        register_folder(store, folder, as_read_by_both)
    assert [m.id for m in store.list_models()] == [first] and store.get_job(job_id).model_id == first


def test_quick_model_folders_are_left_alone_while_another_worker_lives(store, settings):
    models = settings.models_dir
    writing = write_partial(models / ".quick-20250101-120000-000001.x7.partial")
    store.register_worker("otherhost:4242", 4242, "otherhost", "cpu")  # a process elsewhere: fresh heartbeat

    assert reconcile_model_folders(store, models, worker="me").kept == [writing]
    store.unregister_worker("otherhost:4242")
    assert reconcile_model_folders(store, models, worker="me").removed == [writing]


def test_a_worker_killed_between_saving_and_recording_is_recorded_at_the_next_start(store, settings, monkeypatch):
    from tram_core.ml.trained import load_trained

    fill_store(store)
    job_id = queue.submit_training(store, {"base": "baseline", "min_count": 2}, "ana")
    job = store.claim_next_job(queue.worker_name(), "cpu")

    def killed(*args, **kwargs):
        raise SystemExit(137)

    monkeypatch.setattr(Store, "add_model", killed)
    with pytest.raises(SystemExit):
        run_job(store, settings, job)
    monkeypatch.undo()
    folder = settings.models_dir / f"run-{job_id}"
    assert (folder / MODEL_INFO_FILE).is_file() and store.list_models() == []
    assert store.get_job(job_id).status == JOB_FAILED
    assert json.loads((folder / MODEL_INFO_FILE).read_text())["job"]["id"] == job_id

    logged: list[str] = []
    assert run_worker(settings, once=True, log=logged.append) == 0
    assert any(line.startswith(f"model folders: recorded {folder} as model ") for line in logged)
    job = store.get_job(job_id)
    model = store.get_model(job.model_id)
    assert job.status == JOB_DONE and model.path == str(folder) and model.job_id == job_id
    assert model.options["examples"] == 64 and model.options["reports"] == 4
    assert model.options["split"]["test"] and model.options["split"]["test_reports"]
    assert model.metrics["at_tuned"]["micro_f1"] >= 0
    assert load_trained(model.path).predict_scores(["cmd.exe ran a script"]).shape == (1, len(model.classes))
    assert inspect_model_folders(store, settings.models_dir) == []


@pytest.mark.slow
def test_a_worker_killed_mid_training_leaves_no_partial_folder_after_the_next_start(store, settings, tram_home,
                                                                                  tiny_bert_dir):
    fill_store(store)
    job_id = queue.submit_training(store, dict(base=str(tiny_bert_dir), **{**TINY_OPTIONS, "epochs": 400}), "ana")
    # The run's folder alone: no short lane retraining the quick model into a folder of its own beside the run.
    worker = cli(["worker"], tram_home, env={"TRAM_SHORT_LANE": "0"}, wait=False)
    try:
        wait_for(lambda: store.get_job(job_id).step > 0, what="training steps")
        partials = [p for p in settings.models_dir.iterdir() if p.name.endswith(".partial")]
        assert [p.name.startswith(f".run-{job_id}.") for p in partials] == [True]
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert store.get_job(job_id).status == "running" and partials[0].exists()  # heartbeat still fresh

    restarted = cli(["worker", "--once"], tram_home, timeout=120)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert f"model folders: removed stale partial folder {partials[0]}" in restarted.stdout
    assert not [p for p in settings.models_dir.iterdir() if p.name.endswith(".partial")]
    assert store.list_models() == []
