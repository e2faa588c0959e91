"""Each page's state: ONE dataclass per page, stored under one session key, listing the widget keys Streamlit needs
(``AnnotateState.widgets``), each starting with the page's prefix. What one page asks of another (Reports opening a
report in Annotate) goes through a method of the other page's state, never through a bare key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import streamlit as st

from tram_core.services.annotate import DEFAULT_FILTERS, MODE_SENTENCES, Cursor, Note, SentencePanel, open_at
from tram_core.services.report_imports import ImportOutcome
from tram_core.services.reports import PreparedExport


@dataclass(frozen=True)
class AppWidgets:
    user: str = "app_user"  # the sidebar's name (single-user mode only)
    sign_in: str = "app_sign_in"  # the sign-in form (team mode)
    sign_in_name: str = "app_sign_in_name"
    sign_in_password: str = "app_sign_in_password"
    sign_out: str = "app_sign_out"

    def provider_sign_in(self, provider: str) -> str:
        """The "Sign in with PROVIDER" button (TRAM_AUTH=oidc)."""
        return f"app_sign_in_{provider}"


@dataclass
class AppState:
    """What every page shares: who is acting, and whether the app's navigation ran (see run_through_navigation)."""

    KEY: ClassVar[str] = "app"
    PREFIX: ClassVar[str] = "app_"
    widgets: ClassVar[AppWidgets] = AppWidgets()
    user: str | None = None  # the name given in the sidebar ('' when cleared); None: not asked yet
    ran: bool = False
    worker_checked: bool = False
    worker_error: str = ""
    token: str = ""  # team mode: this browser session's sign-in token (checked, with its expiry, on every run)
    signed_in_as: str = ""  # TRAM_AUTH=oidc: the account whose sign-in this browser session has recorded


@dataclass(frozen=True)
class ReportsWidgets:
    upload_form: str = "rep_upload"
    files: str = "rep_files"
    paste_form: str = "rep_paste"
    paste_title: str = "rep_paste_title"
    paste_text: str = "rep_paste_text"
    url_form: str = "rep_url"
    url: str = "rep_url_value"
    demo: str = "rep_demo"
    table: str = "rep_table"
    open: str = "rep_open"
    model: str = "rep_model"
    predict: str = "rep_predict"
    delete: str = "rep_delete"
    review: str = "rep_review"
    fmt: str = "rep_fmt"
    scope: str = "rep_scope"
    unlabelled: str = "rep_unlabelled"
    findings: str = "rep_findings"
    prepare: str = "rep_prepare"
    download: str = "rep_download"

    def sure(self, report_id: int) -> str:
        """The delete confirmation: one per report, so a tick never carries over to another report."""
        return f"rep_sure_{report_id}"

    def techniques(self, identity: str) -> str:
        """The techniques table: a new key whenever its rows change, so a selection never carries over."""
        return f"rep_techniques_{identity}"

    def duplicate_choice(self, index: int) -> str:
        """Merge, keep or skip for the index-th file that is the same document as a stored report."""
        return f"rep_dup_{index}"


@dataclass
class ReportsState:
    """The Reports page: the report acted on, the last import's results, a deletion to announce, a prepared export."""

    KEY: ClassVar[str] = "reports"
    PREFIX: ClassVar[str] = "rep_"
    widgets: ClassVar[ReportsWidgets] = ReportsWidgets()
    selected: int | None = None
    imports: ImportOutcome | None = None
    deleted: str = ""
    export: PreparedExport | None = None
    model_id: int | None = None  # the model picked to run over a report, kept across visits to other pages


@dataclass(frozen=True)
class AnnotateWidgets:
    report: str = "ann_report_pick"
    model: str = "ann_model_pick"
    mode: str = "ann_mode"
    status: str = "ann_status"
    has_suggestions: str = "ann_has_sugg"
    technique: str = "ann_tech"
    search: str = "ann_search"
    order: str = "ann_order"
    find: str = "ann_find"
    browse_all: str = "ann_browse_all"
    extra_all: str = "ann_extra_all"
    extra_pills: str = "ann_extra_pills"
    view_technique: str = "ann_view_tech"
    current: str = "ann_current"  # the current sentence's box (the browser tests and benchmark find it)

    # One checkbox key per suggestion rank, kept from sentence to sentence (its tick is reset when another
    # sentence or version opens): the browser updates those widgets in place instead of building new ones.
    def suggestion(self, rank: int) -> str:
        return f"ann_sg_{rank}"

    def toggle(self, rank: int) -> str:
        return f"ann_tg_{rank}"

    def add(self, technique: str) -> str:
        return f"ann_add_{technique}"

    def accept(self, technique: str, sentence_id: int, version: int) -> str:
        return f"ann_acc_{technique}_{sentence_id}_{version}"

    def reject(self, technique: str, sentence_id: int, version: int) -> str:
        return f"ann_rej_{technique}_{sentence_id}_{version}"

    def open(self, technique: str, sentence_id: int) -> str:
        return f"ann_open_{technique}_{sentence_id}"

    def open_block(self, sentence_id: int) -> str:
        """The "Open it to label it" button of a folded block (code, a rule, an indicator list)."""
        return f"ann_block_{sentence_id}"


@dataclass
class AnnotateState:
    """The Annotate page: where the analyst is (the service's Cursor), the sentence on screen, the techniques picked
    beyond the suggestions, and the bookkeeping that keeps the widgets in step with the sentence."""

    KEY: ClassVar[str] = "annotate"
    PREFIX: ClassVar[str] = "ann_"
    widgets: ClassVar[AnnotateWidgets] = AnnotateWidgets()
    cursor: Cursor = field(default_factory=Cursor)
    on_screen: SentencePanel | None = None
    extra: list[str] = field(default_factory=list)  # techniques picked beyond the suggestions
    link_seen: tuple | None = None  # the (report, sentence) of the address already followed
    ticks_for: tuple = ()  # the sentence version the suggestion ticks were set for
    extra_for: tuple = ()  # ... and the picked techniques
    pending: dict[str, Any] = field(default_factory=dict)  # widget values another page asked for

    def open_at(self, report_id: int, technique: str | None = None, sentence_id: int | None = None,
                model_id: int | None = None) -> None:
        """Open a report (at one sentence, filtered to one technique, with one model's suggestions)."""
        open_at(self.cursor, report_id, sentence_id, model_id)
        if technique is not None:
            w = self.widgets
            self.pending = {w.technique: technique, w.mode: MODE_SENTENCES, w.status: DEFAULT_FILTERS.status,
                            w.has_suggestions: False, w.search: ""}

    def show_model(self, model_id: int) -> None:
        """Show this model's suggestions when the analyst next opens the page."""
        self.cursor.model_id = model_id

    def apply_pending(self) -> None:
        """Set the widget values another page asked for (before the widgets are drawn)."""
        st.session_state.update(self.pending)
        self.pending = {}


@dataclass(frozen=True)
class TrainWidgets:
    base: str = "train_base"
    hub_id: str = "train_hub_id"
    folder: str = "train_folder"
    space: str = "train_space"
    min_count: str = "train_min_count"
    pasted: str = "train_pasted"
    test_reports: str = "train_test_reports"
    start: str = "train_start"
    history: str = "train_history"
    promote_pick: str = "train_promote_pick"
    promote: str = "train_promote"
    delete_pick: str = "train_delete_pick"
    delete: str = "train_delete"

    def delete_sure(self, model_id: int) -> str:
        return f"train_delete_sure_{model_id}"

    def promote_anyway(self, model_id: int) -> str:
        """The 'Promote anyway' tick: one per model, so it never carries over to another model."""
        return f"train_promote_anyway_{model_id}"

    def option(self, kind: str, spec: str, name: str) -> str:
        """One option field, per base model (another base model brings its own defaults)."""
        return f"train_opt_{kind}_{spec}_{name}"

    def cancel(self, job_id: int) -> str:
        return f"train_cancel_{job_id}"


@dataclass
class TrainState:
    """The Train page: the run the live panel watches (its end redraws the page), and a refused cancel."""

    KEY: ClassVar[str] = "train"
    PREFIX: ClassVar[str] = "train_"
    widgets: ClassVar[TrainWidgets] = TrainWidgets()
    live_marks: Any = None  # services.train_live.LiveMarks: what the page was last drawn with
    cancel_error: str = ""


@dataclass(frozen=True)
class EvaluateWidgets:
    model: str = "evaluate_model"
    which: str = "evaluate_which"
    table: str = "evaluate_table"
    csv: str = "evaluate_csv"
    curve_of: str = "evaluate_curve_of"
    report: str = "evaluate_report"
    compare: str = "evaluate_compare"
    compare_which: str = "evaluate_compare_which"
    compare_summary: str = "evaluate_compare_summary"
    compare_table: str = "evaluate_compare_table"

    def threshold(self, model_id: int) -> str:
        """The global threshold slider: per model, so each starts at its own tuned threshold."""
        return f"evaluate_threshold_{model_id}"

    def download(self, slug: str, fmt: str) -> str:
        return f"evaluate_dl_{slug}_{fmt}"

    def layer(self, by: str) -> str:
        return f"evaluate_layer_{by}"


@dataclass
class EvaluateState:
    """The Evaluate page: all it keeps are its widgets' values (the model shown follows the address)."""

    KEY: ClassVar[str] = "evaluate"
    PREFIX: ClassVar[str] = "evaluate_"
    widgets: ClassVar[EvaluateWidgets] = EvaluateWidgets()


@dataclass(frozen=True)
class ActivityWidgets:
    person: str = "activity_person"
    kinds: str = "activity_kinds"
    since: str = "activity_since"
    until: str = "activity_until"
    download: str = "activity_download"


@dataclass
class ActivityState:
    """The Activity page (maintainers and admins): all it keeps are its filters' values."""

    KEY: ClassVar[str] = "activity"
    PREFIX: ClassVar[str] = "activity_"
    widgets: ClassVar[ActivityWidgets] = ActivityWidgets()


@dataclass(frozen=True)
class AgreementWidgets:
    report: str = "agr_report"
    level: str = "agr_level"
    share: str = "agr_share"
    scope: str = "agr_scope"
    annotators: str = "agr_annotators"
    set_share: str = "agr_set_share"
    csv: str = "agr_csv"
    json: str = "agr_json"

    def take(self, sentence_id: int, choice: str) -> str:
        return f"agr_take_{choice}_{sentence_id}"

    def final(self, sentence_id: int) -> str:
        return f"agr_final_{sentence_id}"

    def save_final(self, sentence_id: int) -> str:
        return f"agr_save_{sentence_id}"


@dataclass
class AgreementState:
    """The Agreement page: the messages of its last action (each shown once)."""

    KEY: ClassVar[str] = "agreement"
    PREFIX: ClassVar[str] = "agr_"
    widgets: ClassVar[AgreementWidgets] = AgreementWidgets()
    notes: list[Note] = field(default_factory=list)


PAGE_STATES = (AppState, ReportsState, AnnotateState, TrainState, EvaluateState, ActivityState, AgreementState)
