"""Annotation view rules: which sentences of a report a filter keeps, in which order, with which suggestions, where
a link or a step leads, and how far the analysts are. Saving answers and the panel's words: annotation_panel."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Sequence

from tram_core.errors import UserError
from tram_core.views import annotation_blocks as marked_blocks
from tram_core.views import double_annotation as dbl
from tram_core.views.model_choice import model_or_promoted

# The sentence statuses and Sentence serve the services as ann.*: pages never import the store module.
from tram_core.store import (
    LABELLED,
    REVIEWED,
    UNLABELLED,
    NotFoundError,
    Sentence,
    Store,
    TrainedModel,
)
from tram_core.ml.thresholds import Thresholds, model_thresholds

ORDER_REPORT = "report"
ORDER_UNCERTAIN = "uncertain"
ORDERS = (ORDER_REPORT, ORDER_UNCERTAIN)

STATUS_ALL = "all"
MODE_SENTENCES = "Sentences"  # the Annotate page's two views
MODE_TECHNIQUE = "By technique"
STATUS_FILTERS = (STATUS_ALL, UNLABELLED, LABELLED, REVIEWED)

TOP_SUGGESTIONS = 5
CONTEXT_BEFORE = 2
CONTEXT_AFTER = 2


class AnnotationError(UserError):
    """A request the annotation rules refuse (an unknown filter, a report without sentences)."""


# --------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SentenceFilter:
    """Which sentences of a report the analyst steps through.

    ``status`` is one of STATUS_FILTERS; ``technique`` keeps sentences labelled with it or suggested with it;
    ``search`` keeps sentences containing every word (case-insensitive). A marked block (code, a rule, an indicator
    list) nobody answered matches no filter: the steps pass it by (it is opened on purpose to label it).
    """

    status: str = STATUS_ALL
    has_suggestions: bool = False
    technique: str | None = None
    search: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUS_FILTERS:
            raise AnnotationError(f"Unknown status filter '{self.status}'; use one of {', '.join(STATUS_FILTERS)}")

    def matches(self, sentence: Sentence, suggested: Sequence[tuple[str, float]] = ()) -> bool:
        if marked_blocks.waiting(sentence):
            return False
        if self.status != STATUS_ALL and sentence.status != self.status:
            return False
        if self.has_suggestions and not suggested:
            return False
        if self.technique:
            tech = self.technique.strip().upper()
            if tech not in sentence.labels and all(t != tech for t, _ in suggested):
                return False
        if self.search.strip():
            text = sentence.text.lower()
            if not all(word in text for word in self.search.lower().split()):
                return False
        return True


@dataclass(frozen=True)
class Suggestion:
    """One technique a model suggests for a sentence, with its score and the model's threshold for it."""

    technique: str
    score: float
    threshold: float
    rank: int

    @property
    def above_threshold(self) -> bool:
        return self.score > self.threshold  # strictly above, as the metrics and the seed notebook decide


@dataclass(frozen=True)
class Progress:
    """How far the analysts are: answered = labelled (incl. 'no technique') + reviewed."""

    total: int
    unlabelled: int
    labelled: int
    reviewed: int

    @property
    def answered(self) -> int:
        return self.labelled + self.reviewed

    @property
    def fraction(self) -> float:
        return self.answered / self.total if self.total else 0.0

    @property
    def text(self) -> str:
        return (f"{self.answered:,} of {self.total:,} sentences answered ({self.fraction:.0%}); "
                f"{self.reviewed:,} reviewed")


def progress_after(progress: Progress, before: str, after: str, marked: bool = False) -> Progress:
    """``progress`` once one sentence moved from status ``before`` to ``after`` (no query needed). A ``marked``
    block counts only once answered: answering it adds it to the total, taking its answer back removes it."""
    counts = {UNLABELLED: progress.unlabelled, LABELLED: progress.labelled, REVIEWED: progress.reviewed}
    total = progress.total
    if marked and before == UNLABELLED:
        total += 1
    else:
        counts[before] -= 1
    if marked and after == UNLABELLED:
        total -= 1
    else:
        counts[after] += 1
    return Progress(total, counts[UNLABELLED], counts[LABELLED], counts[REVIEWED])


def model_threshold(model: TrainedModel | None, technique: str) -> float:
    """The score above which ``model`` predicts ``technique`` (Thresholds.for_technique); 0.5 without a model."""
    return model_thresholds(model).for_technique(technique)


def rank_suggestions(scores: Sequence[tuple[str, float]], thresholds: Thresholds,
                     top: int = TOP_SUGGESTIONS) -> list[Suggestion]:
    """The ``top`` best-scoring techniques, best first, each with its threshold in the model's ``thresholds``."""
    ordered = sorted(scores, key=lambda pair: (-pair[1], pair[0]))[:top]
    return [Suggestion(tech, float(score), thresholds.for_technique(tech), i + 1) for i, (tech, score) in
            enumerate(ordered)]


def initial_choice(sentence: Sentence, suggestions: Sequence[Suggestion]) -> set[str]:
    """The techniques ticked when a sentence opens: its answer if it has one, else the suggestions at/above threshold."""
    if sentence.status != UNLABELLED:
        return set(sentence.labels)
    return {s.technique for s in suggestions if s.above_threshold}


def uncertainty(scores: Sequence[tuple[str, float]], thresholds: Thresholds) -> float:
    """How close the model came to changing its mind on a sentence: the smallest |score - threshold|.

    A sentence without any suggestion counts as certain (1.0): the model saw nothing near its threshold.
    """
    if not scores:
        return 1.0
    return min(abs(score - thresholds.for_technique(tech)) for tech, score in scores)


# --------------------------------------------------------------------------------------------------- one report


@dataclass
class ReportQueue:
    """One report's sentences with the chosen model's suggestions: navigation, context and progress.

    Built once per page run from two narrow queries (this report's sentences, their suggestions).
    """

    report_id: int
    sentences: list[Sentence]  # as the viewer may see them (double annotation: never another's answer too early)
    scores: dict[int, list[tuple[str, float]]]
    model: TrainedModel | None = None
    double: dict[int, dbl.DoubleState] = field(default_factory=dict)  # the double-annotated sentences' states
    viewer: str = ""
    blocks: dict[int, marked_blocks.BlockView] = field(default_factory=dict)  # the marked sentences, as drawn folded
    _index: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {s.id: i for i, s in enumerate(self.sentences)}

    @cached_property
    def thresholds(self) -> Thresholds:
        """The model's thresholds, read once per queue: every suggestion and the uncertain order look them up."""
        return model_thresholds(self.model)

    def __contains__(self, sentence_id: object) -> bool:
        return sentence_id in self._index

    def get(self, sentence_id: int) -> Sentence:
        try:
            return self.sentences[self._index[sentence_id]]
        except KeyError:
            raise NotFoundError(f"Sentence {sentence_id} is not in report {self.report_id}") from None

    def with_sentence(self, sentence: Sentence) -> "ReportQueue":
        """This queue with ``sentence`` (a newer version of one of its sentences) in place of the old one."""
        if sentence.id not in self._index:
            return self
        sentences = list(self.sentences)
        sentences[self._index[sentence.id]] = sentence
        return ReportQueue(self.report_id, sentences, self.scores, self.model, self.double, self.viewer,
                           self._blocks_with(sentence))

    def _blocks_with(self, sentence: Sentence) -> dict:
        """The block views once ``sentence`` was answered or taken back (a block's note says whether it counts)."""
        if sentence.id not in self.blocks:
            return self.blocks
        return {**self.blocks, sentence.id: marked_blocks.block_view(sentence, self.blocks[sentence.id].body)}

    def techniques(self, keep: str | None = None) -> list[str]:
        """Techniques labelled on, or suggested for, this report's sentences (plus ``keep``), sorted."""
        found = {t for s in self.sentences for t in s.labels}
        found.update(t for pairs in self.scores.values() for t, _ in pairs)
        if keep:
            found.add(keep)
        return sorted(found)

    def suggestions(self, sentence_id: int, top: int = TOP_SUGGESTIONS) -> list[Suggestion]:
        return rank_suggestions(self.scores.get(sentence_id, ()), self.thresholds, top)

    def ordering(self, order: str = ORDER_REPORT) -> list[int]:
        """Sentence ids in report order, or most uncertain first (ties in report order)."""
        if order == ORDER_REPORT:
            return [s.id for s in self.sentences]
        if order == ORDER_UNCERTAIN:
            ranked = sorted(self.sentences,
                            key=lambda s: (uncertainty(self.scores.get(s.id, ()), self.thresholds), s.position))
            return [s.id for s in ranked]
        raise AnnotationError(f"Unknown order '{order}'; use one of {', '.join(ORDERS)}")

    def matching(self, flt: SentenceFilter, order: str = ORDER_REPORT) -> list[int]:
        return [sid for sid in self.ordering(order) if flt.matches(self.get(sid), self.scores.get(sid, ()))]

    def first(self, flt: SentenceFilter, order: str = ORDER_REPORT) -> int | None:
        found = self.matching(flt, order)
        return found[0] if found else None

    def next_after(self, sentence_id: int | None, flt: SentenceFilter, order: str = ORDER_REPORT) -> int | None:
        """The first sentence after ``sentence_id`` in ``order`` that matches ``flt``; None at the end."""
        ids = self.ordering(order)
        start = ids.index(sentence_id) + 1 if sentence_id in self._index else 0
        for sid in ids[start:]:
            if flt.matches(self.get(sid), self.scores.get(sid, ())):
                return sid
        return None

    def previous_before(self, sentence_id: int, flt: SentenceFilter, order: str = ORDER_REPORT) -> int | None:
        """The last matching sentence before ``sentence_id`` in ``order``; None at the start."""
        ids = self.ordering(order)
        if sentence_id not in self._index:
            return None
        for sid in reversed(ids[: ids.index(sentence_id)]):
            if flt.matches(self.get(sid), self.scores.get(sid, ())):
                return sid
        return None

    def context(self, sentence_id: int, before: int = CONTEXT_BEFORE,
                after: int = CONTEXT_AFTER) -> tuple[list[Sentence], list[Sentence]]:
        """The sentences just before and after ``sentence_id`` in the report, whatever the filter."""
        i = self._index[sentence_id]
        return self.sentences[max(0, i - before) : i], self.sentences[i + 1 : i + 1 + after]

    def progress(self) -> Progress:
        """How far the report is; marked blocks nobody answered are not counted (nobody has to answer them)."""
        counts = {UNLABELLED: 0, LABELLED: 0, REVIEWED: 0}
        for s in self.sentences:
            if not marked_blocks.waiting(s):
                counts[s.status] = counts.get(s.status, 0) + 1
        return Progress(sum(counts.values()), counts[UNLABELLED], counts[LABELLED], counts[REVIEWED])


def load_queue(store: Store, report_id: int, model_id: int | None = None, viewer: str = "") -> ReportQueue:
    """A report's sentences as ``viewer`` may see them and the suggestions of ``model_id`` (the promoted model when
    None) for them."""
    sentences = store.annotation_report_sentences(report_id)
    if not sentences:
        store.get_report(report_id)  # raises NotFoundError for an unknown report
    sentences, double = dbl.mask_for_viewer(store, sentences, viewer)
    model = model_or_promoted(store, model_id)
    scores = store.suggestions_for([s.id for s in sentences], model.id) if model is not None and sentences else {}
    return ReportQueue(report_id, sentences, scores, model, double, viewer,
                       marked_blocks.block_views(store, report_id, sentences))


@dataclass(frozen=True)
class DrawnState:
    """What the Annotate page read on its last run, and the store's change marker when it read it."""

    marker: tuple
    queue: ReportQueue
    corpus: Progress


def change_marker(store: Store, viewer: str = "") -> tuple:
    """What changes whenever anything the page draws changes: labels, suggestions, reports, double-annotation shares
    and adjudications, and who looks (each sees double-annotated sentences their own way)."""
    return (*store.annotation_change_marker(), *store.team_labels_marker(), viewer)


def current_state(store: Store, drawn: DrawnState | None, report_id: int, model_id: int | None,
                  viewer: str = "") -> DrawnState:
    """The report's queue and the corpus progress: ``drawn`` again when nothing changed since (cheap queries),
    else read afresh. A change by anyone (a label, a suggestion, a report, a share) reads afresh."""
    marker = change_marker(store, viewer)
    if drawn is not None and drawn.marker == marker and drawn.queue.report_id == report_id and \
            (drawn.queue.model.id if drawn.queue.model is not None else None) == model_id:
        return drawn
    return DrawnState(marker, load_queue(store, report_id, model_id, viewer), corpus_progress(store))


def after_own_save(store: Store, drawn: DrawnState, saved: Sentence) -> DrawnState:
    """``drawn`` with the analyst's own save applied, so the next run need not read the report again."""
    if saved.id not in drawn.queue:
        return drawn
    before = drawn.queue.get(saved.id).status
    # A double-annotated sentence's state moved on with the save: the next run reads afresh (an empty marker).
    marker = () if saved.id in drawn.queue.double else change_marker(store, drawn.queue.viewer)
    return DrawnState(marker, drawn.queue.with_sentence(saved),
                      progress_after(drawn.corpus, before, saved.status, saved.marked))


@dataclass(frozen=True)
class LinkTarget:
    """Where an Annotate deep link leads: a report and a sentence to open (None: keep the current one)."""

    report_id: int | None
    sentence_id: int | None
    clear_sentence: bool  # open the report at its first matching sentence, not at the one open before
    warnings: tuple[str, ...] = ()


def link_target(store: Store, report: int | None, sentence: int | None, report_ids: Iterable[int]) -> LinkTarget:
    """What ``?report=R&sentence=S`` opens: a sentence opens in its own report (with a warning when the link named
    another one); a missing sentence or report is named in a warning and the link's usable part is kept."""
    known = set(report_ids)
    if sentence is not None:
        try:
            target = store.get_sentence(sentence)
        except NotFoundError:
            return LinkTarget(report if report in known else None, None, False,
                              (f"The link's sentence {sentence} does not exist.",))
        warnings = ()
        if report is not None and target.report_id != report:
            warnings = (f"Sentence {sentence} belongs to report {target.report_id}, not {report}; opened it in "
                        f"report {target.report_id}.",)
        return LinkTarget(target.report_id, target.id, False, warnings)
    if report is None:
        return LinkTarget(None, None, False)
    if report in known:
        return LinkTarget(report, None, True)
    return LinkTarget(None, None, False, (f"The link's report {report} does not exist; showing another report.",))


def resolve_start(queue: ReportQueue, requested: int | None, flt: SentenceFilter,
                  order: str = ORDER_REPORT) -> tuple[int | None, str]:
    """The sentence to open: the requested one when it is in the report, else the first matching one not yet
    answered (so reopening a report continues where the work stopped), else the first matching one.

    Returns (sentence id or None, a message for the analyst or "").
    """
    if requested is not None:
        if requested in queue:
            return requested, ""
        fallback = queue.first(flt, order) or (queue.sentences[0].id if queue.sentences else None)
        return fallback, f"Sentence {requested} is not in report {queue.report_id}; opened the first one instead."
    matching = queue.matching(flt, order)
    if not matching:
        if not queue.sentences:
            return None, "This report has no sentences."
        return queue.sentences[0].id, "No sentence matches the filters; showing the first sentence."
    unanswered = next((sid for sid in matching if queue.get(sid).status == UNLABELLED), None)
    if unanswered is None or unanswered == matching[0]:
        return matching[0], ""
    answered = matching.index(unanswered)
    return unanswered, (f"Opened at the first sentence not yet answered; the {answered:,} before it "
                        f"{'is' if answered == 1 else 'are'} answered (Previous goes back).")


# --------------------------------------------------------------------------------------------------- corpus


def corpus_progress(store: Store) -> Progress:
    """How far the whole corpus is; marked blocks nobody answered are not counted (see ReportQueue.progress)."""
    counts = store.annotation_status_counts()
    waiting = store.annotation_marked_unlabelled()
    return Progress(sum(counts.values()) - waiting, counts.get(UNLABELLED, 0) - waiting, counts.get(LABELLED, 0),
                    counts.get(REVIEWED, 0))
