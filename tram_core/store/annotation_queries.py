"""Narrow reads for the Annotate page: each touches one report, a handful of ids, or one index, so a page run stays
fast with tens of thousands of sentences stored."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import func, select

from tram_core.store.base import StoreBase
from tram_core.store.records import Sentence
from tram_core.store.schema import (
    KIND_TEXT,
    UNLABELLED,
    LabelEventRow,
    LabelRow,
    ReportRow,
    SentenceRow,
    SuggestionRow,
)
from tram_core.store.sentences import labels_for, sentence_record


class AnnotationQueriesMixin(StoreBase):
    def annotation_report_titles(self) -> dict[int, str]:
        """``{report_id: title}`` for every report, without reading texts or counting sentences."""
        with self.session() as s:
            return dict(s.execute(select(ReportRow.id, ReportRow.title).order_by(ReportRow.id)).all())

    def annotation_status_counts(self, report_id: int | None = None) -> dict[str, int]:
        """``{status: sentences}`` over the corpus, or over one report."""
        with self.session() as s:
            query = select(SentenceRow.status, func.count()).group_by(SentenceRow.status)
            if report_id is not None:
                query = query.where(SentenceRow.report_id == report_id)
            return {status: int(n) for status, n in s.execute(query)}

    def annotation_marked_unlabelled(self, report_id: int | None = None) -> int:
        """Marked noise blocks (code, rules, indicator lists) nobody answered, over the corpus or one report."""
        with self.session() as s:
            query = select(func.count()).where(SentenceRow.kind != KIND_TEXT, SentenceRow.status == UNLABELLED)
            if report_id is not None:
                query = query.where(SentenceRow.report_id == report_id)
            return int(s.scalar(query) or 0)

    def annotation_report_sentences(self, report_id: int) -> list[Sentence]:
        """One report's sentences with their labels, in report order: two column queries, no ORM objects."""
        cols = (SentenceRow.id, SentenceRow.report_id, SentenceRow.position, SentenceRow.text, SentenceRow.start,
                SentenceRow.end, SentenceRow.status, SentenceRow.version, SentenceRow.updated_by,
                SentenceRow.updated_at, SentenceRow.kind)
        with self.session() as s:
            rows = s.execute(select(*cols).where(SentenceRow.report_id == report_id)
                             .order_by(SentenceRow.position)).all()
            labels: dict[int, list[str]] = {}
            for sid, tech in s.execute(
                select(LabelRow.sentence_id, LabelRow.technique_id)
                .join(SentenceRow, SentenceRow.id == LabelRow.sentence_id)
                .where(SentenceRow.report_id == report_id)
            ):
                labels.setdefault(sid, []).append(tech)
        return [Sentence(*row[:-1], labels=tuple(sorted(labels.get(row[0], ()))), kind=row[-1]) for row in rows]

    def annotation_change_marker(self) -> tuple[int, int, int]:
        """(newest label event, newest suggestion, newest report) ids: when unchanged, nothing was labelled,
        suggested or imported since, so a page may keep what it read (three primary-key lookups, one round trip)."""
        with self.session() as s:
            events, suggestions, reports = s.execute(select(
                select(func.max(LabelEventRow.id)).scalar_subquery(),
                select(func.max(SuggestionRow.id)).scalar_subquery(),
                select(func.max(ReportRow.id)).scalar_subquery())).one()
            return int(events or 0), int(suggestions or 0), int(reports or 0)

    def annotation_sentences_by_id(self, sentence_ids: Sequence[int]) -> list[Sentence]:
        """The given sentences with their labels, in the order asked; unknown ids are left out."""
        ids = [int(i) for i in sentence_ids]
        with self.session() as s:
            rows: dict[int, SentenceRow] = {}
            for i in range(0, len(ids), 900):
                for row in s.scalars(select(SentenceRow).where(SentenceRow.id.in_(ids[i : i + 900]))):
                    rows[row.id] = row
            labels = labels_for(s, list(rows))
            return [sentence_record(rows[i], labels.get(i, ())) for i in ids if i in rows]

    def annotation_suggested_with(self, technique: str, model_id: int, limit: int = 200) -> dict[int, float]:
        """``{sentence_id: score}`` of the ``limit`` sentences ``model_id`` scores highest for ``technique``."""
        with self.session() as s:
            return {int(sid): float(score) for sid, score in s.execute(
                select(SuggestionRow.sentence_id, SuggestionRow.score)
                .where(SuggestionRow.model_id == model_id, SuggestionRow.technique_id == technique)
                .order_by(SuggestionRow.score.desc()).limit(limit))}
