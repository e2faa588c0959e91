"""A report's text as sentences of prose and whole noise blocks (code, rules, indicator lists), each with its kind."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

from tram_core.io.noise_blocks import KIND_TEXT, NoiseBlock, find_noise_blocks
from tram_core.io.sentences import split_sentences


@dataclass(frozen=True)
class MarkedSpan:
    """A sentence or a whole noise block: ``text`` is ``source[start:end]`` with whitespace collapsed; ``kind`` is
    "text" for prose, else the block's kind (code, rule, indicators)."""

    start: int
    end: int
    text: str
    kind: str = KIND_TEXT


def split_marked(text: str) -> list[MarkedSpan]:
    """Split ``text`` into sentences, each noise block kept whole as one span of its kind (a 70-line YARA rule is
    one span, not 70 sentences); the prose between blocks goes through the sentence splitter."""
    out: list[MarkedSpan] = []
    pos = 0
    for block in find_noise_blocks(text) + [None]:
        stop = block.start if block is not None else len(text)
        if stop > pos:
            out.extend(MarkedSpan(pos + s.start, pos + s.end, s.text) for s in split_sentences(text[pos:stop]))
        if block is None:
            break
        out.append(MarkedSpan(block.start, block.end, " ".join(text[block.start:block.end].split()), block.kind))
        pos = block.end
    return out


def sentence_kinds(text: str, spans: Sequence[tuple[int, int]], blocks: list[NoiseBlock] | None = None) -> list[str]:
    """The kind of each given sentence ``(start, end)`` of ``text``: a block's kind when the sentence lies inside
    one, else "text" (for datasets, whose sentences come split already)."""
    blocks = find_noise_blocks(text) if blocks is None else blocks
    starts = [b.start for b in blocks]
    kinds = []
    for start, end in spans:
        i = bisect.bisect_right(starts, start) - 1
        inside = i >= 0 and blocks[i].start <= start and end <= blocks[i].end
        kinds.append(blocks[i].kind if inside else KIND_TEXT)
    return kinds
