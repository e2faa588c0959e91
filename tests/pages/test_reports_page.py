"""The Reports page through Streamlit's AppTest against a real SQLite store in a temporary TRAM_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.views.test_annotation import add_model, add_report
from tram_core.views.app_state import escape_markdown
from tram_core.views.report_summary import report_summary

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
REPORT_TEXT = (
    "The threat actor used spearphishing emails with malicious Word attachments. "
    "Once opened, the macro downloaded a second-stage payload from a remote server. "
    "The payload established persistence through a registry run key."
).encode()


@pytest.fixture
def open_app(tram_home, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.setenv("TRAM_USER", "alice")

    def run() -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label.startswith(label))


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.get("file_uploader")[0].set_value([(name, data, "application/octet-stream") for name, data in files])
    button(at, "Import files").click().run()
    assert not at.exception, at.exception
    return at


def import_table(at: AppTest):
    return next(df.value for df in at.dataframe if "result" in df.value.columns)


def test_empty_database_shows_first_steps(open_app):
    at = open_app()
    assert any("No reports yet" in i.value and "Import" in i.value for i in at.info)
    assert not at.dataframe
    assert at.get("file_uploader")


def test_upload_several_files_shows_a_result_per_file(open_app, store, shared_data):
    at = open_app()
    mjson = sorted((shared_data / "tram2" / "mjson").glob("*.mjson"))[0]
    docx = shared_data / "reports" / "simple-test.docx"
    upload(at, [("intrusion.txt", REPORT_TEXT), (mjson.name, mjson.read_bytes()), (docx.name, docx.read_bytes())])
    results = import_table(at)
    assert list(results["file"]) == ["intrusion.txt", mjson.name, docx.name]
    assert list(results["result"]) == ["imported"] * 3
    assert results.loc[0, "sentences"] == 3 and results.loc[0, "labelled"] == 0
    assert results.loc[1, "labelled"] > 0  # the MAT file brings its analysts' labels
    stored = store.list_reports()
    assert len(stored) == 3
    reports_table = next(df.value for df in at.dataframe if "progress" in df.value.columns)
    assert sorted(reports_table["sentences"]) == sorted(r.sentences for r in stored)
    assert any("3 report(s)" in h.value for h in at.subheader)
    # the same text again is a duplicate, not a second report
    upload(at, [("again.txt", REPORT_TEXT)])
    assert list(import_table(at)["result"]) == ["duplicate"]
    assert len(store.list_reports()) == 3


def test_bad_uploads_name_the_file_and_store_nothing(open_app, store):
    at = open_app()
    upload(at, [("broken.pdf", b"%PDF-1.4 this is not really a pdf"), ("tool.exe", b"MZ\x90\x00binary"),
                ("labels.json", b'{"not": "a dataset"')])
    errors = " ".join(e.value for e in at.error)
    for name in ("broken.pdf", "tool.exe", "labels.json"):
        assert name in errors
    assert list(import_table(at)["result"]) == ["failed"] * 3
    assert store.list_reports() == []
    assert any("No reports yet" in i.value for i in at.info)


def test_hostile_uploads_are_refused_by_name_beside_a_good_file_that_imports(open_app, store, monkeypatch):
    monkeypatch.setenv("TRAM_MAX_SENTENCES", "50")
    at = open_app()
    upload(at, [("intrusion.txt", REPORT_TEXT), ("deep.json", b"[" * 50_000 + b"]" * 50_000),
                ("many.txt", b"Go. " * 60), ("nested.md", b"# a" + b" " * 50_000 + b"!")])
    results = import_table(at)
    assert list(results["file"]) == ["intrusion.txt", "nested.md", "deep.json", "many.txt"]
    assert list(results["result"]) == ["imported", "imported", "failed", "failed"]
    errors = " ".join(e.value for e in at.error)
    assert "deep.json" in errors and "TRAM\\_MAX\\_NESTING" in errors  # Markdown-escaped
    assert "many.txt" in errors and "TRAM\\_MAX\\_SENTENCES" in errors
    assert "Traceback" not in errors
    assert sorted(r.title for r in store.list_reports()) == ["a !", "intrusion"]


def test_a_bad_setting_stops_the_app_with_one_line(tram_home, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    monkeypatch.setenv("TRAM_MAX_SENTENCES", "lots")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    assert any("TRAM\\_MAX\\_SENTENCES" in e.value and "positive whole number" in e.value for e in at.error)


def test_paste_text_creates_a_report(open_app, store):
    at = open_app()
    at.text_input(key="rep_paste_title").input("Pasted advisory")
    at.text_area(key="rep_paste_text").input(REPORT_TEXT.decode())
    button(at, "Import text").click().run()
    [report] = store.list_reports()
    assert report.title == "Pasted advisory" and report.sentences == 3


def test_url_must_be_a_web_address(open_app, store):
    at = open_app()
    at.text_input(key="rep_url_value").input("file:///etc/passwd")
    button(at, "Fetch and import").click().run()
    assert any("not a web address" in e.value for e in at.error)
    assert store.list_reports() == []


def test_report_title_and_source_are_shown_literally(open_app, store):
    title = "APT *x* [click](http://evil.example) <b>bold</b>"
    report_id, _ = add_report(store, title=title)
    at = open_app()
    at.session_state["reports"].selected = report_id
    at.run()
    heading = next(h.value for h in at.subheader if h.value.startswith(f"#{report_id} "))
    assert heading == f"#{report_id} {escape_markdown(title)}"
    assert "http:" not in heading and "*x*" not in heading and "<b>" not in heading


def test_open_in_annotate_switches_to_the_report(open_app, store):
    add_report(store, title="First")
    second_id, ids = add_report(store, title="Second", texts=["Only sentence of the second report.", "Another."])
    at = open_app()
    at.session_state["reports"].selected = second_id
    at.run()
    button(at, "Open in Annotate").click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Annotate"]
    assert any("Only sentence of the second report" in m.value for m in at.markdown)


def test_delete_needs_confirmation(open_app, store):
    report_id, _ = add_report(store, title="To delete")
    at = open_app()
    assert button(at, "Delete report").disabled
    at.checkbox(key=f"rep_sure_{report_id}").check().run()
    button(at, "Delete report").click().run()
    assert store.list_reports() == []
    assert any("Deleted report" in s.value for s in at.success)


def test_export_offers_a_download(open_app, store):
    report_id, ids = add_report(store, title="Exported", labels={0: ("T1566.001",)})
    at = open_app()
    at.selectbox(key="rep_fmt").set_value("csv").run()
    button(at, "Prepare the export").click().run()
    [download] = at.get("download_button")
    assert ".csv" in download.proto.label


def test_run_model_queues_a_prediction_job(open_app, store):
    report_id, ids = add_report(store)
    model_id = add_model(store, ids, {0: {"T1566.001": 0.9}})
    at = open_app()
    button(at, "Run the model over this report").click().run()
    jobs = store.list_jobs()
    assert len(jobs) == 1 and jobs[0].kind == "predict"
    assert jobs[0].params == {"model_id": model_id, "report_id": report_id}
    assert any("Queued prediction job" in s.value for s in at.success)


def test_demo_corpus_button_imports_the_annotated_reports(open_app, store, shared_data, tmp_path, monkeypatch):
    demo = tmp_path / "shared" / "tram2" / "mjson"
    demo.mkdir(parents=True)
    for path in sorted((shared_data / "tram2" / "mjson").glob("*.mjson"))[:2]:
        (demo / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("TRAM_SHARED_DATA", str(tmp_path / "shared"))
    at = open_app()
    button(at, "Load the demo corpus (2 reports)").click().run()
    assert not at.exception, at.exception
    stored = store.list_reports()
    assert len(stored) == 2 and all(r.labelled > 0 for r in stored)
    assert list(import_table(at)["result"]) == ["imported", "imported"]


def test_the_report_lists_its_techniques_beside_the_models_finding(open_app, store):
    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    add_model(store, ids, {0: {"T1566.001": 0.93}, 2: {"T1055": 0.3}, 4: {"T1055": 0.25}},
              thresholds={"global": 0.5, "report": 0.5})
    at = open_app()
    table = next(df.value for df in at.dataframe if "Finding" in df.value.columns)
    rows = {r["Technique"]: r for r in table.to_dict("records")}
    assert set(rows) == {"T1566.001", "T1055", "T1003.001"}
    assert rows["T1055"]["Finding"] == "found by the model; not labelled yet"
    assert rows["T1055"]["Report evidence"] == "0.55"
    assert rows["T1003.001"]["Finding"] == "labelled; the model does not find it"
    assert rows["T1003.001"]["Report evidence"] == ""
    assert any("finds 2 technique(s); 2 of them are not labelled" in c.value for c in at.caption)


def test_a_technique_of_the_report_opens_its_sentences_in_annotate(open_app, store):
    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    model_id = add_model(store, ids, {0: {"T1566.001": 0.93}, 2: {"T1055": 0.3}, 4: {"T1055": 0.25}},
                         thresholds={"global": 0.5, "report": 0.5})
    at = open_app()
    assert any("Select a technique to review" in c.value for c in at.caption)
    table = next(df for df in at.dataframe if "Finding" in df.value.columns)
    row = list(table.value["Technique"]).index("T1055")
    key = f"rep_techniques_{report_summary(store, report_id).identity()}"
    at.session_state[key] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    button(at, "Review T1055 in this report").click().run()
    assert not at.exception, at.exception
    cursor = at.session_state["annotate"].cursor
    assert at.session_state["ann_tech"] == "T1055" and cursor.report_id == report_id
    assert cursor.model_id == model_id
    assert at.selectbox(key="ann_tech").value == "T1055"  # the Annotate page, filtered to the technique
    assert cursor.sentence_id == ids[2]  # ... at the model's best sentence for it (0.30)
    assert any(c.value.startswith("Sentence 3 of 6 in the report · 1 of 2 matching") for c in at.caption)


def test_a_selected_technique_does_not_carry_over_to_another_report(open_app, store):
    first_id, first_ids = add_report(store, title="First")
    second_id, second_ids = add_report(store, title="Second", texts=["A short one about spearphishing."])
    add_model(store, first_ids + second_ids, {0: {"T1566.001": 0.93}, 2: {"T1055": 0.9}, 6: {"T1003.001": 0.9}},
              thresholds={"global": 0.5, "report": 0.5})
    at = open_app()
    at.session_state["reports"].selected = first_id
    at.run()
    key = f"rep_techniques_{report_summary(store, first_id).identity()}"
    at.session_state[key] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert any(b.label.startswith("Review ") for b in at.button)
    at.session_state["reports"].selected = second_id
    at.run()
    assert not at.exception, at.exception
    assert not any(b.label.startswith("Review ") for b in at.button)  # the second report starts unselected


def test_the_navigator_export_can_add_the_models_findings(open_app, store):
    report_id, ids = add_report(store, labels={3: ("T1003.001",)})
    add_model(store, ids, {0: {"T1566.001": 0.93}}, thresholds={"global": 0.5, "report": 0.5})
    at = open_app()
    assert at.checkbox(key="rep_findings").disabled  # only for a Navigator layer
    at.selectbox(key="rep_fmt").set_value("navigator").run()
    at.checkbox(key="rep_findings").check().run()
    button(at, "Prepare the export").click().run()
    assert not at.exception, at.exception
    layer = json.loads(at.session_state["reports"].export.content)
    colours = {t["techniqueID"]: t.get("color") for t in layer["techniques"]}
    assert colours["T1566.001"] and not colours["T1003.001"]


def test_the_picked_model_is_kept_after_a_visit_to_another_page(open_app, store):
    report_id, ids = add_report(store)
    first = add_model(store, ids, {0: {"T1566.001": 0.9}})
    second = add_model(store, ids, {0: {"T1055": 0.8}})
    at = open_app()
    picker = at.selectbox(key="rep_model")
    other = first if picker.value == second else second
    picker.set_value(other).run()
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/reports.py").run()
    assert not at.exception and at.selectbox(key="rep_model").value == other
