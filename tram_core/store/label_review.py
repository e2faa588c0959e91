"""The review of labelling: what analysts did with each model suggestion, who answered which sentence when, and when
each report became fully answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import case, func, insert, select

from tram_core.store.base import StoreBase
from tram_core.store.schema import (
    UNLABELLED,
    LabelEventRow,
    ReportRow,
    SentenceRow,
    SuggestionDecisionRow,
    TrainedModelRow,
    utcnow,
)
from tram_core.store.team_labels import ANSWER_ACTIONS, SECOND_ANSWER

DECISIONS = ("accept", "reject", "add")


@dataclass(frozen=True)
class SuggestionDecision:
    """One technique on one sentence the model scored: accepted or rejected (the model suggested it), or added (the
    model missed it); ``predicted``: the model scored it above its threshold."""

    sentence_id: int
    model_id: int
    technique: str
    decision: str
    predicted: bool
    score: float | None
    user: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class AnswerEvent:
    """A person answered a sentence (labels, no technique, reviewed, or an independent answer) at a time."""

    user: str
    at: datetime
    sentence_id: int
    report_id: int


@dataclass(frozen=True)
class ReportCompletion:
    """A report's import time, its sentences, how many are still unanswered, and when the last of them was answered
    (None while some are open)."""

    report_id: int
    title: str
    created_at: datetime
    sentences: int
    unanswered: int
    completed_at: datetime | None


class LabelReviewMixin(StoreBase):
    """Suggestion decisions (table ``suggestion_decisions``) and the answering times read from ``label_events``."""

    def record_suggestion_decisions(self, decisions: Sequence[SuggestionDecision], user: str) -> int:
        """Append decisions (one per technique of one answer); how many were stored. Models gone meanwhile are
        skipped: a decision is only worth keeping against a model that exists."""
        if not decisions:
            return 0
        now = utcnow()
        with self.session() as s:
            models = set(s.scalars(select(TrainedModelRow.id).where(
                TrainedModelRow.id.in_({d.model_id for d in decisions}))))
            rows = [{"sentence_id": d.sentence_id, "model_id": d.model_id, "technique_id": d.technique,
                     "decision": d.decision, "predicted": bool(d.predicted),
                     "score": None if d.score is None else float(d.score), "user": user, "at": now}
                    for d in decisions if d.model_id in models and d.decision in DECISIONS]
            if rows:
                s.execute(insert(SuggestionDecisionRow), rows)
            return len(rows)

    def suggestion_decisions(self, model_id: int | None = None) -> list[SuggestionDecision]:
        """Every recorded decision (of one model), oldest first."""
        query = select(SuggestionDecisionRow).order_by(SuggestionDecisionRow.id)
        if model_id is not None:
            query = query.where(SuggestionDecisionRow.model_id == model_id)
        with self.session() as s:
            return [SuggestionDecision(r.sentence_id, r.model_id, r.technique_id, r.decision, r.predicted, r.score,
                                       r.user, r.at) for r in s.scalars(query)]

    def answer_events(self, since: datetime | None = None, report_id: int | None = None) -> list[AnswerEvent]:
        """Every answer still standing (undone ones left out), oldest first."""
        query = (select(LabelEventRow.user, LabelEventRow.at, LabelEventRow.sentence_id, LabelEventRow.report_id)
                 .where(LabelEventRow.action.in_(ANSWER_ACTIONS), LabelEventRow.undone.is_(False),
                        LabelEventRow.after_status != UNLABELLED)
                 .order_by(LabelEventRow.id))
        if since is not None:
            query = query.where(LabelEventRow.at >= since)
        if report_id is not None:
            query = query.where(LabelEventRow.report_id == report_id)
        with self.session() as s:
            return [AnswerEvent(*row) for row in s.execute(query)]

    def report_completion(self) -> list[ReportCompletion]:
        """Per report: when it was imported and when its last open sentence was answered (None while any is open).

        A sentence counts from its latest change from unanswered to answered; one answered at import counts from
        the import."""
        with self.session() as s:
            counts = {r.report_id: (int(r.n), int(r.open or 0)) for r in s.execute(
                select(SentenceRow.report_id, func.count().label("n"),
                       func.sum(case((SentenceRow.status == UNLABELLED, 1), else_=0)).label("open"))
                .group_by(SentenceRow.report_id))}
            last = dict(s.execute(
                select(LabelEventRow.report_id, func.max(LabelEventRow.at))
                .where(LabelEventRow.before_status == UNLABELLED, LabelEventRow.after_status != UNLABELLED,
                       LabelEventRow.undone.is_(False), LabelEventRow.action != SECOND_ANSWER,
                       LabelEventRow.sentence_id != 0)
                .group_by(LabelEventRow.report_id)).all())
            out = []
            for rid, title, created in s.execute(select(ReportRow.id, ReportRow.title, ReportRow.created_at)
                                                 .order_by(ReportRow.id)):
                n, unanswered = counts.get(rid, (0, 0))
                done = None if unanswered or not n else max(created, last.get(rid) or created)
                out.append(ReportCompletion(rid, title, created, n, unanswered, done))
            return out
