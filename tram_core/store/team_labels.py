"""Double annotation and adjudication: the shares in force, each annotator's independent answer, and the decisions
on answers that differ, each write one transaction that keeps the sentence's labels and history in step.

The rule for a double-annotated sentence: the first independent answer is the sentence's label (what training reads)
until a reviewer adjudicates; the second is stored apart and never overwrites it; an adjudication writes the final
answer (marked reviewed) and keeps both originals. Every change is a row of ``label_events``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tram_core.store.base import StoreBase
from tram_core.store.labels import _lock_sentence, _write_labels
from tram_core.store.records import NotFoundError, Sentence, StoreError
from tram_core.store.schema import (
    REVIEWED,
    SENTENCE_STATUSES,
    UNLABELLED,
    AdjudicationRow,
    DoubleAnnotationShareRow,
    IndependentAnswerRow,
    LabelEventRow,
    ReportRow,
    SentenceRow,
    utcnow,
)
from tram_core.store.sentences import labels_for, sentence_record

FIRST_ANSWER, SECOND_ANSWER, ADJUDICATE = "first-answer", "second-answer", "adjudicate"  # label_events actions
ANSWER_ACTIONS = ("label", FIRST_ANSWER, SECOND_ANSWER)  # what counts as answering a sentence
CHOICES = ("first", "second", "edited")  # how an adjudication was decided


def selected_for_double(sentence_id: int, percent: float) -> bool:
    """Whether a sentence is among the ``percent`` % two annotators label: a hash of its id against the share, so
    the choice never changes between runs, and raising the share only adds sentences."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"tram-double-annotation:{int(sentence_id)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64 < percent / 100


@dataclass(frozen=True)
class DoubleShare:
    """The share of a scope's sentences two annotators label (``report_id`` None: every report without its own)."""

    report_id: int | None
    percent: float
    annotators: tuple[str, ...]  # the named annotators; empty: anyone who may label
    set_by: str
    set_at: datetime


@dataclass(frozen=True)
class IndependentAnswer:
    """One annotator's own answer on a double-annotated sentence; ``implied``: the sentence's answer from before it was
    double-annotated, taken as its first independent answer."""

    sentence_id: int
    report_id: int
    user: str
    labels: tuple[str, ...]
    status: str
    revision: int
    answered_at: datetime | None
    changed_at: datetime | None
    implied: bool = False


@dataclass(frozen=True)
class Adjudication:
    """A reviewer's decision between two independent answers, with both originals."""

    sentence_id: int
    report_id: int
    decided_by: str
    decided_at: datetime
    choice: str
    final_labels: tuple[str, ...]
    first_user: str
    first_labels: tuple[str, ...]
    second_user: str
    second_labels: tuple[str, ...]


def _answer(row: IndependentAnswerRow) -> IndependentAnswer:
    return IndependentAnswer(row.sentence_id, row.report_id, row.user, tuple(sorted(row.labels or ())), row.status,
                             row.revision, row.answered_at, row.changed_at)


def _adjudication(row: AdjudicationRow) -> Adjudication:
    return Adjudication(row.sentence_id, row.report_id, row.decided_by, row.decided_at, row.choice,
                        tuple(row.final_labels or ()), row.first_user, tuple(row.first_labels or ()),
                        row.second_user, tuple(row.second_labels or ()))


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[list[int]]:
    ids = [int(i) for i in ids]
    for i in range(0, len(ids), size):
        yield ids[i: i + size]


def _answer_rows(s: Session, sentence_id: int) -> list[IndependentAnswerRow]:
    return list(s.scalars(select(IndependentAnswerRow).where(IndependentAnswerRow.sentence_id == sentence_id)
                          .order_by(IndependentAnswerRow.id)))


def _adopt_earlier_answer(s: Session, row: SentenceRow, labels: list[str], user: str) -> None:
    """A sentence answered before it was double-annotated: that answer (by someone else) becomes its first one."""
    if row.status == UNLABELLED or row.updated_by == user:
        return
    at = row.updated_at or utcnow()
    s.add(IndependentAnswerRow(sentence_id=row.id, report_id=row.report_id, user=row.updated_by or "unknown",
                               labels=labels, status=row.status, revision=1, answered_at=at, changed_at=at))
    s.flush()


def _answer_event(s: Session, row: SentenceRow, user: str, action: str, before: tuple[str, list[str]],
                  after: tuple[str, list[str]]) -> None:
    """A history row for an answer that leaves the sentence's labels alone: the person's own before and after."""
    s.add(LabelEventRow(sentence_id=row.id, report_id=row.report_id, user=user, at=utcnow(), action=action,
                        before_status=before[0], after_status=after[0], before_labels=before[1],
                        after_labels=after[1]))


def _follow_first_answer(s: Session, row: SentenceRow, user: str, action: str) -> None:
    """Make the sentence's labels those of its first independent answer (unanswered when none is left)."""
    answers = _answer_rows(s, row.id)
    current = sorted(labels_for(s, [row.id]).get(row.id, []))
    labels, status = (sorted(answers[0].labels), answers[0].status) if answers else ([], UNLABELLED)
    if (current, row.status) != (labels, status):
        _write_labels(s, row, current, labels, status, user, action)


class TeamLabelsMixin(StoreBase):
    """Double annotation and adjudication (tables ``double_annotation_shares``, ``independent_answers``,
    ``adjudications``)."""

    # ------------------------------------------------------------------------------------------------ shares

    def set_double_share(self, percent: float, user: str, report_id: int | None = None,
                         annotators: Sequence[str] = ()) -> DoubleShare:
        """Set the share of one report's sentences (or, with None, the corpus's) two annotators label."""
        if not 0 <= float(percent) <= 100:
            raise StoreError(f"The double-annotation share must be between 0 and 100 %, not {percent}")
        with self.session() as s:
            if report_id is not None and s.get(ReportRow, report_id) is None:
                raise NotFoundError(f"No report with id {report_id}")
            row = DoubleAnnotationShareRow(report_id=report_id, percent=float(percent), annotators=list(annotators),
                                           set_by=user, set_at=utcnow())
            s.add(row)
            s.flush()
            return DoubleShare(row.report_id, row.percent, tuple(row.annotators), row.set_by, row.set_at)

    def double_shares(self) -> dict[int | None, DoubleShare]:
        """The share in force per scope: ``{report_id: share}``, the corpus-wide one under None."""
        with self.session() as s:
            return {row.report_id: DoubleShare(row.report_id, row.percent, tuple(row.annotators or ()), row.set_by,
                                               row.set_at)
                    for row in s.scalars(select(DoubleAnnotationShareRow).order_by(DoubleAnnotationShareRow.id))}

    def double_share_history(self, limit: int = 50) -> list[DoubleShare]:
        """Every setting of a share, newest first."""
        with self.session() as s:
            return [DoubleShare(r.report_id, r.percent, tuple(r.annotators or ()), r.set_by, r.set_at)
                    for r in s.scalars(select(DoubleAnnotationShareRow)
                                       .order_by(DoubleAnnotationShareRow.id.desc()).limit(limit))]

    # ------------------------------------------------------------------------------------------------ answers

    def independent_answers(self, sentence_ids: Sequence[int]) -> dict[int, list[IndependentAnswer]]:
        """``{sentence_id: [answer, ...]}`` in the order they were given (sentences without one left out)."""
        out: dict[int, list[IndependentAnswer]] = {}
        with self.session() as s:
            for chunk in _chunks(sentence_ids):
                for row in s.scalars(select(IndependentAnswerRow).where(IndependentAnswerRow.sentence_id.in_(chunk))
                                     .order_by(IndependentAnswerRow.id)):
                    out.setdefault(row.sentence_id, []).append(_answer(row))
        return out

    def answered_sentence_ids(self, report_id: int | None = None) -> list[int]:
        """The sentences with at least one independent answer (in one report, or anywhere)."""
        query = select(IndependentAnswerRow.sentence_id).distinct()
        if report_id is not None:
            query = query.where(IndependentAnswerRow.report_id == report_id)
        with self.session() as s:
            return sorted(int(i) for i in s.scalars(query))

    def record_independent_answer(self, sentence_id: int, user: str, labels: Iterable[str], status: str,
                                  annotators: Sequence[str] = ()) -> Sentence:
        """Store ``user``'s own answer on a double-annotated sentence (replacing their earlier one); the sentence as
        stored. The first answer is also the sentence's label; the second is kept apart.

        Refused (nothing stored): an adjudicated sentence, a third person, a person not among ``annotators``.
        """
        new_labels = sorted(set(labels))
        if status not in SENTENCE_STATUSES or status == UNLABELLED:
            raise StoreError(f"An independent answer is labelled or reviewed, not '{status}'")
        with self.session() as s:
            row = _lock_sentence(s, sentence_id)
            if row is None:
                raise NotFoundError(f"No sentence with id {sentence_id}")
            self._check_can_answer(s, row, user, annotators)
            current = sorted(labels_for(s, [row.id]).get(row.id, []))
            if not _answer_rows(s, row.id):
                _adopt_earlier_answer(s, row, current, user)
            answers = _answer_rows(s, row.id)
            mine = next((a for a in answers if a.user == user), None)
            if mine is None and len(answers) >= 2:
                raise StoreError(f"Sentence {sentence_id} already has two independent answers ({answers[0].user} and "
                                 f"{answers[1].user}); a reviewer settles it on the Agreement page")
            before = (mine.status, sorted(mine.labels)) if mine is not None else (UNLABELLED, [])
            now = utcnow()
            if mine is None:
                mine = IndependentAnswerRow(sentence_id=row.id, report_id=row.report_id, user=user, labels=new_labels,
                                            status=status, revision=1, answered_at=now, changed_at=now)
                s.add(mine)
                s.flush()
            elif before != (status, new_labels):
                mine.labels, mine.status, mine.revision, mine.changed_at = new_labels, status, mine.revision + 1, now
            first = _answer_rows(s, row.id)[0]
            if first.user == user:
                if (current, row.status) != (new_labels, status):
                    _write_labels(s, row, current, new_labels, status, user, FIRST_ANSWER)
                    current = new_labels
            elif before != (status, new_labels):
                _answer_event(s, row, user, SECOND_ANSWER, before, (status, new_labels))
            return sentence_record(row, current)

    def _check_can_answer(self, s: Session, row: SentenceRow, user: str, annotators: Sequence[str]) -> None:
        decided = s.scalars(select(AdjudicationRow).where(AdjudicationRow.sentence_id == row.id)).first()
        if decided is not None:
            raise StoreError(f"Sentence {row.id} was adjudicated by {decided.decided_by}: its answer is final")
        if annotators and user not in annotators:
            raise StoreError(f"Sentence {row.id} is double-annotated by {' and '.join(annotators)}: {user}'s answer "
                             "is not taken")

    def undo_independent_answer(self, user: str) -> Sentence | None:
        """Undo ``user``'s last independent answer when it is their last answer of any kind; None when it is not
        (``undo_last`` then undoes their last plain label change)."""
        with self.session() as s:
            event = s.scalars(select(LabelEventRow).where(
                LabelEventRow.user == user, LabelEventRow.action.in_(ANSWER_ACTIONS), LabelEventRow.undone.is_(False))
                .order_by(LabelEventRow.id.desc()).limit(1)).first()
            if event is None or event.action == "label":
                return None
            row = _lock_sentence(s, event.sentence_id)
            event.undone = True
            if row is None:
                return None
            if s.scalars(select(AdjudicationRow.id).where(AdjudicationRow.sentence_id == row.id)).first():
                raise StoreError(f"Sentence {row.id} was adjudicated since: its answers can no longer be undone")
            mine = next((a for a in _answer_rows(s, row.id) if a.user == user), None)
            before, after = self._restore_own_answer(s, row, mine, event)
            if event.action == SECOND_ANSWER:
                _answer_event(s, row, user, "undo", before, after)
            else:  # the first answer is the sentence's label: the sentence follows (to the other answer, if any)
                _follow_first_answer(s, row, user, "undo")
            return sentence_record(row, labels_for(s, [row.id]).get(row.id, ()))

    @staticmethod
    def _restore_own_answer(s: Session, row: SentenceRow, mine: IndependentAnswerRow | None,
                            event: LabelEventRow) -> tuple[tuple[str, list], tuple[str, list]]:
        """Put the person's own answer back as it was before ``event`` (removed when they had none); (before, after)."""
        now_answer = (mine.status, sorted(mine.labels)) if mine is not None else (UNLABELLED, [])
        back = (event.before_status, sorted(event.before_labels or []))
        if mine is None:
            return now_answer, now_answer
        if back[0] == UNLABELLED:
            s.delete(mine)
            s.flush()
            return now_answer, (UNLABELLED, [])
        mine.status, mine.labels, mine.revision, mine.changed_at = back[0], back[1], mine.revision + 1, utcnow()
        return now_answer, back

    # ------------------------------------------------------------------------------------------------ adjudication

    def adjudicate(self, sentence_id: int, user: str, labels: Iterable[str], choice: str) -> Sentence:
        """Settle a sentence whose two independent answers differ: ``labels`` become its answer (reviewed), and the
        decision with both originals is kept. Refused when it has fewer than two answers, they agree, or it was
        adjudicated already."""
        if choice not in CHOICES:
            raise StoreError(f"Unknown adjudication choice '{choice}'; use one of {', '.join(CHOICES)}")
        final = sorted(set(labels))
        with self.session() as s:
            row = _lock_sentence(s, sentence_id)
            if row is None:
                raise NotFoundError(f"No sentence with id {sentence_id}")
            decided = s.scalars(select(AdjudicationRow).where(AdjudicationRow.sentence_id == row.id)).first()
            if decided is not None:
                raise StoreError(f"Sentence {sentence_id} was adjudicated by {decided.decided_by} already")
            answers = _answer_rows(s, row.id)
            if len(answers) < 2:
                raise StoreError(f"Sentence {sentence_id} has {len(answers)} independent answer(s): adjudication needs "
                                 "two that differ")
            first, second = answers[0], answers[1]
            if sorted(first.labels) == sorted(second.labels):
                raise StoreError(f"Sentence {sentence_id}: {first.user} and {second.user} agree; nothing to adjudicate")
            current = sorted(labels_for(s, [row.id]).get(row.id, []))
            _write_labels(s, row, current, final, REVIEWED, user, ADJUDICATE)
            s.add(AdjudicationRow(sentence_id=row.id, report_id=row.report_id, decided_by=user, decided_at=utcnow(),
                                  choice=choice, final_labels=final, first_user=first.user,
                                  first_labels=sorted(first.labels), second_user=second.user,
                                  second_labels=sorted(second.labels)))
            return sentence_record(row, final)

    def adjudications(self, sentence_ids: Sequence[int] | None = None) -> dict[int, Adjudication]:
        """``{sentence_id: adjudication}`` for the given sentences (every one when None)."""
        with self.session() as s:
            if sentence_ids is None:
                return {r.sentence_id: _adjudication(r) for r in s.scalars(select(AdjudicationRow))}
            out = {}
            for chunk in _chunks(sentence_ids):
                for r in s.scalars(select(AdjudicationRow).where(AdjudicationRow.sentence_id.in_(chunk))):
                    out[r.sentence_id] = _adjudication(r)
            return out

    def team_labels_marker(self) -> tuple[int, int]:
        """(newest share setting, newest adjudication) ids: with the label-event id, what a page compares to know
        whether anything about double annotation changed since it read."""
        query = select(select(func.max(DoubleAnnotationShareRow.id)).scalar_subquery(),
                       select(func.max(AdjudicationRow.id)).scalar_subquery())
        with self.session() as s:
            shares, decisions = s.execute(query).one()
        return int(shares or 0), int(decisions or 0)
