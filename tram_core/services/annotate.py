"""Annotate page: a report sentence by sentence (suggestions, answers, undo), or one technique across reports.

The page's one service module: what the page reads is worked out here; what the analyst does (the cursor, moves
and answers) lives in annotate_actions and is imported here, so the page imports this module alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from tram_core.services.annotate_actions import (
    DEFAULT_FILTERS, SAVE_LABELS, SAVE_NONE, SAVE_REVIEWED, Conflict, Cursor, Filters, Note, choose_model, decide,
    follow_link, go_to, open_at, open_report, open_sentence, previous, resolve_conflict, restart, save, settle, skip,
    undo, with_technique,
)
from tram_core.services.common import Context, ModelChoices, clean_user, model_choices
from tram_core.store import LABELLED, REVIEWED, UNLABELLED, Sentence
from tram_core.views import annotation as ann
from tram_core.views import annotation_panel as panel
from tram_core.views import double_annotation as dbl
from tram_core.views.annotation_blocks import BlockView
from tram_core.views.annotation import (
    MODE_SENTENCES,
    MODE_TECHNIQUE,
    ORDER_REPORT,
    ORDER_UNCERTAIN,
    STATUS_ALL,
    DrawnState,
    Progress,
)

# The page's whole vocabulary: what this module works out, and the actions and records it takes from
# annotate_actions.
__all__ = [
    "BlockView", "DEFAULT_FILTERS", "LONG", "MODES", "MODE_SENTENCES", "MODE_TECHNIQUE", "ORDER_NAMES",
    "ORDER_REPORT",
    "ORDER_UNCERTAIN", "SAVE_LABELS", "SAVE_NONE", "SAVE_REVIEWED", "SHORT", "STATUS_ALL", "STATUS_NAMES",
    "TECHNIQUE_VIEW_LIMIT", "Conflict", "Cursor", "Filters", "Note", "SentencePanel", "SuggestionRow",
    "TechniqueChoices", "TechniqueRow", "TechniqueView", "choose_model", "decide", "description", "filter_techniques",
    "follow_link", "open_at", "open_block", "open_report", "open_sentence", "picker_choices", "previous", "read",
    "report_label",
    "report_titles", "resolve_conflict", "restart", "save", "sentence_panel", "settle", "skip", "suggestion_models",
    "technique_choices", "technique_view", "techniques_to_add", "undo", "with_technique",
]

MODES = (MODE_SENTENCES, MODE_TECHNIQUE)
STATUS_NAMES = {STATUS_ALL: "All", UNLABELLED: "Unlabelled", LABELLED: "Labelled", REVIEWED: "Reviewed"}
ORDER_NAMES = {ORDER_REPORT: "Report order", ORDER_UNCERTAIN: "Uncertain first"}
TECHNIQUE_VIEW_LIMIT = 100
SHORT = 220  # characters of a technique's description under a suggestion or pick
LONG = 600  # ... in a tooltip or above the technique view


# --------------------------------------------------------------------------------------------------- where to be


def report_titles(ctx: Context) -> dict[int, str]:
    """Every report as ``{id: title}``, in the order the picker lists them."""
    return ctx.store.annotation_report_titles()


def report_label(titles: dict[int, str], report_id: int) -> str:
    return f"#{report_id} {titles.get(report_id, '')}"


def suggestion_models(ctx: Context) -> ModelChoices:
    """The models whose suggestions can be shown (the promoted one first)."""
    return model_choices(ctx.store.list_models())


def read(ctx: Context, cursor: Cursor, user: str = "") -> DrawnState:
    """The report's sentences, suggestions and progress as ``user`` may see them (on a double-annotated sentence,
    only their own answer until both answered): what the page read last when nothing changed since.

    Raises a UserError when the report or model is gone.
    """
    cursor.drawn = ann.current_state(ctx.store, cursor.drawn, cursor.report_id, cursor.model_id, clean_user(user))
    return cursor.drawn


def filter_techniques(cursor: Cursor, keep: str | None = None) -> list[str]:
    """The technique filter's choices: techniques labelled on or suggested for the report (plus ``keep``)."""
    return cursor.drawn.queue.techniques(keep=keep) if cursor.drawn is not None else ([keep] if keep else [])


# --------------------------------------------------------------------------------------------------- one sentence


@dataclass(frozen=True)
class SuggestionRow:
    """One suggestion as drawn: its key (rank 1-5), checkbox text, tooltip and caption, ticked when it opens."""

    technique: str
    rank: int
    text: str
    help: str
    caption: str
    ticked: bool


@dataclass(frozen=True)
class SentencePanel:
    """The sentence panel, ready to draw; ``sentence`` is None when the report has no sentence to show."""

    report_id: int
    report_progress: Progress
    corpus_progress: Progress
    sentence: Sentence | None = None
    start_note: str = ""  # why another sentence than the requested one opened
    changed_note: str = ""  # someone saved the sentence since it was opened
    position: str = ""
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    answer: str = ""
    suggestions: tuple[SuggestionRow, ...] = ()
    no_suggestions: str = ""
    extra: tuple[str, ...] = ()  # the techniques chosen beyond the suggestions when it opens
    conflict: Conflict | None = None
    double_note: str = ""  # double annotation: whose answers are hidden, or both answers once both answered
    block: BlockView | None = None  # the sentence is a marked block (code, a rule, an indicator list): drawn folded
    before_blocks: tuple[BlockView | None, ...] = ()  # per sentence of ``before``: its block view, if it is one
    after_blocks: tuple[BlockView | None, ...] = ()

    @property
    def context_before(self) -> list[tuple[str, BlockView | None]]:
        """The sentences before this one, each with its block view when it is a marked block (else None)."""
        return list(zip(self.before, self.before_blocks or (None,) * len(self.before)))

    @property
    def context_after(self) -> list[tuple[str, BlockView | None]]:
        return list(zip(self.after, self.after_blocks or (None,) * len(self.after)))

    @property
    def ticks_for(self) -> tuple:
        """What the suggestion ticks are set up for: this sentence version with these suggestions."""
        s = self.sentence
        return (s.id, s.version, tuple(r.technique for r in self.suggestions)) if s else ()

    @property
    def extra_for(self) -> tuple:
        return (self.sentence.id, self.sentence.version) if self.sentence else ()

    def chosen(self, ticked_ranks: Iterable[int], extra: Iterable[str]) -> list[str]:
        """The techniques to save: the ticked suggestions and the other techniques picked."""
        ranks = set(ticked_ranks)
        return sorted({r.technique for r in self.suggestions if r.rank in ranks} | set(extra))


def _suggestion_rows(ctx: Context, suggestions: Sequence[ann.Suggestion], choice: set[str]) -> tuple:
    rows = []
    for s in suggestions:
        mark = ">" if s.above_threshold else "≤"
        text = f"{panel.technique_label(ctx.catalog, s.technique)} — score {s.score:.2f} {mark} {s.threshold:.2f}"
        rows.append(SuggestionRow(s.technique, s.rank, text, ctx.catalog.summary(s.technique, LONG),
                                  ctx.catalog.summary(s.technique, SHORT), s.technique in choice))
    return tuple(rows)


def sentence_panel(ctx: Context, cursor: Cursor, filters: Filters) -> SentencePanel:
    """Open the cursor's sentence (or the first matching one) and describe it: call ``read`` first."""
    queue, corpus = cursor.drawn.queue, cursor.drawn.corpus
    flt = filters.sentence_filter
    sentence_id, start_note = ann.resolve_start(queue, cursor.sentence_id, flt, filters.order)
    if sentence_id is None:
        return SentencePanel(queue.report_id, queue.progress(), corpus, start_note=start_note)
    cursor.sentence_id = sentence_id
    now = queue.get(sentence_id)
    opened = cursor.opened if cursor.opened is not None and cursor.opened.id == sentence_id else now
    double = queue.double.get(sentence_id)
    changed = ""
    if double is not None and double.takes_answers:
        opened = now  # the viewer's own answer: nobody else changes it, and another's save must not show
    elif opened.version != now.version and cursor.conflict is None:
        changed, opened = panel.changed_since_opened_line(now), now
    cursor.opened = opened
    suggestions = queue.suggestions(sentence_id)
    choice = ann.initial_choice(opened, suggestions)
    before, after = queue.context(sentence_id)
    rows = _suggestion_rows(ctx, suggestions, choice)
    no_suggestions = ("The model suggests nothing for this sentence." if queue.model is not None else
                      "No model suggestions: run a trained model over this report on the Reports page.")
    return SentencePanel(
        queue.report_id, queue.progress(), corpus, opened, start_note, changed,
        panel.position_line(queue, opened, queue.matching(flt, filters.order)),
        tuple(s.text for s in before), tuple(s.text for s in after), panel.answer_line(opened), rows,
        "" if rows else no_suggestions, tuple(sorted(t for t in choice if t not in {r.technique for r in rows})),
        cursor.conflict, dbl.note(double, queue.viewer), queue.blocks.get(opened.id),
        tuple(queue.blocks.get(s.id) for s in before), tuple(queue.blocks.get(s.id) for s in after))


def open_block(cursor: Cursor, sentence_id: int) -> None:
    """Open a marked block shown folded beside the sentence (the steps pass it by), to label it."""
    go_to(cursor, sentence_id)


# --------------------------------------------------------------------------------------------------- pickers


@dataclass(frozen=True)
class TechniqueRow:
    """A technique offered to add: its ID, its label and the start of its description."""

    id: str
    label: str
    description: str


def description(ctx: Context, technique: str, limit: int = SHORT) -> str:
    return ctx.catalog.summary(technique, limit)


def picker_choices(ctx: Context, keep: Iterable[str] = ()) -> list[str]:
    """Every current technique for the 'browse all' picker, plus the sentence's own (e.g. revoked) ones."""
    return panel.technique_choices(ctx.catalog, keep=keep)


def techniques_to_add(ctx: Context, query: str, chosen: Iterable[str]) -> list[TechniqueRow]:
    """The search under 'Add a technique': ID, name or words of the description; none for a blank query."""
    return [TechniqueRow(t.id, panel.technique_label(ctx.catalog, t.id), description(ctx, t.id))
            for t in panel.techniques_to_add(ctx.catalog, query, chosen)]


# --------------------------------------------------------------------------------------------------- one technique


@dataclass(frozen=True)
class TechniqueChoices:
    """The technique view's picker: the labelled techniques (most used first), then the rest of the catalog."""

    ids: tuple[str, ...]
    counts: dict[str, int]
    labels: dict[str, str]

    def label(self, technique: str) -> str:
        return f"{self.labels.get(technique, technique)} — {self.counts.get(technique, 0)} labelled"


def technique_choices(ctx: Context, labels: dict[str, str]) -> TechniqueChoices:
    counts = ctx.store.technique_counts()
    return TechniqueChoices(tuple(panel.technique_view_choices(ctx.catalog, counts)), counts, labels)


@dataclass(frozen=True)
class TechniqueView:
    """Every sentence labelled with or suggested with one technique, across reports (each an
    annotation_panel.TechniqueHit: its text, facts line, and whether Accept and Reject apply)."""

    technique: str
    description: str
    hits: tuple[panel.TechniqueHit, ...]

    @property
    def count(self) -> str:
        return f"{len(self.hits)} sentence(s)" + (" (the first 100)" if len(self.hits) >= TECHNIQUE_VIEW_LIMIT else "")

    @property
    def empty(self) -> str:
        if self.hits:
            return ""
        return f"No sentence is labelled with {self.technique}, and the chosen model suggests it nowhere."


def technique_view(ctx: Context, technique: str, model_id: int | None, user: str = "") -> TechniqueView:
    """The technique across reports, as ``user`` may see each sentence (double annotation hides others' answers)."""
    hits = panel.technique_hits(ctx.store, technique, model_id, limit=TECHNIQUE_VIEW_LIMIT, viewer=clean_user(user))
    return TechniqueView(technique, description(ctx, technique, LONG), tuple(hits))


