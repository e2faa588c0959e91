"""TF-IDF of character n-grams cut once per distinct word: the baseline's fast stand-in for scikit-learn's char_wb."""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfTransformer


def _char_wb_ngrams(word: str, low: int, high: int) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams of one word: padded with a space each side; a short word counts once."""
    padded = f" {word} "
    grams: list[str] = []
    for n in range(low, high + 1):
        if len(padded) <= n:
            grams.append(padded)
            break
        grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


def _counts(rows: list[list[int]], n_columns: int) -> sparse.csr_matrix:
    """A count matrix with one row per list of column indices (repeats add up)."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(indptr[-1]))
    matrix = sparse.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(len(rows), n_columns))
    matrix.sum_duplicates()
    return matrix


class WordCharTfidf(BaseEstimator, TransformerMixin):
    """TF-IDF of ``char_wb`` n-grams computed once per distinct word: sentence-word counts x word-n-gram counts.

    Same features as ``TfidfVectorizer(analyzer="char_wb", lowercase=True, sublinear_tf=True)`` (words are split
    on whitespace, kept n-grams are those in at least ``min_df`` sentences, the ``max_features`` most frequent),
    but each distinct word is cut into n-grams once instead of once per occurrence. Words found in at least
    ``skip_df`` training sentences add no n-grams (None: every word adds them).
    """

    def __init__(self, ngram_range: tuple[int, int] = (3, 5), min_df: int = 2, max_features: int | None = 100_000,
                 skip_df: int | None = None):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.skip_df = skip_df

    @staticmethod
    def _sentence_words(texts: Sequence[str]) -> tuple[sparse.csr_matrix, list[str]]:
        words: dict[str, int] = {}
        rows = [[words.setdefault(token, len(words)) for token in text.lower().split()] for text in texts]
        return _counts(rows, len(words)), list(words)

    def _word_ngrams(self, words: list[str], vocabulary: dict[str, int], grow: bool) -> sparse.csr_matrix:
        low, high = self.ngram_range
        skip = self.skipped_words_ if hasattr(self, "skipped_words_") else frozenset()
        rows = []
        for word in words:
            if word in skip:
                rows.append([])
            elif grow:
                rows.append([vocabulary.setdefault(g, len(vocabulary)) for g in _char_wb_ngrams(word, low, high)])
            else:
                rows.append([j for j in map(vocabulary.get, _char_wb_ngrams(word, low, high)) if j is not None])
        return _counts(rows, len(vocabulary))

    def fit_transform(self, texts: Sequence[str], y=None) -> sparse.csr_matrix:
        sentence_words, words = self._sentence_words(texts)
        self.skipped_words_ = frozenset()
        if self.skip_df is not None:
            df = np.bincount(sentence_words.indices, minlength=len(words))
            self.skipped_words_ = frozenset(w for w, n in zip(words, df) if n >= self.skip_df)
        grams: dict[str, int] = {}
        counts = (sentence_words @ self._word_ngrams(words, grams, grow=True)).tocsr()
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        keep = np.flatnonzero(df >= self.min_df)
        if self.max_features is not None and len(keep) > self.max_features:
            frequency = np.asarray(counts.sum(axis=0)).ravel()[keep]
            keep = np.sort(keep[np.argsort(-frequency, kind="stable")[:self.max_features]])
        names = list(grams)
        self.vocabulary_ = {names[k]: i for i, k in enumerate(keep)}
        self.tfidf_ = TfidfTransformer(sublinear_tf=True)
        return self.tfidf_.fit_transform(counts[:, keep]).astype(np.float32)

    def fit(self, texts: Sequence[str], y=None) -> "WordCharTfidf":
        self.fit_transform(texts)
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        sentence_words, words = self._sentence_words(texts)
        counts = (sentence_words @ self._word_ngrams(words, self.vocabulary_, grow=False)).tocsr()
        return self.tfidf_.transform(counts).astype(np.float32)
