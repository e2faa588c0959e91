"""The Reports service against a real store: imports, the table of reports, techniques, actions, exports."""

from __future__ import annotations

import json

import pytest

from tests.views.test_annotation import add_model, add_report
from tram_core.errors import UserError
from tram_core.services import report_imports as imports
from tram_core.services import reports as svc

TEXT = ("The threat actor used spearphishing emails with malicious Word attachments. "
        "Once opened, the macro downloaded a second-stage payload from a remote server. "
        "The payload established persistence through a registry run key.")


def test_pasted_text_becomes_a_report_with_a_result_row(ctx):
    outcome = imports.import_text(ctx, "alice", "  ", TEXT)
    [row] = outcome.rows
    assert (row.file, row.result, row.reports, row.sentences) == ("Pasted text", "imported", 1, 3)
    assert outcome.summary == "1 report(s) imported, 3 sentences (0 labelled), 0 already there."
    assert not outcome.failures and list(outcome.table["result"]) == ["imported"]
    [report] = ctx.store.list_reports()
    assert report.title == "Pasted text" and report.created_by == "alice"
    again = imports.import_text(ctx, "bob", "Again", TEXT)
    assert again.rows[0].result == "duplicate" and len(ctx.store.list_reports()) == 1


def test_nothing_to_import_says_why_and_stores_nothing(ctx):
    assert imports.import_text(ctx, "alice", "Title", "   ").warning == "Paste the report's text first."
    assert imports.import_files(ctx, "alice", []).warning == "Choose one or more files first."
    refused = imports.import_url(ctx, "alice", "file:///etc/passwd")
    assert "is not a web address" in refused.error and not refused.rows
    assert ctx.store.list_reports() == []


def test_uploads_are_refused_file_by_file_beside_good_ones(ctx):
    seen = []
    outcome = imports.import_files(ctx, "alice", [("good.txt", TEXT.encode()), ("tool.exe", b"MZ\x90\x00binary")],
                               on_progress=lambda fraction, text: seen.append((fraction, text)))
    assert [(r.file, r.result) for r in outcome.rows] == [("good.txt", "imported"), ("tool.exe", "failed")]
    [failure] = outcome.failures
    assert failure.startswith("tool.exe: not imported. ")
    assert seen == [(0.5, "Read 1 of 2: good.txt"), (1.0, "Read 2 of 2: tool.exe")]
    assert [r.title for r in ctx.store.list_reports()] == ["good"]


def test_the_table_picks_the_selected_then_the_remembered_then_the_first_report(ctx):
    first, _ = add_report(ctx.store, title="First", labels={0: ("T1566.001",)})
    second, _ = add_report(ctx.store, title="Second", texts=["Only one sentence here."])
    table = svc.reports_table(ctx)
    assert table.heading == "2 report(s) · 7 sentences · 1 answered"
    assert list(table.frame.columns)[:3] == ["id", "title", "sentences"]
    row_of = {r.id: i for i, r in enumerate(table.reports)}
    assert table.pick([row_of[second]], first).id == second
    assert table.pick([], second).id == second
    card = table.pick([], None)
    assert card.id == table.reports[0].id
    assert table.pick([], 9999).id == table.reports[0].id
    assert svc.reports_table(ctx).pick([row_of[first]], None).caption == "6 sentences · 1 labelled · 0 reviewed"


def test_delete_needs_a_user_and_says_what_went(ctx):
    report_id, _ = add_report(ctx.store, title="To delete")
    with pytest.raises(UserError, match="say who you are"):
        svc.delete_report(ctx, "  ", report_id)
    assert svc.delete_report(ctx, "alice", report_id) == f"Deleted report #{report_id} 'To delete'."
    assert svc.reports_table(ctx).empty


def test_running_a_model_over_a_report_queues_a_prediction_job(ctx):
    report_id, ids = add_report(ctx.store)
    model_id = add_model(ctx.store, ids, {0: {"T1566.001": 0.9}})
    choices = svc.prediction_models(ctx)
    assert choices.ids == (model_id,) and choices.default == model_id and "★ promoted" in choices.label(model_id)
    line = svc.queue_prediction(ctx, "alice", model_id, report_id)
    [job] = ctx.store.list_jobs()
    assert line.startswith(f"Queued prediction job {job.id}.") and job.created_by == "alice"
    assert job.params == {"model_id": model_id, "report_id": report_id}


def test_the_techniques_panel_leads_to_the_models_best_sentence(ctx):
    report_id, ids = add_report(ctx.store, labels={3: ("T1003.001",)})
    model_id = add_model(ctx.store, ids, {0: {"T1566.001": 0.93}, 2: {"T1055": 0.3}, 4: {"T1055": 0.25}},
                         thresholds={"global": 0.5, "report": 0.5})
    choices = svc.prediction_models(ctx)
    panel = svc.techniques_panel(ctx, report_id, 12345, choices)  # not a choice: the promoted model
    assert panel.model_id == model_id and panel.scored
    assert "finds 2 technique(s); 2 of them are not labelled" in panel.caption
    rows = list(panel.frame["Technique"])
    assert panel.review_target([]) is None and panel.review_target([99]) is None
    target = panel.review_target([rows.index("T1055")])
    assert target == svc.ReviewTarget(report_id, "T1055", ids[2], model_id)
    assert target.button == "Review T1055 in this report"


def test_an_export_is_offered_only_while_the_data_and_form_stay_the_same(ctx):
    report_id, ids = add_report(ctx.store, title="Exported", labels={3: ("T1003.001",)})
    add_model(ctx.store, ids, {0: {"T1566.001": 0.93}}, thresholds={"global": 0.5, "report": 0.5})
    panel = svc.techniques_panel(ctx, report_id, None, svc.prediction_models(ctx))
    csv = svc.export_request(ctx, "csv", svc.THIS_REPORT, report_id, True, True, panel)
    assert csv.include_unlabelled and not csv.model_findings  # findings only go into a Navigator layer
    prepared = svc.prepare_export(ctx, "alice", csv)
    assert prepared.filename.endswith(".csv") and prepared.mime == "text/csv" and b"T1003.001" in prepared.content
    assert prepared.button.startswith(f"Download {prepared.filename} (")
    ctx.store.set_labels(ids[1], ["T1055"], "bob")
    assert svc.export_request(ctx, "csv", svc.THIS_REPORT, report_id, True, True, panel).key != prepared.key
    layer = svc.export_request(ctx, "navigator", svc.THIS_REPORT, report_id, True, True, panel)
    assert layer.model_findings and not layer.include_unlabelled
    assert not svc.findings_possible("navigator", svc.ALL_REPORTS, panel)
    colours = {t["techniqueID"]: t.get("color") for t in json.loads(svc.prepare_export(ctx, "alice", layer).content)
               ["techniques"]}
    assert colours["T1566.001"] and not colours["T1003.001"]  # the model's finding, in its own colour
    with pytest.raises(UserError, match="Unknown export format"):
        svc.export_request(ctx, "xml", svc.THIS_REPORT, report_id, False, False, panel)


def test_the_demo_corpus_is_offered_from_the_shared_data_folder(ctx, shared_data, tmp_path, monkeypatch):
    demo = tmp_path / "shared" / "tram2" / "mjson"
    demo.mkdir(parents=True)
    source = sorted((shared_data / "tram2" / "mjson").glob("*.mjson"))[0]
    (demo / source.name).write_bytes(source.read_bytes())
    monkeypatch.setenv("TRAM_SHARED_DATA", str(tmp_path / "shared"))
    corpus = imports.demo_corpus()
    assert corpus.button == "Load the demo corpus (1 reports)" and str(demo) in corpus.caption
    outcome = imports.import_demo(ctx, "alice")
    assert [r.result for r in outcome.rows] == ["imported"] and outcome.rows[0].labelled > 0
    monkeypatch.setenv("TRAM_SHARED_DATA", str(tmp_path / "nowhere"))
    assert imports.demo_corpus() is None


def test_a_sentence_link_reads_back_as_the_same_report_and_sentence():
    from tram_core.services import common

    view = common.read_link(common.sentence_link(12, 340))
    assert (view.report, view.sentence) == (12, 340)
    assert common.sentence_link(12) == {"report": "12"}
