"""Reports from a dataset's rows: sentences joined into a text or located in the report's own text, grouped by title."""

from __future__ import annotations

import bisect
import re
from typing import Sequence

from tram_core.io.dataset_checks import ParsedReport, RowChecker
from tram_core.store import NewSentence


def joined_report(title: str, rows: list[tuple[str, tuple[str, ...], str]], source: str = "") -> ParsedReport:
    """A report whose text is its sentences joined with newlines; ``rows`` are (text, labels, status)."""
    parts = []
    sentences = []
    pos = 0
    for text, labels, status in rows:
        if parts:
            pos += 1  # the newline
        parts.append(text)
        sentences.append(NewSentence(text=text, start=pos, end=pos + len(text), labels=labels, status=status))
        pos += len(text)
    return ParsedReport(title=title, text="\n".join(parts), sentences=sentences, source=source)


def locate_sentences(text: str, sentences: Sequence[str]) -> list[tuple[int, int]] | None:
    """Offsets of each sentence in ``text``, in order (whitespace may differ); None when one is not found.

    Linear in the text: an exact ``str.find`` first, else a find in the text with its whitespace squeezed. (A
    regular expression of the words joined by ``\\s+`` cost text length x sentence length on a near miss.)
    """
    out = []
    cursor = 0
    squeezed: _SqueezedText | None = None
    for sentence in sentences:
        words = sentence.split()
        if not words:
            return None
        start = text.find(sentence, cursor)
        if start >= 0:
            end = start + len(sentence)
        else:
            squeezed = squeezed or _SqueezedText(text)
            found = squeezed.find(" ".join(words), cursor)
            if found is None:
                return None
            start, end = found
        out.append((start, end))
        cursor = end
    return out


class _SqueezedText:
    """A text with every run of whitespace squeezed to one space, and the way back to the original offsets."""

    def __init__(self, text: str):
        tokens = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
        self.text_starts = [start for start, _ in tokens]
        self.lengths = [len(token) for _, token in tokens]
        self.squeezed_starts = []
        position = 0
        for _, token in tokens:
            self.squeezed_starts.append(position)
            position += len(token) + 1
        self.squeezed = " ".join(token for _, token in tokens)

    def _original(self, k: int) -> int:
        """The original offset of squeezed character ``k`` (a non-space character)."""
        i = bisect.bisect_right(self.squeezed_starts, k) - 1
        return self.text_starts[i] + (k - self.squeezed_starts[i])

    def find(self, needle: str, cursor: int) -> tuple[int, int] | None:
        """(start, end) in the original text of the first match of ``needle`` starting at or after ``cursor``."""
        i = bisect.bisect_right(self.text_starts, cursor) - 1  # the token holding the cursor, or the one before it
        if i >= 0 and cursor < self.text_starts[i] + self.lengths[i]:
            begin = self.squeezed_starts[i] + (cursor - self.text_starts[i])  # "cmdlet.Storing": mid-token
        else:
            begin = self.squeezed_starts[i + 1] if i + 1 < len(self.squeezed_starts) else len(self.squeezed)
        k = self.squeezed.find(needle, begin)
        if k < 0:
            return None
        return self._original(k), self._original(k + len(needle) - 1) + 1


def group_by_title(
    rows: list[tuple[str | None, str, tuple[str, ...], str]], default_title: str, checker: RowChecker,
) -> list[ParsedReport]:
    """One report per document title (in order of first appearance); rows without a title go under the file's name."""
    groups: dict[str, list[tuple[str, tuple[str, ...], str]]] = {}
    untitled = 0
    for title, text, labels, status in rows:
        if not title:
            untitled += 1
        groups.setdefault(title or default_title, []).append((text, labels, status))
    if untitled:
        checker.warnings.append(f"{untitled} rows without doc_title went into report '{default_title}'")
    return [joined_report(title, group) for title, group in groups.items()]
