"""Annotation answers and the panel's words: saving an answer (conflicts, undo), the per-technique view, the lines
that describe a sentence and its answer, and the technique pickers. Which sentence comes next: annotation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from tram_core.attack import Catalog, parse_technique_list
from tram_core.store import LABELLED, REVIEWED, UNLABELLED, ConflictError, Sentence, Store
from tram_core.views import double_annotation as dbl
from tram_core.views.annotation import STATUS_ALL, model_threshold
from tram_core.views.model_choice import model_or_promoted


@dataclass(frozen=True)
class SaveResult:
    """What a save did: the stored sentence, or the other person's version on a conflict, or a skip."""

    sentence: Sentence | None = None
    conflict: Sentence | None = None
    skipped: bool = False
    message: str = ""

    @property
    def saved(self) -> bool:
        return self.sentence is not None and not self.skipped


# --------------------------------------------------------------------------------------------------- saving


def validate_techniques(catalog: Catalog, techniques: Iterable[str], where: str = "") -> list[str]:
    """The IDs in canonical form, sorted; raises UnknownTechniqueError naming each one not in the catalog."""
    return sorted(parse_technique_list(techniques, catalog, where))


def save_answer(
    store: Store,
    opened: Sentence,
    techniques: Iterable[str],
    user: str,
    *,
    catalog: Catalog | None = None,
    no_technique: bool = False,
    reviewed: bool = False,
) -> SaveResult:
    """Store the analyst's answer for a sentence as it was when they opened it (``opened.version``).

    - ``no_technique``: the answer "no technique" (labelled, no labels): a negative example.
    - ``reviewed``: the chosen techniques, marked reviewed.
    - otherwise the chosen techniques, labelled; choosing nothing skips the sentence (nothing is stored), so a
      negative is always an explicit "no technique".
    An unchanged answer is not stored again. A change by someone else since ``opened`` comes back as
    ``conflict`` (their version), never silently overwritten. On a double-annotated sentence that takes independent
    answers the answer is ``user``'s own (double_annotation.save_independent): never a conflict, never another's.
    """
    chosen = sorted(set(techniques))
    if catalog is not None:
        chosen = validate_techniques(catalog, chosen, f"sentence {opened.id}")
    if no_technique:
        chosen, status = [], LABELLED
    elif reviewed:
        status = REVIEWED
    else:
        if not chosen:
            return SaveResult(skipped=True, message="Nothing chosen: skipped. Use 'No technique' to record "
                                                    "that the sentence describes no technique.")
        status = LABELLED
    if opened.status == status and list(opened.labels) == chosen:
        return SaveResult(sentence=opened, skipped=True, message="Unchanged.")
    independent = dbl.save_independent(store, user, opened, chosen, status)
    if independent is not None:
        return SaveResult(sentence=independent[0], message=independent[1])
    try:
        saved = store.set_labels(opened.id, chosen, user, status=status, expected_version=opened.version)
    except ConflictError as exc:
        return SaveResult(conflict=exc.current, message=str(exc))
    return SaveResult(sentence=saved, message=_describe(saved))


def _describe(sentence: Sentence) -> str:
    if not sentence.labels:
        return f"Saved sentence {sentence.id}: no technique."
    verb = "Reviewed" if sentence.status == REVIEWED else "Saved"
    return f"{verb} sentence {sentence.id}: {', '.join(sentence.labels)}."


def _answer_of(sentence: Sentence) -> str:
    return ", ".join(sentence.labels) if sentence.labels else "no technique"


def position_line(queue, sentence: Sentence, matching: Sequence[int]) -> str:
    """Where the sentence sits: in the report, among the sentences the filters select, and its id."""
    where = (f"{list(matching).index(sentence.id) + 1} of {len(matching)} matching" if sentence.id in matching
             else f"not matching the filters ({len(matching)} do)")
    return f"Sentence {sentence.position + 1} of {len(queue.sentences)} in the report · {where} · id {sentence.id}"


def answer_line(sentence: Sentence) -> str:
    """The stored answer: who gave it, when, which techniques (or that nobody has answered yet)."""
    if sentence.status == UNLABELLED:
        return "Not answered yet."
    when = f" at {sentence.updated_at:%Y-%m-%d %H:%M} UTC" if sentence.updated_at else ""
    return f"{sentence.status.capitalize()} by {sentence.updated_by or 'unknown'}{when}: {_answer_of(sentence)}"


def changed_since_opened_line(now: Sentence) -> str:
    """Someone saved the sentence after this analyst opened it: their answer is the one shown now."""
    return (f"{now.updated_by or 'Someone'} changed this sentence since you opened it: {_answer_of(now)} "
            f"({now.status}). Their answer is shown now.")


def conflict_line(theirs: Sentence, mine: Sequence[str]) -> str:
    """A save refused because someone else saved first: both answers, and that nothing was saved."""
    when = f" at {theirs.updated_at:%H:%M} UTC" if theirs.updated_at else ""
    return (f"{theirs.updated_by or 'Someone'} changed this sentence{when} since you opened it. "
            f"Their answer: {_answer_of(theirs)} ({theirs.status}). "
            f"Yours: {', '.join(mine) or 'no technique'}. Nothing was saved.")


def undo_last(store: Store, user: str) -> Sentence | None:
    """Undo ``user``'s last label change (or independent answer); the sentence as restored and as they may see it
    (to navigate to), or None if nothing to undo."""
    return dbl.undo_last(store, user)


# --------------------------------------------------------------------------------------------------- one technique


@dataclass(frozen=True)
class TechniqueHit:
    """A sentence labelled with, or suggested with, one technique (for the per-technique view)."""

    sentence: Sentence
    report_title: str
    technique: str
    score: float | None
    threshold: float

    @property
    def labelled(self) -> bool:
        return self.sentence.status != UNLABELLED

    @property
    def has_technique(self) -> bool:
        return self.technique in self.sentence.labels

    @property
    def preticked(self) -> bool:
        """Ticked when shown: the analyst's answer if there is one, else whether the model scores above threshold."""
        if self.labelled:
            return self.has_technique
        return self.score is not None and self.score > self.threshold

    @property
    def can_accept(self) -> bool:
        """Accept adds the technique: pointless when the sentence has it already."""
        return not self.has_technique

    @property
    def can_reject(self) -> bool:
        """Reject removes the technique, or answers 'no technique' for a sentence nobody answered yet."""
        return self.has_technique or not self.labelled

    def facts_line(self) -> str:
        """Which report, the stored answer (or none yet), and the model's score against its threshold."""
        s = self.sentence
        facts = [f"#{s.report_id} {self.report_title}",
                 f"{s.status} by {s.updated_by or 'unknown'}: {_answer_of(s)}" if self.labelled else "not answered"]
        if self.score is not None:
            facts.append(f"model score {self.score:.2f} (threshold {self.threshold:.2f})")
        return " · ".join(facts)


def technique_hits(store: Store, technique: str, model_id: int | None = None, limit: int = 200,
                   status: str = STATUS_ALL, viewer: str = "") -> list[TechniqueHit]:
    """Every sentence labelled with ``technique`` or suggested with it by the model, across reports, as ``viewer``
    may see it (a double-annotated sentence shows only their own answer until both answered).

    Labelled ones first (report order), then suggestions best score first; at most ``limit``.
    """
    tech = technique.strip().upper()
    model = model_or_promoted(store, model_id)
    labelled = store.sentences(technique=tech)
    suggested: dict[int, float] = {}
    if model is not None:
        suggested = store.annotation_suggested_with(tech, model.id, limit=limit)
    seen = {s.id for s in labelled}
    extra_ids = [sid for sid in sorted(suggested, key=lambda i: (-suggested[i], i)) if sid not in seen]
    extra = store.annotation_sentences_by_id(extra_ids)
    titles = store.annotation_report_titles()
    threshold = model_threshold(model, tech)
    shown, _ = dbl.mask_for_viewer(store, [*labelled, *extra], viewer)
    hits = [TechniqueHit(s, titles.get(s.report_id, ""), tech, suggested.get(s.id), threshold)
            for s in shown if tech in s.labels or s.id in suggested]
    if status != STATUS_ALL:
        hits = [h for h in hits if h.sentence.status == status]
    return hits[:limit]


def apply_technique_decision(store: Store, sentence: Sentence, technique: str, accept: bool,
                             user: str) -> SaveResult:
    """Add (accept) or remove (reject) one technique on a sentence, keeping its other labels.

    Rejecting the only technique of an unlabelled sentence records "no technique"; status stays reviewed if it was.
    """
    tech = technique.strip().upper()
    labels = set(sentence.labels)
    if accept:
        labels.add(tech)
    else:
        labels.discard(tech)
    status = REVIEWED if sentence.status == REVIEWED else LABELLED
    if sentence.status == status and set(sentence.labels) == labels:
        return SaveResult(sentence=sentence, skipped=True, message="Unchanged.")
    independent = dbl.save_independent(store, user, sentence, sorted(labels), status)
    if independent is not None:
        return SaveResult(sentence=independent[0], message=independent[1])
    try:
        saved = store.set_labels(sentence.id, sorted(labels), user, status=status,
                                 expected_version=sentence.version)
    except ConflictError as exc:
        return SaveResult(conflict=exc.current, message=str(exc))
    return SaveResult(sentence=saved, message=_describe(saved))


# --------------------------------------------------------------------------------------------------- pickers


def technique_label(catalog: Catalog, technique_id: str) -> str:
    """``T1055 Process Injection (defense-evasion, privilege-escalation)``, or the bare ID when unknown."""
    tech = catalog.get(technique_id)
    if tech is None:
        return technique_id
    tactics = f" ({', '.join(tech.tactics)})" if tech.tactics else ""
    note = " [revoked]" if tech.revoked else " [deprecated]" if tech.deprecated else ""
    return f"{tech.id} {tech.name}{tactics}{note}"


def techniques_to_add(catalog: Catalog, query: str, chosen: Iterable[str], limit: int = 6) -> list:
    """The picker's search: the best catalog matches for ``query`` not already chosen (none for a blank query)."""
    if not query.strip():
        return []
    taken = set(chosen)
    return [t for t in catalog.search(query, limit=limit + len(taken)) if t.id not in taken][:limit]


def technique_view_choices(catalog: Catalog, counts: Mapping[str, int]) -> list[str]:
    """Techniques for the per-technique view: the labelled ones most-used first, then the rest of the catalog."""
    used = sorted(counts, key=lambda t: (-counts[t], t))
    return used + [t for t in technique_choices(catalog) if t not in counts]


def technique_choices(catalog: Catalog, keep: Iterable[str] = ()) -> list[str]:
    """Technique IDs to offer in a picker: every current technique, plus any in ``keep`` (e.g. revoked labels)."""
    ids = [t.id for t in catalog.techniques()]
    present = set(ids)
    return ids + sorted(t for t in set(keep) if t not in present)
