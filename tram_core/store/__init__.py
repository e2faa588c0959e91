"""The database: schema and every read and write of reports, sentences, labels, suggestions, jobs and models.

``Store`` is composed of one mixin per aggregate; each module holds the reads and writes of one aggregate:

- ``schema``: the tables, the engine, status constants;  ``records``: the records and errors callers see;
- ``base``: the engine and one transaction per call (``session``), shared by every mixin;
- ``reports``, ``sentences``, ``labels``, ``settings``, ``jobs``, ``models``, ``suggestions``, ``workers``,
  ``annotation_queries``: one aggregate each.

Callers import everything from ``tram_core.store``; the submodules are the store's own layout.
"""

from __future__ import annotations

from .annotation_queries import AnnotationQueriesMixin
from .base import StoreBase
from .jobs import JobsMixin
from .labels import LabelsMixin
from .models import ModelsMixin
from .records import (
    ConflictError,
    Example,
    ImportOutcome,
    Job,
    JobPoint,
    LabelEvent,
    NewReport,
    NewSentence,
    NewSuggestion,
    NotFoundError,
    Report,
    ReportSummary,
    Sentence,
    StoreError,
    TrainedModel,
    WorkerInfo,
)
from .reports import ReportsMixin
from .schema import (
    JOB_CANCELLED,
    JOB_DONE,
    JOB_FAILED,
    JOB_FINISHED_STATUSES,
    JOB_KINDS,
    JOB_QUEUED,
    JOB_RUNNING,
    LABELLED,
    REVIEWED,
    SENTENCE_STATUSES,
    UNLABELLED,
    Base,
    JobPointRow,
    JobRow,
    LabelEventRow,
    LabelRow,
    ReportRow,
    SentenceRow,
    SettingRow,
    SuggestionRow,
    TrainedModelRow,
    content_hash,
    make_engine,
    utcnow,
)
from .sentences import SentencesMixin
from .settings import SettingsMixin
from .suggestions import SuggestionsMixin
from .workers import WorkersMixin


class Store(
    ReportsMixin,
    SentencesMixin,
    LabelsMixin,
    SuggestionsMixin,
    ModelsMixin,
    JobsMixin,
    WorkersMixin,
    SettingsMixin,
    AnnotationQueriesMixin,
):
    """Every read and write of TRAM's data. Each public write is one transaction.

    ``Store(url)`` opens (and by default creates) the database; ``Store.from_settings(settings)`` opens the one the
    settings name. The engine and sessions are ``StoreBase``'s; every other method comes from an aggregate mixin.
    """


__all__ = [
    # the store
    "Store", "StoreBase",
    # errors
    "StoreError", "NotFoundError", "ConflictError",
    # records
    "NewSentence", "NewSuggestion", "NewReport", "ReportSummary", "Report", "Sentence", "ImportOutcome", "Example",
    "LabelEvent", "Job", "JobPoint", "TrainedModel", "WorkerInfo",
    # statuses and kinds
    "UNLABELLED", "LABELLED", "REVIEWED", "SENTENCE_STATUSES", "JOB_QUEUED", "JOB_RUNNING", "JOB_DONE", "JOB_FAILED",
    "JOB_CANCELLED", "JOB_FINISHED_STATUSES", "JOB_KINDS",
    # schema
    "Base", "ReportRow", "SentenceRow", "LabelRow", "LabelEventRow", "TrainedModelRow", "SuggestionRow", "JobRow",
    "JobPointRow", "SettingRow", "make_engine", "utcnow", "content_hash",
]
