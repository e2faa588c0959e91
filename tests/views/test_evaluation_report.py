"""The HTML evaluation report: figures and tables present, charts embedded, every text value escaped."""

from __future__ import annotations

import json
import re

from tests.views.run_samples import sample_history, sample_metrics
from tram_core.views.evaluation_report import build_evaluation_report

EVIL = "<script>alert(1)</script>"


def _specs(page: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r'<script type="application/json" id="spec-\d+">(.*?)</script>',
                                              page, flags=re.S)]


def test_report_holds_headline_figures_tables_and_charts(catalog):
    metrics = sample_metrics()
    page = build_evaluation_report("Run 3 review", metrics, sample_history(),
                                   details={"base model": "embedded MiniLM", "sentences": 1234}, catalog=catalog)
    assert page.startswith("<!DOCTYPE html>")
    assert f"{metrics['at_tuned']['micro_f1']:.3f}" in page
    assert f"{metrics['at_0_5']['macro_f1']:.3f}" in page
    assert "embedded MiniLM" in page and "1234" in page
    assert catalog.get("T1566.001").name in page
    assert "Tuned global threshold: 0.300" in page
    assert "macro F1 0.676; a report has a technique when any of its sentences is above" in page  # no report rule
    metrics["document"]["rule"] = ("a report has a technique when its 2 best sentence scores for it add up to more "
                                   "than 0.60")
    assert "more than 0.60.</p>" in build_evaluation_report("Run 3", metrics, [], catalog=catalog)
    specs = _specs(page)
    assert len(specs) == 5  # F1 bars, P/R scatter, threshold curve, loss by epoch, documents
    assert "vegaEmbed" in page and "window.vegaEmbed" in page  # the library is inlined: no network needed


def test_malicious_title_and_technique_names_are_escaped():
    metrics = sample_metrics()
    metrics["at_tuned"]["per_technique"][0]["technique"] = EVIL
    metrics["document"]["per_report"][0]["title"] = EVIL
    page = build_evaluation_report(EVIL, metrics, details={EVIL: EVIL})
    assert page.count("<script>alert(1)") == 0
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the chart data still carries the name, as JSON that cannot close its script element
    specs = _specs(page)
    assert any(EVIL in json.dumps(spec) for spec in specs)


def test_a_run_without_scores_still_gives_a_page():
    page = build_evaluation_report("empty run", {})
    assert "No scores were stored for this run." in page
    assert "vegaEmbed" not in page
