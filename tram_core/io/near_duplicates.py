"""Near-duplicate reports (the same document as PDF, DOCX and HTML): MinHash over word shingles (datasketch)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

SHINGLE_WORDS = 5  # words per shingle
PERMUTATIONS = 128  # MinHash values per fingerprint: the Jaccard estimate's standard error is about 1/sqrt(128) = 0.09
SEED = 1
SCHEME = "affine32"  # datasketch's permutation scheme (the default from 2.0); fixed, since stored values depend on it
# Two reports are the same document when their shingle sets overlap this much (Jaccard estimate) ...
SAME_DOCUMENT = 0.5
# ... or when this share of the smaller one's shingles is in the larger one (a page's main text inside the PDF),
# and the smaller holds at least MIN_SIZE_RATIO of the larger's shingles (an excerpt is not the document).
CONTAINED = 0.8
MIN_SIZE_RATIO = 0.3
MIN_SHINGLES = 20  # a text shorter than this (about 25 words) is never called a near-duplicate
_WORD = re.compile(r"\w+")
_METHOD = {"method": "minhash", "words": SHINGLE_WORDS, "permutations": PERMUTATIONS, "seed": SEED, "scheme": SCHEME}


@dataclass(frozen=True)
class Likeness:
    """How alike two reports' texts are: ``jaccard`` estimates |A∩B|/|A∪B| of their word shingles, ``contained``
    the share of the smaller text's shingles found in the larger."""

    jaccard: float
    contained: float
    size_ratio: float

    @property
    def same_document(self) -> bool:
        return self.jaccard >= SAME_DOCUMENT or (self.contained >= CONTAINED and self.size_ratio >= MIN_SIZE_RATIO)


def shingles(text: str, words: int = SHINGLE_WORDS) -> set[bytes]:
    """The text's word shingles: every run of ``words`` consecutive words, lower-cased (layout, punctuation and
    line breaks do not matter, so a PDF's and a web page's text of one document share most of them)."""
    tokens = _WORD.findall(text.lower())
    if len(tokens) < words:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + words]).encode() for i in range(len(tokens) - words + 1)}


def fingerprint(text: str) -> dict:
    """The text's MinHash fingerprint as stored with its report: the method's parameters, the number of shingles and
    the ``PERMUTATIONS`` minimum hash values."""
    from datasketch import MinHash  # loads numpy and scipy: only when a fingerprint is made

    found = shingles(text)
    sketch = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme=SCHEME)
    if found:
        sketch.update_batch(found)
    return {**_METHOD, "size": len(found), "values": [int(v) for v in sketch.hashvalues]}


def usable(stored: dict | None) -> bool:
    """Whether a stored fingerprint was made the way ``fingerprint`` makes them now (else it is made again)."""
    return isinstance(stored, dict) and all(stored.get(k) == v for k, v in _METHOD.items()) and \
        isinstance(stored.get("values"), list) and len(stored["values"]) == PERMUTATIONS


def likeness(a: dict, b: dict) -> Likeness:
    """How alike the texts behind two fingerprints are (see Likeness)."""
    same = sum(1 for x, y in zip(a["values"], b["values"]) if x == y)
    jaccard = same / PERMUTATIONS
    small, large = sorted((int(a["size"]), int(b["size"])))
    if small < MIN_SHINGLES:
        return Likeness(0.0, 0.0, 0.0)
    common = jaccard * (small + large) / (1 + jaccard)
    return Likeness(jaccard, min(1.0, common / small), small / large)


@dataclass(frozen=True)
class Match:
    """The stored (or earlier) report most like a new one: its key, and how alike they are."""

    key: object
    likeness: Likeness


def best_match(new: dict, candidates: Iterable[tuple[object, dict]]) -> Match | None:
    """The candidate ``(key, fingerprint)`` most like ``new`` among those that are the same document; None if none."""
    best: Match | None = None
    for key, other in candidates:
        found = likeness(new, other)
        if found.same_document and (best is None or _rank(found) > _rank(best.likeness)):
            best = Match(key, found)
    return best


def _rank(found: Likeness) -> tuple[float, float]:
    return max(found.jaccard, found.contained), found.jaccard


def fingerprints_of(texts: Sequence[str]) -> list[dict]:
    return [fingerprint(text) for text in texts]
