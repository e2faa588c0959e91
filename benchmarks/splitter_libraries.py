"""The maintained library sentence splitters the splitter benchmark compares with tram_core's, each as a function
text -> SentenceSpans with exact offsets; whole text and per paragraph (line breaks end a sentence first)."""

from __future__ import annotations

import re
from typing import Callable

from tram_core.io.sentences import SentenceSpan

Splitter = Callable[[str], list[SentenceSpan]]
_PARAGRAPHS = re.compile(r"[^\n]+")


def _spans(text: str, pairs, offset: int = 0) -> list[SentenceSpan]:
    """SentenceSpans from (start, end) pairs of ``text``: whitespace trimmed, empty ones dropped."""
    out = []
    for start, end in pairs:
        chunk = text[start:end]
        s = start + len(chunk) - len(chunk.lstrip())
        e = start + len(chunk.rstrip())
        if e > s:
            out.append(SentenceSpan(offset + s, offset + e, " ".join(text[s:e].split())))
    return out


def per_line(pairs_of: Callable[[str], list[tuple[int, int]]]) -> Splitter:
    """A splitter that runs ``pairs_of`` on each line: a line break always ends a sentence."""
    def split(text: str) -> list[SentenceSpan]:
        out = []
        for line in _PARAGRAPHS.finditer(text):
            out.extend(_spans(line.group(0), pairs_of(line.group(0)), line.start()))
        return out

    return split


def whole(pairs_of: Callable[[str], list[tuple[int, int]]]) -> Splitter:
    return lambda text: _spans(text, pairs_of(text))


def _nupunkt():
    import nupunkt

    return nupunkt.sent_spans


def _pysbd():
    import pysbd

    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return lambda text: [(span.start, span.end) for span in segmenter.segment(text)]


def _blingfire():
    import blingfire

    return lambda text: blingfire.text_to_sentences_and_offsets(text)[1] if text.strip() else []


def _spacy():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 5_000_000
    return lambda text: [(s.start_char, s.end_char) for s in nlp(text).sents]


LIBRARIES = {"nupunkt": _nupunkt, "pysbd": _pysbd, "blingfire": _blingfire, "spacy sentencizer": _spacy}


def library_splitters() -> tuple[list[tuple[str, Splitter]], list[tuple[str, str]]]:
    """([(name, splitter)] for each installed library, whole text and per line; [(name, why not)] for the rest)."""
    found, missing = [], []
    for name, load in LIBRARIES.items():
        try:
            pairs_of = load()
        except ImportError as exc:
            missing.append((name, f"not installed ({exc.name or exc})"))
            continue
        found.append((name, whole(pairs_of)))
        found.append((f"{name}/lines", per_line(pairs_of)))
    return found, missing
