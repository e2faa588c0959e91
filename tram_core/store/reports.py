"""Reports: storing them with their sentences, labels and imported suggestions in one transaction; reading and
deleting them."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tram_core.store.base import StoreBase
from tram_core.store.models import imported_model_id
from tram_core.store.records import (
    ImportOutcome,
    NewReport,
    NewSentence,
    NewSuggestion,
    NotFoundError,
    Report,
    ReportSummary,
    StoreError,
)
from tram_core.store.schema import (
    LABELLED,
    REVIEWED,
    SENTENCE_KINDS,
    SENTENCE_STATUSES,
    UNLABELLED,
    LabelEventRow,
    LabelRow,
    ReportRow,
    SentenceRow,
    SuggestionRow,
    content_hash,
    utcnow,
)


def check_new_report(report: NewReport) -> None:
    """Refuse a report that cannot be stored, before any write: no text, bad offsets or status, invalid Unicode."""
    title, text = report.title, report.text
    if not text.strip():
        raise StoreError(f"Report '{title}' has no text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StoreError(f"Report '{title[:80]}': invalid character (a lone surrogate) at character {exc.start}") from None
    for i, sent in enumerate(report.sentences):
        if not (0 <= sent.start <= sent.end <= len(text)):
            raise StoreError(f"Sentence {i} of '{title}' has offsets {sent.start}-{sent.end} outside the text")
        if sent.status not in SENTENCE_STATUSES:
            raise StoreError(f"Sentence {i} of '{title}' has unknown status '{sent.status}'")
        if sent.kind not in SENTENCE_KINDS:
            raise StoreError(f"Sentence {i} of '{title}' has unknown kind '{sent.kind}'; use one of "
                             f"{', '.join(SENTENCE_KINDS)}")
    for sug in report.suggestions:
        if not 0 <= sug.sentence_position < len(report.sentences):
            raise StoreError(f"A suggestion of '{title}' points at sentence {sug.sentence_position}, which it lacks")


# --- storing one report, step by step (all inside the caller's transaction) ---------------------------------------


def insert_report(s: Session, new: NewReport, user: str, now: datetime) -> ImportOutcome:
    """Store one checked report, or say which stored report already has the same text."""
    digest = content_hash(new.text)
    existing = _already_stored(s, digest)
    if existing is not None:
        return existing
    report = ReportRow(title=new.title[:500], source=new.source[:2000], text=new.text, content_hash=digest,
                       created_by=user, created_at=now)
    if new.other_sources:
        report.other_sources = list(new.other_sources)
    if new.fingerprint is not None:
        report.fingerprint = new.fingerprint
    s.add(report)
    s.flush()
    conn = s.connection()  # Core executemany: many times faster than ORM bulk inserts for 30k rows
    ids = _insert_sentences(conn, report.id, new.sentences, user, now)
    label_count = _insert_labels(conn, ids, new.sentences, user, now)
    labelled = sum(1 for sent in new.sentences if sent.status != UNLABELLED)
    if labelled:
        _record_import_event(conn, report.id, labelled, label_count, user, now)
    if new.suggestions:
        model_id = imported_model_id(s, new.suggestion_model or "imported")
        _insert_suggestions(conn, ids, new.suggestions, model_id)
    return ImportOutcome(report.id, report.title, True, len(new.sentences), labelled, "imported")


def _already_stored(s: Session, digest: str) -> ImportOutcome | None:
    """The outcome for a text that is already stored (its report and sentence count); None when it is new."""
    existing = s.execute(select(ReportRow.id, ReportRow.title).where(ReportRow.content_hash == digest)).first()
    if existing is None:
        return None
    count = s.scalar(select(func.count()).where(SentenceRow.report_id == existing.id))
    return ImportOutcome(
        existing.id, existing.title, False, count or 0, 0,
        f"already imported as report {existing.id} ('{existing.title}')",
    )


def _insert_sentences(conn: Connection, report_id: int, sentences: Sequence[NewSentence], user: str,
                      now: datetime) -> list[int]:
    """Insert the report's sentences; their ids in report order. An answered sentence starts at version 1."""
    rows = [
        {
            "report_id": report_id, "position": i, "text": sent.text, "start": sent.start, "end": sent.end,
            "status": sent.status, "version": 1 if sent.status != UNLABELLED else 0,
            "updated_by": user if sent.status != UNLABELLED else "",
            "updated_at": now if sent.status != UNLABELLED else None, "kind": sent.kind,
        }
        for i, sent in enumerate(sentences)
    ]
    if not rows:
        return []
    conn.execute(SentenceRow.__table__.insert(), rows)
    return list(conn.scalars(select(SentenceRow.id).where(SentenceRow.report_id == report_id)
                             .order_by(SentenceRow.position)))


def _insert_labels(conn: Connection, ids: Sequence[int], sentences: Sequence[NewSentence], user: str,
                   now: datetime) -> int:
    """Insert the labels the sentences came with; how many label rows were written."""
    label_rows = [{"sentence_id": sid, "technique_id": tech, "created_by": user, "created_at": now}
                  for sid, sent in zip(ids, sentences) for tech in sorted(set(sent.labels))]
    if label_rows:
        conn.execute(LabelRow.__table__.insert(), label_rows)
    return len(label_rows)


def _record_import_event(conn: Connection, report_id: int, labelled: int, label_count: int, user: str,
                         now: datetime) -> None:
    """One history row for the whole import; each label row keeps who added it and when."""
    conn.execute(LabelEventRow.__table__.insert(), [{
        "sentence_id": 0, "report_id": report_id, "user": user, "at": now, "action": "import-report",
        "before_status": "", "after_status": "", "before_labels": [],
        "after_labels": [f"{labelled} answered sentences, {label_count} labels"], "undone": False,
    }])


def _insert_suggestions(conn: Connection, ids: Sequence[int], suggestions: Sequence[NewSuggestion],
                        model_id: int) -> None:
    """Insert suggestions that came with the file under ``model_id``; the last score of a repeated pair wins."""
    rows = {}
    for sug in suggestions:
        sid = ids[sug.sentence_position]
        rows[(sid, sug.technique_id)] = {"sentence_id": sid, "model_id": model_id,
                                         "technique_id": sug.technique_id, "score": float(sug.score)}
    conn.execute(SuggestionRow.__table__.insert(), list(rows.values()))


def _add_other_source(s: Session, report_id: int, name: str) -> tuple[str, ...]:
    row = s.get(ReportRow, report_id)
    if row is None:
        raise NotFoundError(f"No report with id {report_id}")
    name = " ".join((name or "").split())[:2000]
    sources = list(row.other_sources or ())
    if name and name not in sources and name != row.source:
        row.other_sources = sources + [name]  # a new list: SQLAlchemy sees the JSON change
    return tuple(row.other_sources or ())


# --- reading reports ------------------------------------------------------------------------------------------------


def _sentence_counts(s: Session) -> dict:
    """``{report_id: (report_id, n, labelled, reviewed)}`` rows counting each report's sentences by status."""
    return {
        r.report_id: r
        for r in s.execute(
            select(
                SentenceRow.report_id,
                func.count().label("n"),
                func.sum(case((SentenceRow.status == LABELLED, 1), else_=0)).label("labelled"),
                func.sum(case((SentenceRow.status == REVIEWED, 1), else_=0)).label("reviewed"),
            ).group_by(SentenceRow.report_id)
        )
    }


def _labelled_techniques(s: Session) -> dict[int, set[str]]:
    """``{report_id: {technique, ...}}``: the techniques labelled anywhere in each report."""
    techniques: dict[int, set[str]] = {}
    for report_id, tech in s.execute(
        select(SentenceRow.report_id, LabelRow.technique_id)
        .join(LabelRow, LabelRow.sentence_id == SentenceRow.id)
        .distinct()
    ):
        techniques.setdefault(report_id, set()).add(tech)
    return techniques


class ReportsMixin(StoreBase):
    def add_report(
        self,
        title: str,
        text: str,
        sentences: Sequence[NewSentence],
        source: str = "",
        user: str = "",
        suggestions: Sequence[NewSuggestion] = (),
        suggestion_model: str | None = None,
    ) -> ImportOutcome:
        """Store a report with its sentences (and any labels they carry) in one transaction.

        A report whose text is already stored is not stored again: the outcome says which report it is.
        """
        report = NewReport(title, text, list(sentences), source, list(suggestions), suggestion_model)
        return self.add_reports([report], user)[0]

    def add_reports(self, reports: Sequence[NewReport], user: str = "",
                    merges: Sequence[tuple[int, str]] = ()) -> list[ImportOutcome]:
        """Store many reports in ONE transaction: all of them or, on any error or a killed process, none.

        Every report is checked before anything is written; a report whose text is already stored (or appears
        earlier in ``reports``) is not stored again, and its outcome says which report it is. ``merges`` are
        (stored report id, file name) pairs: files of a stored report's document in another format, recorded as
        its other sources in the same transaction (see ``add_other_source``).
        """
        for report in reports:
            check_new_report(report)
        now = utcnow()
        with self.session() as s:
            for report_id, name in merges:
                _add_other_source(s, report_id, name)
            return [insert_report(s, report, user, now) for report in reports]

    def add_other_source(self, report_id: int, name: str) -> tuple[str, ...]:
        """Record ``name`` (a file or address) as another source of a stored report: the same document in another
        format, merged into it rather than stored twice. Its sources afterwards; a name already there is not added
        again."""
        with self.session() as s:
            return _add_other_source(s, report_id, name)

    def get_report(self, report_id: int) -> Report:
        with self.session() as s:
            row = s.get(ReportRow, report_id)
            if row is None:
                raise NotFoundError(f"No report with id {report_id}")
            return Report(row.id, row.title, row.source, row.text, row.content_hash, row.created_by, row.created_at,
                          tuple(row.other_sources or ()))

    def report_fingerprints(self) -> list[tuple[int, str, str, dict | None]]:
        """(id, title, content hash, near-duplicate fingerprint or None) of every report, without their texts."""
        with self.session() as s:
            return [tuple(row) for row in s.execute(select(ReportRow.id, ReportRow.title, ReportRow.content_hash,
                                                           ReportRow.fingerprint).order_by(ReportRow.id))]

    def set_report_fingerprints(self, fingerprints: dict[int, dict]) -> None:
        """Store the near-duplicate fingerprints of reports (``{report_id: fingerprint}``); unknown ids are skipped."""
        with self.session() as s:
            for report_id, fingerprint in fingerprints.items():
                row = s.get(ReportRow, report_id)
                if row is not None:
                    row.fingerprint = fingerprint

    def list_reports(self) -> list[ReportSummary]:
        """Every report with sentence counts, progress and the techniques labelled in it."""
        with self.session() as s:
            counts = _sentence_counts(s)
            techniques = _labelled_techniques(s)
            out = []
            for row in s.execute(
                select(ReportRow.id, ReportRow.title, ReportRow.source, ReportRow.created_by, ReportRow.created_at)
                .order_by(ReportRow.id)
            ):
                c = counts.get(row.id)
                out.append(ReportSummary(
                    row.id, row.title, row.source, row.created_by, row.created_at,
                    int(c.n) if c else 0, int(c.labelled or 0) if c else 0, int(c.reviewed or 0) if c else 0,
                    tuple(sorted(techniques.get(row.id, ()))),
                ))
            return out

    def delete_report(self, report_id: int, user: str = "") -> None:
        """Delete a report with its sentences, labels and suggestions; its label history stays."""
        with self.session() as s:
            row = s.get(ReportRow, report_id)
            if row is None:
                raise NotFoundError(f"No report with id {report_id}")
            s.add(LabelEventRow(sentence_id=0, report_id=report_id, user=user, action="delete-report",
                                before_status="", after_status="", before_labels=[row.title], after_labels=[]))
            s.delete(row)
