"""A fast non-neural baseline: TF-IDF word and character n-grams with one logistic regression per technique."""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion

from tram_core.errors import UserError

MANIFEST = "manifest.json"
WEIGHTS = "baseline.joblib"
KIND = "baseline"


class BaselineError(UserError):
    """A baseline model folder that cannot be loaded, or training data that cannot train one."""


@dataclass
class BaselineOptions:
    """TF-IDF and logistic-regression settings.

    ``solver="liblinear"`` (default): LogisticRegression in liblinear's dual form, fast on ~100k sparse n-gram
    features; ``C`` is the inverse L2 strength; ``class_weight="balanced"`` gives rare techniques usable scores
    at 0.5. ``solver="sgd"``: SGDClassifier with log loss (``alpha`` is the L2 strength), about 2x faster; use
    it with ``class_weight=None`` (balanced weights ruin SGD's scores on TRAM's reports, see
    benchmarks/baseline_quality.py). ``n_jobs`` fits classes in parallel threads. ``max_negatives``: fit each
    class on its positives and at most this many random negatives (seeded); with balanced weights this costs
    little quality (TRAM 2 test micro-F1 at 0.5: 0.489 vs 0.524 with all) and cuts liblinear's time ~8x on
    TRAM-sized corpora (None: all negatives).

    ``char_analyzer="words"`` (default) builds the ``char_wb`` n-grams once per distinct word and sums them per
    sentence (``WordCharTfidf``), ~5x faster than scikit-learn's per-sentence ``"char_wb"`` analyzer (the
    previous setting, kept for comparison). ``char_skip_df``: words found in at least this many training
    sentences ("the", "malware", ...) add no character n-grams, since their word feature already says all;
    this halves the n-grams liblinear works through at no loss on TRAM 2 (None: every word; only with "words").
    ``tol``: liblinear's stopping tolerance; 1e-2 gave the same TRAM 2 test scores as scikit-learn's 1e-4 to
    three decimals in ~25% less time.
    """

    solver: str = "liblinear"
    alpha: float = 2e-5
    C: float = 4.0
    class_weight: str | None = "balanced"
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    max_word_features: int = 60_000
    max_char_features: int = 100_000
    min_df: int = 2
    max_iter: int = 100
    tol: float = 1e-2
    seed: int = 13
    n_jobs: int = 1
    max_negatives: int | None = 4000
    char_analyzer: str = "words"
    char_skip_df: int | None = 200

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


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


def _features(options: BaselineOptions, n_texts: int) -> FeatureUnion:
    min_df = options.min_df if n_texts >= 50 else 1
    if options.char_analyzer == "words":
        char = WordCharTfidf(ngram_range=tuple(options.char_ngrams), min_df=min_df,
                             max_features=options.max_char_features, skip_df=options.char_skip_df)
    elif options.char_analyzer == "char_wb":
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(options.char_ngrams), sublinear_tf=True,
                               min_df=min_df, max_features=options.max_char_features, lowercase=True,
                               dtype=np.float32)
    else:
        raise BaselineError(f"Unknown character analyzer {options.char_analyzer!r}: use 'words' or 'char_wb'.")
    return FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=tuple(options.word_ngrams), sublinear_tf=True, min_df=min_df,
                                 max_features=options.max_word_features, lowercase=True, dtype=np.float32)),
        ("char", char),
    ])


@dataclass
class BaselineModel:
    """Scores every class in ``classes`` order; a class never positive in training always scores 0."""

    classes: list[str]
    features: FeatureUnion
    weights: sparse.csc_matrix | np.ndarray  # (n_features, n_classes)
    bias: np.ndarray  # (n_classes,)
    trained: np.ndarray  # (n_classes,) bool: had positives and negatives in training
    constant: np.ndarray  # (n_classes,) score used where not trained (0, or 1 if every example was positive)
    thresholds: dict[str, float] = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    kind: str = KIND

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), len(classes)) probabilities, columns in ``classes`` order."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        x = self.features.transform(texts)
        logits = np.asarray(x @ self.weights, dtype=np.float64) + self.bias[None, :]
        probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
        probs[:, ~self.trained] = self.constant[~self.trained]
        return probs.astype(np.float32)

    def save(self, directory: str | Path) -> Path:
        """Write ``baseline.joblib`` and a JSON ``manifest.json`` (kind, classes, thresholds) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump({"features": self.features, "weights": self.weights, "bias": self.bias,
                     "trained": self.trained, "constant": self.constant}, directory / WEIGHTS, compress=3)
        manifest = {"kind": self.kind, "classes": list(self.classes), "thresholds": dict(self.thresholds),
                    "options": self.options, "trained_classes": [c for c, t in zip(self.classes, self.trained) if t],
                    "weights": WEIGHTS}
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "BaselineModel":
        directory = Path(directory)
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file() or not (directory / WEIGHTS).is_file():
            raise BaselineError(f"{directory} is not a baseline model folder: {MANIFEST} or {WEIGHTS} is missing.")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BaselineError(f"{manifest_path} is not valid JSON: {exc}") from exc
        if manifest.get("kind") != KIND:
            raise BaselineError(f"{manifest_path} is a {manifest.get('kind')!r} model, not a baseline.")
        parts = joblib.load(directory / WEIGHTS)
        classes = list(manifest["classes"])
        if parts["weights"].shape[1] != len(classes):
            raise BaselineError(f"{directory}: weights have {parts['weights'].shape[1]} columns for {len(classes)} classes.")
        return cls(classes=classes, features=parts["features"], weights=parts["weights"], bias=parts["bias"],
                   trained=parts["trained"], constant=parts["constant"],
                   thresholds={k: float(v) for k, v in manifest.get("thresholds", {}).items()},
                   options=manifest.get("options", {}))


def _rows_for(column: np.ndarray, max_negatives: int | None, seed: int) -> np.ndarray | None:
    """All positives plus at most ``max_negatives`` seeded random negatives; None when no sampling is needed."""
    negatives = np.flatnonzero(~column)
    if max_negatives is None or len(negatives) <= max_negatives:
        return None
    chosen = np.random.default_rng(seed).choice(negatives, max_negatives, replace=False)
    return np.sort(np.concatenate([np.flatnonzero(column), chosen]))


def _classifier(options: BaselineOptions):
    if options.solver == "sgd":
        return SGDClassifier(loss="log_loss", alpha=options.alpha, class_weight=options.class_weight,
                             max_iter=options.max_iter, tol=1e-4, average=True, random_state=options.seed)
    if options.solver == "liblinear":
        return LogisticRegression(C=options.C, class_weight=options.class_weight, solver="liblinear", dual=True,
                                  max_iter=options.max_iter, tol=options.tol, random_state=options.seed)
    raise BaselineError(f"Unknown baseline solver {options.solver!r}: use 'sgd' or 'liblinear'.")


def train_baseline(
    texts: Sequence[str],
    label_sets: Sequence[Iterable[str]],
    classes: Sequence[str],
    options: BaselineOptions | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> BaselineModel:
    """Fit TF-IDF features and one balanced logistic regression per class with positive examples.

    ``progress(step, total, message)`` is called after the features and after each class.
    """
    options = options or BaselineOptions()
    _classifier(options)  # an unknown solver fails before any work
    _features(options, 0)  # ... and so does an unknown character analyzer
    texts = list(texts)
    label_sets = [set(s) for s in label_sets]
    classes = list(classes)
    if len(texts) != len(label_sets):
        raise BaselineError(f"{len(texts)} texts but {len(label_sets)} label sets.")
    if not texts:
        raise BaselineError("No sentences to train the baseline on.")
    index = {c: j for j, c in enumerate(classes)}
    y = np.zeros((len(texts), len(classes)), dtype=bool)
    for i, labels in enumerate(label_sets):
        for label in labels:
            if label in index:
                y[i, index[label]] = True
    features = _features(options, len(texts))
    x = features.fit_transform(texts).tocsr()
    x.sort_indices()  # once here, not once per class inside liblinear
    total = len(classes) + 1
    if progress:
        progress(1, total, f"features: {x.shape[1]} n-grams from {len(texts)} sentences")
    weights = np.zeros((x.shape[1], len(classes)), dtype=np.float32)
    bias = np.zeros(len(classes), dtype=np.float64)
    positives = y.sum(axis=0)
    trained = (positives > 0) & (positives < len(texts))
    constant = np.where(positives == len(texts), 1.0, 0.0)

    def fit(j: int) -> tuple[int, np.ndarray, float]:
        rows = _rows_for(y[:, j], options.max_negatives, options.seed + j)
        model = _classifier(options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if rows is None:
                model.fit(x, y[:, j])
            else:
                model.fit(x[rows], y[rows, j])
        return j, model.coef_[0], float(model.intercept_[0])

    todo = [j for j in range(len(classes)) if trained[j]]
    done = len(classes) - len(todo)
    with joblib.Parallel(n_jobs=options.n_jobs, prefer="threads", return_as="generator_unordered") as parallel:
        for j, coef, intercept in parallel(joblib.delayed(fit)(j) for j in todo):
            weights[:, j] = coef
            bias[j] = intercept
            done += 1
            if progress:
                progress(done + 1, total, f"{classes[j]}: {int(positives[j])} positive sentences")
    return BaselineModel(classes=classes, features=features, weights=weights, bias=bias, trained=trained,
                         constant=constant, options=options.to_dict())


def load_thresholds(manifest: Mapping) -> dict[str, float]:
    """The thresholds stored in a manifest (with 'global'), or {} when none were tuned."""
    return {k: float(v) for k, v in manifest.get("thresholds", {}).items()}
