"""Evaluate page (AppTest) for a team review: column names a reader understands, blanks not "None", techniques
named with their IDs in the charts, the F1 bars' numbers explained, whole epochs on the loss chart's axis, no axis
title over the report names. The runs are stored model records in the shape training writes (run_samples)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from tests.views.run_samples import sample_history, sample_metrics

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "evaluate.py")


@pytest.fixture
def runs(store, monkeypatch):
    """Two stored runs: the first trained one epoch; the second scored T1003.001 but not T1105."""
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    first = store.add_model("run a", "baseline", "/nowhere", "baseline", ["T1105"], {"global": 0.3},
                            sample_metrics(0), {"history": sample_history()[:1]})
    second = store.add_model("run b", "baseline", "/nowhere", "baseline", ["T1003.001"], {"global": 0.3},
                             sample_metrics(1), {"history": sample_history()})
    return first, second


def _page(model_id: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["model"] = str(model_id)
    return at.run()


def _charts(at: AppTest) -> dict[str, tuple[dict, list]]:
    """Each chart on the page by its title: (Vega-Lite spec, the rows of its first data set)."""
    out = {}
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title", "")
        rows = (dataframe_util.convert_arrow_bytes_to_pandas_df(chart.proto.datasets[0].data.data)
                .to_dict("records") if chart.proto.datasets else [])
        out[title["text"] if isinstance(title, dict) else title] = (spec, rows)
    return out


def _table_with(at: AppTest, column: str):
    """The first shown table that has ``column``."""
    return next(d for d in at.dataframe if column in d.value.columns)


def _encodings(spec: dict) -> list[dict]:
    return [spec["encoding"]] if "encoding" in spec else [e for layer in spec.get("layer", [])
                                                           for e in _encodings(layer)]


def test_the_comparison_tables_use_column_names_and_leave_missing_scores_blank(store, runs):
    first, second = runs
    at = _page(first)
    at = at.multiselect(key="evaluate_compare").set_value([first, second]).run()
    assert not at.exception and not at.error
    summary = _table_with(at, "Run")
    assert list(summary.value.columns[:4]) == ["Run", "Micro precision", "Micro recall", "Micro F1"]
    assert f"Δ micro F1 vs #{first}" in summary.value.columns
    assert summary.value.set_index("Run").loc[f"#{second}", f"Δ micro F1 vs #{first}"] == pytest.approx(
        sample_metrics(1)["at_tuned"]["micro_f1"] - sample_metrics(0)["at_tuned"]["micro_f1"])
    table = _table_with(at, "Scored in runs")
    assert list(table.value.columns) == ["Technique", f"F1 #{first}", f"F1 #{second}",
                                         f"Δ F1 #{second} vs #{first}", "Support", "Scored in runs"]
    row = table.value.set_index("Technique").loc["T1105 Ingress Tool Transfer"]
    assert math.isnan(row[f"F1 #{second}"]) and row["Scored in runs"] == 1
    for shown in (summary, table):
        assert shown.proto.HasField("placeholder") and shown.proto.placeholder == ""  # a blank cell, not "None"
        config = json.loads(shown.proto.columns)
        assert not [c for c in shown.value.columns if "_" in c]
        floats = [c for c in shown.value.columns if shown.value[c].dtype.kind == "f"]
        assert all(config[c]["type_config"]["format"] == "%.3f" for c in floats)
    assert "Support" not in json.loads(table.proto.columns)  # a count, shown as a whole number


def test_the_charts_name_each_technique_and_say_what_the_numbers_at_the_bars_are(store, runs):
    at = _page(runs[1])
    charts = _charts(at)
    spec, rows = charts["F1 per technique"]
    assert spec["title"]["subtitle"] == "n = test sentences with the technique (support)"
    assert [(r["label"], r["n"]) for r in rows][:2] == [("T1059.001 PowerShell", "n=40"),
                                                        ("T1566.001 Spearphishing Attachment", "n=20")]
    assert all(e["y"]["field"] == "label" for e in _encodings(spec))
    _, rows = charts["Precision and recall per technique"]
    assert "T1003.001 LSASS Memory" in {r["label"] for r in rows}
    at = at.selectbox(key="evaluate_curve_of").set_value("T1059.001").run()
    assert "Precision, recall and F1 by threshold: T1059.001 PowerShell" in _charts(at)


def test_the_comparison_chart_names_techniques(store, runs):
    at = _page(runs[0])
    at = at.multiselect(key="evaluate_compare").set_value(list(runs)).run()
    spec, rows = _charts(at)["F1 per technique by run"]
    assert {r["technique"] for r in rows} >= {"T1059.001 PowerShell", "T1105 Ingress Tool Transfer"}
    assert spec["encoding"]["y"]["title"] is None


def test_a_one_epoch_run_shows_epoch_1_not_a_decimal(store, runs):
    spec, rows = _charts(_page(runs[0]))["Training by epoch"]
    assert {r["epoch"] for r in rows} == {1}
    x = spec["encoding"]["x"]
    assert x["axis"]["values"] == [1] and x["axis"]["format"] == "d"
    spec, _ = _charts(_page(runs[1]))["Training by epoch"]
    assert spec["encoding"]["x"]["axis"]["values"] == [1, 2, 3]


def test_the_per_report_chart_keeps_the_report_names_clear_of_an_axis_title(store, runs):
    spec, rows = _charts(_page(runs[1]))["Document-level F1 per test report"]
    assert [r["label"] for r in rows] == ["report 1", "report 2"]
    assert spec["encoding"]["y"]["title"] is None and spec["encoding"]["y"]["axis"]["labelLimit"] >= 260
