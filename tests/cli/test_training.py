"""The training commands of `python -m tram_core`: train (queued, or followed with --wait), worker, jobs, cancel."""

from __future__ import annotations

import pytest

from tests.cli.helpers import run
from tests.engine_helpers import cli, fill_store
from tram_core.cli import main
from tram_core.jobs import queue
from tram_core.jobs.options import JobError
from tram_core.store import Store


def test_train_wait_trains_in_the_foreground_when_no_worker_runs(filled, tram_home, tiny_bert_dir):
    args = ["train", "--base", str(tiny_bert_dir), "--epochs", "2", "--batch-size", "8", "--max-length", "32",
            "--min-count", "2", "--learning-rate", "1e-3", "--wait"]
    result = cli(args, tram_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no worker is running: training in this process on cpu" in result.stdout
    assert "test scores at tuned thresholds: micro-F1 " in result.stdout
    assert "100%" in result.stderr  # the terminal progress bar reached the end
    store = Store(filled.url)
    job = store.list_jobs(limit=1)[0]
    assert job.status == "done" and job.worker.endswith("(foreground)")
    model = store.get_model(job.model_id)
    assert f"model {model.id} '{model.name}'" in result.stdout
    assert model.options["epochs"] == 2 and model.options["learning_rate"] == 1e-3


def test_train_wait_exits_non_zero_when_the_job_fails(store, capsys):
    fill_store(store, reports=1)
    code, out, _ = run(capsys, "train", "--base", "baseline", "--wait")
    assert code == 1
    assert "failed - Labelled sentences come from 1 report" in out


def test_train_queues_the_given_options(store, capsys):
    code, out, _ = run(capsys, "train", "--base", "baseline", "--epochs", "3", "--seed", "7", "--classes", "tram50",
                       "--negatives-ratio", "0.5")
    assert code == 0 and "queued training job 1" in out and "no worker is running" in out
    options = store.get_job(1).params["options"]
    assert (options["base"], options["epochs"], options["seed"], options["negatives_ratio"]) == \
        ("baseline", 3, 7, 0.5)
    assert len(options["classes"]) == 50 and options["classes"][0] == "T1003.001"


def test_fixed_test_reports_are_queued_and_bad_ones_refused(filled, capsys):
    report_ids = [r.id for r in filled.list_reports()]
    code, out, _ = run(capsys, "train", "--base", "baseline", "--test-reports", f"{report_ids[0]}, {report_ids[1]}")
    assert code == 0
    assert filled.get_job(1).params["options"]["test_reports"] == report_ids[:2]
    for bad in ("x", "²", "0"):
        code, _, err = run(capsys, "train", "--base", "baseline", "--test-reports", f"3,{bad}")
        assert code == 2 and f"--test-reports: '{bad}' is not a report id" in err
    code, _, err = run(capsys, "train", "--base", "baseline", "--test-reports", f"{report_ids[0]},9999")
    assert code == 2 and "Test report(s) 9999 do not exist" in err
    assert len(filled.list_jobs()) == 1
    with pytest.raises(JobError, match="The list of test reports is empty"):
        queue.submit_training(filled, {"base": "baseline", "test_reports": []}, "ana")


def test_a_class_file_with_an_unknown_technique_is_refused(store, capsys, tmp_path):
    classes = tmp_path / "classes.txt"
    classes.write_text("T1105\nT9999\n")
    code, _, err = run(capsys, "train", "--classes", str(classes))
    assert code == 2 and "T9999" in err and "classes.txt, entry 2" in err
    assert store.list_jobs() == []


def test_every_training_option_is_on_the_command_line_with_its_help(store, capsys):
    code, out, _ = run(capsys, "train", "--base", "embedded", "--head-learning-rate", "0.01", "--loss", "asl",
                       "--pos-weight", "2")
    assert code == 0
    options = store.get_job(1).params["options"]
    assert (options["head_learning_rate"], options["loss"], options["pos_weight"]) == (0.01, "asl", 2.0)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--head-learning-rate" in help_text and "classifier head" in help_text


def test_jobs_lists_and_cancel_cancels(store, capsys):
    first = queue.submit_training(store, {"base": "baseline"}, "ana")
    code, out, _ = run(capsys, "cancel", str(first))
    assert code == 0 and f"job {first} cancelled" in out
    queue.submit_training(store, {"base": "baseline"}, "ana")
    code, out, _ = run(capsys, "jobs")
    assert code == 0
    assert "worker: no worker running · 1 job queued" in out
    assert "cancelled before it started" in out and " queued " in out


def test_worker_once_with_an_empty_queue_exits(store, capsys):
    code, out, _ = run(capsys, "worker", "--once", "--device", "cpu")
    assert code == 0 and "on cpu: waiting for jobs" in out
    assert store.list_workers() == []


def test_a_team_account_s_base_folder_must_be_inside_the_allowed_folders(store, capsys, tmp_path, monkeypatch):
    from tram_core import accounts
    from tram_core.access import ADMIN, Actor
    from tram_core.settings import load_settings

    allowed, secret = tmp_path / "allowed", tmp_path / "secret"
    for folder in (allowed / "bert", secret / "bert"):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    monkeypatch.setenv("TRAM_MODEL_FOLDERS", str(allowed))
    accounts.add_user(store, Actor("ada", ADMIN), "mia", "maintainer", "correct horse battery")
    accounts.add_user(store, Actor("ada", ADMIN), "ann", "annotator", "correct horse battery")
    code, _, err = run(capsys, "--user", "mia", "train", "--base", f"{allowed}/../secret/bert")
    folders = ", ".join(str(p.resolve()) for p in (load_settings().models_dir, allowed))
    assert code == 2 and err.splitlines() == [
        "acting as team account 'mia' (maintainer)",
        f"error: '{allowed}/../secret/bert' is outside the folders this server allows: {folders}"]
    code, _, err = run(capsys, "--user", "ann", "train", "--base", "baseline")
    assert code == 2 and err == "error: ann (annotator) may not start training: it needs the maintainer role\n"
    assert store.list_jobs() == []
    assert run(capsys, "--user", "mia", "train", "--base", str(allowed / "bert"))[0] == 0
    code, _, err = run(capsys, "train", "--base", str(secret / "bert"))  # the local admin: any folder
    assert code == 0 and err.startswith("acting as local admin 'ana'")
    assert [(j.created_by, j.params["options"]["base"]) for j in reversed(store.list_jobs())] == [
        ("mia", str((allowed / "bert").resolve())), ("ana", str(secret / "bert"))]
    assert [e.user for e in reversed(store.audit_events(kinds=("train",)))] == ["mia", "ana"]
