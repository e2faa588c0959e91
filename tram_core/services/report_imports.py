"""Reports page, bringing reports in: uploaded files, pasted text, a web address and the demo corpus, each read and
checked before one transaction stores them; the per-file results the page shows."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import pandas as pd

from tram_core.errors import is_user_error
from tram_core.io import import_duplicates as dups
from tram_core.io import importer
from tram_core.io.dataset_checks import ImportOptions
from tram_core.services import activity
from tram_core.services.common import Context, check_user

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
class DuplicateQuestion:
    """One near-duplicate to decide on the page: its key, the question, and the answer offered first."""

    key: tuple[str, int]
    question: str
    default: str = dups.MERGE


@dataclass(frozen=True)
class PendingImport:
    """Files read and checked but not stored yet: some are the same document as a stored report (or as another file
    of this import) in another format, and the user decides merge, keep or skip for each (``finish_import``)."""

    files: tuple
    failures: tuple[tuple[str, str], ...]
    duplicates: tuple
    names: str  # what the import was of, for the activity log

    @property
    def questions(self) -> list[DuplicateQuestion]:
        return [DuplicateQuestion(d.key, d.question) for d in self.duplicates]


DECISIONS = dups.DECISIONS
DECISION_NAMES = dups.DECISION_NAMES


@dataclass(frozen=True)
class ImportOutcome:
    """What one import action did: a row per file, or why nothing was tried (``warning``, ``error``); ``pending``
    when near-duplicates wait for the user's decision before anything is stored."""

    rows: tuple[ImportRow, ...] = ()
    warning: str = ""
    error: str = ""
    notes: tuple[str, ...] = ()  # each imported file's warnings (e.g. far fewer sentences than its size suggests)
    pending: PendingImport | None = None

    @property
    def failures(self) -> list[str]:
        """One line per refused file, naming it once."""
        return [f"{r.file}: not imported. {r.message.removeprefix(f'{r.file}: ')}"
                for r in self.rows if r.result == "failed"]

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

    prepared, failures = dups.prepare_sources(sources, on_prepared=read)
    names = ", ".join(name for name, _ in sources)
    try:
        duplicates = dups.find_near_duplicates(ctx.store, prepared) if prepared else []
    except Exception as exc:  # noqa: BLE001 - nothing was stored, every item says why
        if not is_user_error(exc):
            raise
        return ImportOutcome(tuple(import_row(name, error=exc) for name, _ in sources))
    if duplicates:  # nothing stored until the user says merge, keep or skip for each
        pending = PendingImport(tuple(prepared), tuple(failures), tuple(duplicates), names)
        return ImportOutcome(tuple(ImportRow(name, "failed", message=message) for name, message in failures),
                             pending=pending)
    return _store(ctx, user, PendingImport(tuple(prepared), tuple(failures), (), names), {})


def _store(ctx: Context, user: str, pending: PendingImport, decisions: Mapping[tuple[str, int], str]) -> ImportOutcome:
    """Store the prepared files in one transaction, near-duplicates as decided; a row per file."""
    try:
        results = dups.store_decided(ctx.store, pending.files, user, pending.duplicates, decisions) \
            if pending.files else []
    except Exception as exc:  # noqa: BLE001 - storing failed: nothing was stored, every item says why
        if not is_user_error(exc):
            raise
        names = [f.name for f in pending.files] + [name for name, _ in pending.failures]
        return ImportOutcome(tuple(import_row(name, error=exc) for name in names))
    batch = importer.BatchResult(results=results, failures=list(pending.failures))
    outcome = ImportOutcome(tuple(batch_rows(batch)),
                            notes=tuple(f"{r.source}: {w}" for r in batch.results for w in r.warnings))
    activity.record(ctx, user, "import", pending.names,
                    after={"items": len(pending.files) + len(pending.failures), "failed": len(outcome.failures),
                           **({"near_duplicates": {f"{k[0]}#{k[1]}": v for k, v in decisions.items()}}
                              if decisions else {})})
    return outcome


def finish_import(ctx: Context, user: str, pending: PendingImport,
                  decisions: Mapping[tuple[str, int], str]) -> ImportOutcome:
    """Store an import that waited on near-duplicates: each merged (the stored report stays and records the file as
    another source), kept as a report of its own, or skipped, as ``decisions`` say (merge where they say nothing)."""
    user = check_user(user, "import reports")
    chosen = {d.key: dups.check_decision(decisions.get(d.key, dups.MERGE), d.file) for d in pending.duplicates}
    return _store(ctx, user, pending, chosen)


def import_files(ctx: Context, user: str, files: Sequence[tuple[str, bytes]],
                 on_progress: OnProgress | None = None) -> ImportOutcome:
    """Import uploaded files ``(name, content)``: report documents and datasets, each refused on its own."""
    if not files:
        return ImportOutcome(warning="Choose one or more files first.")
    options = ImportOptions(limits=ctx.settings.limits)
    limit = ctx.settings.max_upload_bytes

    def prepare(data: bytes, name: str):
        return importer.prepare_bytes(data, name, options, max_bytes=limit, progress=_ocr_progress(name, on_progress))

    return _run_imports(ctx, user, [(name, lambda d=data, n=name: prepare(d, n)) for name, data in files],
                        on_progress)


def _ocr_progress(name: str, on_progress: OnProgress | None) -> Callable[[int, int], None] | None:
    """The page's progress line for a scanned file read page by page with OCR."""
    if on_progress is None:
        return None
    return lambda done, pages: on_progress(done / max(pages, 1), f"Reading {name} by OCR: page {done} of {pages}")


def import_text(ctx: Context, user: str, title: str, text: str) -> ImportOutcome:
    """Import pasted text as a report titled ``title`` ('Pasted text' when blank)."""
    if not (text or "").strip():
        return ImportOutcome(warning="Paste the report's text first.")
    name = (title or "").strip() or "Pasted text"
    return _run_imports(ctx, user, [(name, lambda: importer.prepare_text(text, name, ctx.settings.limits))])


def import_url(ctx: Context, user: str, url: str, on_progress: OnProgress | None = None) -> ImportOutcome:
    """Fetch a web page or PDF at ``url`` and import it (public addresses only)."""
    address = (url or "").strip()
    if not address.lower().startswith(("http://", "https://")):
        return ImportOutcome(error=f"'{address[:200]}' is not a web address; it must start with http:// or https://")
    return _run_imports(ctx, user, [(address, lambda: importer.prepare_url(address, ctx.settings,
                                                                          _ocr_progress(address, on_progress)))],
                        on_progress)


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
