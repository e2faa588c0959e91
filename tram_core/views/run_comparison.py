"""Compare two or more training runs: headline scores and per-technique F1 side by side, with differences."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from tram_core.views.charts import headline


@dataclass(frozen=True)
class RunMetrics:
    """One run to compare: a short unique label (e.g. ``run 7``) and its stored evaluation metrics dict."""

    label: str
    metrics: Mapping[str, Any]
    test_sentences: frozenset[int] | None = None  # the run's test split; None: not recorded

    @classmethod
    def of_model(cls, label: str, model: Any) -> "RunMetrics":
        """From a stored model record: its metrics and the test sentence ids of its recorded split."""
        split = ((getattr(model, "options", None) or {}).get("split")) or {}
        test = split.get("test")
        return cls(label, getattr(model, "metrics", None) or {}, frozenset(test) if test is not None else None)


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side; differences are each run minus the first (the reference run).

    ``per_technique``: technique, ``<label>`` F1 per run, ``Δ <label>`` for each later run, support (largest
    over the runs), ``in_runs`` (how many runs scored the technique). A technique a run did not score is NaN
    there, and so is its difference. ``summary``: one row per run with the headline figures.
    """

    runs: tuple[str, ...]
    which: str
    per_technique: pd.DataFrame
    summary: pd.DataFrame
    test_set_note: str = ""
    same_test_set: bool | None = None  # None: some run did not record its test split

    @property
    def reference(self) -> str:
        return self.runs[0]

    def difference_column(self, label: str) -> str:
        return f"Δ {label}"


def compare_runs(runs: Sequence[RunMetrics], which: str = "at_tuned") -> RunComparison:
    """Per-technique F1 of each run (``which`` = 'at_tuned' or 'at_0_5') side by side, and differences."""
    if len(runs) < 2:
        raise ValueError("Pick at least two runs to compare")
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"Run labels must differ: {', '.join(labels)}")

    f1: dict[str, dict[str, float]] = {}
    support: dict[str, int] = {}
    for run in runs:
        scores = (run.metrics or {}).get(which) or {}
        for item in scores.get("per_technique") or []:
            technique = str(item.get("technique"))
            value = item.get("f1")
            f1.setdefault(technique, {})[run.label] = math.nan if value is None else float(value)
            support[technique] = max(support.get(technique, 0), int(item.get("support") or 0))

    rows = []
    for technique in sorted(f1, key=lambda t: (-support.get(t, 0), t)):
        row: dict[str, Any] = {"technique": technique}
        for label in labels:
            row[label] = f1[technique].get(label, math.nan)
        for label in labels[1:]:
            row[f"Δ {label}"] = row[label] - row[labels[0]]
        row["support"] = support.get(technique, 0)
        row["in_runs"] = sum(1 for label in labels if label in f1[technique])
        rows.append(row)
    columns = ["technique", *labels, *(f"Δ {label}" for label in labels[1:]), "support", "in_runs"]
    per_technique = pd.DataFrame(rows, columns=columns)

    summary_rows = []
    for run in runs:
        figures = headline((run.metrics or {}).get(which)).to_dict()
        summary_rows.append({"run": run.label, **figures})
    summary = pd.DataFrame(summary_rows)
    for col in [c for c in summary.columns if c != "run"]:
        summary[f"Δ {col}"] = summary[col] - summary[col].iloc[0]
    same, note = _test_set_note(runs)
    return RunComparison(tuple(labels), which, per_technique, summary, note, same)


def _test_set_note(runs: Sequence[RunMetrics]) -> tuple[bool | None, str]:
    """Whether the runs were scored on the same test sentences, and a line saying so."""
    if any(r.test_sentences is None for r in runs):
        return None, "Some runs did not record their test split: their scores may come from different sentences."
    untested = [r.label for r in runs if not r.test_sentences]
    if untested:
        return False, f"{', '.join(untested)} had no test set (trained on every report): there is nothing to compare."
    reference = runs[0].test_sentences
    if all(r.test_sentences == reference for r in runs):
        return True, f"All runs were scored on the same {len(reference):,} test sentences."
    sizes = ", ".join(f"{r.label}: {len(r.test_sentences):,}" for r in runs)
    return False, (f"The runs were scored on different test sentences ({sizes}), so the differences mix the models "
                   "with the data. Train with the same test reports (Train page, 'Test reports') to compare like "
                   "with like.")
