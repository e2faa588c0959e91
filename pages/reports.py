"""Reports: import files, text or a URL; the table of reports; open, delete, export, run a model over one, and see
its techniques beside what the model finds."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st

from pages.ui import current_user, get_settings, get_store, literal, open_in_annotate, show_error
from tram_core import importer
from tram_core.app_state import batch_rows, demo_corpus_dir, import_row
from tram_core.errors import is_user_error
from tram_core.formats import EXPORT_FORMATS, ImportOptions
from tram_core.model_choice import default_model, model_label
from tram_core.report_summary import report_summary

S = st.session_state
FORMAT_NAMES = {
    "tram-multilabel": "TRAM multi-label JSON (labelled sentences)",
    "tram-report": "TRAM report JSON (every sentence)",
    "csv": "CSV (labelled sentences)",
    "navigator": "ATT&CK Navigator layer",
}
EXPORT_MIME = {"csv": "text/csv"}

store = get_store()
settings = get_settings()
user = current_user()

st.title("Reports")
if S.get("rep_deleted"):
    st.success(S.pop("rep_deleted"))


# --------------------------------------------------------------------------------------------------- import


def run_imports(sources: list[tuple[str, object]]) -> None:
    """Read every ``(name, prepare)`` source with a progress bar, then store the readable ones in one transaction."""
    bar = st.progress(0.0, text=f"Reading {len(sources)} item(s)…") if len(sources) > 1 else None

    def read(i: int, name: str, error: str | None) -> None:
        if bar is not None:
            bar.progress(i / len(sources), text=f"Read {i} of {len(sources)}: {literal(name)}")

    try:
        batch = importer.import_batch(store, sources, user, skip_bad_files=True, on_prepared=read)
        S["rep_import_rows"] = batch_rows(batch)
    except Exception as exc:  # noqa: BLE001 - storing failed: nothing was stored, every item says why
        if not is_user_error(exc):
            raise
        S["rep_import_rows"] = [import_row(name, error=exc) for name, _ in sources]


def upload_items(files) -> list[tuple[str, object]]:
    options = ImportOptions(limits=settings.limits)
    return [(f.name, lambda f=f: importer.prepare_bytes(f.getvalue(), f.name, options,
                                                         max_bytes=settings.max_upload_bytes)) for f in files]


upload_tab, paste_tab, url_tab = st.tabs(["Upload files", "Paste text", "From a URL"])
with upload_tab:
    with st.form("rep_upload", clear_on_submit=True):
        files = st.file_uploader(
            "Report documents (PDF, DOCX, HTML, TXT, MD) or datasets (TRAM JSON, MAT .mjson, CSV)",
            accept_multiple_files=True, key="rep_files",
        )
        if st.form_submit_button("Import files", type="primary"):
            if files:
                run_imports(upload_items(files))
            else:
                st.warning("Choose one or more files first.")
with paste_tab:
    with st.form("rep_paste"):
        title = st.text_input("Title", key="rep_paste_title")
        text = st.text_area("Report text", key="rep_paste_text", height=200)
        if st.form_submit_button("Import text"):
            if not text.strip():
                st.warning("Paste the report's text first.")
            else:
                name = title.strip() or "Pasted text"
                run_imports([(name, lambda: importer.prepare_text(text, name, settings.limits))])
with url_tab:
    with st.form("rep_url"):
        url = st.text_input("Address of a report (web page or PDF)", key="rep_url_value",
                            placeholder="https://www.cisa.gov/…")
        if st.form_submit_button("Fetch and import"):
            if not url.strip().lower().startswith(("http://", "https://")):
                st.error(f"'{literal(url.strip()[:200])}' is not a web address; it must start with http:// or https://")
            else:
                with st.spinner(f"Fetching {literal(url.strip())}…"):
                    run_imports([(url.strip(), lambda: importer.prepare_url(url.strip(), settings))])

rows = S.get("rep_import_rows")
if rows:
    for row in rows:
        if row.result == "failed":
            st.error(f"{literal(row.file)}: not imported. {literal(row.message)}")
    done = [r for r in rows if r.result != "failed"]
    if done:
        st.success(f"{sum(r.reports for r in done)} report(s) imported, "
                   f"{sum(r.sentences for r in done):,} sentences ({sum(r.labelled for r in done):,} labelled), "
                   f"{sum(r.duplicates for r in done)} already there.")
    st.dataframe(pd.DataFrame([asdict(r) for r in rows]), hide_index=True, width="stretch",
                 column_config={"file": "File", "result": "Result", "reports": "Reports created",
                                "sentences": "Sentences", "labelled": "Labelled", "duplicates": "Duplicates",
                                "message": st.column_config.TextColumn("Details", width="large")})

# --------------------------------------------------------------------------------------------------- reports

reports = store.list_reports()
if not reports:
    demo = demo_corpus_dir()
    st.info(
        "**No reports yet. To start:**\n\n"
        "1. Import a threat report above: upload a PDF, DOCX, HTML or text file, paste its text, or give its web "
        "address. Datasets (TRAM JSON exports, MAT .mjson files, CSV) bring their labels with them.\n"
        "2. Open it on the Annotate page and label its sentences with ATT&CK techniques.\n"
        "3. Train a model on the Train page once a few hundred sentences are labelled."
    )
    if demo is not None:
        files = sorted(demo.glob("*.mjson"))
        st.caption(f"A demo corpus of {len(files)} annotated reports (TRAM 2's MAT files) is available at {literal(str(demo))}.")
        if st.button(f"Load the demo corpus ({len(files)} reports)", type="primary"):
            run_imports([(f.name, lambda f=f: importer.prepare_path(f, ImportOptions(limits=settings.limits)))
                         for f in files])
            st.rerun()
    st.stop()

table = pd.DataFrame([{
    "id": r.id, "title": r.title, "sentences": r.sentences, "labelled": r.labelled, "reviewed": r.reviewed,
    "progress": r.progress, "techniques": ", ".join(r.techniques), "imported by": r.created_by,
    "imported": r.created_at,
} for r in reports])
total_sentences = sum(r.sentences for r in reports)
total_answered = sum(r.answered for r in reports)
st.subheader(f"{len(reports)} report(s) · {total_sentences:,} sentences · {total_answered:,} answered")
event = st.dataframe(
    table, key="rep_table", hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
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
by_id = {r.id: r for r in reports}
if selected:
    report = reports[selected[0]]
else:
    report = by_id.get(S.get("rep_selected"), reports[0])
    st.caption("Select a row to act on that report.")
S["rep_selected"] = report.id

st.subheader(f"#{report.id} {literal(report.title)}", anchor=False)
st.caption(f"{report.sentences:,} sentences · {report.labelled:,} labelled · {report.reviewed:,} reviewed"
           + (f" · source {literal(report.source)}" if report.source else ""))
open_col, predict_col, delete_col = st.columns(3)
with open_col:
    if st.button("Open in Annotate", type="primary", key="rep_open"):
        open_in_annotate(report.id)

with predict_col:
    trained = store.list_models(include_imported=False)
    if not trained:
        st.caption("No trained model yet: train one on the Train page to pre-annotate reports.")
    else:
        first = default_model(trained)
        names = {m.id: model_label(m) for m in trained}
        model_id = st.selectbox("Model", list(names), index=list(names).index(first.id), format_func=names.get,
                                key="rep_model")
        if st.button("Run the model over this report", key="rep_predict"):
            try:
                from tram_core import jobs

                job_id = jobs.submit_prediction(store, model_id, report.id, user)
                S["ann_model"] = model_id
                st.success(f"Queued prediction job {job_id}. When the worker finishes it, the suggestions show "
                           "on the Annotate page.")
            except Exception as exc:  # noqa: BLE001
                show_error(exc, "Not queued")

with delete_col:
    sure = st.checkbox(f"Yes, delete report #{report.id} and its labels", key=f"rep_sure_{report.id}")
    if st.button("Delete report", key="rep_delete", disabled=not sure):
        try:
            store.delete_report(report.id, user=user)
            S.pop("rep_selected", None)
            S["rep_deleted"] = f"Deleted report #{report.id} '{literal(report.title)}'."
            st.rerun()
        except Exception as exc:  # noqa: BLE001
            show_error(exc, "Not deleted")

st.subheader("Techniques in this report", anchor=False)
chosen_model = S.get("rep_model") if any(m.id == S.get("rep_model") for m in trained) else None
summary = report_summary(store, report.id, model_id=chosen_model)
st.caption(summary.caption())
if summary.techniques:
    # A new key whenever the rows change, so that a selection never carries over to another report's rows.
    picked = st.dataframe(pd.DataFrame(summary.table_rows()), hide_index=True, width="stretch",
                          key=f"rep_techniques_{summary.identity()}", on_select="rerun", selection_mode="single-row")
    rows = [r for r in (picked.selection.rows if picked is not None else []) if r < len(summary.techniques)]
    if not rows:
        st.caption("Select a technique to review its sentences in this report on the Annotate page.")
    else:
        row = summary.techniques[rows[0]]
        if st.button(f"Review {literal(row.technique)} in this report", key="rep_review"):
            # Sentences labelled or suggested with the technique, from the model's best sentence for it.
            open_in_annotate(report.id, row.technique, row.best_sentences[0][0] if row.best_sentences else None,
                             summary.model.id if summary.model else None)

st.subheader("Export", anchor=False)
ecols = st.columns([2, 2, 2])
fmt = ecols[0].selectbox("Format", EXPORT_FORMATS, format_func=FORMAT_NAMES.get, key="rep_fmt")
scope = ecols[1].radio("What", ["This report", "All reports"], key="rep_scope", horizontal=True)
with_unlabelled = ecols[2].checkbox("Include unlabelled sentences", key="rep_unlabelled",
                                    disabled=fmt not in ("tram-multilabel", "csv"),
                                    help="Unlabelled rows are marked 'unlabelled' so nobody reads them as negatives.")
findings_possible = fmt == "navigator" and scope == "This report" and bool(summary.sentences_scored)
with_findings = ecols[2].checkbox(
    "Add the model's findings", key="rep_findings", disabled=not findings_possible,
    help="A Navigator layer of this report: also the techniques the model above finds in the report that no "
         "sentence is labelled with yet, in their own colour.") and findings_possible
# Any new label or suggestion changes the key, so a prepared file is never offered after the data moved on.
export_key = (fmt, scope, report.id if scope == "This report" else None, with_unlabelled, with_findings,
              summary.identity(), store.label_event_watermark())
if st.button("Prepare the export", key="rep_prepare"):
    from tram_core.formats import export_data

    try:
        S["rep_export"] = (export_key, *export_data(
            store, fmt, report.id if scope == "This report" else None, include_unlabelled=with_unlabelled,
            model_findings=with_findings, model_id=summary.model.id if summary.model else None))
    except Exception as exc:  # noqa: BLE001
        show_error(exc, "Export failed")
if S.get("rep_export") and S["rep_export"][0] == export_key:
    _, content, filename = S["rep_export"]
    st.download_button(f"Download {filename} ({len(content) / 1024:,.0f} KB)", content, file_name=filename,
                       mime=EXPORT_MIME.get(fmt, "application/json"), key="rep_download")
