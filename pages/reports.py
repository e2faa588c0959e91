"""Reports: import files, text or a URL; the table of reports; open, delete, export, run a model over one, and see
its techniques beside what the model finds."""

from __future__ import annotations

import streamlit as st

from pages.ui import AnnotateState, ReportsState, capabilities, current_user, get_context, literal, open_in_annotate, \
    page_state, show_error
from tram_core.services import exports
from tram_core.services import report_imports as imports
from tram_core.services import reports as svc

ctx = get_context()
user = current_user()
caps = capabilities()
state = page_state(ReportsState)
W = ReportsState.widgets

st.title("Reports")
if state.deleted:
    st.success(literal(state.deleted))
    state.deleted = ""


# --------------------------------------------------------------------------------------------------- import


def progress_bar(count: int):
    """A progress bar, drawn once the service reports something: each item read when there are several, each page
    of a scanned file read by OCR."""
    slot = st.empty()
    return lambda fraction, text: slot.progress(fraction, text=literal(text))


def imported(outcome: imports.ImportOutcome) -> None:
    """Say why nothing was tried, or keep the results to show below."""
    if outcome.error:
        st.error(literal(outcome.error))
    elif outcome.warning:
        st.warning(literal(outcome.warning))
    else:
        state.imports = outcome


if caps.import_reports:  # viewers see the reports, not the import forms
    upload_tab, paste_tab, url_tab = st.tabs(["Upload files", "Paste text", "From a URL"])
    with upload_tab:
        with st.form(W.upload_form, clear_on_submit=True):
            files = st.file_uploader(
                "Report documents (PDF, DOCX, HTML, TXT, MD) or datasets (TRAM JSON, MAT .mjson, CSV)",
                accept_multiple_files=True, key=W.files,
            )
            if st.form_submit_button("Import files", type="primary"):
                items = [(f.name, f.getvalue()) for f in files or []]
                imported(imports.import_files(ctx, user, items, progress_bar(len(items))))
    with paste_tab:
        with st.form(W.paste_form):
            title = st.text_input("Title", key=W.paste_title)
            text = st.text_area("Report text", key=W.paste_text, height=200)
            if st.form_submit_button("Import text"):
                imported(imports.import_text(ctx, user, title, text))
    with url_tab:
        with st.form(W.url_form):
            url = st.text_input("Address of a report (web page or PDF)", key=W.url,
                                placeholder="https://www.cisa.gov/…")
            if st.form_submit_button("Fetch and import"):
                with st.spinner(f"Fetching {literal(url.strip())}…"):
                    imported(imports.import_url(ctx, user, url, progress_bar(1)))

def decide_duplicates(pending: imports.PendingImport) -> None:
    """Files that are the same document as a stored report (or as another file of this import) in another format:
    merge, keep both or skip, one answer per file; nothing is stored until the import finishes."""
    st.warning("Some files look like the same document as a report already here, in another format. Nothing is "
               "imported until you decide for each.")
    with st.form(ReportsState.PREFIX + "dup_form"):
        choices = {}
        for i, question in enumerate(pending.questions):
            choices[question.key] = st.radio(literal(question.question), imports.DECISIONS,
                                             index=imports.DECISIONS.index(question.default),
                                             format_func=imports.DECISION_NAMES.get,
                                             key=W.duplicate_choice(i))
        finish, cancel = st.columns(2)
        if finish.form_submit_button("Finish the import", type="primary"):
            state.imports = imports.finish_import(ctx, user, pending, choices)
            st.rerun()
        if cancel.form_submit_button("Cancel the import"):
            state.imports = None
            st.rerun()


if state.imports is not None and state.imports.pending is not None:
    decide_duplicates(state.imports.pending)

if state.imports is not None and state.imports.rows:
    for line in state.imports.failures:
        st.error(literal(line))
    for line in state.imports.notes:
        st.warning(literal(line))
    if state.imports.summary:
        st.success(state.imports.summary)
    st.dataframe(state.imports.table, hide_index=True, width="stretch",
                 column_config={"file": "File", "result": "Result", "reports": "Reports created",
                                "sentences": "Sentences", "labelled": "Labelled", "duplicates": "Duplicates",
                                "message": st.column_config.TextColumn("Details", width="large")})

# --------------------------------------------------------------------------------------------------- reports

table = svc.reports_table(ctx)
if table.empty:
    st.info(
        "**No reports yet. To start:**\n\n"
        "1. Import a threat report above: upload a PDF, DOCX, HTML or text file, paste its text, or give its web "
        "address. Datasets (TRAM JSON exports, MAT .mjson files, CSV) bring their labels with them.\n"
        "2. Open it on the Annotate page and label its sentences with ATT&CK techniques.\n"
        "3. Train a model on the Train page once a few hundred sentences are labelled."
    )
    demo = imports.demo_corpus()
    if demo is not None and caps.import_reports:
        st.caption(literal(demo.caption))
        if st.button(demo.button, type="primary", key=W.demo):
            state.imports = imports.import_demo(ctx, user, progress_bar(len(demo.files)))
            st.rerun()
    st.stop()

st.subheader(table.heading)
event = st.dataframe(
    table.frame, key=W.table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
    column_config={
        "id": st.column_config.NumberColumn("ID", width="small"),
        "title": st.column_config.TextColumn("Title", width="large"),
        "sentences": st.column_config.NumberColumn("Sentences"),
        "labelled": st.column_config.NumberColumn("Labelled"),
        "reviewed": st.column_config.NumberColumn("Reviewed"),
        "progress": st.column_config.ProgressColumn("Answered", min_value=0.0, max_value=1.0, format="percent"),
        "techniques": st.column_config.TextColumn("Techniques", width="medium"),
        "imported": st.column_config.DatetimeColumn("Imported", format="YYYY-MM-DD HH:mm"),
    },
)
selected = event.selection.rows if event is not None else []
report = table.pick(selected, state.selected)
if not selected:
    st.caption("Select a row to act on that report.")
state.selected = report.id

st.subheader(f"#{report.id} {literal(report.title)}", anchor=False)
st.caption(literal(report.caption))
open_col, predict_col, delete_col = st.columns(3)  # each action only for a role that may take it
with open_col:
    if st.button("Open in Annotate", type="primary", key=W.open):
        open_in_annotate(report.id)

models = svc.prediction_models(ctx)
model_id = None
with predict_col:
    if not models.ids:
        st.caption("No trained model yet: train one on the Train page to pre-annotate reports.")
    else:
        # The pick outlives a visit to another page (Streamlit drops an unseen widget's value): kept in the state.
        model_id = st.selectbox("Model", models.ids, index=models.index(state.model_id), format_func=models.label,
                                key=W.model)
        state.model_id = model_id
        if caps.can("run a model") and st.button("Run the model over this report", key=W.predict):
            try:
                st.success(svc.queue_prediction(ctx, user, model_id, report.id))
                page_state(AnnotateState).show_model(model_id)
            except Exception as exc:  # noqa: BLE001
                show_error(exc, "Not queued")

with delete_col:
    sure = caps.delete_reports and st.checkbox(f"Yes, delete report #{report.id} and its labels", key=W.sure(report.id))
    if caps.delete_reports and st.button("Delete report", key=W.delete, disabled=not sure):
        try:
            state.deleted = svc.delete_report(ctx, user, report.id)
            state.selected = None
            st.rerun()
        except Exception as exc:  # noqa: BLE001
            show_error(exc, "Not deleted")

st.subheader("Techniques in this report", anchor=False)
techniques = svc.techniques_panel(ctx, report.id, model_id, models)
st.caption(techniques.caption)
if not techniques.frame.empty:
    picked = st.dataframe(techniques.frame, hide_index=True, width="stretch", key=W.techniques(techniques.identity),
                          on_select="rerun", selection_mode="single-row")
    target = techniques.review_target(picked.selection.rows if picked is not None else [])
    if target is None:
        st.caption("Select a technique to review its sentences in this report on the Annotate page.")
    elif st.button(literal(target.button), key=W.review):
        # Sentences labelled or suggested with the technique, from the model's best sentence for it.
        open_in_annotate(target.report_id, target.technique, target.sentence_id, target.model_id)

st.subheader("Export", anchor=False)
ecols = st.columns([2, 2, 2])
fmt = ecols[0].selectbox("Format", svc.EXPORT_FORMATS, format_func=svc.FORMAT_NAMES.get, key=W.fmt)
scope = ecols[1].radio("What", svc.SCOPES, key=W.scope, horizontal=True)
unlabelled_possible, findings_possible = svc.unlabelled_possible(fmt), svc.findings_possible(fmt, scope, techniques)
for key, possible in ((W.unlabelled, unlabelled_possible), (W.findings, findings_possible)):
    if not possible:
        st.session_state[key] = False  # a greyed option never stays ticked
with_unlabelled = ecols[2].checkbox("Include unlabelled sentences", key=W.unlabelled, disabled=not unlabelled_possible,
                                    help="Unlabelled rows are marked 'unlabelled' so nobody reads them as negatives.")
with_findings = ecols[2].checkbox(
    "Add the model's findings", key=W.findings, disabled=not findings_possible,
    help="A Navigator layer of this report: also the techniques the model above finds in the report that no "
         "sentence is labelled with yet, in their own colour. A STIX bundle: also each technique the model finds, "
         "with its best sentences as notes.")
st.caption(literal(f"Techniques as in {exports.attack_version(ctx)}."))
request = svc.export_request(ctx, fmt, scope, report.id, with_unlabelled, with_findings, techniques)
if st.button("Prepare the export", key=W.prepare):
    try:
        state.export = svc.prepare_export(ctx, user, request)
    except Exception as exc:  # noqa: BLE001
        show_error(exc, "Export failed")
# Any new label or suggestion changes the key, so a prepared file is never offered after the data moved on.
if state.export is not None and state.export.key == request.key:
    st.download_button(state.export.button, state.export.content, file_name=state.export.filename,
                       mime=state.export.mime, key=W.download)
