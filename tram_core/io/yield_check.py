"""The low-yield rule: a report file that gave far fewer sentences than its size suggests earns a one-line warning."""

from __future__ import annotations

from tram_core.io.ingest import ExtractedText

# The most bytes of file a sentence may cost before the yield looks wrong: several times what real reports cost
# (a report page's HTML about 2 KB a sentence, a PDF advisory about 3 KB, plain text about 150 bytes), since
# images and markup vary a lot.
BYTES_PER_SENTENCE = {
    ".html": 16 * 1024, ".htm": 16 * 1024,
    ".pdf": 128 * 1024, ".docx": 64 * 1024,
    ".txt": 2 * 1024, ".md": 2 * 1024, ".text": 2 * 1024,
}
# Below this many expected sentences a small file is never called low-yield.
MIN_EXPECTED_SENTENCES = 4

_KINDS = {".html": "HTML", ".htm": "HTML", ".pdf": "PDF", ".docx": "DOCX"}
_HINTS = {
    "HTML": ("the page may build its text with JavaScript or hide it from the extractor; "
             "paste the report's text instead"),
    "PDF": "its pages may be images the text layer and OCR could not read; check the report's sentences",
    "DOCX": "its text may sit in images or text boxes; check the report's sentences",
}


def low_yield_warning(file_type: str, size_bytes: int, sentences: int) -> str | None:
    """A one-line warning when ``sentences`` is far below what a ``file_type`` file of ``size_bytes`` holds, else None.

    ``file_type`` is the extension that picked the parser (".html", ".pdf", ...); the line leaves out the file name
    (the import result that carries it names the file).
    """
    per_sentence = BYTES_PER_SENTENCE.get(file_type.lower())
    if per_sentence is None or size_bytes <= 0:
        return None
    expected = size_bytes // per_sentence
    if expected < MIN_EXPECTED_SENTENCES or sentences >= expected:
        return None
    kind = _KINDS.get(file_type.lower(), "text")
    hint = _HINTS.get(kind, "check the file's encoding and line breaks")
    noun = "sentence" if sentences == 1 else "sentences"
    return (f"only {sentences:,} {noun} from {_size(size_bytes)} of {kind}, where a file this size usually gives "
            f"{expected:,} or more; {hint}")


def extraction_warnings(extracted: ExtractedText, sentences: int) -> list[str]:
    """What to tell the user about one extracted report: the extractor's warnings, then the low-yield rule's."""
    low_yield = low_yield_warning(extracted.file_type, extracted.size_bytes, sentences)
    return list(extracted.warnings) + ([low_yield] if low_yield else [])


def _size(size_bytes: int) -> str:
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:,.0f} KB"
    return f"{size_bytes / 2**20:,.1f} MB"
