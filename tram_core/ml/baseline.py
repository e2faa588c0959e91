"""A fast non-neural baseline: TF-IDF word and character n-grams with one logistic regression per technique.

A model is saved and loaded as data only, never code (baseline_storage); its character n-grams are cut once per
distinct word (baseline_features).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import joblib  # only for joblib.Parallel: nothing is ever saved or loaded with joblib
import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion

from tram_core.ml.baseline_features import WordCharTfidf
from tram_core.ml.baseline_storage import KIND, BaselineError, read_baseline, save_baseline
from tram_core.ml.thresholds import Thresholds


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
    # Training leaves these untuned: a trained folder's thresholds are its card's (model_card); these travel with
    # a baseline saved on its own.
    thresholds: Thresholds = field(default_factory=Thresholds)
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
        """Write ``manifest.json``, ``vocabulary.json`` and ``baseline.safetensors`` (see baseline_storage)."""
        return save_baseline(self, directory)

    @classmethod
    def load(cls, directory: str | Path) -> "BaselineModel":
        """Rebuild a model saved by ``save``; a ``BaselineError`` naming ``directory`` for anything else."""
        return cls(**read_baseline(directory))


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
    y = _label_matrix(label_sets, classes)
    features = _features(options, len(texts))
    x = features.fit_transform(texts).tocsr()
    x.sort_indices()  # once here, not once per class inside liblinear
    if progress:
        progress(1, len(classes) + 1, f"features: {x.shape[1]} n-grams from {len(texts)} sentences")
    positives = y.sum(axis=0)
    trained = (positives > 0) & (positives < len(texts))
    constant = np.where(positives == len(texts), 1.0, 0.0)
    weights, bias = _fit_classes(x, y, classes, trained, options, progress)
    return BaselineModel(classes=classes, features=features, weights=weights, bias=bias, trained=trained,
                         constant=constant, options=options.to_dict())


def _label_matrix(label_sets: list[set[str]], classes: list[str]) -> np.ndarray:
    """(sentences, classes) booleans: True where a sentence carries a class (other labels are ignored)."""
    index = {c: j for j, c in enumerate(classes)}
    y = np.zeros((len(label_sets), len(classes)), dtype=bool)
    for i, labels in enumerate(label_sets):
        for label in labels:
            if label in index:
                y[i, index[label]] = True
    return y


def _fit_classes(x: sparse.csr_matrix, y: np.ndarray, classes: list[str], trained: np.ndarray,
                 options: BaselineOptions, progress: Callable[[int, int, str], None] | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(weights, bias) of one classifier per trainable class, fitted in ``options.n_jobs`` threads."""
    weights = np.zeros((x.shape[1], len(classes)), dtype=np.float32)
    bias = np.zeros(len(classes), dtype=np.float64)
    positives = y.sum(axis=0)
    total = len(classes) + 1

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
    return weights, bias
