"""The database: schema and every read and write of reports, sentences, labels, suggestions, jobs and models."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Iterable, Iterator, Sequence

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from tram_core.errors import UserError
from tram_core.thresholds import Thresholds

UNLABELLED = "unlabelled"
LABELLED = "labelled"
REVIEWED = "reviewed"
SENTENCE_STATUSES = (UNLABELLED, LABELLED, REVIEWED)

JOB_QUEUED = "queued"
JOB_RUNNING = "running"
JOB_DONE = "done"
JOB_FAILED = "failed"
JOB_CANCELLED = "cancelled"
JOB_FINISHED_STATUSES = (JOB_DONE, JOB_FAILED, JOB_CANCELLED)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def content_hash(text: str) -> str:
    """The identity of a report's text: SHA-256 of its whitespace-normalised content."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------- schema


class Base(DeclarativeBase):
    pass


class ReportRow(Base):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(2000), default="")
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SentenceRow(Base):
    __tablename__ = "sentences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=UNLABELLED, index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (UniqueConstraint("report_id", "position"),)


class LabelRow(Base):
    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"))
    technique_id: Mapped[str] = mapped_column(String(20), index=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("sentence_id", "technique_id"),)


class LabelEventRow(Base):
    """Append-only history: one row per change of a sentence's labels or status."""

    __tablename__ = "label_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sentence_id: Mapped[int] = mapped_column(Integer, index=True)
    report_id: Mapped[int] = mapped_column(Integer, index=True)
    user: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(30))
    before_status: Mapped[str] = mapped_column(String(20))
    after_status: Mapped[str] = mapped_column(String(20))
    before_labels: Mapped[list] = mapped_column(JSON, default=list)
    after_labels: Mapped[list] = mapped_column(JSON, default=list)
    undone: Mapped[bool] = mapped_column(Boolean, default=False)


class TrainedModelRow(Base):
    __tablename__ = "models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30), default="transformer")
    path: Mapped[str] = mapped_column(String(2000))
    base_model: Mapped[str] = mapped_column(String(500), default="")
    classes: Mapped[list] = mapped_column(JSON, default=list)
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SuggestionRow(Base):
    __tablename__ = "suggestions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    technique_id: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        UniqueConstraint("sentence_id", "model_id", "technique_id"),
        Index("ix_suggestions_sentence", "sentence_id"),
    )


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=JOB_QUEUED, index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    worker: Mapped[str] = mapped_column(String(200), default="")
    device: Mapped[str] = mapped_column(String(50), default="")
    phase: Mapped[str] = mapped_column(String(50), default="")
    step: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    model_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class JobPointRow(Base):
    """One point of a job's live curves (training loss by step, validation scores by epoch)."""

    __tablename__ = "job_points"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    epoch: Mapped[float] = mapped_column(Float)
    name: Mapped[str] = mapped_column(String(50))
    value: Mapped[float] = mapped_column(Float)


class SettingRow(Base):
    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class NewSentence:
    """A sentence about to be stored: its text, character offsets in the report, and optional answer."""

    text: str
    start: int
    end: int
    labels: tuple[str, ...] = ()
    status: str = UNLABELLED


@dataclass(frozen=True)
class NewSuggestion:
    sentence_position: int
    technique_id: str
    score: float


@dataclass
class NewReport:
    """A report about to be stored: offsets of every sentence point into ``text``."""

    title: str
    text: str
    sentences: list[NewSentence]
    source: str = ""
    suggestions: list[NewSuggestion] = field(default_factory=list)
    suggestion_model: str | None = None


@dataclass(frozen=True)
class ReportSummary:
    id: int
    title: str
    source: str
    created_by: str
    created_at: datetime
    sentences: int
    labelled: int
    reviewed: int
    techniques: tuple[str, ...]

    @property
    def answered(self) -> int:
        """Sentences with an analyst's answer (labelled or reviewed)."""
        return self.labelled + self.reviewed

    @property
    def progress(self) -> float:
        return self.answered / self.sentences if self.sentences else 0.0


@dataclass(frozen=True)
class Report:
    id: int
    title: str
    source: str
    text: str
    content_hash: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Sentence:
    id: int
    report_id: int
    position: int
    text: str
    start: int
    end: int
    status: str
    version: int
    updated_by: str
    updated_at: datetime | None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportOutcome:
    """What storing one report did: ``created`` is False when the same text was already stored."""

    report_id: int
    title: str
    created: bool
    sentences: int
    labelled: int
    message: str = ""


@dataclass(frozen=True)
class Example:
    """One sentence as training or export data."""

    sentence_id: int
    report_id: int
    doc_title: str
    text: str
    labels: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class LabelEvent:
    id: int
    sentence_id: int
    report_id: int
    user: str
    at: datetime
    action: str
    before_status: str
    after_status: str
    before_labels: tuple[str, ...]
    after_labels: tuple[str, ...]
    undone: bool


# --- jobs, trained models and workers (records added by the jobs module's owner) ---------------------------


@dataclass(frozen=True)
class Job:
    """A queued, running or finished training or prediction job, with its latest progress."""

    id: int
    kind: str
    status: str
    params: dict
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    worker: str
    device: str
    phase: str
    step: int
    total: int
    epoch: int
    loss: float | None
    eta_s: float | None
    message: str
    metrics: dict
    cancel_requested: bool
    model_id: int | None

    @property
    def finished(self) -> bool:
        return self.status in JOB_FINISHED_STATUSES

    @property
    def fraction(self) -> float:
        """Progress of the current phase, 0..1 (1 when done)."""
        if self.status == JOB_DONE:
            return 1.0
        return min(1.0, self.step / self.total) if self.total else 0.0


@dataclass(frozen=True)
class JobPoint:
    """One point of a job's live curve: training loss by step, a validation score by epoch."""

    step: int
    epoch: float
    name: str
    value: float


@dataclass(frozen=True)
class TrainedModel:
    """A model record: where its folder is, its classes, tuned thresholds, scores and training options."""

    id: int
    name: str
    kind: str
    path: str
    base_model: str
    classes: tuple[str, ...]
    thresholds: dict  # as stored (any layout Thresholds.from_json reads); decide with ``tuned_thresholds``
    metrics: dict
    options: dict
    job_id: int | None
    promoted: bool
    created_at: datetime

    @cached_property
    def tuned_thresholds(self) -> Thresholds:
        """The stored thresholds as a record, read once per model (annotation looks one up per suggestion)."""
        return Thresholds.from_json(self.thresholds)


@dataclass(frozen=True)
class WorkerInfo:
    """A worker process as it last reported itself."""

    name: str
    pid: int
    host: str
    device: str
    started_at: datetime
    heartbeat_at: datetime
    job_id: int | None


class StoreError(UserError):
    """A request the store cannot carry out; the message says what and where."""


class NotFoundError(StoreError):
    pass


class ConflictError(StoreError):
    """Someone else changed the sentence since the caller read it."""

    def __init__(self, message: str, current: Sentence):
        super().__init__(message)
        self.current = current


# --------------------------------------------------------------------------------------------------- store


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    is_sqlite = url.startswith("sqlite")
    kwargs: dict = {}
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def _check_new_report(report: NewReport) -> None:
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
    for sug in report.suggestions:
        if not 0 <= sug.sentence_position < len(report.sentences):
            raise StoreError(f"A suggestion of '{title}' points at sentence {sug.sentence_position}, which it lacks")


def _sentence(row: SentenceRow, labels: Iterable[str] = ()) -> Sentence:
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
    )


class Store:
    """Every read and write of TRAM's data. Each public write is one transaction."""

    def __init__(self, url: str, create: bool = True):
        self.url = url
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if create:
            Base.metadata.create_all(self.engine)

    @classmethod
    def from_settings(cls, settings) -> "Store":
        settings.ensure_dirs()
        return cls(settings.database_url)

    @property
    def display_url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on any error."""
        with self._sessions() as session:
            with session.begin():
                yield session

    # ----------------------------------------------------------------------------------------------- reports

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

    def add_reports(self, reports: Sequence[NewReport], user: str = "") -> list[ImportOutcome]:
        """Store many reports in ONE transaction: all of them or, on any error or a killed process, none.

        Every report is checked before anything is written; a report whose text is already stored (or appears
        earlier in ``reports``) is not stored again, and its outcome says which report it is.
        """
        for report in reports:
            _check_new_report(report)
        now = utcnow()
        with self.session() as s:
            return [self._insert_report(s, report, user, now) for report in reports]

    def _insert_report(self, s: Session, new: NewReport, user: str, now: datetime) -> ImportOutcome:
        title, text, sentences, source = new.title, new.text, new.sentences, new.source
        suggestions, suggestion_model = new.suggestions, new.suggestion_model
        digest = content_hash(text)
        existing = s.execute(select(ReportRow.id, ReportRow.title).where(ReportRow.content_hash == digest)).first()
        if existing is not None:
            count = s.scalar(select(func.count()).where(SentenceRow.report_id == existing.id))
            return ImportOutcome(
                existing.id, existing.title, False, count or 0, 0,
                f"already imported as report {existing.id} ('{existing.title}')",
            )
        report = ReportRow(title=title[:500], source=source[:2000], text=text, content_hash=digest,
                           created_by=user, created_at=now)
        s.add(report)
        s.flush()
        rows = [
            {
                "report_id": report.id, "position": i, "text": sent.text, "start": sent.start, "end": sent.end,
                "status": sent.status, "version": 1 if sent.status != UNLABELLED else 0,
                "updated_by": user if sent.status != UNLABELLED else "",
                "updated_at": now if sent.status != UNLABELLED else None,
            }
            for i, sent in enumerate(sentences)
        ]
        ids: list[int] = []
        conn = s.connection()  # Core executemany: many times faster than ORM bulk inserts for 30k rows
        if rows:
            conn.execute(SentenceRow.__table__.insert(), rows)
            ids = list(conn.scalars(select(SentenceRow.id).where(SentenceRow.report_id == report.id)
                                    .order_by(SentenceRow.position)))
        label_rows = []
        event_rows = []
        for sid, sent in zip(ids, sentences):
            for tech in sorted(set(sent.labels)):
                label_rows.append({"sentence_id": sid, "technique_id": tech, "created_by": user, "created_at": now})

        if label_rows:
            conn.execute(LabelRow.__table__.insert(), label_rows)
        labelled = sum(1 for sent in sentences if sent.status != UNLABELLED)
        if labelled:
            # One history row for the whole import; each label row keeps who added it and when.
            event_rows.append({
                "sentence_id": 0, "report_id": report.id, "user": user, "at": now, "action": "import-report",
                "before_status": "", "after_status": "", "before_labels": [],
                "after_labels": [f"{labelled} answered sentences, {len(label_rows)} labels"], "undone": False,
            })
            conn.execute(LabelEventRow.__table__.insert(), event_rows)
        if suggestions:
            model_id = self._import_model_id(s, suggestion_model or "imported")
            sugg_rows = {}
            for sug in suggestions:
                sid = ids[sug.sentence_position]
                sugg_rows[(sid, sug.technique_id)] = {"sentence_id": sid, "model_id": model_id,
                                                      "technique_id": sug.technique_id, "score": float(sug.score)}
            conn.execute(SuggestionRow.__table__.insert(), list(sugg_rows.values()))
        return ImportOutcome(report.id, report.title, True, len(rows), labelled, "imported")

    def _import_model_id(self, s: Session, name: str) -> int:
        """The model record that holds suggestions which came in with an imported file."""
        model_id = s.scalar(select(TrainedModelRow.id).where(TrainedModelRow.kind == "imported",
                                                             TrainedModelRow.name == name))
        if model_id is None:
            row = TrainedModelRow(name=name, kind="imported", path="", base_model="")
            s.add(row)
            s.flush()
            model_id = row.id
        return model_id

    def get_report(self, report_id: int) -> Report:
        with self.session() as s:
            row = s.get(ReportRow, report_id)
            if row is None:
                raise NotFoundError(f"No report with id {report_id}")
            return Report(row.id, row.title, row.source, row.text, row.content_hash, row.created_by, row.created_at)

    def list_reports(self) -> list[ReportSummary]:
        """Every report with sentence counts, progress and the techniques labelled in it."""
        with self.session() as s:
            counts = {
                r.report_id: r
                for r in s.execute(
                    select(
                        SentenceRow.report_id,
                        func.count().label("n"),
                        func.sum(func.iif(SentenceRow.status == LABELLED, 1, 0)).label("labelled"),
                        func.sum(func.iif(SentenceRow.status == REVIEWED, 1, 0)).label("reviewed"),
                    ).group_by(SentenceRow.report_id)
                )
            }
            techniques: dict[int, set[str]] = {}
            for report_id, tech in s.execute(
                select(SentenceRow.report_id, LabelRow.technique_id)
                .join(LabelRow, LabelRow.sentence_id == SentenceRow.id)
                .distinct()
            ):
                techniques.setdefault(report_id, set()).add(tech)
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

    # ----------------------------------------------------------------------------------------------- sentences

    def _labels_for(self, s: Session, sentence_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        ids = list(sentence_ids)
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            for sid, tech in s.execute(
                select(LabelRow.sentence_id, LabelRow.technique_id).where(LabelRow.sentence_id.in_(chunk))
            ):
                out.setdefault(sid, []).append(tech)
        return out

    def get_sentence(self, sentence_id: int) -> Sentence:
        with self.session() as s:
            row = s.get(SentenceRow, sentence_id)
            if row is None:
                raise NotFoundError(f"No sentence with id {sentence_id}")
            return _sentence(row, self._labels_for(s, [row.id]).get(row.id, ()))

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
            labels = self._labels_for(s, [r.id for r in rows])
            return [_sentence(r, labels.get(r.id, ())) for r in rows]

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
            row = self._lock_sentence(s, sentence_id)
            if row is None:
                raise NotFoundError(f"No sentence with id {sentence_id}")
            old_labels = sorted(self._labels_for(s, [row.id]).get(row.id, []))
            if expected_version is not None and row.version != expected_version:
                current = _sentence(row, old_labels)
                raise ConflictError(
                    f"Sentence {sentence_id} was changed by {row.updated_by or 'someone'} "
                    f"at {row.updated_at:%Y-%m-%d %H:%M} since you opened it",
                    current,
                )
            self._write_labels(s, row, old_labels, new_labels, status, user, "label")
            return _sentence(row, new_labels)

    def _lock_sentence(self, s: Session, sentence_id: int) -> SentenceRow | None:
        """Take the write lock before reading, so two analysts saving at once never lose a change.

        The no-op UPDATE starts SQLite's write transaction (and locks the row on PostgreSQL); reads after it
        see the latest committed labels.
        """
        s.execute(update(SentenceRow).where(SentenceRow.id == sentence_id).values(version=SentenceRow.version))
        return s.get(SentenceRow, sentence_id)

    def _write_labels(self, s: Session, row: SentenceRow, old_labels: list[str], new_labels: list[str],
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

    def undo_last(self, user: str) -> Sentence | None:
        """Undo ``user``'s most recent label change that is not yet undone; None when there is nothing to undo."""
        with self.session() as s:
            ev = s.scalars(
                select(LabelEventRow)
                .where(LabelEventRow.user == user, LabelEventRow.action == "label", LabelEventRow.undone.is_(False))
                .order_by(LabelEventRow.id.desc())
                .limit(1)
            ).first()
            if ev is None:
                return None
            row = self._lock_sentence(s, ev.sentence_id)
            if row is None:
                ev.undone = True
                return None
            current = sorted(self._labels_for(s, [row.id]).get(row.id, []))
            self._write_labels(s, row, current, sorted(ev.before_labels), ev.before_status, user, "undo")
            ev.undone = True
            return _sentence(row, ev.before_labels)

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

    # ----------------------------------------------------------------------------------------------- datasets

    def examples(self, include_unlabelled: bool = False, report_id: int | None = None) -> list[Example]:
        """Sentences with their labels and report title, labelled and reviewed ones by default."""
        statuses = list(SENTENCE_STATUSES) if include_unlabelled else [LABELLED, REVIEWED]
        with self.session() as s:
            query = (
                select(SentenceRow.id, SentenceRow.report_id, ReportRow.title, SentenceRow.text, SentenceRow.status)
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
            return [Example(r.id, r.report_id, r.title, r.text, tuple(sorted(labels.get(r.id, ()))), r.status)
                    for r in rows]

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

    # ----------------------------------------------------------------------------------------------- app settings

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.session() as s:
            row = s.get(SettingRow, key)
            return row.value if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self.session() as s:
            row = s.get(SettingRow, key)
            if row is None:
                s.add(SettingRow(key=key, value=value))
            else:
                row.value = value

    # =============================================================================================================
    # Jobs, job points, trained models, suggestions and the worker registry (section owned by the jobs module).
    # =============================================================================================================

    _WORKER_KEY_PREFIX = "worker:"

    def create_job(self, kind: str, params: dict, user: str) -> int:
        """Queue a job of ``kind`` ('train' or 'predict') with JSON-serialisable ``params``."""
        if kind not in JOB_KINDS:
            raise StoreError(f"Unknown job kind '{kind}'; use one of {', '.join(JOB_KINDS)}")
        with self.session() as s:
            row = JobRow(kind=kind, status=JOB_QUEUED, params=dict(params), created_by=user, created_at=utcnow())
            s.add(row)
            s.flush()
            return row.id

    def get_job(self, job_id: int) -> Job:
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFoundError(f"No job with id {job_id}")
            return _job(row)

    def list_jobs(self, limit: int = 50, status: str | Sequence[str] | None = None,
                  kind: str | None = None) -> list[Job]:
        """The newest jobs first, optionally only those with ``status`` (one or several) or of ``kind``."""
        with self.session() as s:
            query = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
            if status is not None:
                statuses = [status] if isinstance(status, str) else list(status)
                query = query.where(JobRow.status.in_(statuses))
            if kind is not None:
                query = query.where(JobRow.kind == kind)
            return [_job(r) for r in s.scalars(query)]

    def claim_next_job(self, worker_name: str, device: str) -> Job | None:
        """Atomically move the oldest queued job to running for ``worker_name``; None when there is none.

        One statement does the claim, so two workers never get the same job; a device that already runs a job
        gets nothing (one job at a time per device).
        """
        now = utcnow()
        oldest = select(func.min(JobRow.id)).where(JobRow.status == JOB_QUEUED).scalar_subquery()
        busy = select(JobRow.id).where(JobRow.status == JOB_RUNNING, JobRow.device == device).exists()
        stmt = (
            update(JobRow)
            .where(JobRow.id == oldest, JobRow.status == JOB_QUEUED, ~busy)
            .values(status=JOB_RUNNING, worker=worker_name, device=device, started_at=now, heartbeat_at=now,
                    phase="starting", message="")
            .returning(JobRow.id)
        )
        with self.session() as s:
            job_id = s.execute(stmt).scalar()
            if job_id is None:
                return None
            return _job(s.get(JobRow, job_id))

    def claim_job(self, job_id: int, worker_name: str, device: str) -> Job | None:
        """Move queued job ``job_id`` to running for ``worker_name`` (a foreground run); None when not queued."""
        now = utcnow()
        stmt = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status == JOB_QUEUED)
            .values(status=JOB_RUNNING, worker=worker_name, device=device, started_at=now, heartbeat_at=now,
                    phase="starting", message="")
            .returning(JobRow.id)
        )
        with self.session() as s:
            claimed = s.execute(stmt).scalar()
            return _job(s.get(JobRow, claimed)) if claimed is not None else None

    def update_job_progress(
        self,
        job_id: int,
        phase: str | None = None,
        step: int | None = None,
        total: int | None = None,
        epoch: int | None = None,
        loss: float | None = None,
        eta_s: float | None = None,
        message: str | None = None,
        metrics: dict | None = None,
    ) -> bool:
        """Write a running job's progress (only the given fields) and refresh its heartbeat.

        A negative ``eta_s`` clears the ETA (unknown). Returns False when the job is no longer running (finished,
        or failed as stale), so the caller can stop.
        """
        values: dict = {"heartbeat_at": utcnow()}
        for key, value in (("phase", phase), ("step", step), ("total", total), ("epoch", epoch), ("loss", loss),
                           ("eta_s", eta_s), ("message", message), ("metrics", metrics)):
            if value is not None:
                values[key] = value
        if eta_s is not None and eta_s < 0:
            values["eta_s"] = None
        with self.session() as s:
            result = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == JOB_RUNNING).values(**values))
            return result.rowcount == 1

    def heartbeat(self, job_id: int) -> bool:
        """Tell the store a running job is alive; False when the job is no longer running."""
        with self.session() as s:
            result = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == JOB_RUNNING)
                               .values(heartbeat_at=utcnow()))
            return result.rowcount == 1

    def add_job_points(self, job_id: int, points: Iterable[tuple[int, float, str, float]]) -> None:
        """Append (step, epoch, name, value) points to a job's live curves."""
        rows = [{"job_id": job_id, "step": int(step), "epoch": float(epoch), "name": str(name), "value": float(value)}
                for step, epoch, name, value in points]
        if not rows:
            return
        with self.session() as s:
            s.execute(insert(JobPointRow), rows)

    def job_points(self, job_id: int, name: str | None = None) -> list[JobPoint]:
        with self.session() as s:
            query = select(JobPointRow).where(JobPointRow.job_id == job_id).order_by(JobPointRow.id)
            if name is not None:
                query = query.where(JobPointRow.name == name)
            return [JobPoint(r.step, r.epoch, r.name, r.value) for r in s.scalars(query)]

    def request_cancel(self, job_id: int) -> Job:
        """Cancel a queued job at once; flag a running one for its worker to stop between steps."""
        now = utcnow()
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFoundError(f"No job with id {job_id}")
            if row.status == JOB_QUEUED:
                row.status = JOB_CANCELLED
                row.finished_at = now
                row.cancel_requested = True
                row.message = "cancelled before it started"
            elif row.status == JOB_RUNNING:
                row.cancel_requested = True
            return _job(row)

    def is_cancel_requested(self, job_id: int) -> bool:
        with self.session() as s:
            return bool(s.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    def finish_job(self, job_id: int, status: str, message: str = "", model_id: int | None = None,
                   metrics: dict | None = None) -> bool:
        """Close a queued or running job as done, failed or cancelled; False when it was already closed."""
        if status not in JOB_FINISHED_STATUSES:
            raise StoreError(f"A job finishes as one of {', '.join(JOB_FINISHED_STATUSES)}, not '{status}'")
        values: dict = {"status": status, "message": message, "finished_at": utcnow(), "eta_s": None}
        if model_id is not None:
            values["model_id"] = model_id
        if metrics is not None:
            values["metrics"] = metrics
        if status == JOB_DONE:
            values["phase"] = "done"
        with self.session() as s:
            result = s.execute(update(JobRow).where(JobRow.id == job_id,
                                                    JobRow.status.in_([JOB_QUEUED, JOB_RUNNING])).values(**values))
            return result.rowcount == 1

    def recover_failed_job(self, job_id: int, model_id: int, message: str, metrics: dict | None = None) -> bool:
        """Close a failed job as done with ``model_id``: its worker died after writing the model folder, which was
        recorded later (model_folders). False when the job is not failed."""
        values: dict = {"status": JOB_DONE, "model_id": model_id, "message": message, "phase": "done",
                        "eta_s": None}
        if metrics is not None:
            values["metrics"] = metrics
        with self.session() as s:
            result = s.execute(update(JobRow).where(JobRow.id == job_id, JobRow.status == JOB_FAILED).values(**values))
            return result.rowcount == 1

    def mark_stale_jobs(self, max_age_s: float) -> list[int]:
        """Fail running jobs whose heartbeat is older than ``max_age_s`` seconds; their ids."""
        from datetime import timedelta

        now = utcnow()
        cutoff = now - timedelta(seconds=max_age_s)
        with self.session() as s:
            rows = list(s.scalars(select(JobRow).where(JobRow.status == JOB_RUNNING, JobRow.heartbeat_at < cutoff)))
            for row in rows:
                silent = int((now - row.heartbeat_at).total_seconds())
                row.status = JOB_FAILED
                row.finished_at = now
                row.eta_s = None
                row.message = (f"worker stopped responding (no heartbeat for {silent} s); "
                               "labels and saved models are intact")
            return [r.id for r in rows]

    # ----------------------------------------------------------------------------------------------- trained models

    def add_model(self, name: str, kind: str, path: str, base_model: str, classes: Sequence[str],
                  thresholds: Thresholds | dict, metrics: dict, options: dict, job_id: int | None = None) -> int:
        # Read here, so a row never holds thresholds its readers refuse; a layout given as JSON is kept as given.
        checked = Thresholds.from_json(thresholds)
        stored = checked.to_json() if isinstance(thresholds, Thresholds) else dict(thresholds)
        with self.session() as s:
            row = TrainedModelRow(name=name[:300], kind=kind, path=str(path), base_model=base_model,
                                  classes=list(classes), thresholds=stored, metrics=dict(metrics),
                                  options=dict(options), job_id=job_id, promoted=False, created_at=utcnow())
            s.add(row)
            s.flush()
            return row.id

    def list_models(self, include_imported: bool = True) -> list[TrainedModel]:
        """Trained models, newest first (imported-suggestion holders too unless ``include_imported`` is False)."""
        with self.session() as s:
            query = select(TrainedModelRow).order_by(TrainedModelRow.id.desc())
            if not include_imported:
                query = query.where(TrainedModelRow.kind != "imported")
            return [_model(r) for r in s.scalars(query)]

    def get_model(self, id_or_name: int | str) -> TrainedModel:
        """A model by id (an int or a string of digits) or by exact name."""
        with self.session() as s:
            row = None
            if isinstance(id_or_name, int) or str(id_or_name).strip().isdigit():
                row = s.get(TrainedModelRow, int(id_or_name))
            if row is None and isinstance(id_or_name, str):
                row = s.scalars(select(TrainedModelRow).where(TrainedModelRow.name == id_or_name)
                                .order_by(TrainedModelRow.id.desc()).limit(1)).first()
            if row is None:
                raise NotFoundError(f"No trained model with id or name '{id_or_name}'")
            return _model(row)

    def promote_model(self, model_id: int) -> TrainedModel:
        """Make ``model_id`` the one promoted model (the source of suggestions); every other is demoted."""
        with self.session() as s:
            row = s.get(TrainedModelRow, model_id)
            if row is None:
                raise NotFoundError(f"No trained model with id {model_id}")
            if row.kind == "imported":
                raise StoreError(f"Model {model_id} ('{row.name}') only holds imported suggestions; "
                                 "promote a trained model")
            s.execute(update(TrainedModelRow).where(TrainedModelRow.id != model_id).values(promoted=False))
            row.promoted = True
            return _model(row)

    def promoted_model(self) -> TrainedModel | None:
        with self.session() as s:
            row = s.scalars(select(TrainedModelRow).where(TrainedModelRow.promoted.is_(True))
                            .order_by(TrainedModelRow.id.desc()).limit(1)).first()
            return _model(row) if row is not None else None

    def delete_model(self, model_id: int) -> TrainedModel:
        """Delete a model record and its suggestions; returns the record (its folder is the caller's to remove)."""
        with self.session() as s:
            row = s.get(TrainedModelRow, model_id)
            if row is None:
                raise NotFoundError(f"No trained model with id {model_id}")
            record = _model(row)
            s.execute(delete(SuggestionRow).where(SuggestionRow.model_id == model_id))
            s.delete(row)
            return record

    # ----------------------------------------------------------------------------------------------- suggestions

    def replace_suggestions(self, model_id: int, scores: dict[int, dict[str, float]]) -> int:
        """Replace ``model_id``'s suggestions for the given sentences with ``{sentence_id: {tech: score}}``.

        Returns the number of suggestion rows written.
        """
        ids = list(scores)
        rows = [{"sentence_id": int(sid), "model_id": model_id, "technique_id": tech, "score": float(score)}
                for sid, techs in scores.items() for tech, score in techs.items()]
        with self.session() as s:
            if s.get(TrainedModelRow, model_id) is None:
                raise NotFoundError(f"No trained model with id {model_id}")
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                s.execute(delete(SuggestionRow).where(SuggestionRow.model_id == model_id,
                                                      SuggestionRow.sentence_id.in_(chunk)))
            for i in range(0, len(rows), 5000):
                s.execute(insert(SuggestionRow), rows[i : i + 5000])
        return len(rows)

    def suggestions_for(self, sentence_ids: Sequence[int], model_id: int | None = None
                        ) -> dict[int, list[tuple[str, float]]]:
        """``{sentence_id: [(technique, score), ...]}`` best first, from ``model_id`` (the promoted model by default).

        Every asked-for sentence is a key; with no promoted model every list is empty.
        """
        out: dict[int, list[tuple[str, float]]] = {int(sid): [] for sid in sentence_ids}
        with self.session() as s:
            if model_id is None:
                model_id = s.scalar(select(TrainedModelRow.id).where(TrainedModelRow.promoted.is_(True))
                                    .order_by(TrainedModelRow.id.desc()).limit(1))
                if model_id is None:
                    return out
            ids = list(out)
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                for sid, tech, score in s.execute(
                    select(SuggestionRow.sentence_id, SuggestionRow.technique_id, SuggestionRow.score)
                    .where(SuggestionRow.model_id == model_id, SuggestionRow.sentence_id.in_(chunk))
                ):
                    out[sid].append((tech, score))
        for sid in out:
            out[sid].sort(key=lambda pair: (-pair[1], pair[0]))
        return out

    def label_event_watermark(self) -> int:
        """The id of the newest label event (0 when none): a cheap 'how much labelling happened' counter."""
        with self.session() as s:
            return int(s.scalar(select(func.max(LabelEventRow.id))) or 0)

    # ----------------------------------------------------------------------------------------------- worker registry

    def register_worker(self, name: str, pid: int, host: str, device: str) -> None:
        """Record a worker process as alive now (kept in app_settings under ``worker:<name>``)."""
        now = utcnow().isoformat()
        info = {"name": name, "pid": pid, "host": host, "device": device, "started_at": now, "heartbeat_at": now,
                "job_id": None}
        self.set_setting(self._WORKER_KEY_PREFIX + name, json.dumps(info))

    def worker_heartbeat(self, name: str, job_id: int | None = None) -> None:
        with self.session() as s:
            row = s.get(SettingRow, self._WORKER_KEY_PREFIX + name)
            if row is None:
                return
            info = json.loads(row.value)
            info["heartbeat_at"] = utcnow().isoformat()
            info["job_id"] = job_id
            row.value = json.dumps(info)

    def unregister_worker(self, name: str) -> None:
        with self.session() as s:
            s.execute(delete(SettingRow).where(SettingRow.key == self._WORKER_KEY_PREFIX + name))

    def list_workers(self) -> list[WorkerInfo]:
        with self.session() as s:
            rows = list(s.scalars(select(SettingRow).where(SettingRow.key.startswith(self._WORKER_KEY_PREFIX))))
        out = []
        for row in rows:
            try:
                info = json.loads(row.value)
                out.append(WorkerInfo(info["name"], int(info["pid"]), info["host"], info.get("device", ""),
                                      datetime.fromisoformat(info["started_at"]),
                                      datetime.fromisoformat(info["heartbeat_at"]), info.get("job_id")))
            except (ValueError, KeyError, TypeError):
                continue
        return sorted(out, key=lambda w: w.heartbeat_at, reverse=True)


    # ----------------------------------------------------------------------------------------------- annotation
    # Narrow reads for the Annotate page (added by the annotate pages' owner): each touches one report, a
    # handful of ids, or one index, so a page run stays fast with tens of thousands of sentences stored.

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

    def annotation_report_sentences(self, report_id: int) -> list[Sentence]:
        """One report's sentences with their labels, in report order: two column queries, no ORM objects."""
        cols = (SentenceRow.id, SentenceRow.report_id, SentenceRow.position, SentenceRow.text, SentenceRow.start,
                SentenceRow.end, SentenceRow.status, SentenceRow.version, SentenceRow.updated_by,
                SentenceRow.updated_at)
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
        return [Sentence(*row, labels=tuple(sorted(labels.get(row[0], ())))) for row in rows]

    def annotation_change_marker(self) -> tuple[int, int, int]:
        """(newest label event, newest suggestion, newest report) ids: when unchanged, nothing was labelled,
        suggested or imported since, so a page may keep what it read (three primary-key lookups)."""
        with self.session() as s:
            return (int(s.scalar(select(func.max(LabelEventRow.id))) or 0),
                    int(s.scalar(select(func.max(SuggestionRow.id))) or 0),
                    int(s.scalar(select(func.max(ReportRow.id))) or 0))

    def annotation_sentences_by_id(self, sentence_ids: Sequence[int]) -> list[Sentence]:
        """The given sentences with their labels, in the order asked; unknown ids are left out."""
        ids = [int(i) for i in sentence_ids]
        with self.session() as s:
            rows: dict[int, SentenceRow] = {}
            for i in range(0, len(ids), 900):
                for row in s.scalars(select(SentenceRow).where(SentenceRow.id.in_(ids[i : i + 900]))):
                    rows[row.id] = row
            labels = self._labels_for(s, list(rows))
            return [_sentence(rows[i], labels.get(i, ())) for i in ids if i in rows]

    def annotation_suggested_with(self, technique: str, model_id: int, limit: int = 200) -> dict[int, float]:
        """``{sentence_id: score}`` of the ``limit`` sentences ``model_id`` scores highest for ``technique``."""
        with self.session() as s:
            return {int(sid): float(score) for sid, score in s.execute(
                select(SuggestionRow.sentence_id, SuggestionRow.score)
                .where(SuggestionRow.model_id == model_id, SuggestionRow.technique_id == technique)
                .order_by(SuggestionRow.score.desc()).limit(limit))}

JOB_KINDS = ("train", "predict")


def _job(row: JobRow) -> Job:
    return Job(row.id, row.kind, row.status, dict(row.params or {}), row.created_by, row.created_at, row.started_at,
               row.finished_at, row.heartbeat_at, row.worker, row.device, row.phase, row.step or 0, row.total or 0,
               row.epoch or 0, row.loss, row.eta_s, row.message or "", dict(row.metrics or {}),
               bool(row.cancel_requested), row.model_id)


def _model(row: TrainedModelRow) -> TrainedModel:
    return TrainedModel(row.id, row.name, row.kind, row.path, row.base_model, tuple(row.classes or ()),
                        dict(row.thresholds or {}), dict(row.metrics or {}), dict(row.options or {}), row.job_id,
                        bool(row.promoted), row.created_at)

