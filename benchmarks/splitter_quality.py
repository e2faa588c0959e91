"""Splitter quality on TRAM 2's annotated reports: how often a sentence split cuts a technique span in two.

Usage: python benchmarks/splitter_quality.py [MJSON_DIR] [--show N]
(MJSON_DIR defaults to ../shared/data/tram2/mjson; --show N prints N cut spans for reading.)

Besides the project's splitter and regex baselines it measures the maintained library splitters that are installed:
nupunkt, pysbd, blingfire and spaCy's rule-based sentencizer, each on the whole text and per paragraph (blank lines
and line breaks ending a sentence first, as reports lay out headings, lists and tables). None is a TRAM dependency;
install them beside the project (pysbd ships a top-level ``benchmarks`` package that shadows this folder, so give it
its own folder: ``pip install --target /tmp/sbd pysbd`` and ``PYTHONPATH=/tmp/sbd``).
"""

from __future__ import annotations

import bisect
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tram_core.io.sentences import SentenceSpan, split_sentences  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from splitter_libraries import library_splitters  # noqa: E402

DEFAULT_DIR = REPO_ROOT.parent / "shared" / "data" / "tram2" / "mjson"
_WORDY = re.compile(r"\w")
_TECHNIQUE_TYPE = re.compile(r"\(T\d{4}(?:\.\d{3})?\)\s*$")


def naive_split(text: str) -> list[SentenceSpan]:
    """Baseline: a regex on end punctuation followed by whitespace ('. '), plus blank lines."""
    return _regex_split(text, re.compile(r"(?<=[.!?])\s+|\n\s*\n"))


def naive_lines_split(text: str) -> list[SentenceSpan]:
    """Baseline: '. ' or any newline ends a sentence."""
    return _regex_split(text, re.compile(r"(?<=[.!?])\s+|\s*\n\s*"))


def first_cut_split(text: str) -> list[SentenceSpan]:
    """The project's first-cut splitter: end punctuation then a capital letter, or a blank line."""
    return _regex_split(text, re.compile(r"(?<=[.!?])\s+(?=[A-Z])|\n\s*\n"))


def _regex_split(text: str, boundary: re.Pattern) -> list[SentenceSpan]:
    spans, pos = [], 0
    for match in list(boundary.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        chunk = text[pos:end]
        s = pos + len(chunk) - len(chunk.lstrip())
        e = pos + len(chunk.rstrip())
        if e > s:
            spans.append(SentenceSpan(s, e, " ".join(text[s:e].split())))
        pos = match.end() if match else len(text)
    return spans


def technique_spans(doc: dict) -> list[tuple[int, int, str]]:
    """(start, end, technique) for every technique annotation, whitespace trimmed."""
    text = doc["signal"]
    out = []
    for aset in doc["asets"]:
        kind = aset["type"]
        match = _TECHNIQUE_TYPE.search(kind)
        for annot in aset.get("annots") or []:
            if match:
                tech = match.group(0).strip(" ()")
            elif kind in ("[OTHER]", "[WUZZA]") and len(annot) > 2 and annot[2]:
                tech = str(annot[2])
            else:
                continue
            start, end = int(annot[0]), int(annot[1])
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end > start:
                out.append((start, end, tech))
    return out


def measure(docs: list[dict], splitter: Callable[[str], list[SentenceSpan]], show: int = 0) -> dict:
    started = time.perf_counter()
    splits = [splitter(doc["signal"]) for doc in docs]
    seconds = time.perf_counter() - started
    lengths, within, cut, over_600, shown, whole_short = [], 0, 0, 0, 0, 0
    for doc, sentences in zip(docs, splits):
        text = doc["signal"]
        for s in sentences:
            assert s.text == " ".join(text[s.start : s.end].split()), "offsets do not round-trip"
        lengths.extend(len(s.text) for s in sentences)
        over_600 += sum(len(s.text) > 600 for s in sentences)
        starts = [s.start for s in sentences]
        for start, end, tech in technique_spans(doc):
            first = max(bisect.bisect_right(starts, start) - 1, 0)
            hits, longest = 0, 0
            for s in sentences[first:]:
                if s.start >= end:
                    break
                if s.end > start and _WORDY.search(text, max(s.start, start), min(s.end, end)):
                    hits += 1  # overlaps that hold only punctuation (a span that starts at ". The") do not count
                    longest = max(longest, len(s.text))
            if hits <= 1:
                within += 1
                whole_short += longest <= 600
            else:
                cut += 1
                if shown < show:
                    shown += 1
                    print(f"--- cut {tech} in {doc['signal'][7:60]!r}: {text[start:end]!r}")
    spans = within + cut
    return {
        "reports": len(docs),
        "sentences": len(lengths),
        "mean_chars": statistics.mean(lengths) if lengths else 0.0,
        "median_chars": statistics.median(lengths) if lengths else 0.0,
        "spans": spans,
        "within_pct": 100.0 * within / spans if spans else 0.0,
        "cut_pct": 100.0 * cut / spans if spans else 0.0,
        "cut": cut,
        "over_600": over_600,
        "whole_short_pct": 100.0 * whole_short / spans if spans else 0.0,
        "seconds": seconds,
    }


def _print(name: str, r: dict) -> None:
    print(
        f"{name:<20} reports={r['reports']} sentences={r['sentences']} mean={r['mean_chars']:.1f} "
        f"median={r['median_chars']:.0f} chars | spans={r['spans']} within one sentence={r['within_pct']:.2f}% "
        f"cut across 2+={r['cut_pct']:.2f}% ({r['cut']}) | sentences>600 chars={r['over_600']} | "
        f"whole in a sentence of <=600 chars={r['whole_short_pct']:.2f}% | {r['seconds']:.2f} s"
    )


def _compare_libraries(docs: list[dict], ours: dict) -> None:
    """Each installed library splitter against tram_core's: cut spans, over-long sentences, whole short spans."""
    found, missing = library_splitters()
    for name, why in missing:
        print(f"{name:<20} not measured: {why}")
    results = {name: measure(docs, splitter) for name, splitter in found}
    for name, result in results.items():
        _print(name, result)
    for name, result in results.items():
        print(f"tram_core vs {name}: cut spans {ours['cut_pct']:.2f}% vs {result['cut_pct']:.2f}%; "
              f"sentences>600 chars {ours['over_600']} vs {result['over_600']}; spans whole in a sentence of "
              f"<=600 chars {ours['whole_short_pct']:.2f}% vs {result['whole_short_pct']:.2f}% "
              f"({ours['whole_short_pct'] - result['whole_short_pct']:+.2f} points); time "
              f"{ours['seconds']:.2f} s vs {result['seconds']:.2f} s")
    if results:
        best = max(results, key=lambda n: results[n]["whole_short_pct"])
        gap = ours["whole_short_pct"] - results[best]["whole_short_pct"]
        verdict = "wins" if gap > 0 else "loses"
        print(f"verdict: tram_core {verdict} against the best library splitter ({best}) by {abs(gap):.2f} points of "
              f"annotated spans kept whole in a sentence of at most 600 characters")


def main(argv: list[str]) -> None:
    show = 0
    if "--show" in argv:
        i = argv.index("--show")
        show = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    folder = Path(argv[0]) if argv else DEFAULT_DIR
    files = sorted(folder.glob("*.mjson"))
    if not files:
        raise SystemExit(f"no .mjson files in {folder}")
    docs = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    ours = measure(docs, split_sentences, show)
    naive = measure(docs, naive_split)
    first = measure(docs, first_cut_split)
    lines = measure(docs, naive_lines_split)
    _print("tram_core", ours)
    _print("naive '. '", naive)
    _print("first cut", first)
    _print("'. '+lines", lines)
    _compare_libraries(docs, ours)
    for name, base in (("naive", naive), ("first cut", first), ("'. '+lines", lines)):
        print(
            f"tram_core / {name}: cut spans {ours['cut_pct']:.2f}% / {base['cut_pct']:.2f}% "
            f"= {ours['cut_pct'] / base['cut_pct']:.2f}x; sentences>600 chars {ours['over_600']} / "
            f"{base['over_600']} = {ours['over_600'] / max(base['over_600'], 1):.2f}x; "
            f"time {ours['seconds'] / base['seconds']:.1f}x"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
