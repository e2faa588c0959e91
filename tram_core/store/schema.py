"""The database schema: one SQLAlchemy table class per aggregate, the engine, and the status vocabulary."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from datetime import datetime, timezone

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
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UNLABELLED = "unlabelled"
LABELLED = "labelled"
REVIEWED = "reviewed"
SENTENCE_STATUSES = (UNLABELLED, LABELLED, REVIEWED)
# What a sentence is (revision 0005): prose, or a whole layout-noise block kept in the report but marked (see
# tram_core.io.noise_blocks): code, a detection rule (YARA, Sigma, Snort) or an indicator list.
KIND_TEXT = "text"
SENTENCE_KINDS = (KIND_TEXT, "code", "rule", "indicators")

JOB_QUEUED = "queued"
JOB_RUNNING = "running"
JOB_DONE = "done"
JOB_FAILED = "failed"
JOB_CANCELLED = "cancelled"
JOB_FINISHED_STATUSES = (JOB_DONE, JOB_FAILED, JOB_CANCELLED)
JOB_KINDS = ("train", "predict")
CONNECT_TIMEOUT_S = 10  # seconds a server database gets to answer a new connection


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def content_hash(text: str) -> str:
    """The identity of a report's text: SHA-256 of its whitespace-normalised content."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and enforced foreign keys; a server database
    (PostgreSQL through psycopg 3) gets connections checked before use."""
    is_sqlite = url.startswith("sqlite")
    kwargs: dict = {}
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True  # a server restart must not leave the app or a worker with dead connections
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            # an unreachable host fails in seconds, not minutes (a connect_timeout in the URL wins)
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    engine = create_engine(url, **kwargs)
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def _switch_to_wal(cursor, wait_s: float = 30.0) -> None:
    """Put the SQLite file in WAL mode. Switching needs a moment alone with a new file, and SQLite answers "locked"
    at once (no busy wait) when several processes open it together, so retry until ``wait_s`` is up."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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
    # revision 0005: the files merged into this report as the same document in another format (file names), and
    # the MinHash of its word shingles that finds such near-duplicates (tram_core.io.near_duplicates; None: not yet)
    other_sources: Mapped[list | None] = mapped_column(JSON, nullable=True)
    fingerprint: Mapped[dict | None] = mapped_column(JSON, nullable=True)


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
    kind: Mapped[str] = mapped_column(String(20), default=KIND_TEXT, server_default=KIND_TEXT)  # revision 0005
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
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")  # the claiming worker's host
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


# --- team labelling (revision 0004): double annotation, adjudication, the review of model suggestions -------------


class DoubleAnnotationShareRow(Base):
    """One setting of the share of sentences two annotators label independently. Append-only: the newest row of a
    scope (one report, or the whole corpus when ``report_id`` is None) is the one in force; older rows are history."""

    __tablename__ = "double_annotation_shares"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=True,
                                                  index=True)
    percent: Mapped[float] = mapped_column(Float)
    annotators: Mapped[list] = mapped_column(JSON, default=list)  # the named annotators; empty: anyone who labels
    set_by: Mapped[str] = mapped_column(String(200), default="")
    set_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IndependentAnswerRow(Base):
    """One annotator's own answer on a double-annotated sentence, kept apart from the sentence's labels so the second
    answer never overwrites the first (one row per sentence and person; its changes are in ``label_events``)."""

    __tablename__ = "independent_answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int] = mapped_column(Integer, index=True)
    user: Mapped[str] = mapped_column(String(200))
    labels: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=LABELLED)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    answered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("sentence_id", "user"),)


class AdjudicationRow(Base):
    """A reviewer's decision on a sentence whose two independent answers differ: both originals and the final answer."""

    __tablename__ = "adjudications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"), unique=True)
    report_id: Mapped[int] = mapped_column(Integer, index=True)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    choice: Mapped[str] = mapped_column(String(20))  # first, second or edited
    final_labels: Mapped[list] = mapped_column(JSON, default=list)
    first_user: Mapped[str] = mapped_column(String(200))
    first_labels: Mapped[list] = mapped_column(JSON, default=list)
    second_user: Mapped[str] = mapped_column(String(200))
    second_labels: Mapped[list] = mapped_column(JSON, default=list)


class SuggestionDecisionRow(Base):
    """What an analyst did with one technique on a sentence the model scored: accepted or rejected its suggestion, or
    added a technique it missed. Kept when the report goes (like the label history); gone with the model."""

    __tablename__ = "suggestion_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sentence_id: Mapped[int] = mapped_column(Integer, index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    technique_id: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(10))  # accept, reject or add
    predicted: Mapped[bool] = mapped_column(Boolean, default=False)  # scored above the model's threshold
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    user: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
