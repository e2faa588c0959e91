"""What the report extractors share: IngestError, bullet and page-number patterns, running headers, the binary check."""

from __future__ import annotations

import re
from collections import Counter

from tram_core.errors import UserError


class IngestError(UserError):
    """A report could not be read; the message names the file (or URL) and the reason."""


# A line that starts a list item: a bullet sign, "o", "1." or "(a)".
BULLET_LINE = re.compile(r"\s*(?:[•◦▪▫■□●○‣⁃∙·➢➤►*–-]|o(?=\s)|\(?\d{1,2}[.)]\s|\(?[a-z][.)]\s)")


def looks_binary(data: bytes) -> bool:
    """Whether bytes are binary rather than text: a NUL, or many control characters, in the first 8 KB."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NULs
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
    return b"\x00" in head or controls > 0.02 * len(head)


# A line that is only a page number: "3", "Page 3", "3 of 22", "- 3 -", "Page 3 of 22 | Product ID ...".
PAGE_NUMBER = re.compile(
    r"(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?|[-–—]\s*\d{1,4}\s*[-–—]|page\s+\d{1,4}\s+of\s+\d{1,4}\b.*",
    re.IGNORECASE,
)


def repetition_key(line: str) -> str:
    """A line with its spacing collapsed and every number as ``#``: "Page 3 of 22" and "Page 4 of 22" are alike."""
    return re.sub(r"\d+", "#", " ".join(line.split()))


def repeated_line_keys(pages: list[list[str]]) -> set[str]:
    """The keys of the lines that repeat on most pages (running headers and footers): on at least 3 pages and 40%
    of them, in a document of 3 pages or more."""
    if len(pages) < 3:
        return set()
    counts = Counter(key for lines in pages for key in {repetition_key(line) for line in lines if line.strip()})
    return {key for key, count in counts.items() if count >= max(3, 0.4 * len(pages))}
