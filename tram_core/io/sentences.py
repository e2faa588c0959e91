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


# --- word lists -------------------------------------------------------------------------------------------

# A period after these never ends a sentence (compared lower-case, without the final period).
_ABBREVIATIONS = frozenset(
    """
    e.g i.e eg ie vs v.s cf viz esp incl approx appx ca resp mr mrs ms dr prof sr jr st mt ft dept govt
    lt sgt capt tel fax refs et fig figs no nos vol vols pp
    jan feb mar apr jun jul aug sep sept oct nov dec ver v nr a.k.a aka
    """.split()
)
# A period after these ends a sentence only when the next word is a typical sentence opener.
_AMBIGUOUS = frozenset("etc inc ltd corp co llc plc al bros u.s u.k u.n e.u a.m p.m".split())

# Words that usually open a sentence; used where a boundary is uncertain.
_OPENERS = frozenset(
    """
    The This That These Those It Its In On At As If When While After Before During However Additionally Also
    A An We They He She Their Our Once Then For To By From Some Many Most All Other Each Both Although Though
    Since Because Unlike According Further Furthermore Moreover Finally First Second Third Next Note Figure
    Table See Upon Using With Based There Here What Which Who How Why Once Between Within Following Another
    Similarly Instead Thus Therefore Meanwhile Overall Currently Previously Later Earlier Such One Two Three
    Several Multiple Attackers Threat Researchers Analysis Microsoft CISA FBI Unit
    """.split()
)
# A line ending with one of these words continues on the next line, whatever case the next line starts with.
_JOINING_WORDS = frozenset(
    """
    a an the to of and or nor in on for with by from as at that which who whose is are was were be been
    being has have had its their this these those into onto via than such including include includes
    uses use used using named called like but if when while where whether also both either not our your
    its his her then so known
    """.split()
)

_BULLET = re.compile(
    r"[ \t\r\f\v]*(?:[•◦▪▫■□●○‣⁃∙·➢➤►▶✓✔*–—-]|o(?=[ \t])|\(?\d{1,2}[.)](?!\d)|\(?[a-zA-Z][.)](?=[ \t])"
    r"|\(?(?:i{1,3}|iv|vi{0,3}|ix|x)[.)](?=[ \t]))[ \t]+(?=\S)"
)
_SYMBOL_BULLET = re.compile(r"\s*[•◦▪▫■□●○‣⁃∙·➢➤►▶✓✔][ \t]+(?=\S)")
_TABLE_ROW = re.compile(r"\S[ \t]*(?:\t|\|)[ \t]*\S")
_KEY_VALUE = re.compile(r"[a-z][a-z_-]{1,15}:\s")
_TERMINAL_END = re.compile(r"""(?:[.!?…]+)["'”’)\]]*(?:\[\d{1,3}\])*$""")

# Candidate boundaries inside a block: end punctuation, then closing quotes/brackets and [1]-style citations.
_CANDIDATE = re.compile(
    r"(?=[.!?…\s])"  # a fast first-character filter
    # A run of end punctuation is tried once, from its first character, and taken whole (possessive): trying
    # it from every position of a run made "." * n quadratic (10k periods took 10.9 s).
    r"""(?:(?<![.!?…])[.!?…]++["'”’)\]]*+(?:\[\d{1,3}\])*+(?=\s)"""
    r"|\.(?:(?<=[a-z]{3}\.)|(?<=\d{4}\.))(?=[A-Z][a-z]+\s|[“\"‘]?[A-Z][a-z]|[•●▪◦])"  # a missing space: "malware.The"
    r"|\s(?=[•●▪◦➢►]\s))"  # an inline bullet: "follows: • one • two"
)
_NEXT_TOKEN = re.compile(r"""\s*(["'“‘(\[]*)(\S*)""")
_LABEL_BEFORE_NUMBER = re.compile(
    r"\b(?:Figure|Fig|Table|Step|Section|Listing|Appendix|Exhibit|Chart|Image|Screenshot|Part|Phase|Stage|No)\.?\s+$",
    re.IGNORECASE,
)
_FILE_LIKE = re.compile(r"[\w-]+\.[a-z0-9]{2,4}\b")
# Words a number follows: a line of prose ending with one goes on with the number on the next line.
_NUMBER_WORDS = frozenset("version versions ver build release port ports".split())
# A telephone number broken after its area code: "(855)" then "292-3937".
_AREA_CODE_END = re.compile(r"\(\d{3}\)$")
_LOCAL_NUMBER = re.compile(r"\d{3}[-.]\d{4}\b")


# --- helpers ----------------------------------------------------------------------------------------------


def _is_table_row(line: str) -> bool:
    return ("\t" in line or "|" in line) and _TABLE_ROW.search(line) is not None


def _is_bullet(line: str) -> bool:
    return _BULLET.match(line) is not None


def _bullet_end(text: str, start: int, end: int) -> int:
    """Position just past a bullet marker at ``start`` (or ``start`` when the line has none)."""
    match = _BULLET.match(text, start, end)
    return match.end() if match else start


def _is_abbreviation(word: str) -> bool:
    low = word.lower().rstrip(".")
    if low in _ABBREVIATIONS:
        return True
    # initials and dotted initialisms: "J.", "U.S", "A.B.C"
    return bool(re.fullmatch(r"(?:[a-z]\.)*[a-z]", low)) and len(low) <= 7 and low not in _AMBIGUOUS and (
        len(low) == 1 or "." in low
    )


def _ends_sentence(line: str) -> bool:
    """Whether a line ends with sentence-final punctuation that is not an abbreviation's period."""
    stripped = line.rstrip()
    if not _TERMINAL_END.search(stripped[-40:]):
        return False
    core = re.sub(r"""["'”’)\]]*(?:\[\d{1,3}\])*$""", "", stripped[-40:])
    if not core.endswith("."):
        return True
    last = core.split()[-1] if core.split() else ""
    word = last.rstrip(".").lstrip("([\"'“‘")
    return not _is_abbreviation(word)


def _wrap_width(text: str, lines: list[tuple[int, int]]) -> int | None:
    """The width a hard-wrapped text was wrapped at, or None when the text is not hard-wrapped.

    Clear wraps are lines of prose followed by a line that continues in lower case; when a text has many and
    they have about the same length, a line of about that length ends mid-sentence whatever follows it.
    """
    widths = []
    for (s1, e1), (s2, e2) in zip(lines, lines[1:]):
        nxt = text[s2:e2].lstrip()
        line = text[s1:e1].rstrip()
        if nxt[:1].islower() and line.count(" ") >= 3 and not _ends_sentence(line):
            widths.append(len(line))
    if len(widths) < 8:
        return None
    widths.sort()
    low, high = widths[len(widths) // 4], widths[(3 * len(widths)) // 4]
    if high > 140 or high - low > 0.35 * high:
        return None
    return low


def wrapped_number(prev: str, nxt: str) -> bool:
    """Whether a line break falls inside a telephone number ("call (855)" / "292-3937") or between a line of prose
    and the version or port number it names ("... Cobalt Strike version" / "4.3 ...")."""
    prev_s, nxt_s = prev.rstrip(), nxt.lstrip()
    if _AREA_CODE_END.search(prev_s[-5:]) and _LOCAL_NUMBER.match(nxt_s):
        return True
    if not nxt_s[:1].isdigit() or " " not in nxt_s.strip():  # a lone number is a table's cell
        return False
    words = prev_s[-80:].split()
    return len(words) >= 4 and words[-1].lower() in _NUMBER_WORDS


def _joins(prev: str, nxt: str, wrap_width: int | None = None) -> bool:
    """Whether a single newline between two non-blank lines is a wrap inside one sentence."""
    nxt_s = nxt.lstrip()
    prev_s = prev.rstrip()
    if _is_bullet(nxt) or _is_table_row(nxt_s) or _is_table_row(prev_s) or _KEY_VALUE.match(nxt_s):
        return False
    if _ends_sentence(prev_s):
        return False
    first = nxt_s[0]
    last_char = prev_s[-1]
    prev_words = prev_s.split()
    last_word = prev_words[-1].lower() if prev_words else ""
    if last_char in ",;&(/" or (last_char in "-–—" and len(prev_words) > 1) or last_word in _JOINING_WORDS:
        return len(prev_words) >= 2
    if first.islower() or first in ")]},;:" or (first == "(" and len(prev_words) >= 4):
        # a lower-case line after a line of prose; not an indicator list (one token a line)
        return len(prev_words) >= 4 and " " in nxt_s.strip()
    if wrap_width and len(prev_s) >= 0.8 * wrap_width and len(prev_words) >= 3:
        return True  # a full-width line of a hard-wrapped text
    return first.isdigit() and wrapped_number(prev_s, nxt_s)


def _boundary_at(text: str, punct_start: int, end: int, block_start: int, block_end: int) -> bool:
    """Whether the candidate ``text[punct_start:end]`` (end punctuation and closers) ends a sentence."""
    match = _NEXT_TOKEN.match(text, end, block_end)
    opener, token = match.group(1), match.group(2)
    if not token and not opener:
        return False
    first = token[:1]
    tail = text[max(block_start, punct_start - 80) : punct_start].split()
    word = tail[-1].lstrip("([{\"'“‘").rstrip("\"'”’)]}") if tail else ""
    punct = text[punct_start]
    if text[punct_start].isspace():
        return True  # an inline bullet
    if punct == "." and end == punct_start + 1 and not text[end : end + 1].isspace():
        # missing space after a period: "malware.The attackers", "2020.Dubbed", "enabled.• Next"
        if not (word.isdigit() or (word.isalpha() and word.islower())) or _is_abbreviation(word):
            return False
        if first in "•●▪◦" or opener:
            return True
        head = re.match(r"[A-Z][a-z]+", token)
        if not head or head.group(0) != token.rstrip(",:;"):
            return False
        after = text[end + len(token) : end + len(token) + 2]
        return token in _OPENERS or (after[:1] == " " and after[1:2].islower())
    if punct == ".":
        low = word.lower().rstrip(".")
        if low in _AMBIGUOUS or (re.fullmatch(r"(?:[a-z]\.)+[a-z]", low) and low not in _ABBREVIATIONS):
            return _clean_word(token) in _OPENERS
        if _is_abbreviation(word):
            return False
        if word.isdigit() and _LABEL_BEFORE_NUMBER.search(text, max(block_start, punct_start - 30), punct_start - len(word)):
            return False  # "Figure 7. Virtual environment ..." is one caption
    if first.isupper() or opener and (first.isupper() or first.isdigit()):
        return True
    if first.isdigit():
        return punct != "." or not re.fullmatch(r"\d+|[A-Za-z]", word.rstrip("."))
    if first.islower():
        # lower-case openers: camel-cased names ("iOS", "macOS") or file names ("cmd.exe ran ...")
        if re.match(r"[a-z]{1,4}[A-Z]", token):
            return True
        # or identifiers and file names after a plain word: "... traffic. anchor_dns uses", "... it. cmd.exe ran"
        identifier = _FILE_LIKE.match(token) is not None or re.match(r"[a-z]+[_\d]\w*", token) is not None
        return punct == "." and len(word) >= 3 and word.isalpha() and identifier
    return first in "•◦▪■●➢►*#%$@&\\/<"


def _clean_word(token: str) -> str:
    return re.sub(r"[^\w-].*$", "", token)


def _emit(text: str, start: int, end: int, out: list[SentenceSpan]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(SentenceSpan(start, end, " ".join(text[start:end].split())))


def _split_block(text: str, start: int, end: int, out: list[SentenceSpan]) -> None:
    """Split one block (lines already known to belong together) at sentence-final punctuation."""
    start = _bullet_end(text, start, end)
    pos = start
    for match in _CANDIDATE.finditer(text, start, end):
        if match.start() < pos or not _boundary_at(text, match.start(), match.end(), pos, end):
            continue
        _emit(text, pos, match.end(), out)
        pos = match.end()
        marker = _SYMBOL_BULLET.match(text, pos, end)
        if marker:  # an inline bullet: the sentence starts after its marker
            pos = marker.end()
    _emit(text, pos, end, out)


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, without the newline."""
    spans = []
    pos = 0
    for match in re.finditer(r"\n", text):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, len(text)))
    return spans


def split_sentences(text: str) -> list[SentenceSpan]:
    """Split ``text`` into sentences with exact offsets: ``SentenceSpan.text`` is ``text[start:end]``, whitespace collapsed.

    Blank lines, bullets, table rows and headings end a sentence; a single newline inside a sentence (a hard
    wrap) does not. Inside a line, ``.``/``!``/``?``/ellipses end a sentence unless the period belongs to an
    abbreviation, a number, an IP address, a file name or a defanged indicator.
    """
    out: list[SentenceSpan] = []
    block_start: int | None = None
    block_end = 0
    prev_line = ""
    lines = _lines(text)
    wrap_width = _wrap_width(text, lines)
    for line_start, line_end in lines:
        line = text[line_start:line_end]
        if not line.strip():
            if block_start is not None:
                _split_block(text, block_start, block_end, out)
                block_start = None
            prev_line = ""
            continue
        if block_start is not None and _joins(prev_line, line, wrap_width):
            block_end = line_end
        else:
            if block_start is not None:
                _split_block(text, block_start, block_end, out)
            block_start, block_end = line_start, line_end
        prev_line = line
    if block_start is not None:
        _split_block(text, block_start, block_end, out)
    # A "sentence" of bare punctuation or symbols (a stray "." from a PDF layout) is nothing to label.
    return [span for span in out if any(ch.isalnum() for ch in span.text)]
