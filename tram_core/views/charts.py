"""Tables and Altair charts of a training run, built from the stored evaluation metrics dict and job points."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

import altair as alt
import pandas as pd

from tram_core.attack import Catalog, load_catalog

SCORE_NAMES = ("precision", "recall", "f1")
SCORE_SETS = {"at_0_5": "at 0.5", "at_tuned": "at tuned thresholds"}
TECHNIQUE_COLUMNS = ["technique", "name", "precision", "recall", "f1", "support", "tp", "fp", "fn"]
# What a reader sees above each column of the per-technique table (the CSV keeps the short names).
TECHNIQUE_HEADERS = {"technique": "Technique", "name": "Name", "precision": "Precision", "recall": "Recall",
                     "f1": "F1", "support": "Support (test sentences)", "tp": "True positives",
                     "fp": "False positives", "fn": "False negatives"}
SUPPORT_NOTE = "n = test sentences with the technique (support)"


def technique_label(technique: str, name: str | None = None, catalog: Catalog | None = None) -> str:
    """``T1055 Process Injection``: the ID and its name (``name``, else the catalog's; the bare ID when unknown)."""
    if not name:
        found = (catalog if catalog is not None else load_catalog()).get(technique)
        name = found.name if found is not None else ""
    return f"{technique} {name}" if name else technique


# --------------------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Headline:
    """Micro and macro precision, recall and F1 of one set of predictions."""

    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_precision: float
    macro_recall: float
    macro_f1: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _score(scores: Mapping[str, Any], average: str, name: str) -> float:
    """``scores['micro_f1']``, or ``scores['micro']['f1']`` for the nested shape."""
    if f"{average}_{name}" in scores:
        return _number(scores[f"{average}_{name}"])
    nested = scores.get(average)
    if isinstance(nested, Mapping):
        return _number(nested.get(name))
    return math.nan


def headline(scores: Mapping[str, Any] | None) -> Headline:
    """The six headline figures of a Scores dict (``metrics['at_0_5']`` or ``metrics['at_tuned']``)."""
    scores = scores or {}
    return Headline(*(_score(scores, avg, name) for avg in ("micro", "macro") for name in SCORE_NAMES))


def technique_table(scores: Mapping[str, Any] | None, catalog: Any = None) -> pd.DataFrame:
    """One row per technique (the seed notebook's table): ID, catalog name, P, R, F1, support, tp/fp/fn.

    Rows are sorted by support (most examples first), then technique ID.
    """
    rows = []
    for item in (scores or {}).get("per_technique") or []:
        technique = str(item.get("technique", ""))
        found = catalog.get(technique) if catalog is not None else None
        rows.append({
            "technique": technique,
            "name": found.name if found is not None else "",
            "precision": _number(item.get("precision")),
            "recall": _number(item.get("recall")),
            "f1": _number(item.get("f1")),
            "support": int(item.get("support") or 0),
            "tp": int(item.get("tp") or 0),
            "fp": int(item.get("fp") or 0),
            "fn": int(item.get("fn") or 0),
        })
    table = pd.DataFrame(rows, columns=TECHNIQUE_COLUMNS)
    if not table.empty:
        table = table.sort_values(["support", "technique"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


def curve_frame(metrics: Mapping[str, Any] | None) -> pd.DataFrame:
    """The stored threshold curves as a frame: threshold, technique ('micro' for pooled), precision, recall, f1."""
    rows = [
        {"threshold": _number(p.get("threshold")), "technique": str(p.get("technique", "micro")),
         **{name: _number(p.get(name)) for name in SCORE_NAMES}}
        for p in (metrics or {}).get("curves") or []
    ]
    return pd.DataFrame(rows, columns=["threshold", "technique", *SCORE_NAMES])


def curve_thresholds(metrics: Mapping[str, Any] | None) -> list[float]:
    """The thresholds at which the pooled (micro) curve was measured, ascending."""
    curves = curve_frame(metrics)
    micro = curves[curves["technique"] == "micro"]
    return sorted({round(float(t), 6) for t in micro["threshold"].dropna()})


def nearest_threshold(metrics: Mapping[str, Any] | None, threshold: float) -> float | None:
    """The measured threshold closest to ``threshold`` (None when no curve is stored)."""
    grid = curve_thresholds(metrics)
    if not grid:
        return None
    return min(grid, key=lambda t: (abs(t - threshold), t))


def scores_at_threshold(metrics: Mapping[str, Any] | None, threshold: float) -> Headline | None:
    """Headline scores with one global threshold, read from the stored curves at the nearest measured threshold.

    Micro figures come from the pooled curve; macro figures are the mean over the per-technique curves at that
    threshold (NaN when only the pooled curve is stored). None when the run stored no curve.
    """
    at = nearest_threshold(metrics, threshold)
    if at is None:
        return None
    curves = curve_frame(metrics)
    same = curves[(curves["threshold"] - at).abs() < 1e-9]
    micro = same[same["technique"] == "micro"].iloc[0]
    per = same[same["technique"] != "micro"]
    macro = [float(per[name].mean()) if not per.empty else math.nan for name in SCORE_NAMES]
    return Headline(float(micro["precision"]), float(micro["recall"]), float(micro["f1"]), *macro)


def history_frame(history: Sequence[Mapping[str, Any]] | None) -> pd.DataFrame:
    """Per-epoch history in long form: epoch, series (train loss, validation loss, validation micro-F1), value."""
    names = {
        "train_loss": "train loss", "loss": "train loss", "val_loss": "validation loss",
        "validation_loss": "validation loss", "val_micro_f1": "validation micro-F1",
        "validation_micro_f1": "validation micro-F1",
    }
    rows = []
    for i, entry in enumerate(history or []):
        epoch = entry.get("epoch", i + 1)
        for key, series in names.items():
            value = entry.get(key)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                rows.append({"epoch": _number(epoch), "series": series, "value": _number(value)})
    frame = pd.DataFrame(rows, columns=["epoch", "series", "value"])
    return frame.drop_duplicates(["epoch", "series"], keep="first").reset_index(drop=True)


def document_table(metrics: Mapping[str, Any] | None, titles: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Document-level scores, one row per test report: report id, title, precision, recall, f1."""
    document = (metrics or {}).get("document") or {}
    rows = []
    for item in document.get("per_report") or []:
        report_id = item.get("report_id", item.get("report"))
        title = item.get("title") or (titles or {}).get(report_id, "") or f"report {report_id}"
        rows.append({"report_id": report_id, "title": str(title),
                     **{name: _number(item.get(name)) for name in SCORE_NAMES}})
    return pd.DataFrame(rows, columns=["report_id", "title", *SCORE_NAMES])


def points_frame(points: Iterable[Any] | pd.DataFrame) -> pd.DataFrame:
    """Job points (records or dicts with step, epoch, name, value, or a frame of them) as a frame."""
    if isinstance(points, pd.DataFrame):
        return points[["step", "epoch", "name", "value"]].copy()
    rows = []
    for p in points or []:
        get = p.get if isinstance(p, Mapping) else (lambda key, _p=p: getattr(_p, key, None))
        rows.append({"step": _number(get("step")), "epoch": _number(get("epoch")), "name": str(get("name")),
                     "value": _number(get("value"))})
    return pd.DataFrame(rows, columns=["step", "epoch", "name", "value"])


# --------------------------------------------------------------------------------------------------- charts

_SCORE_SCALE = alt.Scale(domain=[0, 1])
_ALL_LABELS = alt.Axis(labelOverlap=False, labelLimit=260)  # one label per technique row, none dropped


def _labelled(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` of a technique table plus ``label`` ("T1055 Process Injection") for the axis and tooltips."""
    data = table[list(columns)].copy()
    data["label"] = [technique_label(t, n) for t, n in zip(data["technique"], data["name"])]
    return data


def f1_by_technique_chart(table: pd.DataFrame, title: str = "F1 per technique") -> alt.LayerChart:
    """Horizontal bars of F1 per technique, each labelled with its ID and name and with ``n=`` its support (test
    sentences with the technique) at the bar's end; the subtitle says what n is."""
    data = _labelled(table, ["technique", "name", "f1", "support", "precision", "recall"])
    data["f1"] = data["f1"].fillna(0.0)
    data["n"] = [f"n={int(n)}" for n in data["support"]]
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=_ALL_LABELS)
    base = alt.Chart(data).encode(y=y)
    tooltip = [alt.Tooltip("label:N", title="technique"), alt.Tooltip("f1:Q", title="F1", format=".3f"),
               alt.Tooltip("precision:Q", format=".3f"), alt.Tooltip("recall:Q", format=".3f"),
               alt.Tooltip("support:Q", title="test sentences (support)")]
    bars = base.mark_bar().encode(x=alt.X("f1:Q", scale=_SCORE_SCALE, title="F1"), tooltip=tooltip)
    labels = base.mark_text(align="left", dx=3, fontSize=10).encode(x=alt.X("f1:Q"), text=alt.Text("n:N"),
                                                                     tooltip=tooltip)
    return alt.layer(bars, labels).properties(title=alt.TitleParams(title, subtitle=SUPPORT_NOTE), width=420,
                                              height=max(60, 20 * len(data)))


def precision_recall_chart(table: pd.DataFrame, title: str = "Precision and recall per technique") -> alt.Chart:
    """A scatter of precision against recall, one point per technique, sized by support."""
    data = _labelled(table, ["technique", "name", "precision", "recall", "f1", "support"])
    return (
        alt.Chart(data, title=title)
        .mark_circle(opacity=0.7)
        .encode(
            x=alt.X("recall:Q", scale=_SCORE_SCALE, title="recall"),
            y=alt.Y("precision:Q", scale=_SCORE_SCALE, title="precision"),
            size=alt.Size("support:Q", title="test sentences"),
            tooltip=[alt.Tooltip("label:N", title="technique"), alt.Tooltip("precision:Q", format=".3f"),
                     alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("f1:Q", title="F1", format=".3f"),
                     alt.Tooltip("support:Q", title="test sentences (support)")],
        )
        .properties(width=420, height=380)
    )


def threshold_chart(metrics: Mapping[str, Any] | None, technique: str = "micro", marker: float | None = None,
                    title: str | None = None, catalog: Catalog | None = None) -> alt.LayerChart:
    """Precision, recall and F1 against the decision threshold (pooled by default), with a rule at ``marker``; the
    title names the technique by ID and name (``catalog``, default the configured one)."""
    curves = curve_frame(metrics)
    data = curves[curves["technique"] == technique].melt(
        id_vars=["threshold"], value_vars=list(SCORE_NAMES), var_name="score", value_name="value")
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("threshold:Q", scale=_SCORE_SCALE, title="threshold"),
        y=alt.Y("value:Q", scale=_SCORE_SCALE, title="score"),
        color=alt.Color("score:N", sort=list(SCORE_NAMES)),
        tooltip=[alt.Tooltip("threshold:Q", format=".2f"), alt.Tooltip("score:N"),
                 alt.Tooltip("value:Q", format=".3f")],
    )
    layers = [lines]
    if marker is not None:
        rule = alt.Chart(pd.DataFrame({"threshold": [float(marker)]})).mark_rule(strokeDash=[4, 4]).encode(
            x="threshold:Q")
        layers.append(rule)
    label = "all techniques (micro)" if technique == "micro" else technique_label(technique, catalog=catalog)
    return alt.layer(*layers).properties(
        title=title or f"Precision, recall and F1 by threshold: {label}", width=420, height=300)


def _epoch_axis(epochs: pd.Series) -> alt.X:
    """Whole epochs on the x axis: a tick per epoch ("1", "2"), never "1.000000" or half epochs; a single epoch
    sits in the middle of the chart."""
    whole = sorted({int(e) for e in epochs.dropna()})
    if not whole:
        return alt.X("epoch:Q", title="epoch", axis=alt.Axis(format="d", tickMinStep=1))
    lo, hi = whole[0], whole[-1]
    domain = [lo - 0.5, hi + 0.5] if lo == hi else [lo, hi]
    values = whole if len(whole) <= 25 else None  # past that, let Vega thin them (still whole numbers)
    return alt.X("epoch:Q", title="epoch", scale=alt.Scale(domain=domain, nice=False, zero=False),
                 axis=alt.Axis(values=values, format="d", tickMinStep=1))


def loss_chart(history: Sequence[Mapping[str, Any]] | None, title: str = "Training by epoch") -> alt.Chart:
    """Train and validation loss (and validation micro-F1) per epoch."""
    data = history_frame(history)
    return (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=_epoch_axis(data["epoch"]),
            y=alt.Y("value:Q", title="value"),
            color=alt.Color("series:N", title=""),
            tooltip=[alt.Tooltip("epoch:Q", format="d"), "series:N", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=420, height=260)
    )


def document_chart(table: pd.DataFrame, title: str = "Document-level F1 per test report") -> alt.Chart:
    """Bars of each test report's document-level F1 (techniques of the report as a set). The report names need
    the room left of the bars, so the y axis has no title of its own (the chart's title says what the rows are)."""
    data = table.copy()
    data["label"] = data["title"].astype(str).str.slice(0, 60)
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort="-x", title=None, axis=_ALL_LABELS),
            x=alt.X("f1:Q", scale=_SCORE_SCALE, title="F1"),
            tooltip=[alt.Tooltip("title:N"), alt.Tooltip("precision:Q", format=".3f"),
                     alt.Tooltip("recall:Q", format=".3f"), alt.Tooltip("f1:Q", format=".3f")],
        )
        .properties(width=420, height=max(60, 20 * len(data)))
    )


def live_loss_chart(points: Iterable[Any] | pd.DataFrame, title: str = "Running loss") -> alt.Chart:
    """The running training loss (and any other loss points) of a job, by step."""
    frame = points_frame(points)
    data = frame[frame["name"].str.contains("loss")]
    return (
        alt.Chart(data, title=title)
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("value:Q", title="loss"),
            color=alt.Color("name:N", title=""),
            tooltip=["step:Q", "epoch:Q", "name:N", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(height=220)
    )


def technique_counts_chart(counts: Mapping[str, int], min_count: int = 0,
                           title: str = "Labelled sentences per technique") -> alt.Chart:
    """Bars of how many sentences carry each technique; techniques under ``min_count`` are coloured apart."""
    data = pd.DataFrame(
        [{"technique": t, "sentences": int(n), "kept": "kept" if n >= min_count else f"under {min_count}"}
         for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        columns=["technique", "sentences", "kept"],
    )
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("technique:N", sort=list(data["technique"]), title="technique"),
            y=alt.Y("sentences:Q", title="sentences"),
            color=alt.Color("kept:N", title=""),
            tooltip=["technique:N", "sentences:Q", "kept:N"],
        )
        .properties(height=240)
    )


COMPARED_TECHNIQUE = "Technique"  # the comparison table's technique column: "T1055 Process Injection"


def compared_f1_column(run: str) -> str:
    """The comparison table's column of one run's F1 (``F1 #3``)."""
    return f"F1 {run}"


def comparison_chart(table: pd.DataFrame, runs: Sequence[str], title: str = "F1 per technique by run") -> alt.Chart:
    """Grouped bars of per-technique F1, one colour per run (``table`` from run_comparison.compare_runs, its
    techniques named by ID and name)."""
    columns = {compared_f1_column(run): run for run in runs}
    data = (table.melt(id_vars=[COMPARED_TECHNIQUE], value_vars=list(columns), var_name="run", value_name="f1")
            .dropna(subset=["f1"]).rename(columns={COMPARED_TECHNIQUE: "technique"}))
    data["run"] = data["run"].map(columns)
    order = list(table[COMPARED_TECHNIQUE])
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("technique:N", sort=order, title=None, axis=_ALL_LABELS),
            yOffset=alt.YOffset("run:N", sort=list(runs)),
            x=alt.X("f1:Q", scale=_SCORE_SCALE, title="F1"),
            color=alt.Color("run:N", sort=list(runs), title="run"),
            tooltip=["technique:N", "run:N", alt.Tooltip("f1:Q", title="F1", format=".3f")],
        )
        .properties(width=420, height=max(60, (8 * len(runs) + 8) * len(order)))
    )


def chart_bytes(chart: alt.TopLevelMixin, fmt: str) -> bytes:
    """The chart rendered as PNG or SVG (offline, through vl-convert)."""
    import vl_convert as vlc

    spec = chart.to_dict()
    if fmt == "png":
        return bytes(vlc.vegalite_to_png(spec, scale=2))
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    raise ValueError(f"Unknown chart format '{fmt}'; use png or svg")
