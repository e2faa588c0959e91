"""A trained model's verdict against the quick and the promoted model, the promotion check, the quick model's state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from tram_core.errors import UserError
from tram_core.jobs.like_for_like import BASELINE, Matchup, matchup, tuned_micro_f1
from tram_core.jobs.quick_model import (
    PROMOTION_NOTE, QUICK_MODEL_MIN_LABELLED, is_cold_start_quick_model, quick_model, retrain_every,
)
from tram_core.store import NotFoundError, Store, TrainedModel

# The grid thresholds are tuned on (ml.threshold_tuning.DEFAULT_GRID's ends) when a run stored no curve.
GRID_ENDS = (0.05, 0.99)
QUICK = "the quick model"


@dataclass(frozen=True)
class Verdict:
    """What a model's scores say, in plain phrases (``lines``); ``worse`` holds the like-for-like comparisons it
    loses ('worse than the quick model on ... (micro-F1 0.000 vs 0.440)'), which make a promotion ask first."""

    model_id: int
    lines: tuple[str, ...] = ()
    worse: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The verdict as one line (the run history's column)."""
        return "; ".join(self.lines)

    @property
    def sentence(self) -> str:
        text = self.text
        return (text[:1].upper() + text[1:] + ".") if text else ""


def run_verdict(store: Store, settings, model: TrainedModel, refit: bool = True,
                references: Iterable[tuple[str, TrainedModel]] | None = None) -> Verdict:
    """``model``'s verdict: whether it learned (its score at 0.5, its tuned threshold against the grid's ends), and
    how it compares with the quick model and the promoted model on the same test sentences (like_for_like.matchup;
    ``refit`` False keeps to stored scores and refits made before). ``references``: (name, model) pairs, default
    ``reference_models``."""
    if tuned_micro_f1(model) is None:
        return Verdict(model.id, ("no test scores (no test reports): nothing to judge it by",))
    lines = learning_lines(model.metrics)
    worse = []
    for name, other in reference_models(store, model) if references is None else references:
        if other.id == model.id:
            continue
        score = matchup(store, settings, model, other, refit)
        line, lost = comparison_line(name, score, model, other, refit)
        lines.append(line)
        if lost:
            worse.append(lost)
    if not lines:
        lines.append("no other quick or promoted model to compare it with yet")
    return Verdict(model.id, tuple(lines), tuple(worse))


def reference_models(store: Store, model: TrainedModel | None = None) -> list[tuple[str, TrainedModel]]:
    """(name, model) of the models a run is judged against: the newest quick model and the promoted model."""
    quick, promoted = quick_model(store), store.promoted_model()
    found = []
    if quick is not None:
        found.append(("the promoted quick model" if quick.promoted else QUICK, quick))
    if promoted is not None and (quick is None or promoted.id != quick.id):
        found.append((f"the promoted model #{promoted.id}", promoted))
    return [(name, m) for name, m in found if model is None or m.id != model.id]


def learning_lines(metrics: Mapping[str, Any] | None) -> list[str]:
    """Signs that a run has not learned: nothing right at 0.5, a tuned threshold at the grid's end."""
    from tram_core.ml.model_card import evaluated_thresholds, key_scores

    scores = key_scores(metrics)
    lines = []
    at_half = scores.get("micro_f1_at_0_5")
    if at_half is not None and at_half < 0.0005:
        lines.append("scores 0.000 at 0.5: the model has not learned yet")
    tuned = evaluated_thresholds(metrics)
    low, high = _grid_ends(metrics)
    if tuned is not None and (abs(tuned.global_ - low) < 1e-9 or abs(tuned.global_ - high) < 1e-9):
        lines.append(f"the tuned threshold sits at the grid's edge ({tuned.global_:.2f}): train longer or with "
                     "more data")
    return lines


def _grid_ends(metrics: Mapping[str, Any] | None) -> tuple[float, float]:
    """The lowest and highest threshold of the run's stored curve, else of the default grid."""
    grid = [float(p["threshold"]) for p in (metrics or {}).get("curves") or ()
            if isinstance(p, Mapping) and p.get("technique") == "micro" and p.get("threshold") is not None]
    return (min(grid), max(grid)) if grid else GRID_ENDS


def comparison_line(name: str, score: Matchup, model: TrainedModel, other: TrainedModel,
                    refitted: bool = True) -> tuple[str, str]:
    """(the phrase comparing ``model`` with ``other``, called ``name``; the 'worse than' phrase, or '')."""
    figures = f"micro-F1 {_f1(score.own)} vs {_f1(score.other)}"
    if not score.like_for_like:
        if refitted or BASELINE not in (model.kind, other.kind):
            hint = "train with the same test reports to compare them"
        else:
            hint = "open it on Evaluate to compare them like-for-like"
        return f"not comparable with {name}: {score.note} ({figures}); {hint}", ""
    where, detail = _where(score)
    if score.worse:
        lost = f"worse than {name} {where} ({figures}{detail})"
        return lost + (": do not promote" if not model.promoted else ": promote a better model"), lost
    if score.better:
        return f"better than {name} by {score.difference:+.3f} micro-F1 {where} ({figures}{detail})", ""
    return f"on a par with {name} {where} ({figures}{detail})", ""


def _where(score: Matchup) -> tuple[str, str]:
    """Which test sentences the scores are on, and how they were made comparable ('; ...', or '')."""
    if score.basis == "refitted other":
        where, detail = f"on this run's {score.sentences:,} test sentences", "its TF-IDF recipe refitted here"
    elif score.basis == "refitted own":
        where, detail = f"on its {score.sentences:,} test sentences", "this TF-IDF recipe refitted there"
    else:
        where, detail = f"on the same {score.sentences:,} test sentences", ""
    details = [d for d in (detail, score.note) if d]
    return where, "".join(f"; {d}" for d in details)


def _f1(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


# --------------------------------------------------------------------------------------------------- promotion


def check_promotion(store: Store, settings, model_id: int, anyway: bool, confirm: str) -> Verdict:
    """The verdict of the model about to be promoted; UserError when it is worse than the quick or the promoted
    model on the same test sentences and ``anyway`` is not set (``confirm`` says how to set it, e.g. "add
    --anyway")."""
    try:
        model = store.get_model(model_id)
    except NotFoundError:
        raise UserError(f"There is no trained model {model_id}.") from None
    verdict = run_verdict(store, settings, model)
    if verdict.worse and not anyway and not model.promoted:
        raise UserError(f"Not promoted: model #{model.id} is {' and '.join(verdict.worse)}; {confirm} to promote "
                        "it anyway.")
    return verdict


# --------------------------------------------------------------------------------------------------- quick model


def quick_model_line(store: Store) -> str:
    """The quick model in one line: when the worker last retrained it, on how many labelled sentences, its score,
    when it retrains next, and whether it makes the suggestions (and why not)."""
    quick = quick_model(store)
    counts = store.corpus_counts()
    if quick is None:
        missing = QUICK_MODEL_MIN_LABELLED - counts["with_technique"]
        if counts["sentences"] == 0:
            return ("Quick model: once a report is imported, the worker trains a TF-IDF model on ATT&CK's procedure "
                    "examples for suggestions before any label, then on your labels once "
                    f"{QUICK_MODEL_MIN_LABELLED} sentences carry techniques.")
        return ("Quick model: the worker trains a TF-IDF model on its own (on ATT&CK's procedure examples until "
                f"{QUICK_MODEL_MIN_LABELLED} sentences carry techniques"
                + (f", {missing} more to go" if missing > 0 else "")
                + "); it has not done so yet (is a worker running?).")
    options = quick.options or {}
    if is_cold_start_quick_model(quick):
        return _cold_start_line(store, quick, counts)
    line = (f"Quick model #{quick.id} (TF-IDF, retrained by the worker on its own): last retrained "
            f"{quick.created_at:%Y-%m-%d %H:%M} UTC on {options.get('examples', '?')} labelled sentences from "
            f"{options.get('reports', '?')} reports")
    micro = tuned_micro_f1(quick)
    if micro is not None:
        line += f", test micro-F1 {micro:.3f}"
    since = max(0, store.label_event_watermark() - int(options.get("label_event_id", 0) or 0))
    line += f"; {since} label changes since, it retrains after {retrain_every(counts)}. "
    if quick.promoted:
        return line + "It is promoted: it makes the suggestions."
    why = _promotion_note(store, quick.id)
    return line + (f"Not promoted: {why}." if why else "Not promoted.")


def _cold_start_line(store: Store, quick, counts: dict) -> str:
    """quick_model_line for the cold-start quick model (TF-IDF on ATT&CK's procedure examples, before labels)."""
    line = (f"Quick model #{quick.id} (TF-IDF on ATT&CK's procedure examples alone, {len(quick.classes)} "
            f"techniques, no label needed): trained {quick.created_at:%Y-%m-%d %H:%M} UTC for "
            f"{(quick.options or {}).get('reports', '?')} reports. ")
    promoted = store.promoted_model()
    missing = QUICK_MODEL_MIN_LABELLED - counts["with_technique"]
    if promoted is not None and not promoted.options.get("quick"):
        line += f"Model #{promoted.id} was promoted by hand: the worker leaves the quick model as it is. "
    elif missing > 0:
        line += (f"The worker retrains it on your labels once {QUICK_MODEL_MIN_LABELLED} sentences carry "
                 f"techniques ({missing} more to go). ")
    else:
        line += f"{counts['with_technique']} sentences carry techniques: the worker retrains it on them when idle. "
    if quick.promoted:
        return line + "It is promoted: it makes the suggestions."
    why = _promotion_note(store, quick.id)
    return line + (f"Not promoted: {why}." if why else "Not promoted.")


def _promotion_note(store: Store, model_id: int) -> str:
    try:
        note = json.loads(store.get_setting(PROMOTION_NOTE) or "{}")
    except ValueError:
        return ""
    return str(note.get("why") or "") if isinstance(note, dict) and note.get("model") == model_id else ""
