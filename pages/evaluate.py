"""Evaluate page: a trained model's scores, per-technique table, charts, threshold explorer, run comparison, downloads."""

from __future__ import annotations

import streamlit as st

from pages.ui import EvaluateState, current_user, get_context, literal, page_state, show_error
from tram_core.services import evaluate as svc
from tram_core.services import exports

ctx = get_context()
page_state(EvaluateState)
W = EvaluateState.widgets
SCORE_FORMAT = st.column_config.NumberColumn(format="%.3f")

st.title("Evaluate")

models = svc.evaluable_models(ctx)
if not models.ids:
    st.info("No trained model yet. Go to the **Train** page, start a run on your labelled sentences, and its "
            "scores appear here when it finishes (the quick TF-IDF baseline takes seconds).")
    st.stop()

wanted, link_error = svc.linked_model(ctx, st.query_params.get("model"))
if link_error:
    st.error(literal(link_error))
model_id = st.selectbox("Trained model", models.ids, index=models.index(wanted), format_func=models.label,
                        key=W.model)
if st.query_params.get("model") != str(model_id):
    st.query_params["model"] = str(model_id)  # the address always links to the model shown

run = svc.evaluation(ctx, model_id)
st.caption(literal(run.caption))
if run.verdict:
    (st.warning if run.verdict_worse else st.info)(literal(f"Verdict: {run.verdict}"))


def score_formats(frame) -> dict:
    """Three decimals for every score column (the float ones); counts and names as they are."""
    return {c: SCORE_FORMAT for c in frame.columns if frame[c].dtype.kind == "f"}


def headline_row(row: svc.HeadlineRow) -> None:
    st.markdown(f"**{row.title}**")
    for col, (name, value) in zip(st.columns(len(row.figures)), row.figures):
        col.metric(name, value)


# --------------------------------------------------------------------------------------------------- headline

st.header("Scores on the test reports")
for row in run.headlines:
    headline_row(row)

chosen = None
if run.thresholds:
    chosen = st.select_slider("One global threshold for every technique", options=run.thresholds,
                              value=run.start_threshold, format_func=lambda t: f"{t:.2f}",
                              key=W.threshold(model_id))
    at = run.at_threshold(chosen)
    if at is not None:
        headline_row(at)
else:
    st.caption("This run stored no threshold curve.")

if run.document_line:
    st.caption(run.document_line)

# --------------------------------------------------------------------------------------------------- table

st.header("Per technique")
which = st.radio("Scores", list(svc.SCORE_SETS), format_func=svc.SCORE_SETS.get, index=1, horizontal=True,
                 key=W.which)
table = run.technique_table(ctx, which)
st.dataframe(table, hide_index=True, key=W.table,
             column_config={name: st.column_config.NumberColumn(title, format="%.3f")
                            if name in ("precision", "recall", "f1") else title
                            for name, title in svc.TECHNIQUE_HEADERS.items()})
st.download_button("Scores as CSV", data=run.table_csv(table), file_name=run.file_name(f"{which}-scores", "csv"),
                   mime="text/csv", on_click="ignore", key=W.csv)

# --------------------------------------------------------------------------------------------------- charts

st.header("Charts")
figures = run.figures(table, chosen)
if figures:
    for tab, figure in zip(st.tabs([f.label for f in figures]), figures):
        with tab:
            chart = figure.chart
            if figure.slug == "threshold":
                curve_of = st.selectbox("Curve of", run.curve_choices(table), key=W.curve_of,
                                        format_func=run.curve_label)
                chart = run.threshold_chart(curve_of, chosen)
            st.altair_chart(chart, width="stretch")
            for col, (fmt, mime) in zip(st.columns(2), svc.CHART_FORMATS):
                col.download_button(
                    f"{figure.label} as {fmt.upper()}", data=lambda c=chart, f=fmt: run.chart_bytes(c, f),
                    file_name=run.file_name(figure.slug, fmt), mime=mime, on_click="ignore",
                    key=W.download(figure.slug, fmt))
else:
    st.caption("No chart: this run stored no per-technique scores.")

st.download_button("Evaluation report (HTML)", data=lambda: run.report_html(ctx),
                   file_name=run.file_name("evaluation", "html"), mime="text/html", on_click="ignore", key=W.report)

st.subheader("ATT&CK Navigator layers", anchor=False)
st.caption(literal(f"This model's techniques in {exports.attack_version(ctx)}, scored by test F1 or by training "
                   "sentences, for the Navigator's matrix."))
for col, (by, label) in zip(st.columns(len(exports.COVERAGE_NAMES)), exports.COVERAGE_NAMES.items()):
    with col:
        try:
            layer = exports.coverage_layer(ctx, current_user(), model_id, by)
        except Exception as exc:  # noqa: BLE001 - e.g. no test scores: one line instead of the button
            show_error(exc, label)
            continue
        st.download_button(f"{label} (Navigator layer)", layer.content, file_name=layer.filename, mime=layer.mime,
                           on_click="ignore", key=W.layer(by))

# --------------------------------------------------------------------------------------------------- compare

st.header("Compare runs")
if len(models.ids) < 2:
    st.caption("Train a second run to compare runs side by side.")
else:
    picked = st.multiselect("Runs to compare (the first is the reference)", models.ids, format_func=models.label,
                            key=W.compare)
    basis = st.radio("Compare", list(svc.SCORE_SETS), format_func=svc.SCORE_SETS.get, index=1, horizontal=True,
                     key=W.compare_which)
    result = svc.compare(ctx, picked, basis)
    if result.prompt:
        st.caption(result.prompt)
    elif result.error:
        st.error(literal(result.error))
    elif result.summary is not None:
        (st.caption if result.same_test_set else st.warning)(result.note)
        st.markdown("**Headline scores** (Δ = this run minus the first)")
        st.dataframe(result.summary, hide_index=True, key=W.compare_summary, placeholder="",
                     column_config=score_formats(result.summary))
        st.markdown("**F1 per technique** (blank: the run did not score that technique)")
        st.dataframe(result.per_technique, hide_index=True, key=W.compare_table, placeholder="",
                     column_config=score_formats(result.per_technique))
        st.altair_chart(result.chart, width="stretch")
