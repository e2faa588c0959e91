"""Ingest quality per format: of the annotated spans, the share that come out whole inside one sentence; marked noise
sentences (code, rules, indicator lists) and fragments per page; seconds per MB of file.

Usage: python benchmarks/ingest_quality.py [--data ../shared/data] [--limit N]

Formats: the 121 MAT reports' text as .txt files (their annotated spans are the yardstick); the same texts written as
DOCX and HTML files (one paragraph per line; made here, since the data folder has no DOCX or HTML of these reports);
the real DOCX with its TRAM export (its labelled sentences are the spans); the real PDF (no annotations: noise and
speed only). A page is a PDF page, else 3,000 characters of extracted text. A span counts as whole when one sentence
holds its words in order (whitespace squeezed); a short span may then match another place of the text, so the share
is an upper bound. Prints figures only.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from splitter_quality import technique_spans  # noqa: E402

from tram_core.io.importer import prepare_bytes  # noqa: E402

CHARS_PER_PAGE = 3000


@dataclass
class Tally:
    """Figures of one format, summed over its files."""

    files: int = 0
    megabytes: float = 0.0
    seconds: float = 0.0
    pages: float = 0.0
    sentences: int = 0
    marked: int = 0
    fragments: int = 0
    spans: int = 0
    whole: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        whole = f"{100 * self.whole / self.spans:.2f}% of {self.spans:,} spans whole" if self.spans else "no spans"
        per_page = self.pages or 1
        return (f"{name:<22} files={self.files} {self.megabytes:.2f} MB pages={self.pages:,.0f} "
                f"sentences={self.sentences:,} | {whole} | marked noise {self.marked / per_page:.2f}/page "
                f"({self.marked:,}), fragments {self.fragments / per_page:.2f}/page ({self.fragments:,}) | "
                f"{self.seconds / max(self.megabytes, 1e-9):.2f} s/MB ({self.seconds:.1f} s)"
                + (f" | {len(self.failures)} refused: {self.failures[:2]}" if self.failures else ""))


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def ingest(tally: Tally, data: bytes, name: str, spans: list[str], pages: float | None = None) -> None:
    """Import one file as TRAM does (extract, normalise, split, mark noise) and count what came out."""
    started = time.perf_counter()
    try:
        report = prepare_bytes(data, name).reports[0]
    except Exception as exc:  # noqa: BLE001 - a figure, not a crash
        tally.failures.append(f"{name}: {exc}")
        return
    tally.seconds += time.perf_counter() - started
    tally.files += 1
    tally.megabytes += len(data) / 2**20
    tally.pages += pages if pages is not None else len(report.text) / CHARS_PER_PAGE
    tally.sentences += len(report.sentences)
    tally.marked += sum(1 for s in report.sentences if s.kind != "text")
    tally.fragments += sum(1 for s in report.sentences if s.kind == "text" and len(s.text.split()) < 3)
    texts = [_squeeze(s.text) for s in report.sentences]
    for span in spans:
        wanted = _squeeze(span)
        tally.spans += 1
        tally.whole += any(wanted in text for text in texts)


def _docx(lines: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _html(title: str, lines: list[str]) -> bytes:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body><nav><a href='/'>Home</a> "
            f"<a href='/blog'>Blog</a></nav><article><h1>{html.escape(title)}</h1>{body}</article>"
            "<footer>Copyright</footer></body></html>").encode()


def mat_formats(folder: Path, limit: int | None) -> dict[str, Tally]:
    tallies = {"text (MAT .txt)": Tally(), "DOCX (MAT text)": Tally(), "HTML (MAT text)": Tally()}
    for path in sorted(folder.glob("*.mjson"))[:limit]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        signal = doc["signal"]
        spans = [signal[s:e] for s, e, _ in technique_spans(doc)]
        lines = [line.strip() for line in signal.replace("\r", "").split("\n") if line.strip()]
        ingest(tallies["text (MAT .txt)"], signal.encode(), path.stem + ".txt", spans)
        ingest(tallies["DOCX (MAT text)"], _docx(lines), path.stem + ".docx", spans)
        ingest(tallies["HTML (MAT text)"], _html(lines[0], lines), path.stem + ".html", spans)
    return tallies


def real_files(reports: Path) -> dict[str, Tally]:
    from pypdf import PdfReader

    tallies = {"PDF (AA20-302A)": Tally(), "DOCX (simple-test)": Tally()}
    pdf = (reports / "AA20-302A.pdf").read_bytes()
    ingest(tallies["PDF (AA20-302A)"], pdf, "AA20-302A.pdf", [], pages=len(PdfReader(io.BytesIO(pdf)).pages))
    export = json.loads((reports / "report-for-simple-testdocx.json").read_text(encoding="utf-8"))
    labelled = [s["text"] for s in export["sentences"] if s.get("mappings")]
    ingest(tallies["DOCX (simple-test)"], (reports / "simple-test.docx").read_bytes(), "simple-test.docx", labelled)
    return tallies


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="only the first N MAT reports")
    args = parser.parse_args(argv)
    tallies = {**mat_formats(args.data / "tram2" / "mjson", args.limit), **real_files(args.data / "reports")}
    for name, tally in tallies.items():
        print(tally.line(name))


if __name__ == "__main__":
    main(sys.argv[1:])
