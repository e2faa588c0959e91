"""The records that cross the store's seam (what callers pass in and get back) and the store's errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tram_core.errors import UserError
from tram_core.store.schema import JOB_DONE, JOB_FINISHED_STATUSES, KIND_TEXT, UNLABELLED


@dataclass(frozen=True)
class NewSentence:
    """A sentence about to be stored: its text, character offsets in the report, and optional answer."""

    text: str
    start: int
    end: int
    labels: tuple[str, ...] = ()
    status: str = UNLABELLED
    kind: str = KIND_TEXT  # prose, or a whole noise block: code, rule, indicators (schema.SENTENCE_KINDS)


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
    other_sources: list[str] = field(default_factory=list)  # files of the same document merged into this one
    fingerprint: dict | None = None  # its near-duplicate fingerprint, when already computed


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
    other_sources: tuple[str, ...] = ()  # files merged into this report as the same document in another format


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
    kind: str = KIND_TEXT  # prose, or a whole noise block: code, rule, indicators

    @property
    def marked(self) -> bool:
        """A noise block (code, a rule, an indicator list): kept in the report, left out of the way of labelling."""
        return self.kind != KIND_TEXT


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
    host: str = ""  # the host of the worker that claimed it (one job at a time per host and device)

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
    thresholds: dict  # as stored: the JSON layout of tram_core.ml.thresholds (read it with model_thresholds)
    metrics: dict
    options: dict
    job_id: int | None
    promoted: bool
    created_at: datetime


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
