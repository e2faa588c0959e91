"""Compare two or more training runs: headline scores and per-technique F1 side by side, with differences."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from tram_core.attack import Catalog
from tram_core.views.charts import COMPARED_TECHNIQUE, compared_f1_column, headline, technique_label

RUN = "Run"
SUPPORT = "Support"
IN_RUNS = "Scored in runs"
HEADLINE_NAMES = {"micro_precision": "Micro precision", "micro_recall": "Micro recall", "micro_f1": "Micro F1",
                  "macro_precision": "Macro precision", "macro_recall": "Macro recall", "macro_f1": "Macro F1"}


def difference_name(figure: str, reference: str) -> str:
    """``Δ micro F1 vs #3``, ``Δ F1 #5 vs #3``: a column of differences against the reference run."""
    return f"Δ {figure} vs {reference}"


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
    """Runs side by side; differences are each run minus the first (the reference run), in the columns a user reads.

    ``per_technique``: Technique (``T1055 Process Injection``), ``F1 <label>`` per run, ``Δ F1 <label> vs
    <reference>`` for each later run, Support (largest over the runs), Scored in runs (how many runs scored the
    technique). A technique a run did not score is NaN there (shown blank), and so is its difference.
    ``summary``: one row per run (Run) with the headline figures (Micro precision ... Macro F1) and their
    differences (``Δ micro F1 vs <reference>``).
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

    def f1_column(self, label: str) -> str:
        return compared_f1_column(label)

    def difference_column(self, label: str) -> str:
        return difference_name(compared_f1_column(label), self.reference)


def compare_runs(runs: Sequence[RunMetrics], which: str = "at_tuned", catalog: Catalog | None = None
                 ) -> RunComparison:
    """Per-technique F1 of each run (``which`` = 'at_tuned' or 'at_0_5') side by side, and differences; techniques
    are named from ``catalog`` (default: the configured one)."""
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

    reference = labels[0]
    rows = []
    for technique in sorted(f1, key=lambda t: (-support.get(t, 0), t)):
        row: dict[str, Any] = {COMPARED_TECHNIQUE: technique_label(technique, catalog=catalog)}
        for label in labels:
            row[compared_f1_column(label)] = f1[technique].get(label, math.nan)
        for label in labels[1:]:
            row[difference_name(compared_f1_column(label), reference)] = (
                row[compared_f1_column(label)] - row[compared_f1_column(reference)])
        row[SUPPORT] = support.get(technique, 0)
        row[IN_RUNS] = sum(1 for label in labels if label in f1[technique])
        rows.append(row)
    columns = [COMPARED_TECHNIQUE, *map(compared_f1_column, labels),
               *(difference_name(compared_f1_column(label), reference) for label in labels[1:]), SUPPORT, IN_RUNS]
    per_technique = pd.DataFrame(rows, columns=columns)
    return _finish(runs, which, per_technique)


def _summary(runs: Sequence[RunMetrics], which: str) -> pd.DataFrame:
    """One row per run: its headline figures, then each figure minus the reference run's."""
    rows = []
    for run in runs:
        figures = headline((run.metrics or {}).get(which)).to_dict()
        rows.append({RUN: run.label, **{name: figures[key] for key, name in HEADLINE_NAMES.items()}})
    summary = pd.DataFrame(rows, columns=[RUN, *HEADLINE_NAMES.values()])
    for name in HEADLINE_NAMES.values():  # "Micro F1" -> "Δ micro F1 vs #3"
        summary[difference_name(name[:1].lower() + name[1:], runs[0].label)] = summary[name] - summary[name].iloc[0]
    return summary


def _finish(runs: Sequence[RunMetrics], which: str, per_technique: pd.DataFrame) -> RunComparison:
    summary = _summary(runs, which)
    same, note = _test_set_note(runs)
    return RunComparison(tuple(r.label for r in runs), which, per_technique, summary, note, same)


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
