"""Text to sentences with character offsets, tuned for threat-report text."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SentenceSpan:
    """One sentence: ``text`` is ``source[start:end]`` with runs of whitespace collapsed to one space."""

    start: int
    end: int
    text: str


_NAIVE_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z])|\n\s*\n")


def split_sentences(text: str) -> list[SentenceSpan]:
    """Split ``text`` into sentences with offsets into ``text`` (first cut; to be replaced by the real splitter)."""
    spans = []
    pos = 0
    for match in list(_NAIVE_BOUNDARY.finditer(text)) + [None]:
        end = match.start() if match else len(text)
        chunk = text[pos:end]
        lead = len(chunk) - len(chunk.lstrip())
        s, e = pos + lead, pos + len(chunk.rstrip())
        if e > s:
            spans.append(SentenceSpan(s, e, " ".join(text[s:e].split())))
        pos = match.end() if match else len(text)
    return spans
