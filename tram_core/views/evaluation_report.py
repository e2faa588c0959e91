"""A self-contained HTML report of one run's evaluation (figures, charts, tables) for a team review."""

from __future__ import annotations

import html
import json
import math
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

import altair as alt
import pandas as pd

from tram_core.ml.model_card import evaluated_thresholds
from tram_core.ml.thresholds import report_rule_text
from tram_core.views import charts

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1f2430; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #d6d9e0; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f2f4f8; }
.chart { margin: 1rem 0 2rem; }
.muted { color: #6b7280; font-size: 0.85rem; }
"""


def _text(value: Any) -> str:
    """Any value as escaped HTML text."""
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}"
    return _text(value)


def _table(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    columns = list(columns or frame.columns)
    head = "".join(f"<th>{_text(c)}</th>" for c in columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in columns:
            value = row[c]
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(f'<td class="num">{_fmt(value)}</td>' if numeric else f"<td>{_fmt(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' can end it or open a tag."""
    text = json.dumps(value, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _clean(value: Any) -> Any:
    """The spec with NaN/inf replaced by null, so that it is valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def headline_table(metrics: Mapping[str, Any]) -> pd.DataFrame:
    """Micro and macro P/R/F1 at 0.5 and at the tuned thresholds, one row per score set."""
    rows = []
    for key, label in charts.SCORE_SETS.items():
        if metrics.get(key):
            rows.append({"scores": label, **charts.headline(metrics.get(key)).to_dict()})
    return pd.DataFrame(rows)


def build_evaluation_report(
    title: str,
    metrics: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]] | None = None,
    details: Mapping[str, Any] | None = None,
    catalog: Any = None,
    report_titles: Mapping[int, str] | None = None,
    verdict: str = "",
) -> str:
    """The HTML page: run details, headline scores, charts (vega-embed, JavaScript inlined) and the tables.

    ``details`` is a mapping of labels to values shown at the top (base model, data size, created...);
    ``verdict`` (run_verdict's sentence) is shown under them.
    Every text value is HTML-escaped; chart specs are embedded as script-safe JSON.
    """
    metrics = metrics or {}
    tuned = charts.technique_table(metrics.get("at_tuned") or metrics.get("at_0_5"), catalog)
    at_half = charts.technique_table(metrics.get("at_0_5"), catalog)
    documents = charts.document_table(metrics, report_titles)
    evaluated_at = evaluated_thresholds(metrics)
    global_threshold = evaluated_at.global_ if evaluated_at is not None else None
    figures = _figures(metrics, tuned, documents, history, global_threshold)
    head = _page_head(title, details) + ([f"<p><strong>Verdict:</strong> {_text(verdict)}</p>"] if verdict else [])
    parts = [*head, *_scores(metrics, global_threshold), *_chart_places(figures),
             *_tables(metrics, tuned, at_half, documents), *_chart_scripts(figures), "</body></html>"]
    return "\n".join(parts)


def _figures(metrics: Mapping[str, Any], tuned: pd.DataFrame, documents: pd.DataFrame,
             history: Sequence[Mapping[str, Any]] | None, global_threshold: float | None
             ) -> list[tuple[str, alt.TopLevelMixin]]:
    """The charts the page shows, each with its caption."""
    figures: list[tuple[str, alt.TopLevelMixin]] = []
    if not tuned.empty:
        figures.append(("F1 per technique (tuned thresholds; number = support)", charts.f1_by_technique_chart(tuned)))
        figures.append(("Precision against recall per technique", charts.precision_recall_chart(tuned)))
    if charts.curve_thresholds(metrics):
        figures.append(("Scores by threshold", charts.threshold_chart(metrics, marker=global_threshold)))
    if history:
        figures.append(("Loss and validation score by epoch", charts.loss_chart(history)))
    if not documents.empty:
        figures.append(("Document-level F1", charts.document_chart(documents)))
    return figures


def _page_head(title: str, details: Mapping[str, Any] | None) -> list[str]:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_text(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head><body>",
        f"<h1>{_text(title)}</h1>",
        f'<p class="muted">Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</p>',
    ]
    if details:
        rows = "".join(f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>" for k, v in details.items())
        parts.append(f"<h2>Run</h2><table>{rows}</table>")
    return parts


def _scores(metrics: Mapping[str, Any], global_threshold: float | None) -> list[str]:
    """Headline scores, the tuned global threshold and the document-level scores with their rule."""
    parts = ["<h2>Headline scores</h2>"]
    head = headline_table(metrics)
    parts.append(_table(head) if not head.empty else "<p>No scores were stored for this run.</p>")
    if global_threshold is not None:
        parts.append(f"<p>Tuned global threshold: {_fmt(global_threshold)}</p>")
    document = metrics.get("document") or {}
    if document:
        doc = charts.headline(document)
        parts.append(
            "<p>Document level (each test report's techniques as a set): "
            f"micro F1 {_fmt(doc.micro_f1)}, macro F1 {_fmt(doc.macro_f1)}; "
            f"{_text(document.get('rule') or report_rule_text(None))}.</p>")
    return parts


def _chart_places(figures: list[tuple[str, alt.TopLevelMixin]]) -> list[str]:
    """Each chart's caption, the element it is drawn in and its spec as script-safe JSON."""
    if not figures:
        return []
    parts = ["<h2>Charts</h2>",
             "<noscript><p>The charts need JavaScript; the tables below hold the same figures.</p></noscript>"]
    for i, (caption, chart) in enumerate(figures):
        parts.append(f'<div class="chart"><h3>{_text(caption)}</h3><div id="chart-{i}"></div>'
                     f'<script type="application/json" id="spec-{i}">{_script_json(_clean(chart.to_dict()))}'
                     "</script></div>")
    return parts


def _tables(metrics: Mapping[str, Any], tuned: pd.DataFrame, at_half: pd.DataFrame,
            documents: pd.DataFrame) -> list[str]:
    parts = ["<h2>Per technique (tuned thresholds)</h2>",
             _table(tuned) if not tuned.empty else "<p>No per-technique scores.</p>"]
    if not at_half.empty and metrics.get("at_tuned"):
        parts += ["<h2>Per technique (threshold 0.5)</h2>", _table(at_half)]
    if not documents.empty:
        parts += ["<h2>Per test report</h2>", _table(documents)]
    return parts


def _chart_scripts(figures: list[tuple[str, alt.TopLevelMixin]]) -> list[str]:
    """vega-embed inlined, and the script that draws every chart from its spec."""
    if not figures:
        return []
    import vl_convert as vlc

    return [f"<script>{vlc.javascript_bundle()}</script>",
            "<script>for (const el of document.querySelectorAll('script[id^=\"spec-\"]')) {"
            " const target = '#chart-' + el.id.slice(5);"
            " vegaEmbed(target, JSON.parse(el.textContent), {actions: false}).catch(console.error); }</script>"]
