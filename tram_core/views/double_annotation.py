"""Double annotation rules: which sentences two annotators label, what each of them sees (never the other's answer
before both answered), where an answer goes, what the page says about it, the adjudication queue and decisions.

The rule until adjudication: the first independent answer is the sentence's label (training reads it); the second
is kept apart. A sentence both answered alike is settled; one they answered differently waits for a reviewer, whose
decision becomes the label (reviewed) with both originals kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from tram_core.attack import Catalog, parse_technique_list
from tram_core.errors import UserError
from tram_core.access import role_allows
from tram_core.store import UNLABELLED, Sentence, Store
from tram_core.store.team_labels import (
    CHOICES,
    Adjudication,
    DoubleShare,
    IndependentAnswer,
    selected_for_double,
)
from tram_core.views.agreement import Item

OPEN, AGREED, DISAGREED, ADJUDICATED = "open", "agreed", "disagreed", "adjudicated"  # where a sentence stands


class DoubleAnnotationError(UserError):
    """A double-annotation request that cannot be carried out (a bad share, too few annotators, a bad decision)."""


def answer_text(labels: Sequence[str]) -> str:
    return ", ".join(labels) if labels else "no technique"


# --------------------------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class DoublePlan:
    """The shares in force: per report, else the corpus-wide one."""

    shares: dict

    def share_for(self, report_id: int) -> DoubleShare | None:
        share = self.shares.get(report_id, self.shares.get(None))
        return share if share is not None and share.percent > 0 else None

    def covers(self, sentence: Sentence) -> bool:
        share = self.share_for(sentence.report_id)
        return share is not None and selected_for_double(sentence.id, share.percent)


def load_plan(store: Store) -> DoublePlan:
    return DoublePlan(store.double_shares())


def check_share(percent: object, annotators: Sequence[str] = (), report: str = "the corpus") -> float:
    """The share as a number of percent, or a DoubleAnnotationError saying what is wrong and where."""
    try:
        value = float(str(percent).strip().rstrip("%"))
    except ValueError:
        raise DoubleAnnotationError(f"Double annotation of {report}: the share must be a number of percent (0-100), "
                                    f"not {str(percent)[:40]!r}") from None
    if not 0 <= value <= 100 or value != value:
        raise DoubleAnnotationError(f"Double annotation of {report}: the share must be between 0 and 100 %, "
                                    f"not {str(percent)[:40]}")
    named = list(dict.fromkeys(a for a in annotators if a))
    if annotators and len(named) < 2:
        who = f"only {named[0]}" if named else "nobody"
        raise DoubleAnnotationError(f"Double annotation of {report} needs two annotators; {who} was named")
    return value


def set_share(store: Store, user: str, percent: object, report_id: int | None = None,
              annotators: Sequence[str] = (), team: bool = False) -> DoubleShare:
    """Set the share of one report's (or, with None, every report's) sentences two annotators label. In team mode
    (accounts) the named annotators must be accounts that may label, and without names the team needs two of them.
    Refused with one line, nothing stored, for a share outside 0-100 or fewer than two annotators."""
    where = "the corpus" if report_id is None else f"report {report_id}"
    if report_id is not None:
        store.get_report(report_id)  # NotFoundError naming the report
    named = [a.strip() for a in annotators if a and a.strip()]
    value = check_share(percent, named or annotators, where)
    if team and value > 0:
        may_label = sorted(u.name for u in store.list_users() if not u.disabled and role_allows(u.role,
                                                                                                "label sentences"))
        unknown = [a for a in named if a not in may_label]
        if unknown:
            raise DoubleAnnotationError(f"Double annotation of {where}: {', '.join(unknown)} cannot label sentences "
                                        "(no such account, disabled, or a viewer)")
        if not named and len(may_label) < 2:
            who = f"only {may_label[0]} may" if may_label else "nobody may"
            raise DoubleAnnotationError(f"Double annotation of {where} needs two annotators; {who} label sentences")
    return store.set_double_share(value, user, report_id, list(dict.fromkeys(named)))


# --------------------------------------------------------------------------------------------------- one sentence


@dataclass(frozen=True)
class DoubleState:
    """A double-annotated sentence: its independent answers (in the order given), its adjudication, and the named
    annotators (empty: anyone who may label)."""

    sentence_id: int
    answers: tuple[IndependentAnswer, ...] = ()
    adjudication: Adjudication | None = None
    annotators: tuple[str, ...] = ()

    @property
    def phase(self) -> str:
        if self.adjudication is not None:
            return ADJUDICATED
        if len(self.answers) < 2:
            return OPEN
        return AGREED if self.answers[0].labels == self.answers[1].labels else DISAGREED

    def own(self, viewer: str) -> IndependentAnswer | None:
        return next((a for a in self.answers if a.user == viewer), None)

    @property
    def takes_answers(self) -> bool:
        """Whether an answer goes to the independent answers (open, or differing and not yet adjudicated)."""
        return self.phase in (OPEN, DISAGREED)


def states(store: Store, sentences: Sequence[Sentence], plan: DoublePlan | None = None) -> dict[int, DoubleState]:
    """``{sentence_id: state}`` of the double-annotated ones among ``sentences`` (no query when nothing is)."""
    plan = plan if plan is not None else load_plan(store)
    covered = [s for s in sentences if plan.covers(s)] if plan.shares else []
    if not covered:
        return {}
    ids = [s.id for s in covered]
    answers = store.independent_answers(ids)
    decided = store.adjudications(ids)
    out = {}
    for s in covered:
        given = tuple(answers.get(s.id, ()))
        if not given and s.status != UNLABELLED:  # answered before it was double-annotated: that is its first answer
            given = (IndependentAnswer(s.id, s.report_id, s.updated_by or "unknown", s.labels, s.status, 1,
                                       s.updated_at, s.updated_at, implied=True),)
        out[s.id] = DoubleState(s.id, given, decided.get(s.id), plan.share_for(s.report_id).annotators)
    return out


def state_of(store: Store, sentence_id: int) -> tuple[Sentence, DoubleState | None]:
    """A sentence as stored, and its double-annotation state (None when it is not double-annotated)."""
    sentence = store.get_sentence(sentence_id)
    return sentence, states(store, [sentence]).get(sentence_id)


def for_viewer(sentence: Sentence, state: DoubleState | None, viewer: str) -> Sentence:
    """The sentence as ``viewer`` may see it: while it takes independent answers, only their own answer (or none)."""
    if state is None or not state.takes_answers:
        return sentence
    own = state.own(viewer)
    if state.phase == DISAGREED and own is None:
        return sentence  # both answered: a reviewer (or anyone) sees the sentence's label, the first answer
    if own is None:
        return replace(sentence, status=UNLABELLED, labels=(), updated_by="", updated_at=None, version=0)
    return replace(sentence, status=own.status, labels=own.labels, updated_by=own.user, updated_at=own.changed_at,
                   version=own.revision)


def note(state: DoubleState | None, viewer: str) -> str:
    """What the Annotate page says about a double-annotated sentence ('' for any other)."""
    if state is None:
        return ""
    lead = "Double annotation" + (f" by {' and '.join(state.annotators)}" if state.annotators else "")
    phase, own = state.phase, state.own(viewer)
    if phase == OPEN:
        if state.annotators and viewer not in state.annotators and own is None:
            return f"{lead}: your answer is not taken on this sentence; the answers stay hidden until both answered."
        if own is not None:
            return (f"{lead}: your answer is saved; a second annotator's answer is still to come. Each stays hidden "
                    "from the other until both have answered.")
        if state.answers:
            return (f"{lead}: another annotator has answered this sentence. Their answer stays hidden until you have "
                    "answered too.")
        return (f"{lead}: two annotators label this sentence independently; neither sees the other's answer until "
                "both answered.")
    both = "; ".join(f"{a.user}: {answer_text(a.labels)}" for a in state.answers[:2])
    if phase == AGREED:
        return f"{lead}: both answered alike ({both})."
    if phase == DISAGREED:
        return (f"{lead}: both answered and differ ({both}). Until a reviewer adjudicates it on the Agreement page, "
                f"the first answer ({state.answers[0].user}'s) is the sentence's label.")
    decided = state.adjudication
    return f"{lead}: adjudicated by {decided.decided_by}: {answer_text(decided.final_labels)} ({both})."


def save_independent(store: Store, viewer: str, sentence: Sentence, labels: Sequence[str],
                     status: str) -> tuple[Sentence, str] | None:
    """Store ``viewer``'s answer as their independent answer when the sentence takes one: (the sentence as they now
    see it, what to tell them); None for a sentence answered the ordinary way (one query when no share is set)."""
    plan = load_plan(store)
    if not plan.covers(sentence):
        return None
    sentence_id = sentence.id
    _, state = state_of(store, sentence_id)
    if state is None or not state.takes_answers:
        return None
    stored = store.record_independent_answer(sentence_id, viewer, labels, status, state.annotators)
    _, after = state_of(store, sentence_id)
    saved = f"Saved your independent answer on sentence {sentence_id}: {answer_text(sorted(set(labels)))}."
    if after is None or after.phase == OPEN:
        return for_viewer(stored, after, viewer), f"{saved} The other answer stays hidden until both have answered."
    return for_viewer(stored, after, viewer), f"{saved} {note(after, viewer).split(': ', 1)[-1]}"


def undo_last(store: Store, user: str) -> Sentence | None:
    """Undo ``user``'s last answer (an independent one, else a plain label change); the sentence as they see it."""
    restored = store.undo_independent_answer(user)
    if restored is None:
        restored = store.undo_last(user)
    if restored is None:
        return None
    return for_viewer(restored, states(store, [restored]).get(restored.id), user)


def mask_for_viewer(store: Store, sentences: Sequence[Sentence], viewer: str
                    ) -> tuple[list[Sentence], dict[int, DoubleState]]:
    """``sentences`` as ``viewer`` may see them, and the double-annotation state of those that are double-annotated."""
    found = states(store, sentences)
    return [for_viewer(s, found.get(s.id), viewer) for s in sentences], found


# --------------------------------------------------------------------------------------------------- adjudication


@dataclass(frozen=True)
class QueueEntry:
    """A sentence whose two independent answers differ, side by side, waiting for a reviewer."""

    sentence: Sentence
    report_title: str
    first: IndependentAnswer
    second: IndependentAnswer


def _pairs(store: Store, report_id: int | None) -> dict[int, tuple[IndependentAnswer, IndependentAnswer]]:
    """Every sentence with two independent answers: ``{sentence_id: (first, second)}``."""
    answers = store.independent_answers(store.answered_sentence_ids(report_id))
    return {sid: (given[0], given[1]) for sid, given in answers.items() if len(given) >= 2}


def adjudication_queue(store: Store, report_id: int | None = None, limit: int = 200) -> list[QueueEntry]:
    """The sentences whose two answers differ and nobody has adjudicated, in report order (at most ``limit``)."""
    pairs = _pairs(store, report_id)
    decided = store.adjudications(list(pairs))
    pending = [sid for sid, (a, b) in pairs.items() if a.labels != b.labels and sid not in decided]
    sentences = sorted(store.annotation_sentences_by_id(pending), key=lambda s: (s.report_id, s.position))[:limit]
    titles = store.annotation_report_titles()
    return [QueueEntry(s, titles.get(s.report_id, ""), *pairs[s.id]) for s in sentences]


def adjudicate(store: Store, user: str, sentence_id: int, choice: str, labels: Iterable[str] = (),
               catalog: Catalog | None = None) -> Sentence:
    """Decide a sentence: take the first or second answer, or (``edited``) ``labels``; the decision, both originals
    and the label change are kept in the history."""
    if choice not in CHOICES:
        raise DoubleAnnotationError(f"Adjudication of sentence {sentence_id}: choose {', '.join(CHOICES)}, "
                                    f"not {choice!r}")
    pair = _pairs(store, None).get(sentence_id)
    if pair is None:
        store.get_sentence(sentence_id)  # NotFoundError for a sentence that does not exist
        raise DoubleAnnotationError(f"Sentence {sentence_id} has no two independent answers to adjudicate")
    if choice == "edited":
        final = sorted(parse_technique_list(labels, catalog, f"sentence {sentence_id}")) if catalog is not None \
            else sorted(set(labels))
    else:
        final = list(pair[0 if choice == "first" else 1].labels)
    return store.adjudicate(sentence_id, user, final, choice)


def agreement_items(store: Store, report_id: int | None = None) -> list[Item]:
    """Every sentence two annotators answered independently, as agreement items (the second answer's time)."""
    out = []
    for sid, (first, second) in sorted(_pairs(store, report_id).items()):
        out.append(Item(sid, first.report_id, ((first.user, frozenset(first.labels)),
                                               (second.user, frozenset(second.labels))), second.answered_at))
    return out

