"""The Evaluate service against a real store with two real quick runs: headline rows, the threshold explorer, the
per-technique table, charts, the HTML report and the comparison of runs."""

from __future__ import annotations

import html

import pytest

from tests.engine_helpers import fill_store
from tram_core.jobs import queue
from tram_core.jobs.runner import run_job
from tram_core.services import evaluate as svc
from tram_core.store import JOB_DONE
from tram_core.views import charts


def _trained_run(ctx, seed: int) -> int:
    job_id = queue.submit_training(ctx.store, {"base": "baseline", "min_count": 2, "seed": seed}, "tester")
    job = ctx.store.claim_job(job_id, "test-worker", "cpu")
    assert run_job(ctx.store, ctx.settings, job) == JOB_DONE, ctx.store.get_job(job_id).message
    return ctx.store.get_job(job_id).model_id


@pytest.fixture
def two_runs(ctx):
    fill_store(ctx.store, reports=6, per_technique=4)
    return _trained_run(ctx, 13), _trained_run(ctx, 5)


def test_no_model_yet(ctx):
    assert svc.evaluable_models(ctx).ids == ()


def test_the_newest_model_first_and_links_checked(ctx, two_runs):
    first, second = two_runs
    models = svc.evaluable_models(ctx)
    assert models.ids == (second, first) and models.index(None) == 0 and models.index(first) == 1
    assert svc.linked_model(ctx, None) == (None, "")
    assert svc.linked_model(ctx, str(first)) == (first, "")
    missing, line = svc.linked_model(ctx, "9999")
    assert missing is None and line.startswith("The link's model: ") and "no trained model 9999" in line
    assert "not a model id" in svc.linked_model(ctx, "abc")[1]


def test_headlines_threshold_and_document_line_come_from_the_stored_metrics(ctx, two_runs):
    run = svc.evaluation(ctx, two_runs[1])
    metrics = ctx.store.get_model(two_runs[1]).metrics
    half, tuned = run.headlines
    assert half.title == "At threshold 0.5 (the seed notebook's)" and tuned.title.startswith("At the tuned thresholds")
    expected = charts.headline(metrics["at_tuned"]).to_dict()
    assert dict(tuned.figures) == {name.replace("_", " "): f"{value:.3f}" for name, value in expected.items()}
    assert run.start_threshold in run.thresholds
    micro = {p["threshold"]: p for p in metrics["curves"] if p["technique"] == "micro"}
    low = min(micro)
    at_low = run.at_threshold(low)
    assert at_low.title == f"At global threshold {low:.2f}"
    assert dict(at_low.figures)["micro f1"] == f"{micro[low]['f1']:.3f}"
    assert run.document_line.startswith("Document level") and run.document_line.endswith(
        f"; {metrics['document']['rule']}.")
    assert "base model: baseline" in run.caption


def test_the_table_charts_and_report(ctx, two_runs):
    run = svc.evaluation(ctx, two_runs[1])
    table = run.technique_table(ctx, svc.TUNED)
    assert set(table["technique"]) == {t["technique"] for t in run.metrics["at_tuned"]["per_technique"]}
    assert table.iloc[0]["name"] and run.table_csv(table).startswith(b"technique,name,")
    slugs = [f.slug for f in run.figures(table, run.start_threshold)]
    assert slugs[:3] == ["f1-per-technique", "precision-recall", "threshold"] and "documents" in slugs
    assert run.curve_choices(table)[0] == svc.MICRO and run.curve_label(svc.MICRO) == "all techniques (micro)"
    technique = table.iloc[0]["technique"]
    assert technique in str(run.threshold_chart(technique, None).to_dict().get("title"))
    assert run.file_name("threshold", "png") == f"model-{two_runs[1]}-threshold.png"
    html = run.report_html(ctx)
    assert html.startswith(b"<!DOCTYPE html>") or b"<html" in html[:500]


def test_compare_runs_side_by_side(ctx, two_runs):
    first, second = two_runs
    assert svc.compare(ctx, []) == svc.Comparison()
    assert svc.compare(ctx, [first]).prompt == "Pick at least one more run."
    result = svc.compare(ctx, [first, second])
    assert not result.error and result.chart is not None
    assert not result.same_test_set and "different test sentences" in result.note
    table = result.per_technique.set_index(result.per_technique["Technique"].str.split(" ").str[0])
    a = {t["technique"]: t["f1"] for t in ctx.store.get_model(first).metrics["at_tuned"]["per_technique"]}
    b = {t["technique"]: t["f1"] for t in ctx.store.get_model(second).metrics["at_tuned"]["per_technique"]}
    for technique in set(a) & set(b):
        assert table.loc[technique, f"Δ F1 #{second} vs #{first}"] == pytest.approx(b[technique] - a[technique])
    assert f"Δ micro F1 vs #{first}" in result.score_columns and f"F1 #{first}" in result.f1_columns
    assert svc.compare(ctx, [first, 9999]).error.startswith("Cannot compare: ")


def test_the_verdict_compares_with_the_promoted_model_like_for_like(ctx, two_runs):
    first, second = two_runs
    assert svc.evaluation(ctx, second).verdict == "No other quick or promoted model to compare it with yet."
    ctx.store.promote_model(first)
    run = svc.evaluation(ctx, second)
    tested = len(ctx.store.get_model(second).options["split"]["test"])
    # seeds 13 and 5 hold out different reports: the promoted TF-IDF recipe is refitted on this run's split
    assert f"the promoted model #{first}" in run.verdict and f"on this run's {tested} test sentences" in run.verdict
    assert "its TF-IDF recipe refitted here" in run.verdict and run.verdict.endswith(".")
    assert run.verdict_worse == ("worse than" in run.verdict)
    assert f"<strong>Verdict:</strong> {html.escape(run.verdict)}".encode() in run.report_html(ctx)
