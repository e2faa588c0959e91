"""Writes of a sentence's labels and status, with their append-only history and per-user undo."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tram_core.store.base import StoreBase
from tram_core.store.records import ConflictError, LabelEvent, NotFoundError, Sentence, StoreError
from tram_core.store.schema import LABELLED, SENTENCE_STATUSES, UNLABELLED, LabelEventRow, LabelRow, SentenceRow, utcnow
from tram_core.store.sentences import labels_for, sentence_record


def _lock_sentence(s: Session, sentence_id: int) -> SentenceRow | None:
    """Take the write lock before reading, so two analysts saving at once never lose a change.

    SQLite: a no-op UPDATE starts the write transaction, so reads after it see the latest committed labels.
    PostgreSQL: ``SELECT ... FOR UPDATE`` locks the row and reads it in one round trip.
    """
    if s.get_bind().dialect.name == "sqlite":
        s.execute(update(SentenceRow).where(SentenceRow.id == sentence_id).values(version=SentenceRow.version))
        return s.get(SentenceRow, sentence_id)
    return s.scalars(select(SentenceRow).where(SentenceRow.id == sentence_id).with_for_update()).first()


def _write_labels(s: Session, row: SentenceRow, old_labels: list[str], new_labels: list[str],
                  status: str, user: str, action: str) -> None:
    now = utcnow()
    removed = set(old_labels) - set(new_labels)
    added = set(new_labels) - set(old_labels)
    if removed:
        s.execute(delete(LabelRow).where(LabelRow.sentence_id == row.id, LabelRow.technique_id.in_(removed)))
    for tech in sorted(added):
        s.add(LabelRow(sentence_id=row.id, technique_id=tech, created_by=user, created_at=now))
    s.add(LabelEventRow(sentence_id=row.id, report_id=row.report_id, user=user, at=now, action=action,
                        before_status=row.status, after_status=status, before_labels=old_labels,
                        after_labels=new_labels))
    row.status = status
    row.version = row.version + 1
    row.updated_by = user
    row.updated_at = now


class LabelsMixin(StoreBase):
    def set_labels(
        self,
        sentence_id: int,
        techniques: Iterable[str],
        user: str,
        status: str = LABELLED,
        expected_version: int | None = None,
    ) -> Sentence:
        """Replace a sentence's labels and status, recording the change in the history.

        An empty technique list with status ``labelled`` is the answer "no technique" (a negative example).
        With ``expected_version``, a sentence changed by anyone since that version raises ``ConflictError``.
        """
        if status not in SENTENCE_STATUSES:
            raise StoreError(f"Unknown sentence status '{status}'; use one of {', '.join(SENTENCE_STATUSES)}")
        new_labels = sorted(set(techniques))
        if status == UNLABELLED and new_labels:
            raise StoreError("An unlabelled sentence cannot carry techniques")
        with self.session() as s:
            row = _lock_sentence(s, sentence_id)
            if row is None:
                raise NotFoundError(f"No sentence with id {sentence_id}")
            old_labels = sorted(labels_for(s, [row.id]).get(row.id, []))
            if expected_version is not None and row.version != expected_version:
                current = sentence_record(row, old_labels)
                raise ConflictError(
                    f"Sentence {sentence_id} was changed by {row.updated_by or 'someone'} "
                    f"at {row.updated_at:%Y-%m-%d %H:%M} since you opened it",
                    current,
                )
            _write_labels(s, row, old_labels, new_labels, status, user, "label")
            return sentence_record(row, new_labels)

    def undo_last(self, user: str) -> Sentence | None:
        """Undo ``user``'s most recent label change that is not yet undone; None when there is nothing to undo.

        A change someone else made to the sentence since then is never overwritten: ``ConflictError``, nothing undone.
        """
        with self.session() as s:
            ev = s.scalars(
                select(LabelEventRow)
                .where(LabelEventRow.user == user, LabelEventRow.action == "label", LabelEventRow.undone.is_(False))
                .order_by(LabelEventRow.id.desc())
                .limit(1)
            ).first()
            if ev is None:
                return None
            row = _lock_sentence(s, ev.sentence_id)
            if row is None:
                ev.undone = True
                return None
            current = sorted(labels_for(s, [row.id]).get(row.id, []))
            if (current, row.status) != (sorted(ev.after_labels or ()), ev.after_status):
                raise ConflictError(f"Sentence {row.id} was changed by {row.updated_by or 'someone'} after your change: "
                                    "nothing undone (their answer stays; change it on the sentence if needed)",
                                    sentence_record(row, current))
            _write_labels(s, row, current, sorted(ev.before_labels), ev.before_status, user, "undo")
            ev.undone = True
            return sentence_record(row, ev.before_labels)

    def label_history(self, sentence_id: int | None = None, limit: int = 200) -> list[LabelEvent]:
        with self.session() as s:
            query = select(LabelEventRow).order_by(LabelEventRow.id.desc()).limit(limit)
            if sentence_id is not None:
                query = query.where(LabelEventRow.sentence_id == sentence_id)
            return [
                LabelEvent(e.id, e.sentence_id, e.report_id, e.user, e.at, e.action, e.before_status,
                           e.after_status, tuple(e.before_labels or ()), tuple(e.after_labels or ()), e.undone)
                for e in s.scalars(query)
            ]

    def label_event_watermark(self) -> int:
        """The id of the newest label event (0 when none): a cheap 'how much labelling happened' counter."""
        with self.session() as s:
            return int(s.scalar(select(func.max(LabelEventRow.id))) or 0)
