"""Annotate page, what the analyst does: the cursor (where the analyst is: report, sentence, model, the way back,
notes) and every move and answer that changes it. The page reaches these through services.annotate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from tram_core.services.common import Context, ModelChoices, check_user, error_line
from tram_core.store import Sentence
from tram_core.views import annotation as ann
from tram_core.views import annotation_panel as panel
from tram_core.views import suggestion_review as review
from tram_core.views.annotation import ORDER_REPORT, STATUS_ALL, DrawnState, SentenceFilter
from tram_core.views.model_choice import model_or_promoted

SAVE_LABELS, SAVE_NONE, SAVE_REVIEWED = "labels", "none", "reviewed"  # the three ways to answer a sentence


@dataclass(frozen=True)
class Filters:
    """Which sentences of the report the analyst steps through, and in which order."""

    status: str = STATUS_ALL
    has_suggestions: bool = False
    technique: str | None = None
    search: str = ""
    order: str = ORDER_REPORT

    @property
    def sentence_filter(self) -> SentenceFilter:
        return SentenceFilter(status=self.status or STATUS_ALL, has_suggestions=bool(self.has_suggestions),
                              technique=self.technique or None, search=self.search or "")

    @property
    def narrowed(self) -> bool:
        """A technique or text narrows the sentences (the filter bar opens to show it)."""
        return bool(self.technique or self.search)


DEFAULT_FILTERS = Filters()


@dataclass(frozen=True)
class Note:
    """A message for the analyst: kind is success, info, warning or error."""

    kind: str
    text: str


@dataclass(frozen=True)
class Conflict:
    """A save refused because someone else saved first: my answer (and how I answered), and theirs."""

    mine: tuple[str, ...]
    kind: str
    theirs: Sentence

    @property
    def line(self) -> str:
        return panel.conflict_line(self.theirs, self.mine)


@dataclass
class Cursor:
    """Where one analyst is on the Annotate page, kept between runs: the report, sentence and model, the way back,
    what the page read last, the sentence as it was opened, a refused save, and the notes still to show."""

    report_id: int | None = None
    sentence_id: int | None = None
    model_id: int | None = None
    history: list[int] = field(default_factory=list)
    drawn: DrawnState | None = None
    opened: Sentence | None = None
    conflict: Conflict | None = None
    notes: list[Note] = field(default_factory=list)

    def take_notes(self) -> list[Note]:
        """The notes to show now (each shown once)."""
        notes, self.notes = self.notes, []
        return notes

    def tell(self, kind: str, text: str) -> None:
        self.notes = [n for n in self.notes if n.kind == "error"] + [Note(kind, text)]


# --------------------------------------------------------------------------------------------------- where to be


def go_to(cursor: Cursor, sentence_id: int | None, remember: bool = True) -> None:
    """Open ``sentence_id`` (remembering where the analyst was, for Previous); None: say nothing more matches."""
    if sentence_id is None:
        last = cursor.notes[-1].text if cursor.notes and cursor.notes[-1].kind != "error" else ""
        cursor.tell("info", f"{last} No more sentences match the filters after this one.".strip())
        return
    here = cursor.sentence_id
    if remember and here is not None and here != sentence_id:
        cursor.history.append(here)
    cursor.sentence_id = sentence_id
    cursor.conflict = None


def restart(cursor: Cursor) -> None:
    """New filters or order: start again at the first sentence they select."""
    cursor.sentence_id = None
    cursor.history = []


def open_report(cursor: Cursor, report_id: int) -> None:
    """The analyst picked another report: its first matching sentence opens."""
    cursor.report_id = report_id
    restart(cursor)


def choose_model(cursor: Cursor, model_id: int | None) -> None:
    cursor.model_id = model_id


def open_at(cursor: Cursor, report_id: int, sentence_id: int | None = None, model_id: int | None = None) -> None:
    """Another page sends the analyst to a report (at one sentence, with one model's suggestions)."""
    cursor.report_id = report_id
    cursor.sentence_id = sentence_id
    cursor.history = []
    if model_id is not None:
        cursor.model_id = model_id


def follow_link(ctx: Context, cursor: Cursor, report: int | None, sentence: int | None,
                titles: Iterable[int]) -> list[str]:
    """Open what ``?report=R&sentence=S`` asks for; the warnings about what the link named that is not there."""
    target = ann.link_target(ctx.store, report, sentence, titles)
    if target.report_id is not None:
        cursor.report_id = target.report_id
    if target.sentence_id is not None:
        cursor.sentence_id = target.sentence_id
    elif target.clear_sentence:
        cursor.sentence_id = None
    return list(target.warnings)


def settle(cursor: Cursor, titles: dict[int, str], models: ModelChoices) -> None:
    """Keep the cursor on a report and model that exist: the first report, the default model otherwise."""
    if cursor.report_id not in titles:
        cursor.report_id = next(iter(titles), None)
        cursor.sentence_id = None
    if cursor.model_id not in models.ids:
        cursor.model_id = models.default


# --------------------------------------------------------------------------------------------------- answers


def _next(cursor: Cursor, filters: Filters, saved: Sentence | None = None) -> int | None:
    """The next matching sentence after the open one, in the queue the page drew (a just-saved one in place)."""
    queue = cursor.drawn.queue
    if saved is not None:
        queue = queue.with_sentence(saved)
    return queue.next_after(cursor.sentence_id, filters.sentence_filter, filters.order)


def _saved(ctx: Context, cursor: Cursor, saved: Sentence) -> None:
    """Remember the analyst's own save, so the next run need not read the report again."""
    cursor.opened = saved
    if cursor.drawn is not None:
        cursor.drawn = ann.after_own_save(ctx.store, cursor.drawn, saved)


def _store_answer(ctx: Context, user: str, opened: Sentence, techniques: Sequence[str], kind: str):
    return panel.save_answer(ctx.store, opened, techniques, user, catalog=ctx.catalog,
                             no_technique=kind == SAVE_NONE, reviewed=kind == SAVE_REVIEWED)


def _review_suggestions(ctx: Context, user: str, cursor: Cursor, decisions) -> None:
    """Keep what the answer did with the model's suggestions (accepted, rejected, added); the answer itself is
    saved already, so a failure here is a warning, never 'not saved'."""
    try:
        review.record(ctx.store, user, decisions)
    except Exception as exc:  # noqa: BLE001 - shown as one line
        cursor.notes.append(Note("warning", error_line(exc, "Saved, but the review of the suggestions was not kept")))


def _answer_review(ctx: Context, user: str, cursor: Cursor, sentence_id: int, chosen: Sequence[str],
                   kind: str) -> None:
    kept = [] if kind == SAVE_NONE else chosen
    _review_suggestions(ctx, user, cursor, review.answer_decisions(
        cursor.drawn.queue if cursor.drawn is not None else None, sentence_id, kept))


def save(ctx: Context, user: str, cursor: Cursor, techniques: Sequence[str], kind: str, filters: Filters) -> None:
    """Save the answer on screen (``kind``: labels, no technique, reviewed), then move to the next matching
    sentence. A change by someone else since the sentence opened is kept as a conflict, never overwritten."""
    chosen = sorted(set(techniques))
    try:
        user = check_user(user, "label sentences")
        result = _store_answer(ctx, user, cursor.opened, chosen, kind)
    except Exception as exc:  # noqa: BLE001 - shown to the user as one line
        cursor.notes.append(Note("error", error_line(exc, "Not saved")))
        return
    if result.conflict is not None:
        cursor.conflict = Conflict(tuple(chosen), kind, result.conflict)
        return
    cursor.tell("success" if result.saved else "info", result.message)
    if result.sentence is not None:
        if result.saved:
            _answer_review(ctx, user, cursor, result.sentence.id, chosen, kind)
            _saved(ctx, cursor, result.sentence)
        else:
            cursor.opened = result.sentence
    go_to(cursor, _next(cursor, filters, result.sentence))


def resolve_conflict(ctx: Context, user: str, cursor: Cursor, take_theirs: bool, filters: Filters) -> None:
    """After a refused save: keep their answer, or save mine over it (and move on)."""
    conflict, cursor.conflict = cursor.conflict, None
    if conflict is None:
        return
    theirs = conflict.theirs
    if take_theirs:
        cursor.opened = theirs
        cursor.tell("info", f"Kept {theirs.updated_by or 'their'} answer for sentence {theirs.id}.")
        return  # the page reopens the sentence at their version
    try:
        user = check_user(user, "label sentences")
        result = _store_answer(ctx, user, theirs, conflict.mine, conflict.kind)
    except Exception as exc:  # noqa: BLE001
        cursor.notes.append(Note("error", error_line(exc, "Not saved")))
        return
    if result.conflict is not None:
        cursor.conflict = Conflict(conflict.mine, conflict.kind, result.conflict)
        return
    cursor.tell("success", result.message)
    if result.sentence is not None:
        _answer_review(ctx, user, cursor, result.sentence.id, list(conflict.mine), conflict.kind)
        _saved(ctx, cursor, result.sentence)
    go_to(cursor, _next(cursor, filters, result.sentence))


def skip(cursor: Cursor, filters: Filters) -> None:
    """The next matching sentence, without saving."""
    cursor.notes = [n for n in cursor.notes if n.kind == "error"]
    go_to(cursor, _next(cursor, filters))


def previous(cursor: Cursor, filters: Filters) -> None:
    """Back to the sentence the analyst came from, else the matching sentence before this one."""
    queue = cursor.drawn.queue
    while cursor.history:
        candidate = cursor.history.pop()
        if candidate in queue:
            go_to(cursor, candidate, remember=False)
            return
    before = queue.previous_before(cursor.sentence_id, filters.sentence_filter, filters.order)
    if before is None:
        cursor.tell("info", "This is the first matching sentence.")
    else:
        go_to(cursor, before, remember=False)


def undo(ctx: Context, user: str, cursor: Cursor) -> None:
    """Undo the user's last label change, and open the sentence it restored (in its own report)."""
    try:
        user = check_user(user, "undo")
        restored = panel.undo_last(ctx.store, user)
    except Exception as exc:  # noqa: BLE001
        cursor.notes.append(Note("error", error_line(exc, "Not undone")))
        return
    if restored is None:
        cursor.tell("info", f"Nothing to undo for {user}.")
        return
    cursor.tell("success", f"Undid your last change on sentence {restored.id}.")
    cursor.report_id = restored.report_id
    cursor.opened = restored
    go_to(cursor, restored.id)


# --------------------------------------------------------------------------------------------------- one technique


def with_technique(chosen: Iterable[str], technique: str) -> list[str]:
    """The picked techniques with one more."""
    return sorted(set(chosen) | {technique})


def decide(ctx: Context, user: str, cursor: Cursor, sentence: Sentence, technique: str, accept: bool) -> None:
    """Accept or reject one technique on one sentence (its other labels kept)."""
    try:
        user = check_user(user, "label sentences")
        result = panel.apply_technique_decision(ctx.store, sentence, technique, accept, user)
    except Exception as exc:  # noqa: BLE001
        cursor.notes.append(Note("error", error_line(exc, "Not saved")))
        return
    if result.conflict is not None:
        cursor.tell("warning", f"{result.message}. Their answer: {', '.join(result.conflict.labels) or 'no technique'}."
                               " Look again below.")
        return
    cursor.tell("success", result.message)
    if result.saved:
        try:
            decisions = review.technique_decision(ctx.store, model_or_promoted(ctx.store, cursor.model_id),
                                                  sentence.id, technique.strip().upper(), accept)
        except Exception as exc:  # noqa: BLE001 - the model went meanwhile: nothing to review against
            decisions = []
            cursor.notes.append(Note("warning", error_line(exc, "Saved, but its review of the suggestion is lost")))
        _review_suggestions(ctx, user, cursor, decisions)


def open_sentence(cursor: Cursor, sentence: Sentence) -> None:
    """From the technique view to the sentence in its report."""
    cursor.report_id = sentence.report_id
    go_to(cursor, sentence.id)
