"""The trained-model commands of `python -m tram_core`: models (and models delete), promote, suggest, evaluate,
predict."""

from __future__ import annotations

import json

from tests.cli.helpers import run


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


def test_models_delete_asks_for_yes_then_removes_the_row_and_folder(filled, baseline_model, capsys, settings):
    from pathlib import Path

    model = filled.get_model(baseline_model)
    folder = Path(model.path)
    assert folder.is_dir() and settings.models_dir.resolve() in folder.resolve().parents
    code, out, err = run(capsys, "models", "delete", str(model.id))
    assert code == 2 and out == "" and err.splitlines()[-1] == (
        f"error: would delete model #{model.id} '{model.name}' (baseline, folder {model.path}) with its "
        "suggestions: add --yes to delete it (nothing deleted)")
    assert folder.is_dir() and filled.get_model(model.id)
    code, out, err = run(capsys, "models", "delete", str(model.id), "--yes")
    assert code == 0 and out == (f"Deleted model #{model.id} '{model.name}' and its suggestions; removed its folder "
                                 f"{folder.resolve()}.\n")
    assert err.startswith("acting as local admin 'ana'")
    assert not folder.exists() and filled.list_models() == []
    [audited] = filled.audit_events(kinds=("delete model",))
    assert (audited.user, audited.target) == ("ana", f"model {model.id}")
    code, _, err = run(capsys, "models", "--check")
    assert code == 0  # no leftover folder, no row without its folder
    code, _, err = run(capsys, "models", "delete", str(model.id), "--yes")
    assert code == 2 and err.splitlines()[-1] == f"error: No trained model with id {model.id}"


def test_models_delete_refuses_the_promoted_model(filled, baseline_model, capsys):
    run(capsys, "promote", str(baseline_model))
    code, _, err = run(capsys, "models", "delete", str(baseline_model), "--yes")
    assert code == 2 and "is the promoted model, the source of suggestions: promote another model first" in err
    assert filled.get_model(baseline_model).promoted and filled.audit_events(kinds=("delete model",)) == []


def test_suggest_queues_a_prediction_job_for_a_report(filled, baseline_model, capsys):
    report_id = filled.list_reports()[0].id
    code, out, err = run(capsys, "suggest", str(baseline_model), "--report", str(report_id))
    [job] = filled.list_jobs(status="queued")
    assert code == 0 and out.startswith(f"queued prediction job {job.id}: model {baseline_model} on report "
                                        f"{report_id}")
    assert (job.kind, job.params, job.created_by) == ("predict", {"model_id": baseline_model,
                                                                  "report_id": report_id}, "ana")
    [audited] = filled.audit_events(kinds=("run model",))
    assert audited.target == f"model {baseline_model} on report {report_id}"
    code, _, err = run(capsys, "models", "delete", str(baseline_model), "--yes")
    assert code == 2 and f"is used by queued predict job {job.id}" in err


def test_promote_refuses_a_model_worse_than_the_quick_model_without_anyway(filled, settings, capsys):
    from tests.views.verdict_helpers import zero_signal_run
    from tram_core.jobs import quick_model

    quick = filled.get_model(quick_model.retrain_quick_model(filled, settings))
    zero = zero_signal_run(filled, quick)
    code, out, err = run(capsys, "promote", str(zero))
    tested = len(quick.options["split"]["test"])
    assert code == 2 and out == "" and err.splitlines()[-1] == (
        f"error: Not promoted: model #{zero} is worse than the promoted quick model on the same {tested} test "
        f"sentences (micro-F1 0.000 vs {quick.metrics['at_tuned']['micro_f1']:.3f}); add --anyway to promote it "
        "anyway.")
    assert filled.promoted_model().id == quick.id and filled.audit_events(kinds=("promote",)) == []
    code, out, _ = run(capsys, "promote", str(zero), "--anyway")
    assert code == 0 and filled.promoted_model().id == zero
    assert out.splitlines()[-1].startswith("verdict: Scores 0.000 at 0.5: the model has not learned yet; ")
    [audited] = filled.audit_events(kinds=("promote",))
    assert audited.after["promoted"] == zero and audited.after["anyway"]
