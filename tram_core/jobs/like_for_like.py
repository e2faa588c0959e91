"""Two models' test micro-F1 on the same test sentences: their stored scores when they share a test split, else a
TF-IDF model's recipe refitted on the other model's split and techniques (seconds; cached in the settings table)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tram_core.errors import UserError
from tram_core.store import Store, TrainedModel

BASELINE = "baseline"
MARGIN = 0.005  # differences of micro-F1 under this are a tie: the scores are shown to two or three decimals
CACHE_PREFIX = "like_for_like:"
# The recipe options a refit keeps from the model it copies; the split and the techniques come from the other model.
RECIPE_KEYS = ("procedure_examples", "procedure_ratio", "procedure_label_space")


@dataclass(frozen=True)
class Matchup:
    """A model's test micro-F1 (tuned thresholds) against another's; ``basis`` says how they were made
    comparable: 'stored' (the same test sentences), 'refitted other' (the other, a TF-IDF model, refitted on this
    model's split), 'refitted own' (this TF-IDF model refitted on the other's split), or '' when they are not
    like-for-like (``note`` says why)."""

    own: float | None
    other: float | None
    sentences: int = 0
    basis: str = ""
    note: str = ""

    @property
    def like_for_like(self) -> bool:
        return bool(self.basis) and self.own is not None and self.other is not None

    @property
    def difference(self) -> float:
        return (self.own or 0.0) - (self.other or 0.0)

    @property
    def worse(self) -> bool:
        return self.like_for_like and self.difference < -MARGIN

    @property
    def better(self) -> bool:
        return self.like_for_like and self.difference > MARGIN


def tuned_micro_f1(model: TrainedModel) -> float | None:
    """The model's test micro-F1 at its tuned thresholds, as stored; None without test scores."""
    from tram_core.ml.model_card import key_scores

    return key_scores(model.metrics).get("micro_f1")


def test_sentences(model: TrainedModel) -> frozenset[int]:
    """The ids of the sentences the model was scored on (its recorded test split; empty when none)."""
    split = (model.options or {}).get("split") or {}
    return frozenset(int(i) for i in split.get("test") or ())


def matchup(store: Store, settings, model: TrainedModel, other: TrainedModel, refit: bool = True) -> Matchup:
    """``model`` against ``other`` on the same test sentences.

    The same test sentences and techniques: the stored scores. Otherwise, when one of them is a TF-IDF model:
    that model's recipe refitted on the other's split and techniques (the other one's own scores stand); with
    ``refit`` False only a refit made before (cached) counts. The same sentences on different techniques: the
    stored scores, with a note. Else not like-for-like.
    """
    own, theirs = tuned_micro_f1(model), tuned_micro_f1(other)
    mine, its = test_sentences(model), test_sentences(other)
    same = bool(mine) and mine == its
    if own is None and model.kind != BASELINE:
        return Matchup(own, theirs, note="it has no test scores")
    if same and set(model.classes) == set(other.classes):
        return Matchup(own, theirs, len(mine), "stored")
    failed = ""
    for recipe, on in ((other, model), (model, other)):
        if recipe.kind != BASELINE or tuned_micro_f1(on) is None or not test_sentences(on):
            continue
        try:
            found = refitted_score(store, settings, recipe, on, fit=refit)
        except (UserError, ValueError) as exc:  # e.g. its test reports are gone: say so, never fail the page
            failed = f"the TF-IDF refit failed: {exc}"
            continue
        if found is None:
            continue
        score, sentences = found
        if recipe is other:
            return Matchup(tuned_micro_f1(model), score, sentences, "refitted other")
        return Matchup(score, tuned_micro_f1(other), sentences, "refitted own")
    if same and own is not None and theirs is not None:
        return Matchup(own, theirs, len(mine), "stored",
                       f"on different techniques ({len(model.classes)} vs {len(other.classes)})")
    why = failed or (f"scored on different test sentences ({len(mine):,} vs {len(its):,})" if mine and its
                     else "one of them recorded no test split")
    return Matchup(own, theirs, note=why)


def refitted_score(store: Store, settings, recipe: TrainedModel, on: TrainedModel, fit: bool = True
                   ) -> tuple[float, int] | None:
    """(micro-F1, test sentences) of ``recipe``'s TF-IDF recipe fitted outside ``on``'s test reports, on ``on``'s
    techniques, and scored on ``on``'s test sentences (those still labelled). Cached per recipe and model; with
    ``fit`` False, None unless cached."""
    key = _cache_key(recipe, on)
    cached = _cached(store, key, on)
    if cached is not None or not fit:
        return cached
    result = _refit(store, settings, recipe, on)
    from tram_core.ml.model_card import key_scores

    micro = key_scores(result.metrics).get("micro_f1")
    if micro is None:
        raise UserError(f"the refit on model {on.id}'s split scored no test sentence")
    sentences = len(result.split.test)
    try:
        store.set_setting(key, json.dumps({"micro_f1": micro, "sentences": sentences,
                                           "on": on.created_at.isoformat()}))
    except Exception:  # noqa: BLE001 - another page or worker stored the same refit first; the score stands
        pass
    return float(micro), sentences


def _refit(store: Store, settings, recipe: TrainedModel, on: TrainedModel):
    """The TrainResult of the refit (its folder written to a temporary place and removed)."""
    from tram_core.ml.training import TrainOptions, train_model

    split = (on.options or {}).get("split") or {}
    wanted = test_sentences(on)
    examples = store.examples()
    reports = sorted(set(split.get("test_reports") or ()) or {e.report_id for e in examples if e.sentence_id in wanted})
    held = set(reports)
    examples = [e for e in examples if e.report_id not in held or e.sentence_id in wanted]
    fractions = split.get("fractions") or {}
    options = TrainOptions.from_dict({
        **{k: v for k, v in (recipe.options or {}).items() if k in RECIPE_KEYS},
        "base": BASELINE, "classes": list(on.classes), "test_reports": reports,
        "seed": int(split.get("seed", 13)), "validation_fraction": float(fractions.get("validation", 0.15)),
    })
    with tempfile.TemporaryDirectory(prefix="tram-refit-") as folder:
        return train_model(examples, options, settings, Path(folder) / "model", store=store)


def _cache_key(recipe: TrainedModel, on: TrainedModel) -> str:
    """One refit per recipe (its options that a refit keeps) and model: the quick model's retrains share it."""
    kept = {k: (recipe.options or {}).get(k) for k in RECIPE_KEYS}
    kept["procedure_examples"] = kept["procedure_examples"] or "off"  # a TF-IDF recipe's default, written or not
    signature = json.dumps(kept, sort_keys=True)
    return f"{CACHE_PREFIX}{hashlib.sha1(signature.encode()).hexdigest()[:12]}:{on.id}"


def _cached(store: Store, key: str, on: TrainedModel) -> tuple[float, int] | None:
    raw = store.get_setting(key)
    try:
        found = json.loads(raw) if raw else None
        if found and found.get("on") == on.created_at.isoformat():  # not a deleted model whose id came back
            return float(found["micro_f1"]), int(found["sentences"])
    except (ValueError, TypeError, KeyError):
        pass
    return None
