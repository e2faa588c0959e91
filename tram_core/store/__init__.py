"""The database: schema and every read and write of reports, sentences, labels, suggestions, jobs and models.

``Store`` is composed of one mixin per aggregate; each module holds the reads and writes of one aggregate:

- ``schema``: the tables, the engine, status constants;  ``records``: the records and errors callers see;
- ``base``: the engine and one transaction per call (``session``), shared by every mixin;
- ``reports``, ``sentences``, ``labels``, ``settings``, ``jobs``, ``models``, ``suggestions``, ``workers``,
  ``annotation_queries``, ``users`` (accounts and sessions), ``audit`` (the audit trail): one aggregate each.

Callers import everything from ``tram_core.store``; the submodules are the store's own layout.
"""

from __future__ import annotations

from tram_core.store.annotation_queries import AnnotationQueriesMixin
from tram_core.store.audit import AuditEvent, AuditEventRow, AuditMixin
from tram_core.store.base import StoreBase, masked_url, unreachable_reason
from tram_core.store.jobs import JobsMixin, host_of_worker
from tram_core.store.label_review import LabelReviewMixin
from tram_core.store.labels import LabelsMixin
from tram_core.store.models import ModelsMixin
from tram_core.store.records import (
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
from tram_core.store.reports import ReportsMixin
from tram_core.store.schema import (
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
from tram_core.store.sentences import SentencesMixin
from tram_core.store.settings import SettingsMixin
from tram_core.store.suggestions import SuggestionsMixin
from tram_core.store.team_labels import TeamLabelsMixin
from tram_core.store.users import UserAccount, UserRow, UsersMixin, UserSessionRow
from tram_core.store.workers import WorkersMixin


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
    UsersMixin,
    AuditMixin,
    TeamLabelsMixin,
    LabelReviewMixin,
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
    "LabelEvent", "Job", "JobPoint", "TrainedModel", "WorkerInfo", "UserAccount", "AuditEvent",
    # statuses and kinds
    "UNLABELLED", "LABELLED", "REVIEWED", "SENTENCE_STATUSES", "JOB_QUEUED", "JOB_RUNNING", "JOB_DONE", "JOB_FAILED",
    "JOB_CANCELLED", "JOB_FINISHED_STATUSES", "JOB_KINDS",
    # schema
    "Base", "ReportRow", "SentenceRow", "LabelRow", "LabelEventRow", "TrainedModelRow", "SuggestionRow", "JobRow",
    "JobPointRow", "SettingRow", "UserRow", "UserSessionRow", "AuditEventRow", "make_engine", "utcnow", "content_hash",
    # helpers
    "host_of_worker", "masked_url", "unreachable_reason",
]
