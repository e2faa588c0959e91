"""Reads of sentences with their labels: the filtered sentence list, training/export examples and corpus counts."""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tram_core.store.base import StoreBase
from tram_core.store.records import Example, NotFoundError, Sentence
from tram_core.store.schema import (
    KIND_TEXT,
    LABELLED,
    REVIEWED,
    SENTENCE_STATUSES,
    UNLABELLED,
    LabelEventRow,
    LabelRow,
    ReportRow,
    SentenceRow,
)


def sentence_record(row: SentenceRow, labels: Iterable[str] = ()) -> Sentence:
    return Sentence(
        id=row.id,
        report_id=row.report_id,
        position=row.position,
        text=row.text,
        start=row.start,
        end=row.end,
        status=row.status,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        labels=tuple(sorted(labels)),
        kind=row.kind,
    )


def labels_for(s: Session, sentence_ids: Sequence[int]) -> dict[int, list[str]]:
    """``{sentence_id: [technique, ...]}`` for the given sentences (unsorted; sentences without labels left out)."""
    out: dict[int, list[str]] = {}
    ids = list(sentence_ids)
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        for sid, tech in s.execute(
            select(LabelRow.sentence_id, LabelRow.technique_id).where(LabelRow.sentence_id.in_(chunk))
        ):
            out.setdefault(sid, []).append(tech)
    return out


def _answered_by_analysts(s: Session, sentence_ids: Sequence[int]) -> set[int]:
    """Those of ``sentence_ids`` an analyst answered in TRAM: a label event (not undone) names them."""
    found: set[int] = set()
    ids = list(sentence_ids)
    for i in range(0, len(ids), 900):
        found.update(s.scalars(select(LabelEventRow.sentence_id).where(
            LabelEventRow.sentence_id.in_(ids[i : i + 900]), LabelEventRow.undone.is_(False)).distinct()))
    return found


class SentencesMixin(StoreBase):
    def get_sentence(self, sentence_id: int) -> Sentence:
        with self.session() as s:
            row = s.get(SentenceRow, sentence_id)
            if row is None:
                raise NotFoundError(f"No sentence with id {sentence_id}")
            return sentence_record(row, labels_for(s, [row.id]).get(row.id, ()))

    def sentences(
        self,
        report_id: int | None = None,
        status: str | Sequence[str] | None = None,
        technique: str | None = None,
        search: str | None = None,
    ) -> list[Sentence]:
        """Sentences in report order, optionally filtered by status, labelled technique and text."""
        with self.session() as s:
            query = select(SentenceRow)
            if report_id is not None:
                query = query.where(SentenceRow.report_id == report_id)
            if status is not None:
                statuses = [status] if isinstance(status, str) else list(status)
                query = query.where(SentenceRow.status.in_(statuses))
            if technique:
                query = query.where(SentenceRow.id.in_(
                    select(LabelRow.sentence_id).where(LabelRow.technique_id == technique)))
            if search:
                # '%' and '_' in the search are text, not LIKE wildcards ("100%", "a_b" match literally).
                literal = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = query.where(SentenceRow.text.ilike(f"%{literal}%", escape="\\"))
            rows = list(s.scalars(query.order_by(SentenceRow.report_id, SentenceRow.position)))
            labels = labels_for(s, [r.id for r in rows])
            return [sentence_record(r, labels.get(r.id, ())) for r in rows]

    def examples(self, include_unlabelled: bool = False, report_id: int | None = None) -> list[Example]:
        """Sentences with their labels and report title, labelled and reviewed ones by default.

        A marked noise block (code, a rule, an indicator list) answered "no technique" is left out unless an analyst
        answered it in TRAM (a label event names it): an imported negative on a YARA rule or a hash list is not one
        worth training on, an analyst's is. Unlabelled ones (``include_unlabelled``, for exports) stay.
        """
        statuses = list(SENTENCE_STATUSES) if include_unlabelled else [LABELLED, REVIEWED]
        with self.session() as s:
            query = (
                select(SentenceRow.id, SentenceRow.report_id, ReportRow.title, SentenceRow.text, SentenceRow.status,
                       SentenceRow.kind)
                .join(ReportRow, ReportRow.id == SentenceRow.report_id)
                .where(SentenceRow.status.in_(statuses))
                .order_by(SentenceRow.report_id, SentenceRow.position)
            )
            if report_id is not None:
                query = query.where(SentenceRow.report_id == report_id)
            rows = s.execute(query).all()
            labels: dict[int, list[str]] = {}
            label_query = select(LabelRow.sentence_id, LabelRow.technique_id)
            if report_id is not None:
                label_query = label_query.join(SentenceRow, SentenceRow.id == LabelRow.sentence_id).where(
                    SentenceRow.report_id == report_id)
            for sid, tech in s.execute(label_query):
                labels.setdefault(sid, []).append(tech)
            doubtful = {r.id for r in rows
                        if r.kind != KIND_TEXT and r.status != UNLABELLED and not labels.get(r.id)}
            answered = _answered_by_analysts(s, doubtful) if doubtful else set()
            return [Example(r.id, r.report_id, r.title, r.text, tuple(sorted(labels.get(r.id, ()))), r.status)
                    for r in rows if r.id not in doubtful or r.id in answered]

    def technique_counts(self) -> dict[str, int]:
        """How many answered sentences carry each technique."""
        with self.session() as s:
            return dict(s.execute(select(LabelRow.technique_id, func.count()).group_by(LabelRow.technique_id)).all())

    def corpus_counts(self) -> dict[str, int]:
        with self.session() as s:
            by_status = dict(s.execute(select(SentenceRow.status, func.count()).group_by(SentenceRow.status)).all())
            reports = s.scalar(select(func.count()).select_from(ReportRow)) or 0
            labels = s.scalar(select(func.count()).select_from(LabelRow)) or 0
            with_technique = s.scalar(select(func.count(func.distinct(LabelRow.sentence_id)))) or 0
        return {
            "reports": reports,
            "sentences": sum(by_status.values()),
            "unlabelled": by_status.get(UNLABELLED, 0),
            "labelled": by_status.get(LABELLED, 0),
            "reviewed": by_status.get(REVIEWED, 0),
            "with_technique": with_technique,
            "labels": labels,
        }
