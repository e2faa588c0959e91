"""Marked noise blocks on the Annotate page: a YARA rule, a code block or an indicator list shown folded under its
name ("YARA rule, 70 lines"), with its lines kept as they stand in the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from tram_core.io.noise_blocks import block_title
from tram_core.store import UNLABELLED, Sentence, Store

KIND_NAMES = {"code": "code", "rule": "detection rule", "indicators": "indicator list"}


@dataclass(frozen=True)
class BlockView:
    """One marked sentence as drawn: its folded title, its lines as in the report, and a line saying why the steps
    pass it by."""

    sentence_id: int
    kind: str
    title: str
    body: str
    answered: bool

    @property
    def note(self) -> str:
        what = KIND_NAMES.get(self.kind, self.kind)
        if self.answered:
            return f"A {what}, kept whole; an analyst answered it, so it counts like any sentence."
        return (f"A {what}, kept whole: Save & next and Skip pass it by, and it is no training example until an "
                "analyst answers it. Open it to label it.")


def block_views(store: Store, report_id: int, sentences: Sequence[Sentence]) -> dict[int, BlockView]:
    """``{sentence_id: BlockView}`` for the report's marked sentences (none: the report text is not read)."""
    marked = [s for s in sentences if s.marked]
    if not marked:
        return {}
    text = store.get_report(report_id).text
    return {s.id: block_view(s, text[s.start : s.end]) for s in marked}


def block_view(sentence: Sentence, body: str) -> BlockView:
    body = body.replace("\r\n", "\n")
    return BlockView(sentence.id, sentence.kind, block_title(sentence.kind, body), body,
                     sentence.status != UNLABELLED)


def waiting(sentence: Sentence) -> bool:
    """A marked sentence nobody answered: left out of the steps, of the progress and of training negatives."""
    return sentence.marked and sentence.status == UNLABELLED
