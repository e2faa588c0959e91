"""The model as the analysts review it: each answer on a sentence the model scored becomes one decision per technique
(accepted, rejected, or added because the model missed it), and per model and technique those give the share of
suggestions accepted and a live precision and recall."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from tram_core.ml.thresholds import Thresholds, model_thresholds
from tram_core.store import Store
from tram_core.store.label_review import SuggestionDecision

ACCEPT, REJECT, ADD = "accept", "reject", "add"


def decisions_for(sentence_id: int, model_id: int, scores: Sequence[tuple[str, float]], thresholds: Thresholds,
                  shown: Iterable[str], chosen: Iterable[str]) -> list[SuggestionDecision]:
    """One answer's decisions: every technique the model suggested (shown to the analyst, or scored above its
    threshold) is accepted or rejected, every chosen technique it did not suggest is added. None when the model
    scored nothing for the sentence (there was nothing to review)."""
    if not scores:
        return []
    score = dict(scores)
    suggested = set(shown) | {t for t, s in score.items() if s > thresholds.for_technique(t)}
    kept = set(chosen)
    out = []
    for tech in sorted(suggested | kept):
        decision = (ACCEPT if tech in kept else REJECT) if tech in suggested else ADD
        value = score.get(tech)
        out.append(SuggestionDecision(sentence_id, model_id, tech, decision,
                                      value is not None and value > thresholds.for_technique(tech), value))
    return out


def record(store: Store, user: str, decisions: Sequence[SuggestionDecision]) -> int:
    """Keep the decisions against their model; how many were kept."""
    return store.record_suggestion_decisions(decisions, user) if decisions else 0


@dataclass(frozen=True)
class Acceptance:
    """One model and technique (technique ``*``: all of them) as reviewed: suggestions accepted and rejected, techniques
    added that it missed, and the live precision (kept among its predictions) and recall (its predictions among the
    kept techniques)."""

    model_id: int
    technique: str
    accepted: int
    rejected: int
    added: int
    predicted: int
    predicted_kept: int

    @property
    def suggested(self) -> int:
        return self.accepted + self.rejected

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.suggested if self.suggested else None

    @property
    def precision(self) -> float | None:
        return self.predicted_kept / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        kept = self.accepted + self.added
        return self.predicted_kept / kept if kept else None


def latest(decisions: Iterable[SuggestionDecision]) -> list[SuggestionDecision]:
    """Each person's last decision per sentence, model and technique (a changed answer replaces the earlier one)."""
    found: dict[tuple, SuggestionDecision] = {}
    for d in decisions:
        found[(d.sentence_id, d.model_id, d.technique, d.user)] = d
    return list(found.values())


def _tally(model_id: int, technique: str, rows: Sequence[SuggestionDecision]) -> Acceptance:
    count = {kind: sum(1 for d in rows if d.decision == kind) for kind in (ACCEPT, REJECT, ADD)}
    predicted = [d for d in rows if d.predicted]
    return Acceptance(model_id, technique, count[ACCEPT], count[REJECT], count[ADD], len(predicted),
                      sum(1 for d in predicted if d.decision == ACCEPT))


def acceptance(decisions: Iterable[SuggestionDecision]) -> list[Acceptance]:
    """Per model: all techniques (``*``) first, then each technique, most reviewed first."""
    by_model: dict[int, list[SuggestionDecision]] = defaultdict(list)
    for d in latest(decisions):
        by_model[d.model_id].append(d)
    out = []
    for model_id, rows in sorted(by_model.items()):
        out.append(_tally(model_id, "*", rows))
        by_tech: dict[str, list[SuggestionDecision]] = defaultdict(list)
        for d in rows:
            by_tech[d.technique].append(d)
        techs = [_tally(model_id, tech, group) for tech, group in by_tech.items()]
        out += sorted(techs, key=lambda a: (-(a.suggested + a.added), a.technique))
    return out


def model_acceptance(store: Store, model_id: int | None = None) -> list[Acceptance]:
    return acceptance(store.suggestion_decisions(model_id))


def acceptance_rows(rows: Sequence[Acceptance], model_names: Mapping[int, str] | None = None) -> list[dict]:
    """The table the page and the command line show."""
    names = model_names or {}

    def share(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return [{"model": names.get(a.model_id, f"#{a.model_id}"), "technique": a.technique, "accepted": a.accepted,
             "rejected": a.rejected, "added (missed)": a.added, "acceptance": share(a.acceptance),
             "live precision": share(a.precision), "live recall": share(a.recall)} for a in rows]


def answer_decisions(queue, sentence_id: int, chosen: Iterable[str]) -> list[SuggestionDecision]:
    """The decisions of an answer given on the Annotate page, from what its queue showed (annotation.ReportQueue):
    the model's scores for the sentence, the suggestions on screen and the techniques the answer keeps."""
    if queue is None or queue.model is None or sentence_id not in queue:
        return []
    shown = [s.technique for s in queue.suggestions(sentence_id)]
    return decisions_for(sentence_id, queue.model.id, queue.scores.get(sentence_id, ()), queue.thresholds, shown,
                         chosen)


def technique_decision(store: Store, model, sentence_id: int, technique: str, accept: bool
                       ) -> list[SuggestionDecision]:
    """The decision of an Accept or Reject in the per-technique view: one, when ``model`` scored the technique on
    the sentence (otherwise it made no suggestion there to review)."""
    if model is None:
        return []
    score = dict(store.suggestions_for([sentence_id], model.id).get(sentence_id, ())).get(technique)
    if score is None:
        return []
    predicted = score > model_thresholds(model).for_technique(technique)
    return [SuggestionDecision(sentence_id, model.id, technique, ACCEPT if accept else REJECT, predicted, score)]
