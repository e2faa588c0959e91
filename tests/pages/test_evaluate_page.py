"""Evaluate page (AppTest): empty state, headline scores from a real run's record, threshold slider, comparison,
bad deep links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.engine_helpers import fill_store
from tram_core.jobs import queue
from tram_core.jobs.runner import run_job
from tram_core.store import JOB_DONE
from tram_core.views import charts

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "evaluate.py")


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


def _trained_run(store, settings, seed: int) -> int:
    """A real quick TF-IDF run through the job queue; returns its model id."""
    job_id = queue.submit_training(store, {"base": "baseline", "min_count": 2, "seed": seed}, "tester")
    job = store.claim_job(job_id, "test-worker", "cpu")
    assert run_job(store, settings, job) == JOB_DONE, store.get_job(job_id).message
    return store.get_job(job_id).model_id


@pytest.fixture
def two_runs(store, settings, monkeypatch):
    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    fill_store(store, reports=6, per_technique=4)
    return _trained_run(store, settings, 13), _trained_run(store, settings, 5)


def _frame_with(at: AppTest, column: str):
    """The first shown table that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _metric_values(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def test_empty_database_says_to_train_first(store):
    at = _page().run()
    assert not at.exception
    assert "No trained model yet" in at.info[0].value and "Train" in at.info[0].value
    assert not at.metric


def test_headline_figures_match_the_stored_metrics(store, two_runs):
    newest = store.get_model(two_runs[1])
    at = _page().run()
    assert not at.exception and not at.error
    assert at.selectbox(key="evaluate_model").value == newest.id
    values = _metric_values(at)
    for i, key in enumerate(("at_0_5", "at_tuned")):
        expected = charts.headline(newest.metrics[key]).to_dict()
        shown = dict(values[6 * i: 6 * i + 6])
        assert shown == {name.replace("_", " "): f"{value:.3f}" for name, value in expected.items()}
    table = _frame_with(at, "support")
    per = {t["technique"]: t for t in newest.metrics["at_tuned"]["per_technique"]}
    assert set(table["technique"]) == set(per)
    row = table.iloc[0]
    assert row["f1"] == pytest.approx(per[row["technique"]]["f1"])
    assert row["name"]  # catalog name filled in
    rule = newest.metrics["document"]["rule"]
    assert rule.startswith("a report has a technique when its 2 best sentence scores for it add up to more than")
    assert any(c.value.startswith("Document level") and c.value.endswith(f"; {rule}.") for c in at.caption)


def test_threshold_slider_shows_the_curve_scores(store, two_runs):
    model = store.get_model(two_runs[1])
    at = _page().run()
    micro = {p["threshold"]: p for p in model.metrics["curves"] if p["technique"] == "micro"}
    low, high = min(micro), max(micro)
    assert f"{micro[low]['f1']:.3f}" != f"{micro[high]['f1']:.3f}"  # the run's curve is not flat at its ends
    shown_f1 = {}
    for t in (low, high):
        at = at.select_slider(key=f"evaluate_threshold_{model.id}").set_value(t).run()
        shown = dict(_metric_values(at)[12:18])
        assert shown["micro f1"] == f"{micro[t]['f1']:.3f}"
        assert shown["micro precision"] == f"{micro[t]['precision']:.3f}"
        shown_f1[t] = shown["micro f1"]
    assert shown_f1[low] != shown_f1[high]


def test_deep_link_opens_that_model(store, two_runs):
    at = _page()
    at.query_params["model"] = str(two_runs[0])
    at.run()
    assert not at.error
    assert at.selectbox(key="evaluate_model").value == two_runs[0]
    expected = store.get_model(two_runs[0]).metrics["at_tuned"]["micro_f1"]
    assert dict(_metric_values(at)[6:12])["micro f1"] == f"{expected:.3f}"


@pytest.mark.parametrize("raw,message", [("9999", "no trained model 9999"), ("abc", "not a model id")])
def test_bad_model_links_get_a_clear_message(store, two_runs, raw, message):
    at = _page()
    at.query_params["model"] = raw
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value
    assert "Traceback" not in at.error[0].value
    assert at.metric  # the page still shows the newest model


def test_compare_two_runs_shows_the_difference_table(store, two_runs):
    first, second = (store.get_model(i) for i in two_runs)
    at = _page().run()
    at = at.multiselect(key="evaluate_compare").set_value([first.id, second.id]).run()
    assert not at.exception and not at.error
    table = _frame_with(at, "Scored in runs")
    table = table.set_index(table["Technique"].str.split(" ").str[0])
    f1_a = {t["technique"]: t["f1"] for t in first.metrics["at_tuned"]["per_technique"]}
    f1_b = {t["technique"]: t["f1"] for t in second.metrics["at_tuned"]["per_technique"]}
    for technique in set(f1_a) & set(f1_b):
        assert table.loc[technique, f"Δ F1 #{second.id} vs #{first.id}"] == pytest.approx(
            f1_b[technique] - f1_a[technique])
    summary = _frame_with(at, f"Δ micro F1 vs #{first.id}").set_index("Run")
    assert summary.loc[f"#{second.id}", f"Δ micro F1 vs #{first.id}"] == pytest.approx(
        second.metrics["at_tuned"]["micro_f1"] - first.metrics["at_tuned"]["micro_f1"])
    # split seeds 13 and 5 hold out different reports: the page warns that the test sentences differ
    assert first.options["split"]["test"] != second.options["split"]["test"]
    assert any("different test sentences" in w.value for w in at.warning)


def test_threshold_chart_follows_the_chosen_technique(store, two_runs):
    model = store.get_model(two_runs[1])
    technique = model.metrics["at_tuned"]["per_technique"][0]["technique"]
    at = _page().run()
    at = at.selectbox(key="evaluate_curve_of").set_value(technique).run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    titles = [str(spec.get("title", "")) for spec in specs]
    assert any(technique in t for t in titles)


def test_the_address_follows_the_picked_model(store, two_runs):
    at = _page().run()
    assert at.query_params["model"] == str(two_runs[1])
    at = at.selectbox(key="evaluate_model").set_value(two_runs[0]).run()
    assert at.query_params["model"] == str(two_runs[0])


def test_the_page_offers_the_models_coverage_as_navigator_layers(store, two_runs):
    at = _page().run()
    assert not at.exception and not at.error
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Test F1 per technique (Navigator layer)" in labels
    assert "Training sentences per technique (Navigator layer)" in labels
    assert any("v18.1" in c.value for c in at.caption), [c.value for c in at.caption]


def test_the_verdict_says_a_run_that_learned_nothing_is_worse_than_the_quick_model(store, settings, monkeypatch):
    from tests.views.verdict_helpers import confuse_labels, zero_signal_run
    from tram_core.jobs import quick_model

    monkeypatch.setenv("TRAM_WORKER_AUTOSTART", "0")
    fill_store(store)
    confuse_labels(store)
    quick = store.get_model(quick_model.retrain_quick_model(store, settings))
    zero = zero_signal_run(store, quick)
    at = _page()
    at.query_params["model"] = str(zero)
    at.run()
    assert not at.exception and not at.error
    [warning] = [w.value.replace("\\", "") for w in at.warning]
    assert warning == (
        "Verdict: Scores 0.000 at 0.5: the model has not learned yet; the tuned threshold sits at the grid's edge "
        "(0.05): train longer or with more data; worse than the promoted quick model on the same "
        f"{len(quick.options['split']['test'])} test sentences (micro-F1 0.000 vs "
        f"{quick.metrics['at_tuned']['micro_f1']:.3f}): do not promote.")
    at = at.selectbox(key="evaluate_model").set_value(quick.id).run()
    assert not at.warning and [i.value for i in at.info] == [
        "Verdict: No other quick or promoted model to compare it with yet."]
