"""Reports page: the table of reports, one report's techniques, running a model over it, delete, export (imports:
services.report_imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from tram_core.errors import UserError
from tram_core.io.exporters import ALL_EXPORT_FORMATS as EXPORT_FORMATS
from tram_core.io.exporters import FINDINGS_FORMATS
from tram_core.services import activity
from tram_core.services.common import Context, ModelChoices, check_user, model_choices
from tram_core.views.report_summary import ReportSummary, report_summary

FORMAT_NAMES = {
    "tram-multilabel": "TRAM multi-label JSON (labelled sentences)",
    "tram-report": "TRAM report JSON (every sentence)",
    "csv": "CSV (labelled sentences)",
    "navigator": "ATT&CK Navigator layer",
    "stix": "STIX 2.1 bundle (ATT&CK techniques, sentences as notes)",
}
EXPORT_MIME = {"csv": "text/csv"}
WITH_UNLABELLED = ("tram-multilabel", "csv")  # the formats that can add unlabelled rows
THIS_REPORT = "This report"
ALL_REPORTS = "All reports"
SCOPES = (THIS_REPORT, ALL_REPORTS)

# --------------------------------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class ReportCard:
    """The report the page acts on: its id, title and one line of facts."""

    id: int
    title: str
    caption: str


@dataclass(frozen=True)
class ReportsTable:
    """Every report as the table shows it, with the totals line."""

    reports: tuple = ()
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def empty(self) -> bool:
        return not self.reports

    @property
    def heading(self) -> str:
        sentences = sum(r.sentences for r in self.reports)
        answered = sum(r.answered for r in self.reports)
        return f"{len(self.reports)} report(s) · {sentences:,} sentences · {answered:,} answered"

    def pick(self, selected_rows: Sequence[int], remembered: int | None) -> ReportCard:
        """The selected row's report, else the one acted on before, else the first."""
        rows = [r for r in selected_rows if 0 <= r < len(self.reports)]
        if rows:
            report = self.reports[rows[0]]
        else:
            report = next((r for r in self.reports if r.id == remembered), self.reports[0])
        facts = (f"{report.sentences:,} sentences · {report.labelled:,} labelled · {report.reviewed:,} reviewed"
                 + (f" · source {report.source}" if report.source else ""))
        return ReportCard(report.id, report.title, facts)


def reports_table(ctx: Context) -> ReportsTable:
    """The table of reports: progress, techniques, who imported each and when."""
    reports = ctx.store.list_reports()
    frame = pd.DataFrame([{
        "id": r.id, "title": r.title, "sentences": r.sentences, "labelled": r.labelled, "reviewed": r.reviewed,
        "progress": r.progress, "techniques": ", ".join(r.techniques), "imported by": r.created_by,
        "imported": r.created_at,
    } for r in reports])
    return ReportsTable(tuple(reports), frame)


def delete_report(ctx: Context, user: str, report_id: int) -> str:
    """Delete a report with its sentences and labels; the line saying so."""
    from tram_core import deletions

    gone = deletions.delete_report(ctx.store, check_user(user, "delete a report"), report_id)
    return f"Deleted report #{report_id} '{gone.title}'."


# --------------------------------------------------------------------------------------------------- a model


def prediction_models(ctx: Context) -> ModelChoices:
    """The trained models that can run over a report (imported suggestion holders left out)."""
    return model_choices(ctx.store.list_models(include_imported=False))


def queue_prediction(ctx: Context, user: str, model_id: int, report_id: int) -> str:
    """Queue a job that runs ``model_id`` over the report; the line saying where its suggestions show."""
    from tram_core.jobs import queue

    user = check_user(user, "run a model")
    job_id = queue.submit_prediction(ctx.store, model_id, report_id, user)
    activity.record(ctx, user, "run model", f"model {model_id} on report {report_id}", after={"job": job_id})
    return (f"Queued prediction job {job_id}. When the worker finishes it, the suggestions show on the Annotate "
            "page.")


@dataclass(frozen=True)
class ReviewTarget:
    """Where 'Review this technique' leads: the report's sentences with it, from the model's best one."""

    report_id: int
    technique: str
    sentence_id: int | None
    model_id: int | None

    @property
    def button(self) -> str:
        return f"Review {self.technique} in this report"


@dataclass(frozen=True)
class TechniquesPanel:
    """One report's techniques: analysts' labels beside the chosen model's finding."""

    summary: ReportSummary

    @property
    def caption(self) -> str:
        return self.summary.caption()

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.summary.table_rows())

    @property
    def identity(self) -> str:
        """Changes whenever the rows do (a selection must not carry over to other rows)."""
        return self.summary.identity()

    @property
    def model_id(self) -> int | None:
        return self.summary.model.id if self.summary.model else None

    @property
    def scored(self) -> bool:
        """Whether the model has suggestions for this report."""
        return bool(self.summary.sentences_scored)

    def review_target(self, selected_rows: Sequence[int]) -> ReviewTarget | None:
        """The selected technique's review link (the model's best sentence for it first); None: none selected."""
        rows = [r for r in selected_rows if 0 <= r < len(self.summary.techniques)]
        if not rows:
            return None
        row = self.summary.techniques[rows[0]]
        best = row.best_sentences[0][0] if row.best_sentences else None
        return ReviewTarget(self.summary.report_id, row.technique, best, self.model_id)


def techniques_panel(ctx: Context, report_id: int, model_id: int | None, choices: ModelChoices) -> TechniquesPanel:
    """The report's techniques with ``model_id``'s finding when it is one of ``choices``, else the promoted one's."""
    chosen = model_id if model_id in choices.ids else None
    return TechniquesPanel(report_summary(ctx.store, report_id, model_id=chosen))


# --------------------------------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportRequest:
    """What the export form asks for; ``key`` changes with the form and with any new label or suggestion."""

    fmt: str
    report_id: int | None
    include_unlabelled: bool
    model_findings: bool
    model_id: int | None
    key: tuple

    @property
    def mime(self) -> str:
        return EXPORT_MIME.get(self.fmt, "application/json")


@dataclass(frozen=True)
class PreparedExport:
    """A prepared export file, valid while the data and form are as ``key`` says."""

    key: tuple
    content: bytes
    filename: str
    mime: str

    @property
    def button(self) -> str:
        return f"Download {self.filename} ({len(self.content) / 1024:,.0f} KB)"


def unlabelled_possible(fmt: str) -> bool:
    return fmt in WITH_UNLABELLED


def findings_possible(fmt: str, scope: str, panel: TechniquesPanel) -> bool:
    """Model findings go into a Navigator layer or a STIX bundle of one report the model has scored."""
    return fmt in FINDINGS_FORMATS and scope == THIS_REPORT and panel.scored


def export_request(ctx: Context, fmt: str, scope: str, report_id: int, include_unlabelled: bool,
                   model_findings: bool, panel: TechniquesPanel) -> ExportRequest:
    """The export the form describes (options the format cannot take are dropped)."""
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"Unknown export format '{fmt}'; use one of {', '.join(EXPORT_FORMATS)}")
    one = report_id if scope == THIS_REPORT else None
    unlabelled = bool(include_unlabelled) and unlabelled_possible(fmt)
    findings = bool(model_findings) and findings_possible(fmt, scope, panel)
    key = (fmt, scope, one, unlabelled, findings, panel.identity, ctx.store.label_event_watermark())
    return ExportRequest(fmt, one, unlabelled, findings, panel.model_id, key)


def prepare_export(ctx: Context, user: str, request: ExportRequest) -> PreparedExport:
    """Write the export file in memory."""
    from tram_core.views.report_export import export_with_findings

    check_user(user, "export")
    content, filename = export_with_findings(ctx.store, request.fmt, request.report_id,
                                             include_unlabelled=request.include_unlabelled,
                                             model_findings=request.model_findings, model_id=request.model_id)
    return PreparedExport(request.key, content, filename, request.mime)
