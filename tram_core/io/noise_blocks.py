"""Layout noise blocks of a report (code, YARA/Sigma/Snort rules, indicator lists and tables), found in linear time."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass

from tram_core.io import noise_lines as nl

KIND_TEXT, KIND_CODE, KIND_RULE, KIND_INDICATORS = "text", "code", "rule", "indicators"
SENTENCE_KINDS = (KIND_TEXT, KIND_CODE, KIND_RULE, KIND_INDICATORS)
MARKED_KINDS = (KIND_CODE, KIND_RULE, KIND_INDICATORS)

MIN_CODE_LINES = 3  # statements a code block needs
MIN_INDICATOR_LINES = 3  # rows an indicator list needs (or two rows holding 4 indicators: a small table)
MIN_FILE_LIST_LINES = 8  # rows a list of file names and paths alone needs (fewer may be the tools a report names)
MAX_RULE_LINES = 2000  # a YARA rule whose braces never close ends here
MAX_GAP = 3  # blank lines a block may hold between two of its lines

_YARA_START = re.compile(r"(?:(?:private|global)\s+){0,2}rule\s+[A-Za-z_]\w{0,127}\s*(?::[\w ]{0,200})?\{?$")
_YARA_STRING = re.compile(r"\$\w{0,60}\s*=\s*(?:\{[0-9A-Fa-f ?()|\[\]-]{2,}|\"[^\"\n]{0,400}\"\s+(?:ascii|wide|nocase|fullword)|/)")
_YARA_IMPORT = re.compile(r"import\s+\"\w{1,40}\"$")
_SNORT = re.compile(r"(?:alert|drop|reject|pass|log)\s+(?:tcp|udp|icmp|ip|http|tls|dns|smb|ftp|smtp|ssh)\s")
_YAML_KEY = re.compile(r"[A-Za-z_][\w|.-]{0,60}:(?:\s|$)")
_SIGMA_KEYS = ("detection:", "logsource:")


@dataclass(frozen=True)
class NoiseBlock:
    """A run of lines that is not prose: ``text[start:end]`` (whole lines, stripped) of ``kind`` (code, rule or
    indicators); ``label`` names it for a person ("YARA rule", "Sigma rule", "Indicator list", "PowerShell code")."""

    start: int
    end: int
    kind: str
    label: str


# --- lines ------------------------------------------------------------------------------------------------------


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, without its newline."""
    spans, pos = [], 0
    while True:
        nl_at = text.find("\n", pos)
        if nl_at < 0:
            spans.append((pos, len(text)))
            return spans
        spans.append((pos, nl_at))
        pos = nl_at + 1


def _block(text: str, lines: list[tuple[int, int]], first: int, last: int, kind: str, label: str) -> NoiseBlock:
    start, end = lines[first][0], lines[last][1]
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return NoiseBlock(start, end, kind, label)


# --- rules ------------------------------------------------------------------------------------------------------


def _yara_end(stripped: list[str], first: int) -> int:
    """The last line of the YARA rule opening at ``first``: where its braces close (or a bounded fallback)."""
    depth, opened, last = 0, False, first
    for i in range(first, min(len(stripped), first + MAX_RULE_LINES)):
        line = stripped[i]
        depth += line.count("{") - line.count("}")
        opened = opened or "{" in line
        if line:
            last = i
        if opened and depth <= 0:
            return i
        if not opened and i > first + 2:
            return first  # a line saying "rule X" with no body is prose, not a rule
    return last


def _sigma_end(stripped: list[str], raw: list[str], first: int) -> tuple[int, bool]:
    """(the last line of the YAML run starting at ``first``, whether the run holds a Sigma rule's keys)."""
    seen, last, gap = set(), first, 0
    for i in range(first, len(stripped)):
        line = stripped[i]
        if not line:
            gap += 1
            if gap > MAX_GAP:
                break
            continue
        yaml = _YAML_KEY.match(line) or line.startswith("- ") or raw[i][:1] in (" ", "\t") and i > first
        if not yaml:
            break
        gap = 0
        last = i
        if line.startswith(_SIGMA_KEYS):
            seen.add(line.split(":", 1)[0])
    return last, len(seen) == len(_SIGMA_KEYS)


def _snort_end(stripped: list[str], first: int) -> int:
    """The last line of a run of Snort/Suricata rules (blank lines between them allowed)."""
    end, i = first, first + 1
    while i < len(stripped) and i - end <= MAX_GAP + 1:
        if _SNORT.match(stripped[i][:80]):
            end = i
        elif stripped[i]:
            break
        i += 1
    return end


def _rule_blocks(text: str, lines, stripped: list[str], raw: list[str]) -> list[NoiseBlock]:
    blocks, i = [], 0
    while i < len(stripped):
        line = stripped[i]
        if _YARA_START.match(line[:400]):
            first = i - 1 if i and _YARA_IMPORT.match(stripped[i - 1][:60]) else i
            end = _yara_end(stripped, i)
            if end > i:
                blocks.append(_block(text, lines, first, end, KIND_RULE, "YARA rule"))
                i = end + 1
                continue
        elif line.startswith("title:"):
            end, sigma = _sigma_end(stripped, raw, i)
            if sigma:
                blocks.append(_block(text, lines, i, end, KIND_RULE, "Sigma rule"))
            i = end + 1  # a later title in the same YAML run sees fewer keys: never scan the run twice
            continue
        elif _SNORT.match(line[:80]) and ("->" in line or "<>" in line):
            end = _snort_end(stripped, i)
            blocks.append(_block(text, lines, i, end, KIND_RULE, "Snort/Suricata rule"))
            i = end + 1
            continue
        i += 1
    return blocks


# --- code and indicator runs ----------------------------------------------------------------------------------------


def _runs(classes: list[str], allowed: frozenset, core: str):
    """(first, last) of every run of ``allowed`` lines (at most MAX_GAP blank lines in a row), trimmed to its
    ``core`` lines at both ends."""
    first = last = None
    gap = 0
    for i, cls in enumerate(classes + [nl.PROSE]):
        if cls == nl.BLANK and first is not None and gap < MAX_GAP:
            gap += 1
            continue
        if cls in allowed and cls != nl.BLANK:
            gap = 0
            if cls == core:
                first = i if first is None else first
                last = i
            continue
        if first is not None:
            yield first, last
        first = last = None
        gap = 0


def _code_blocks(text: str, lines, classes: list[str], stripped: list[str]) -> list[NoiseBlock]:
    allowed = frozenset((nl.CODE, nl.COMMENT, nl.LABEL, nl.BLANK))
    blocks = []
    for first, last in _runs(classes, allowed, nl.CODE):
        span = classes[first : last + 1]
        code = span.count(nl.CODE)
        if code >= MIN_CODE_LINES and code * 2 >= len(span) - span.count(nl.BLANK):
            body = stripped[first : last + 1]
            if sum(1 for line in body if _YARA_STRING.match(line)) * 2 >= code:  # a rule's strings, its head lost
                blocks.append(_block(text, lines, first, last, KIND_RULE, "YARA rule strings"))
                continue
            shell = any(("$" in line or nl.CMDLET.match(line)) for line in body)
            blocks.append(_block(text, lines, first, last, KIND_CODE, "PowerShell code" if shell else "Code"))
    return blocks


def _indicator_blocks(text: str, lines, classes: list[str], stripped: list[str]) -> list[NoiseBlock]:
    allowed = frozenset((nl.INDICATOR, nl.LABEL, nl.BLANK))
    blocks = []
    for first, last in _runs(classes, allowed, nl.INDICATOR):
        span = classes[first : last + 1]
        rows = span.count(nl.INDICATOR)
        types = Counter(t for i in range(first, last + 1) if classes[i] == nl.INDICATOR
                        for token in nl.tokens_of(stripped[i]) if (t := nl.indicator_type(token)))
        hard = sum(n for name, n in types.items() if name in nl.HARD_TYPES)
        big_enough = rows >= MIN_INDICATOR_LINES or sum(types.values()) >= 4
        if big_enough and rows >= span.count(nl.LABEL) and (hard or rows >= MIN_FILE_LIST_LINES):
            while first > 0 and classes[first - 1] == nl.LABEL and ("|" in stripped[first - 1] or
                                                                     "\t" in stripped[first - 1]):
                first -= 1  # the table's header row ("Domain | IP | ASN")
            blocks.append(_block(text, lines, first, last, KIND_INDICATORS, "Indicator list"))
    return blocks


def find_noise_blocks(text: str) -> list[NoiseBlock]:
    """The noise blocks of ``text`` in text order: each covers whole lines and holds no prose.

    Rules first (a YARA rule's ``$s1 = "..."`` lines are not code), then code, then indicator lists and tables. Every
    pattern is anchored at a line's start and bounded, so the work is linear in the text.
    """
    lines = _lines(text)
    raw = [text[s:e] for s, e in lines]
    stripped = [line.strip() for line in raw]
    blocks = _rule_blocks(text, lines, stripped, raw)
    taken = _taken(text, lines, blocks)
    classes = [nl.PROSE if taken[i] else nl.line_class(line) for i, line in enumerate(stripped)]
    code = _code_blocks(text, lines, classes, stripped)
    taken = _taken(text, lines, blocks + code)
    classes = [nl.PROSE if taken[i] else cls for i, cls in enumerate(classes)]
    blocks += code + _indicator_blocks(text, lines, classes, stripped)
    return sorted(blocks, key=lambda b: b.start)


def _taken(text: str, lines, blocks: list[NoiseBlock]) -> list[bool]:
    """Per line, whether a block already covers it."""
    taken = [False] * len(lines)
    if not blocks:
        return taken
    starts = [s for s, _ in lines]
    for block in blocks:
        first = bisect.bisect_right(starts, block.start) - 1
        last = bisect.bisect_right(starts, max(block.end - 1, block.start)) - 1
        for i in range(first, last + 1):
            taken[i] = True
    return taken


# --- names for a person -----------------------------------------------------------------------------------------


def block_title(kind: str, text: str) -> str:
    """A block as an analyst sees it folded: "YARA rule, 70 lines", "Indicator list, 30 lines (30 hashes)"."""
    lines = [line.strip() for line in text.split("\n")]
    count = len(lines)
    noun = "line" if count == 1 else "lines"
    if kind == KIND_RULE:
        yara = sum(1 for line in lines if _YARA_START.match(line[:400]))
        if yara:
            return f"{yara} YARA rules, {count} {noun}" if yara > 1 else f"YARA rule, {count} {noun}"
        if any(line.startswith("logsource:") for line in lines):
            return f"Sigma rule, {count} {noun}"
        if any(_YARA_STRING.match(line) for line in lines):
            return f"YARA rule strings, {count} {noun}"
        return f"Snort/Suricata rules, {count} {noun}"
    if kind == KIND_CODE:
        shell = any(("$" in line or nl.CMDLET.match(line)) for line in lines)
        return f"{'PowerShell code' if shell else 'Code'}, {count} {noun}"
    if kind == KIND_INDICATORS:
        types = Counter(t for line in lines for token in nl.tokens_of(line) if (t := nl.indicator_type(token)))
        parts = ", ".join(f"{n} {_plural(name, n)}" for name, n in types.most_common(3))
        return f"Indicator list, {count} {noun}" + (f" ({parts})" if parts else "")
    return f"Text, {count} {noun}"


def _plural(name: str, n: int) -> str:
    if n == 1:
        return name
    return "addresses".join(name.rsplit("address", 1)) if name.endswith("address") else (
        name + "es" if name.endswith("sh") else name + "s")
