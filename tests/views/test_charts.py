"""Chart and table builders: the right rows, fields and encodings from a stored metrics dict."""

from __future__ import annotations

import math

import pytest

from tests.views.run_samples import CURVE, sample_history, sample_metrics
from tram_core.views import charts


def _datasets(chart) -> list[list[dict]]:
    return list(chart.to_dict()["datasets"].values())


def _encodings(spec: dict) -> list[dict]:
    out = []
    if "encoding" in spec:
        out.append(spec["encoding"])
    for layer in spec.get("layer", []):
        out.extend(_encodings(layer))
    return out


def test_headline_reads_the_six_figures():
    metrics = sample_metrics()
    head = charts.headline(metrics["at_tuned"])
    assert head.micro_f1 == pytest.approx(metrics["at_tuned"]["micro_f1"])
    assert head.macro_recall == pytest.approx(metrics["at_tuned"]["macro_recall"])
    nested = charts.headline({"micro": {"precision": 0.5, "recall": 0.25, "f1": 0.333}})
    assert nested.micro_recall == 0.25 and math.isnan(nested.macro_f1)


def test_technique_table_has_catalog_names_and_is_sorted_by_support(catalog):
    table = charts.technique_table(sample_metrics()["at_tuned"], catalog)
    assert list(table.columns[:6]) == ["technique", "name", "precision", "recall", "f1", "support"]
    assert list(table["technique"]) == ["T1059.001", "T1566.001", "T1071.001", "T1105"]
    assert table.loc[0, "name"] == catalog.get("T1059.001").name
    assert table["support"].is_monotonic_decreasing
    assert table.loc[3, "support"] == 8


def test_scores_at_threshold_come_from_the_curve():
    metrics = sample_metrics()
    assert charts.curve_thresholds(metrics) == sorted(CURVE)
    head = charts.scores_at_threshold(metrics, 0.7)
    assert head.micro_f1 == pytest.approx(CURVE[0.7][2])
    assert head.micro_precision == pytest.approx(CURVE[0.7][0])
    # nearest measured threshold wins; macro is the mean of the per-technique curves there
    near = charts.scores_at_threshold(metrics, 0.33)
    assert near.micro_f1 == pytest.approx(CURVE[0.3][2])
    per = [p["f1"] for p in metrics["curves"] if p["threshold"] == 0.3 and p["technique"] != "micro"]
    assert near.macro_f1 == pytest.approx(sum(per) / len(per))
    assert charts.scores_at_threshold({"curves": []}, 0.5) is None


def test_f1_chart_names_each_technique_and_says_what_the_bar_end_numbers_are(catalog):
    table = charts.technique_table(sample_metrics()["at_tuned"], catalog)
    chart = charts.f1_by_technique_chart(table)
    spec = chart.to_dict()
    rows = _datasets(chart)[0]
    assert {r["technique"]: r["support"] for r in rows} == dict(zip(table["technique"], table["support"]))
    assert [r["label"] for r in rows] == ["T1059.001 PowerShell", "T1566.001 Spearphishing Attachment",
                                          "T1071.001 Web Protocols", "T1105 Ingress Tool Transfer"]
    assert [r["n"] for r in rows] == [f"n={n}" for n in table["support"]]
    encodings = _encodings(spec)
    assert any(e["x"]["field"] == "f1" and e["y"]["field"] == "label" for e in encodings)
    assert any(e.get("text", {}).get("field") == "n" for e in encodings)
    assert spec["title"]["subtitle"] == "n = test sentences with the technique (support)"
    assert all(e["y"]["title"] is None for e in encodings)  # the names need the room; the title says "per technique"


def test_technique_labels_fall_back_to_the_catalog_then_to_the_bare_id(catalog):
    assert charts.technique_label("T1055", "Process Injection") == "T1055 Process Injection"
    assert charts.technique_label("T1055", catalog=catalog) == "T1055 Process Injection"
    assert charts.technique_label("T9999.999", catalog=catalog) == "T9999.999"
    unnamed = charts.technique_table(sample_metrics()["at_tuned"])  # no catalog given: names from the default one
    assert _datasets(charts.f1_by_technique_chart(unnamed))[0][0]["label"] == "T1059.001 PowerShell"


def test_precision_recall_scatter_is_sized_by_support_with_tooltips():
    table = charts.technique_table(sample_metrics()["at_tuned"])
    spec = charts.precision_recall_chart(table).to_dict()
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["y"]["field"], enc["size"]["field"]) == ("recall", "precision", "support")
    assert {t["field"] for t in enc["tooltip"]} >= {"label", "precision", "recall", "support"}
    assert _datasets(charts.precision_recall_chart(table))[0][0]["label"] == "T1059.001 PowerShell"
    assert spec["mark"]["type"] == "circle"


def test_threshold_chart_has_three_lines_and_the_marker():
    chart = charts.threshold_chart(sample_metrics(), marker=0.3)
    data = _datasets(chart)
    lines = next(d for d in data if len(d) > 1)
    assert len(lines) == 3 * len(CURVE)
    assert {r["score"] for r in lines} == {"precision", "recall", "f1"}
    f1_at_07 = next(r["value"] for r in lines if r["score"] == "f1" and r["threshold"] == 0.7)
    assert f1_at_07 == pytest.approx(CURVE[0.7][2])
    assert [{"threshold": 0.3}] in data
    assert chart.to_dict()["title"] == "Precision, recall and F1 by threshold: all techniques (micro)"
    one = charts.threshold_chart(sample_metrics(), technique="T1059.001")
    assert one.to_dict()["title"] == "Precision, recall and F1 by threshold: T1059.001 PowerShell"


def test_loss_chart_has_train_and_validation_series_per_epoch():
    chart = charts.loss_chart(sample_history())
    rows = _datasets(chart)[0]
    assert {r["series"] for r in rows} == {"train loss", "validation loss", "validation micro-F1"}
    assert next(r["value"] for r in rows if r["series"] == "validation loss" and r["epoch"] == 2) == 0.29
    x = chart.to_dict()["encoding"]["x"]
    assert x["field"] == "epoch"
    assert (x["axis"]["values"], x["axis"]["format"], x["scale"]["domain"]) == ([1, 2, 3], "d", [1, 3])


def test_a_one_epoch_run_has_one_whole_tick_in_the_middle():
    x = charts.loss_chart(sample_history()[:1]).to_dict()["encoding"]["x"]
    assert x["axis"]["values"] == [1] and x["axis"]["format"] == "d"  # "1", never "1.000000"
    assert x["scale"]["domain"] == [0.5, 1.5]


def test_document_chart_names_each_report_without_an_axis_title_over_the_names():
    table = charts.document_table(sample_metrics(), titles={1: "APT report"})
    assert list(table["title"]) == ["APT report", "report 2"]
    chart = charts.document_chart(table)
    rows = _datasets(chart)[0]
    assert [r["f1"] for r in rows] == [0.686, 0.667]
    y = chart.to_dict()["encoding"]["y"]
    assert y["title"] is None and y["axis"]["labelLimit"] >= 260
    assert chart.to_dict()["title"] == "Document-level F1 per test report"


def test_the_comparison_chart_names_techniques_and_colours_runs(catalog):
    from tram_core.views.run_comparison import RunMetrics, compare_runs

    result = compare_runs([RunMetrics("#3", sample_metrics(0)), RunMetrics("#5", sample_metrics(1))], catalog=catalog)
    chart = charts.comparison_chart(result.per_technique, result.runs)
    rows = _datasets(chart)[0]
    assert {(r["technique"], r["run"]) for r in rows if r["technique"].startswith("T1105")} == {
        ("T1105 Ingress Tool Transfer", "#3")}  # not scored by #5: no bar, not a zero
    assert len(rows) == 2 * 5 - 2
    assert chart.to_dict()["encoding"]["y"]["title"] is None


def test_live_loss_chart_keeps_loss_points_only():
    points = [{"step": s, "epoch": 1, "name": "loss", "value": 1.0 / s} for s in range(1, 6)]
    points.append({"step": 5, "epoch": 1, "name": "val_micro_f1", "value": 0.4})
    rows = _datasets(charts.live_loss_chart(points))[0]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]


def test_counts_chart_marks_techniques_under_the_minimum():
    rows = _datasets(charts.technique_counts_chart({"T1105": 3, "T1059": 40, "T1566": 12}, min_count=10))[0]
    assert [(r["technique"], r["kept"]) for r in rows] == [
        ("T1059", "kept"), ("T1566", "kept"), ("T1105", "under 10")]


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("svg", b"<svg")])
def test_charts_render_to_png_and_svg(fmt, magic):
    table = charts.technique_table(sample_metrics()["at_tuned"])
    data = charts.chart_bytes(charts.precision_recall_chart(table), fmt)
    assert data.startswith(magic)
    with pytest.raises(ValueError, match="Unknown chart format"):
        charts.chart_bytes(charts.precision_recall_chart(table), "gif")


def test_every_column_of_the_technique_table_has_a_readable_title():
    from tram_core.views.charts import TECHNIQUE_COLUMNS, TECHNIQUE_HEADERS

    assert list(TECHNIQUE_HEADERS) == TECHNIQUE_COLUMNS
    assert all(title[0].isupper() and "_" not in title for title in TECHNIQUE_HEADERS.values())
    assert TECHNIQUE_HEADERS["fn"] == "False negatives" and "test sentences" in TECHNIQUE_HEADERS["support"]
