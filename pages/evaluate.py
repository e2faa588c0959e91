"""Evaluate page: a trained model's scores, per-technique table, charts, threshold explorer, run comparison, downloads."""

from __future__ import annotations

import math

import streamlit as st

from pages.ui import get_catalog, get_store, literal, show_error
from tram_core import charts, run_history
from tram_core.csv_cells import frame_csv_bytes
from tram_core.evaluation_report import build_evaluation_report
from tram_core.metrics import report_rule_text
from tram_core.model_choice import model_label
from tram_core.run_comparison import RunMetrics, compare_runs

store = get_store()
catalog = get_catalog()

st.title("Evaluate")

models = run_history.evaluable_models(store)
if not models:
    st.info("No trained model yet. Go to the **Train** page, start a run on your labelled sentences, and its "
            "scores appear here when it finishes (the quick TF-IDF baseline takes seconds).")
    st.stop()

by_id = {m.id: m for m in models}
wanted = None
if "model" in st.query_params:
    try:
        wanted = run_history.find_model(store, st.query_params.get("model"))
    except Exception as exc:  # noqa: BLE001 - a bad link gets one clear line
        show_error(exc, "The link's model")
ids = list(by_id)
index = ids.index(wanted.id) if wanted is not None and wanted.id in by_id else 0
model_id = st.selectbox("Trained model", ids, index=index, format_func=lambda i: model_label(by_id[i]),
                        key="evaluate_model")
model = by_id[model_id]
if st.query_params.get("model") != str(model.id):
    st.query_params["model"] = str(model.id)  # the address always links to the model shown

metrics = model.metrics
history = run_history.model_history(model)
details = run_history.model_details(model)
st.caption(literal(" · ".join(f"{k}: {v}" for k, v in details.items() if k != "model" and v not in ("", None))))


def _fmt(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def headline_row(title: str, head: charts.Headline) -> None:
    st.markdown(f"**{title}**")
    cols = st.columns(6)
    for col, (name, value) in zip(cols, head.to_dict().items()):
        col.metric(name.replace("_", " "), _fmt(value))


# --------------------------------------------------------------------------------------------------- headline

st.header("Scores on the test reports")
headline_row("At threshold 0.5 (the seed notebook's)", charts.headline(metrics.get("at_0_5")))
tuned_t = run_history.tuned_global_threshold(model)
headline_row("At the tuned thresholds (tuned on validation, per technique)"
             + (f"; global {tuned_t:.2f}" if tuned_t is not None else ""),
             charts.headline(metrics.get("at_tuned")))

grid = charts.curve_thresholds(metrics)
chosen = None
if grid:
    start = charts.nearest_threshold(metrics, tuned_t if tuned_t is not None else 0.5)
    chosen = st.select_slider("One global threshold for every technique", options=grid, value=start,
                              format_func=lambda t: f"{t:.2f}", key=f"evaluate_threshold_{model.id}")
    at = charts.scores_at_threshold(metrics, chosen)
    if at is not None:
        headline_row(f"At global threshold {chosen:.2f}", at)
else:
    st.caption("This run stored no threshold curve.")

doc = metrics.get("document") or {}
if doc:
    doc_head = charts.headline(doc)
    st.caption(f"Document level (each test report's techniques as a set): micro F1 {_fmt(doc_head.micro_f1)}, "
               f"macro F1 {_fmt(doc_head.macro_f1)} over {doc.get('reports', len(doc.get('per_report') or []))} "
               f"reports; {doc.get('rule') or report_rule_text(None)}.")

# --------------------------------------------------------------------------------------------------- table

st.header("Per technique")
which = st.radio("Scores", list(charts.SCORE_SETS), format_func=charts.SCORE_SETS.get, index=1, horizontal=True,
                 key="evaluate_which")
table = charts.technique_table(metrics.get(which), catalog)
st.dataframe(
    table, hide_index=True,
    column_config={name: st.column_config.NumberColumn(format="%.3f") for name in ("precision", "recall", "f1")},
    key="evaluate_table",
)
st.download_button("Scores as CSV", data=frame_csv_bytes(table),
                   file_name=f"model-{model.id}-{which}-scores.csv", mime="text/csv", on_click="ignore")

# --------------------------------------------------------------------------------------------------- charts

st.header("Charts")
titles = store.annotation_report_titles()
documents = charts.document_table(metrics, titles)
figures: list[tuple[str, str, object]] = []
if not table.empty:
    figures.append(("F1 per technique", "f1-per-technique", charts.f1_by_technique_chart(table)))
    figures.append(("Precision vs recall", "precision-recall", charts.precision_recall_chart(table)))
if grid:
    figures.append(("By threshold", "threshold", charts.threshold_chart(metrics, marker=chosen)))
if history:
    figures.append(("Loss by epoch", "loss", charts.loss_chart(history)))
if not documents.empty:
    figures.append(("Per test report", "documents", charts.document_chart(documents)))

if figures:
    tabs = st.tabs([f[0] for f in figures])
    for tab, (label, slug, chart) in zip(tabs, figures):
        with tab:
            if slug == "threshold":
                curve_for = st.selectbox("Curve of", ["micro", *table["technique"]], key="evaluate_curve_of",
                                         format_func=lambda t: "all techniques (micro)" if t == "micro" else t)
                chart = charts.threshold_chart(metrics, technique=curve_for, marker=chosen)
            st.altair_chart(chart, width="stretch")
            left, right = st.columns(2)
            for col, fmt, mime in ((left, "png", "image/png"), (right, "svg", "image/svg+xml")):
                col.download_button(
                    f"{label} as {fmt.upper()}", data=lambda c=chart, f=fmt: charts.chart_bytes(c, f),
                    file_name=f"model-{model.id}-{slug}.{fmt}", mime=mime, on_click="ignore",
                    key=f"dl-{slug}-{fmt}")
else:
    st.caption("No chart: this run stored no per-technique scores.")

st.download_button(
    "Evaluation report (HTML)",
    data=lambda: build_evaluation_report(f"Evaluation of model #{model.id}: {model.name}", metrics, history,
                                         details, catalog, titles).encode("utf-8"),
    file_name=f"model-{model.id}-evaluation.html", mime="text/html", on_click="ignore", key="dl-report")

# --------------------------------------------------------------------------------------------------- compare

st.header("Compare runs")
if len(models) < 2:
    st.caption("Train a second run to compare runs side by side.")
else:
    picked = st.multiselect("Runs to compare (the first is the reference)", ids,
                            format_func=lambda i: model_label(by_id[i]), key="evaluate_compare")
    basis = st.radio("Compare", list(charts.SCORE_SETS), format_func=charts.SCORE_SETS.get, index=1,
                     horizontal=True, key="evaluate_compare_which")
    if len(picked) == 1:
        st.caption("Pick at least one more run.")
    elif len(picked) >= 2:
        try:
            result = compare_runs([RunMetrics.of_model(f"#{i}", by_id[i]) for i in picked], which=basis)
            (st.caption if result.same_test_set else st.warning)(result.test_set_note)
            st.markdown("**Headline scores** (Δ = this run minus the first)")
            st.dataframe(result.summary, hide_index=True, key="evaluate_compare_summary",
                         column_config={c: st.column_config.NumberColumn(format="%.3f")
                                        for c in result.summary.columns if c != "run"})
            st.markdown("**F1 per technique** (blank: the run did not score that technique)")
            st.dataframe(result.per_technique, hide_index=True, key="evaluate_compare_table",
                         column_config={c: st.column_config.NumberColumn(format="%.3f")
                                        for c in result.per_technique.columns if c not in ("technique", "support",
                                                                                           "in_runs")})
            st.altair_chart(charts.comparison_chart(result.per_technique, result.runs), width="stretch")
        except Exception as exc:  # noqa: BLE001
            show_error(exc, "Cannot compare")
