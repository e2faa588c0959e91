"""Evaluate page: a model's scores, per-technique table, charts, threshold explorer, run comparison, downloads."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import altair as alt
import pandas as pd

from tram_core.io.csv_cells import frame_csv_bytes
from tram_core.ml.thresholds import report_rule_text
from tram_core.services.common import Context, ModelChoices, error_line, model_choices
from tram_core.store import TrainedModel
from tram_core.views import charts, run_history, run_verdict
from tram_core.views.evaluation_report import build_evaluation_report
from tram_core.views.run_comparison import RunMetrics, compare_runs

TUNED = "at_tuned"
TECHNIQUE_HEADERS = charts.TECHNIQUE_HEADERS  # the per-technique table's column titles
AT_HALF = "at_0_5"
CHART_FORMATS = (("png", "image/png"), ("svg", "image/svg+xml"))
MICRO = "micro"
SCORE_SETS = charts.SCORE_SETS  # {which: how the page names it}


def evaluable_models(ctx: Context) -> ModelChoices:
    """The trained models with scores, newest first (the newest is shown first)."""
    choices = model_choices(run_history.evaluable_models(ctx.store))
    return ModelChoices(choices.ids, choices.labels, choices.ids[0] if choices.ids else None)


def linked_model(ctx: Context, raw: Any) -> tuple[int | None, str]:
    """The model a link's ``?model=`` names, or None and the line saying why it cannot be shown."""
    if raw is None:
        return None, ""
    try:
        return run_history.find_model(ctx.store, raw).id, ""
    except Exception as exc:  # noqa: BLE001 - a bad link gets one clear line
        return None, error_line(exc, "The link's model")


def _fmt(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


@dataclass(frozen=True)
class HeadlineRow:
    """Six headline figures (micro and macro precision, recall, F1) under a title."""

    title: str
    figures: tuple[tuple[str, str], ...]


def headline_row(title: str, head: charts.Headline) -> HeadlineRow:
    return HeadlineRow(title, tuple((name.replace("_", " "), _fmt(value)) for name, value in head.to_dict().items()))


@dataclass(frozen=True)
class Figure:
    """One chart tab: its title, a file-name slug and the chart."""

    label: str
    slug: str
    chart: alt.TopLevelMixin


@dataclass(frozen=True)
class Evaluation:
    """One trained model's evaluation, ready to draw."""

    model: TrainedModel
    history: list
    details: dict
    titles: dict = field(default_factory=dict)  # report titles for the per-report chart
    verdict: str = ""  # run_verdict's sentence: learned or not, against the quick and the promoted model
    verdict_worse: bool = False  # worse than one of them on the same test sentences

    @property
    def metrics(self) -> dict:
        return self.model.metrics or {}

    @property
    def caption(self) -> str:
        return " · ".join(f"{k}: {v}" for k, v in self.details.items() if k != "model" and v not in ("", None))

    @property
    def tuned_threshold(self) -> float | None:
        return run_history.tuned_global_threshold(self.model)

    @property
    def headlines(self) -> tuple[HeadlineRow, HeadlineRow]:
        tuned = self.tuned_threshold
        return (headline_row("At threshold 0.5 (the seed notebook's)", charts.headline(self.metrics.get(AT_HALF))),
                headline_row("At the tuned thresholds (tuned on validation, per technique)"
                             + (f"; global {tuned:.2f}" if tuned is not None else ""),
                             charts.headline(self.metrics.get(TUNED))))

    @property
    def thresholds(self) -> list[float]:
        """The global thresholds the run's curve was taken at (empty: no curve stored)."""
        return charts.curve_thresholds(self.metrics)

    @property
    def start_threshold(self) -> float | None:
        tuned = self.tuned_threshold
        return charts.nearest_threshold(self.metrics, tuned if tuned is not None else 0.5)

    def at_threshold(self, threshold: float) -> HeadlineRow | None:
        at = charts.scores_at_threshold(self.metrics, threshold)
        return headline_row(f"At global threshold {threshold:.2f}", at) if at is not None else None

    @property
    def document_line(self) -> str:
        doc = self.metrics.get("document") or {}
        if not doc:
            return ""
        head = charts.headline(doc)
        reports = doc.get("reports", len(doc.get("per_report") or []))
        return (f"Document level (each test report's techniques as a set): micro F1 {_fmt(head.micro_f1)}, "
                f"macro F1 {_fmt(head.macro_f1)} over {reports} reports; {doc.get('rule') or report_rule_text(None)}.")

    def technique_table(self, ctx: Context, which: str) -> pd.DataFrame:
        return charts.technique_table(self.metrics.get(which), ctx.catalog)

    def table_csv(self, table: pd.DataFrame) -> bytes:
        return frame_csv_bytes(table)

    def file_name(self, what: str, ext: str) -> str:
        return f"model-{self.model.id}-{what}.{ext}"

    def figures(self, table: pd.DataFrame, threshold: float | None) -> list[Figure]:
        """The chart tabs this run can show."""
        out: list[Figure] = []
        if not table.empty:
            out.append(Figure("F1 per technique", "f1-per-technique", charts.f1_by_technique_chart(table)))
            out.append(Figure("Precision vs recall", "precision-recall", charts.precision_recall_chart(table)))
        if self.thresholds:
            out.append(Figure("By threshold", "threshold", charts.threshold_chart(self.metrics, marker=threshold)))
        if self.history:
            out.append(Figure("Loss by epoch", "loss", charts.loss_chart(self.history)))
        documents = charts.document_table(self.metrics, self.titles)
        if not documents.empty:
            out.append(Figure("Per test report", "documents", charts.document_chart(documents)))
        return out

    def curve_choices(self, table: pd.DataFrame) -> list[str]:
        return [MICRO, *table["technique"]]

    @staticmethod
    def curve_label(technique: str) -> str:
        return "all techniques (micro)" if technique == MICRO else charts.technique_label(technique)

    def threshold_chart(self, technique: str, threshold: float | None) -> alt.TopLevelMixin:
        return charts.threshold_chart(self.metrics, technique=technique, marker=threshold)

    @staticmethod
    def chart_bytes(chart: alt.TopLevelMixin, fmt: str) -> bytes:
        return charts.chart_bytes(chart, fmt)

    def report_html(self, ctx: Context) -> bytes:
        """The evaluation as one self-contained HTML file."""
        title = f"Evaluation of model #{self.model.id}: {self.model.name}"
        return build_evaluation_report(title, self.metrics, self.history, self.details, ctx.catalog,
                                       self.titles, verdict=self.verdict).encode("utf-8")


def evaluation(ctx: Context, model_id: int) -> Evaluation:
    """The model's evaluation, with its verdict against the quick and the promoted model (run_verdict)."""
    model = ctx.store.get_model(model_id)
    verdict = run_verdict.run_verdict(ctx.store, ctx.settings, model)
    return Evaluation(model, run_history.model_history(model), run_history.model_details(model),
                      ctx.store.annotation_report_titles(), verdict.sentence, bool(verdict.worse))


# --------------------------------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Comparison:
    """Runs side by side, or the line saying why not (``prompt`` for too few runs, ``error`` on a failure)."""

    prompt: str = ""
    error: str = ""
    note: str = ""
    same_test_set: bool | None = None
    summary: pd.DataFrame | None = None
    per_technique: pd.DataFrame | None = None
    chart: alt.TopLevelMixin | None = None

    @property
    def score_columns(self) -> list[str]:
        return _float_columns(self.summary)

    @property
    def f1_columns(self) -> list[str]:
        return _float_columns(self.per_technique)


def compare(ctx: Context, model_ids: Sequence[int], which: str = TUNED) -> Comparison:
    """The picked runs compared (the first is the reference)."""
    if not model_ids:
        return Comparison()
    if len(model_ids) == 1:
        return Comparison(prompt="Pick at least one more run.")
    try:
        result = compare_runs([RunMetrics.of_model(f"#{i}", ctx.store.get_model(i)) for i in model_ids], which=which)
        chart = charts.comparison_chart(result.per_technique, result.runs)
    except Exception as exc:  # noqa: BLE001
        return Comparison(error=error_line(exc, "Cannot compare"))
    return Comparison(note=result.test_set_note, same_test_set=result.same_test_set, summary=result.summary,
                      per_technique=result.per_technique, chart=chart)


def _float_columns(frame) -> list[str]:
    """The score columns of a comparison table (its float columns), to format with three decimals."""
    return [] if frame is None else [c for c in frame.columns if frame[c].dtype.kind == "f"]
