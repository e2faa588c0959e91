"""Reports page: imports, the table of reports, one report's techniques, running a model over it, delete, export."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import pandas as pd

from tram_core.errors import UserError, is_user_error
from tram_core.io import importer
from tram_core.io.dataset_checks import ImportOptions
from tram_core.io.exporters import EXPORT_FORMATS
from tram_core.services import activity
from tram_core.services.common import Context, ModelChoices, check_user, model_choices
from tram_core.views.report_summary import ReportSummary, report_summary

FORMAT_NAMES = {
    "tram-multilabel": "TRAM multi-label JSON (labelled sentences)",
    "tram-report": "TRAM report JSON (every sentence)",
    "csv": "CSV (labelled sentences)",
    "navigator": "ATT&CK Navigator layer",
}
EXPORT_MIME = {"csv": "text/csv"}
WITH_UNLABELLED = ("tram-multilabel", "csv")  # the formats that can add unlabelled rows
THIS_REPORT = "This report"
ALL_REPORTS = "All reports"
SCOPES = (THIS_REPORT, ALL_REPORTS)
OnProgress = Callable[[float, str], None]

# --------------------------------------------------------------------------------------------------- imports


@dataclass(frozen=True)
class ImportRow:
    """One line of the per-file import results table."""

    file: str
    result: str  # imported | duplicate | failed
    reports: int = 0
    sentences: int = 0
    labelled: int = 0
    duplicates: int = 0
    message: str = ""


def import_row(name: str, result=None, error: BaseException | None = None) -> ImportRow:
    """Summarise one file's import (an ImportResult, or the error that stopped it) for the results table."""
    if error is not None or result is None:
        return ImportRow(name, "failed", message=str(error) if error is not None else "nothing imported")
    created = result.reports_created
    outcome = "imported" if created else "duplicate"
    message = "; ".join([result.summary(), *result.warnings[:3]])
    if len(result.warnings) > 3:
        message += f"; and {len(result.warnings) - 3} more warnings"
    return ImportRow(name, outcome, created, result.sentences, result.labelled, result.duplicates, message)


def batch_rows(batch) -> list[ImportRow]:
    """The results table of one import action (an importer.BatchResult): the stored files, then the refused ones."""
    rows = [import_row(result.source, result) for result in batch.results]
    return rows + [ImportRow(name, "failed", message=message) for name, message in batch.failures]


@dataclass(frozen=True)
class ImportOutcome:
    """What one import action did: a row per file, or why nothing was tried (``warning``, ``error``)."""

    rows: tuple[ImportRow, ...] = ()
    warning: str = ""
    error: str = ""

    @property
    def failures(self) -> list[str]:
        """One line per refused file."""
        return [f"{r.file}: not imported. {r.message}" for r in self.rows if r.result == "failed"]

    @property
    def summary(self) -> str:
        """The totals of the files that went in ('' when none did)."""
        done = [r for r in self.rows if r.result != "failed"]
        if not done:
            return ""
        return (f"{sum(r.reports for r in done)} report(s) imported, "
                f"{sum(r.sentences for r in done):,} sentences ({sum(r.labelled for r in done):,} labelled), "
                f"{sum(r.duplicates for r in done)} already there.")

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows], columns=list(ImportRow.__dataclass_fields__))


def _run_imports(ctx: Context, user: str, sources: list[tuple[str, Callable]],
                 on_progress: OnProgress | None = None) -> ImportOutcome:
    """Read every ``(name, prepare)`` source, then store the readable ones in one transaction."""
    user = check_user(user, "import reports")

    def read(i: int, name: str, error: str | None) -> None:
        if on_progress is not None and len(sources) > 1:
            on_progress(i / len(sources), f"Read {i} of {len(sources)}: {name}")

    try:
        batch = importer.import_batch(ctx.store, sources, user, skip_bad_files=True, on_prepared=read)
    except Exception as exc:  # noqa: BLE001 - storing failed: nothing was stored, every item says why
        if not is_user_error(exc):
            raise
        return ImportOutcome(tuple(import_row(name, error=exc) for name, _ in sources))
    outcome = ImportOutcome(tuple(batch_rows(batch)))
    activity.record(ctx, user, "import", ", ".join(name for name, _ in sources),
                    after={"items": len(sources), "failed": len(outcome.failures)})
    return outcome


def import_files(ctx: Context, user: str, files: Sequence[tuple[str, bytes]],
                 on_progress: OnProgress | None = None) -> ImportOutcome:
    """Import uploaded files ``(name, content)``: report documents and datasets, each refused on its own."""
    if not files:
        return ImportOutcome(warning="Choose one or more files first.")
    options = ImportOptions(limits=ctx.settings.limits)
    limit = ctx.settings.max_upload_bytes
    return _run_imports(ctx, user, [(name, lambda d=data, n=name: importer.prepare_bytes(d, n, options, max_bytes=limit))
                                    for name, data in files], on_progress)


def import_text(ctx: Context, user: str, title: str, text: str) -> ImportOutcome:
    """Import pasted text as a report titled ``title`` ('Pasted text' when blank)."""
    if not (text or "").strip():
        return ImportOutcome(warning="Paste the report's text first.")
    name = (title or "").strip() or "Pasted text"
    return _run_imports(ctx, user, [(name, lambda: importer.prepare_text(text, name, ctx.settings.limits))])


def import_url(ctx: Context, user: str, url: str) -> ImportOutcome:
    """Fetch a web page or PDF at ``url`` and import it (public addresses only)."""
    address = (url or "").strip()
    if not address.lower().startswith(("http://", "https://")):
        return ImportOutcome(error=f"'{address[:200]}' is not a web address; it must start with http:// or https://")
    return _run_imports(ctx, user, [(address, lambda: importer.prepare_url(address, ctx.settings))])


# --------------------------------------------------------------------------------------------------- demo corpus


def demo_corpus_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder of TRAM's 121 annotated MAT reports beside the repository (``../shared/data``), if present."""
    env = os.environ if environ is None else environ
    base = Path(env.get("TRAM_SHARED_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
    folder = base / "tram2" / "mjson"
    return folder if folder.is_dir() and any(folder.glob("*.mjson")) else None


@dataclass(frozen=True)
class DemoCorpus:
    """TRAM's annotated demo reports, offered while the database is empty."""

    folder: Path
    files: tuple[Path, ...]

    @property
    def caption(self) -> str:
        return (f"A demo corpus of {len(self.files)} annotated reports (TRAM 2's MAT files) is available at "
                f"{self.folder}.")

    @property
    def button(self) -> str:
        return f"Load the demo corpus ({len(self.files)} reports)"


def demo_corpus() -> DemoCorpus | None:
    folder = demo_corpus_dir()
    return DemoCorpus(folder, tuple(sorted(folder.glob("*.mjson")))) if folder is not None else None


def import_demo(ctx: Context, user: str, on_progress: OnProgress | None = None) -> ImportOutcome:
    """Import the demo corpus's annotated reports, with their labels."""
    demo = demo_corpus()
    if demo is None:
        return ImportOutcome(warning="The demo corpus is not on this server.")
    options = ImportOptions(limits=ctx.settings.limits)
    return _run_imports(ctx, user, [(f.name, lambda f=f: importer.prepare_path(f, options)) for f in demo.files],
                        on_progress)


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
    user = check_user(user, "delete a report")
    report = ctx.store.get_report(report_id)
    ctx.store.delete_report(report_id, user=user)
    activity.record(ctx, user, "delete report", f"report {report_id}", before={"title": report.title})
    return f"Deleted report #{report_id} '{report.title}'."


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
    """Model findings go into a Navigator layer of one report the model has scored."""
    return fmt == "navigator" and scope == THIS_REPORT and panel.scored


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
