"""Plain-text and Markdown reports to text: the encoding guessed, Markdown headings and code fences handled."""

from __future__ import annotations

from tram_core.io.extract_common import IngestError, looks_binary


def extract_plain(data: bytes, filename: str, markdown: bool) -> tuple[str, str]:
    """(title, text) of a text file; a Markdown file's title is its first level-1 heading."""
    text = decode_text(data)
    if "\x00" in text or looks_binary(data):
        raise IngestError(f"{filename}: this is a binary file, not text; the file may be corrupt or mislabelled")
    title = ""
    if markdown:
        title, text = _markdown_to_text(text)
    return title, text


def _markdown_heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line (``## Title ##``), else None; string methods only, linear in the line."""
    body = line.lstrip(" ")
    if len(line) - len(body) > 3 or not body.startswith("#"):
        return None
    level = len(body) - len(body.lstrip("#"))
    rest = body[level:]
    if level > 6 or (rest and not rest[0].isspace()):
        return None
    heading = rest.strip()
    return level, heading.rstrip("#").rstrip() or heading  # "## Title ##" -> "Title"


def _markdown_to_text(text: str) -> tuple[str, str]:
    """The first level-1 heading as the title; headings become their own paragraphs; code fences are dropped.

    Line by line with string methods: the regular expression this replaces backtracked on a heading followed by
    spaces ("# a" + 2,000 spaces + "!" took 70 s) and held the interpreter lock for every other user.
    """
    title = ""
    lines = []
    for line in text.split("\n"):
        heading = _markdown_heading(line)
        if heading is not None and heading[1]:
            if not title and heading[0] == 1:
                title = heading[1]
            lines.append(f"\n{heading[1]}\n")
        elif line.lstrip(" \t").startswith("```"):
            lines.append("")
        else:
            lines.append(line)
    return title, "\n".join(lines)


def decode_text(data: bytes) -> str:
    """Decode text bytes: UTF-8 (with or without a BOM), UTF-16 with a BOM, else Windows-1252, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")
