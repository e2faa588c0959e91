"""How far an imported file may expand (text, sentences, unpacked bytes, nesting, tags, OCR), each a setting with a clear refusal."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import Any, Mapping

from tram_core.errors import UserError


class LimitError(UserError):
    """An input over one of the limits; the message names the file, the limit and the setting that raises it."""


@dataclass(frozen=True)
class InputLimits:
    """Limits on what one imported file may become.

    The upload cap (``TRAM_MAX_UPLOAD_MB``) bounds the bytes that arrive; these bound what they expand to, since a
    111 KB DOCX unpacked to a million sentences and a 408 KB zip bomb to 869 MB before anything refused it.
    Defaults sit far above real reports: TRAM's largest report has 1,171 sentences and 130,000 characters.
    """

    max_text_chars: int = 2_000_000
    max_sentences: int = 20_000
    max_unpacked_bytes: int = 64 * 1024 * 1024
    max_nesting: int = 200
    # Every tag becomes a parsed element: about 1 KB and 18 µs each in BeautifulSoup, 140 bytes in lxml. A 125 KB
    # DOCX of 10 million empty paragraphs took 1.4 GB before any other limit could see it.
    max_markup_tags: int = 600_000
    # OCR of pages without a text layer: at most this many pages a file, each within this many seconds (rendering
    # and recognition together; a letter page at 300 dpi takes 2 to 5 s on one core).
    max_ocr_pages: int = 50
    ocr_page_timeout_s: int = 60

    def check_text(self, length: int, where: str) -> None:
        """Refuse a report whose text is longer than ``max_text_chars``."""
        if length > self.max_text_chars:
            raise LimitError(
                f"{where}: the text is over the limit of {self.max_text_chars:,} characters "
                f"(found {length:,}; the setting is TRAM_MAX_TEXT_CHARS)"
            )

    def check_sentences(self, count: int, where: str) -> None:
        """Refuse a report with more than ``max_sentences`` sentences (or rows)."""
        if count > self.max_sentences:
            raise LimitError(
                f"{where}: over the limit of {self.max_sentences:,} sentences in one report "
                f"(found {count:,}; the setting is TRAM_MAX_SENTENCES)"
            )

    def check_nesting(self, depth: int, where: str) -> None:
        """Refuse JSON or HTML nested deeper than ``max_nesting`` levels."""
        if depth > self.max_nesting:
            raise LimitError(
                f"{where}: nested deeper than the limit of {self.max_nesting} levels "
                "(the setting is TRAM_MAX_NESTING)"
            )

    def check_markup(self, tags: int, where: str) -> None:
        """Refuse HTML or DOCX XML with more than ``max_markup_tags`` tags (counted as '<' characters)."""
        if tags > self.max_markup_tags:
            raise LimitError(
                f"{where}: over the limit of {self.max_markup_tags:,} markup tags "
                f"(found {tags:,} or more; the setting is TRAM_MAX_MARKUP_TAGS)"
            )

    def ocr_timeout(self, page: int, where: str) -> LimitError:
        """The refusal of a PDF page whose OCR ran past ``ocr_page_timeout_s`` (``page`` counts from 1)."""
        return LimitError(
            f"{where}: reading page {page} by OCR took longer than the limit of {self.ocr_page_timeout_s} s "
            "(the setting is TRAM_OCR_PAGE_TIMEOUT_S)"
        )

    def check_archive_markup(self, archive: zipfile.ZipFile, where: str) -> None:
        """Count the tags of every member of a zip container (streamed, stopping at the limit) before parsing.

        Every member, not only ``*.xml``: a DOCX finds its body through ``_rels/.rels``, so the body may carry any
        name. Binary members (images) add about one tag per 256 bytes.
        """
        tags = 0
        for info in archive.infolist():
            with archive.open(info) as member:
                while chunk := member.read(2**20):
                    tags += chunk.count(b"<")
                    self.check_markup(tags, where)

    def check_archive(self, archive: zipfile.ZipFile, where: str) -> None:
        """Refuse a zip container (DOCX) whose members unpack to more than ``max_unpacked_bytes``.

        The sizes come from the archive's directory; zipfile never inflates a member past its declared size (it
        fails the CRC check instead), so a lying directory cannot get more out than it declares.
        """
        total = 0
        for info in archive.infolist():
            total += info.file_size
            if total > self.max_unpacked_bytes:
                raise LimitError(
                    f"{where}: unpacks to more than the limit of {self.max_unpacked_bytes / 2**20:,.0f} MB "
                    "(a zip bomb or a huge document; the setting is TRAM_MAX_UNPACKED_MB)"
                )


DEFAULT_LIMITS = InputLimits()


def json_depth_and_strings(value: Any, where: str, limits: InputLimits) -> None:
    """Walk parsed JSON without recursion: refuse deep nesting and strings that are not valid Unicode text.

    A lone surrogate (``"\\ud800"``) is valid JSON but cannot be stored or hashed as UTF-8.
    """
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, (dict, list)):
            limits.check_nesting(depth, where)
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str):
                    child_path = f"{path}.{key[:40]}" if path else key[:40]
                    _check_string(key, where, child_path)
                else:
                    child_path = f"{path}[{key}]"
                stack.append((child, depth + 1, child_path))
        elif isinstance(node, str):
            _check_string(node, where, path)


def _check_string(text: str, where: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        place = f" at {path}" if path else ""
        raise LimitError(
            f"{where}: text{place} holds an invalid character (a lone surrogate \\u{ord(text[exc.start]):04x} at "
            f"character {exc.start}); fix the file's escapes"
        ) from None


def limits_from_env(env: Mapping[str, str]) -> InputLimits:
    """The limits from ``TRAM_MAX_TEXT_CHARS``, ``_SENTENCES``, ``_UNPACKED_MB``, ``_NESTING``, ``_MARKUP_TAGS``,
    ``TRAM_MAX_OCR_PAGES`` and ``TRAM_OCR_PAGE_TIMEOUT_S``."""
    return InputLimits(
        max_text_chars=_positive_int(env, "TRAM_MAX_TEXT_CHARS", DEFAULT_LIMITS.max_text_chars),
        max_sentences=_positive_int(env, "TRAM_MAX_SENTENCES", DEFAULT_LIMITS.max_sentences),
        max_unpacked_bytes=_positive_int(env, "TRAM_MAX_UNPACKED_MB", DEFAULT_LIMITS.max_unpacked_bytes // 2**20)
        * 2**20,
        max_nesting=_positive_int(env, "TRAM_MAX_NESTING", DEFAULT_LIMITS.max_nesting),
        max_markup_tags=_positive_int(env, "TRAM_MAX_MARKUP_TAGS", DEFAULT_LIMITS.max_markup_tags),
        max_ocr_pages=_positive_int(env, "TRAM_MAX_OCR_PAGES", DEFAULT_LIMITS.max_ocr_pages),
        ocr_page_timeout_s=_positive_int(env, "TRAM_OCR_PAGE_TIMEOUT_S", DEFAULT_LIMITS.ocr_page_timeout_s),
    )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip().replace("_", "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise UserError(f"{name}: {env.get(name)!r} is not a positive whole number")
    return int(raw)
