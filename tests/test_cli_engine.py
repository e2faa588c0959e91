"""The engine commands of `python -m tram_core`: train, worker, jobs, cancel, models, promote, evaluate, predict."""

from __future__ import annotations

import json

import pytest

from tests.engine_helpers import cli, fill_store
from tram_core import jobs
from tram_core.cli import main
from tram_core.store import Store
from tram_core.worker import run_worker


@pytest.fixture
def filled(store):
    fill_store(store)
    return store


@pytest.fixture
def baseline_model(filled, settings) -> int:
    job_id = jobs.submit_training(filled, {"base": "baseline", "min_count": 2}, "ana")
    run_worker(settings, once=True, log=lambda _: None)
    return filled.get_job(job_id).model_id


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["--user", "ana", *argv])
    out, err = capsys.readouterr()
    return code, out, err


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
    with pytest.raises(jobs.JobError, match="The list of test reports is empty"):
        jobs.submit_training(filled, {"base": "baseline", "test_reports": []}, "ana")


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
    first = jobs.submit_training(store, {"base": "baseline"}, "ana")
    code, out, _ = run(capsys, "cancel", str(first))
    assert code == 0 and f"job {first} cancelled" in out
    jobs.submit_training(store, {"base": "baseline"}, "ana")
    code, out, _ = run(capsys, "jobs")
    assert code == 0
    assert "worker: no worker running · 1 job queued" in out
    assert "cancelled before it started" in out and " queued " in out


def test_models_and_promote(filled, baseline_model, capsys):
    code, out, _ = run(capsys, "models")
    model = filled.get_model(baseline_model)
    assert code == 0 and model.name in out and "*" not in out.splitlines()[1]
    line = next(l for l in out.splitlines() if model.name in l)
    assert line.split()[1:4] == [f"{model.metrics['at_tuned']['micro_f1']:.3f}",
                                 f"{model.metrics['at_tuned']['macro_f1']:.3f}",
                                 f"{model.metrics['document']['micro_f1']:.3f}"]

    code, out, _ = run(capsys, "promote", str(baseline_model))
    assert code == 0 and "promoted" in out
    assert filled.promoted_model().id == baseline_model
    queued = filled.list_jobs(status="queued")
    assert [(j.kind, j.params["model_id"], j.params["report_id"]) for j in queued] == [("predict", baseline_model,
                                                                                        None)]
    code, out, _ = run(capsys, "models")
    assert out.splitlines()[1].startswith("*")


def test_evaluate_on_the_recorded_test_split_matches_the_training_scores(filled, baseline_model, capsys):
    code, out, _ = run(capsys, "evaluate", "--model", str(baseline_model))
    assert code == 0
    model = filled.get_model(baseline_model)
    test_size = len(model.options["split"]["test"])
    assert f"on {test_size} test sentences from the store" in out
    tuned = model.metrics["at_tuned"]
    line = next(l for l in out.splitlines() if l.startswith("micro at tuned"))
    assert line.split()[-3:] == [f"{tuned['micro_precision']:.3f}", f"{tuned['micro_recall']:.3f}",
                                 f"{tuned['micro_f1']:.3f}"]
    assert "macro at 0.5" in out
    document = model.metrics["document"]
    line = next(l for l in out.splitlines() if l.startswith("report level (micro)"))
    assert line.split()[3:6] == [f"{document['micro_precision']:.3f}", f"{document['micro_recall']:.3f}",
                                 f"{document['micro_f1']:.3f}"]
    assert line.endswith(f"add up to more than {model.thresholds['report']:.2f}")
    for technique in model.classes:
        assert any(l.startswith(technique) for l in out.splitlines())


def test_evaluate_on_a_dataset_file_does_not_store_it(filled, baseline_model, capsys, tmp_path):
    data = tmp_path / "holdout.json"
    data.write_text(json.dumps([
        {"sentence": "The tool downloaded an executable from the remote server.", "labels": ["T1105"]},
        {"sentence": "Credentials were dumped from LSASS memory.", "labels": ["T1003.001"]},
        {"sentence": "The vendor published the report.", "labels": []},
    ]))
    before = filled.corpus_counts()
    code, out, _ = run(capsys, "evaluate", "--model", str(baseline_model), "--data", str(data),
                       "--json", str(tmp_path / "eval.json"))
    assert code == 0 and "on 3 labelled sentences of holdout.json" in out
    assert filled.corpus_counts() == before
    saved = json.loads((tmp_path / "eval.json").read_text())
    assert saved["at_tuned"]["sentences"] == 3


def test_predict_on_a_json_list_keeps_input_order(filled, baseline_model, capsys, tmp_path):
    sentences = ["Mimikatz read credentials from the lsass process.", {"sentence": "The loader fetched a file."},
                 "The report was published in 2020."]
    source = tmp_path / "in.json"
    source.write_text(json.dumps(sentences))
    out_path = tmp_path / "out.json"
    model = filled.get_model(baseline_model)
    code, out, _ = run(capsys, "predict", "--model", model.name, str(source), "-o", str(out_path))
    assert code == 0 and "3 sentences" in out
    result = json.loads(out_path.read_text())
    assert [r["sentence"] for r in result] == [sentences[0], sentences[1]["sentence"], sentences[2]]
    assert all(set(r) == {"sentence", "labels", "scores"} for r in result)
    assert "T1003.001" in result[0]["labels"]


def test_predict_refuses_a_bad_item_with_its_position(filled, baseline_model, capsys, tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(["fine", {"text_": "no sentence"}]))
    code, _, err = run(capsys, "predict", "--model", str(baseline_model), str(source), "-o", str(tmp_path / "o.json"))
    assert code == 2 and "item 2" in err
    assert not (tmp_path / "o.json").exists()


def test_predict_on_a_report_file_splits_it_into_sentences(filled, baseline_model, capsys, tmp_path):
    report = tmp_path / "report.txt"
    report.write_text("The actor dumped LSASS memory with procdump. Then the malware downloaded a payload.\n")
    model_dir = filled.get_model(baseline_model).path
    code, out, _ = run(capsys, "predict", "--model", model_dir, str(report), "-o", str(tmp_path / "o.json"))
    assert code == 0
    result = json.loads((tmp_path / "o.json").read_text())
    assert [r["sentence"] for r in result] == ["The actor dumped LSASS memory with procdump.",
                                               "Then the malware downloaded a payload."]
    threshold = filled.get_model(baseline_model).thresholds["report"]
    line = next(l for l in out.splitlines() if l.startswith("the report as a whole: "))
    assert line.endswith(f"add up to more than {threshold:.2f})")
    # each technique's two best sentence scores in the output file, summed, against the report threshold
    evidence = {t: sum(sorted((r["scores"].get(t, 0.0) for r in result), reverse=True)[:2])
                for t in {t for r in result for t in r["scores"]}}
    expected = sorted(((t, v) for t, v in evidence.items() if v > threshold), key=lambda tv: (-tv[1], tv[0]))
    assert expected, line  # the toy model finds something in this report
    listed = ", ".join(f"{t} ({v:.2f})" for t, v in expected) or "none"
    assert line.startswith(f"the report as a whole: {listed} (")


def test_worker_once_with_an_empty_queue_exits(store, capsys):
    code, out, _ = run(capsys, "worker", "--once", "--device", "cpu")
    assert code == 0 and "on cpu: waiting for jobs" in out
    assert store.list_workers() == []
