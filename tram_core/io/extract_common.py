"""What every report extractor shares: IngestError, the bullet-line pattern and the binary-content check."""

from __future__ import annotations

import re

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
