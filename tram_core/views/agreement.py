"""How far independent annotators agree: Cohen's kappa per technique and per pair of annotators, Krippendorff's alpha
over label sets (MASI and Jaccard distances), raw agreement; each with its sentence count and a seeded bootstrap
interval over sentences, at technique and at parent-technique level (T1059.001 -> T1059). Pure: no store.

A sentence's answer is a set of techniques (the empty set is "no technique"). Kappa treats one technique as present
or absent in each answer; alpha compares whole sets, with partial credit for overlapping ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Hashable, Sequence

import numpy as np

RESAMPLES = 1000  # bootstrap resamples behind every interval
CONFIDENCE = 0.95
TECHNIQUE_LEVEL, PARENT_LEVEL = "technique", "parent"


# --------------------------------------------------------------------------------------------------- distances


def jaccard_distance(a: frozenset, b: frozenset) -> float:
    """1 - |a ∩ b| / |a ∪ b|; two empty sets ("no technique" twice) are identical (0)."""
    union = len(a | b)
    return 0.0 if union == 0 else 1.0 - len(a & b) / union


def masi_distance(a: frozenset, b: frozenset) -> float:
    """MASI (Passonneau 2006): 1 - Jaccard x M, where M is 1 for equal sets, 2/3 when one contains the other, 1/3 when
    they merely overlap, 0 when disjoint. Two empty sets are identical (0); an empty and a non-empty set differ (1)."""
    if a == b:
        return 0.0
    shared = len(a & b)
    if not shared:
        return 1.0
    monotonicity = 2 / 3 if shared == min(len(a), len(b)) else 1 / 3
    return 1.0 - shared / len(a | b) * monotonicity


def nominal_distance(a: Hashable, b: Hashable) -> float:
    return 0.0 if a == b else 1.0


# --------------------------------------------------------------------------------------------------- coefficients


def kappa_from_counts(both: np.ndarray, first_only: np.ndarray, second_only: np.ndarray, neither: np.ndarray):
    """Cohen's kappa of two raters' yes/no answers from the four cell counts (arrays work elementwise); NaN where
    it is undefined (both raters gave one same answer throughout: chance agreement is 1)."""
    both, first_only, second_only, neither = (np.asarray(x, dtype=float) for x in
                                              (both, first_only, second_only, neither))
    n = both + first_only + second_only + neither
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (both + neither) / n
        p1, p2 = (both + first_only) / n, (both + second_only) / n
        chance = p1 * p2 + (1 - p1) * (1 - p2)
        return np.where(np.isclose(chance, 1.0), np.nan, (observed - chance) / (1 - chance))


def cohen_kappa(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Cohen's kappa of two raters' yes/no answers on the same items; None when undefined."""
    y1, y2 = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    value = float(kappa_from_counts((y1 & y2).sum(), (y1 & ~y2).sum(), (~y1 & y2).sum(), (~y1 & ~y2).sum()))
    return None if np.isnan(value) else value


@dataclass(frozen=True)
class AlphaParts:
    """Alpha's ingredients per unit, so a resample of units re-weighs them without recomputing distances: each unit's
    observed disagreement and its count of each distinct value, and the distances between the distinct values."""

    unit_disagreement: np.ndarray  # (units,): sum over ordered pairs of values in the unit of d, / (m_u - 1)
    value_counts: np.ndarray  # (units, distinct values)
    distances: np.ndarray  # (distinct values, distinct values)


def alpha_parts(units: Sequence[Sequence[Hashable]], distance: Callable) -> AlphaParts:
    """The pairable units (two or more values) broken into alpha's ingredients."""
    pairable = [list(u) for u in units if len(u) >= 2]
    values = sorted({v for u in pairable for v in u}, key=repr)
    index = {v: i for i, v in enumerate(values)}
    distances = distance_matrix(values, distance)
    counts = np.zeros((len(pairable), len(values)))
    observed = np.zeros(len(pairable))
    for row, unit in enumerate(pairable):
        at = [index[v] for v in unit]
        np.add.at(counts[row], at, 1)
        observed[row] = distances[np.ix_(at, at)].sum() / (len(unit) - 1)
    return AlphaParts(observed, counts, distances)


def distance_matrix(values: Sequence, distance: Callable) -> np.ndarray:
    """The distances between every two of ``values``; computed on whole arrays for sets under MASI or Jaccard."""
    if distance in (masi_distance, jaccard_distance) and all(isinstance(v, frozenset) for v in values):
        return _set_distances(values, distance is masi_distance)
    return np.array([[distance(a, b) for b in values] for a in values], dtype=float).reshape(len(values),
                                                                                              len(values))


def _set_distances(values: Sequence[frozenset], masi: bool) -> np.ndarray:
    """Jaccard (or MASI) distances between sets, from their membership matrix: the same values as the functions."""
    members = sorted({m for v in values for m in v}, key=repr)
    column = {m: i for i, m in enumerate(members)}
    matrix = np.zeros((len(values), len(members)))
    for row, v in enumerate(values):
        matrix[row, [column[m] for m in v]] = 1
    shared = matrix @ matrix.T
    size = matrix.sum(axis=1)
    union = size[:, None] + size[None, :] - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, shared / union, 1.0)
    if masi:
        smaller = np.minimum(size[:, None], size[None, :])
        equal = (shared == size[:, None]) & (shared == size[None, :])
        jaccard = jaccard * np.where(equal, 1.0, np.where(shared == smaller, 2 / 3, np.where(shared > 0, 1 / 3, 0)))
    return 1.0 - jaccard


def alpha_from_weights(weights: np.ndarray, parts: AlphaParts) -> np.ndarray:
    """Alpha for each row of ``weights`` (how often each unit is drawn): 1 - D_o / D_e (Krippendorff 2011), where
    D_o = sum of unit disagreements / n and D_e = sum over value pairs of n_c n_k d(c, k) / (n (n - 1))."""
    totals = weights @ parts.value_counts  # (rows, values): n_c
    n = totals.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (weights @ parts.unit_disagreement) / n
        expected = ((totals @ parts.distances) * totals).sum(axis=1) / (n * (n - 1))
        return np.where(expected > 0, 1 - observed / expected, np.nan)


def krippendorff_alpha(units: Sequence[Sequence[Hashable]], distance: Callable = nominal_distance) -> float | None:
    """Krippendorff's alpha over ``units`` (each the values its coders gave; missing ones left out, units with one
    value ignored); None when undefined (fewer than two values, or no variation at all)."""
    parts = alpha_parts(units, distance)
    if not len(parts.unit_disagreement):
        return None
    value = float(alpha_from_weights(np.ones((1, len(parts.unit_disagreement))), parts)[0])
    return None if np.isnan(value) else value


def percent_agreement(units: Sequence[Sequence[Hashable]]) -> float | None:
    """The share of pairable units whose values are all identical; None without any."""
    pairable = [u for u in units if len(u) >= 2]
    return sum(len(set(u)) == 1 for u in pairable) / len(pairable) if pairable else None


# --------------------------------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class Estimate:
    """A figure with the number of sentences behind it and its bootstrap interval (None where undefined)."""

    value: float | None
    low: float | None
    high: float | None
    sentences: int

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return f"n/a (n={self.sentences})"
        interval = f" [{self.low:.{digits}f}, {self.high:.{digits}f}]" if self.low is not None else ""
        return f"{self.value:.{digits}f}{interval} (n={self.sentences})"


def resample_weights(units: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples, units): how often each unit is drawn in each bootstrap resample (with replacement), seeded."""
    if units == 0:
        return np.zeros((resamples, 0))
    rng = np.random.default_rng(seed)
    return rng.multinomial(units, np.full(units, 1 / units), size=resamples).astype(float)


def estimate(value: float | None, resampled: np.ndarray, sentences: int, confidence: float = CONFIDENCE) -> Estimate:
    """``value`` with the percentile interval of its resampled values (undefined resamples left out)."""
    finite = resampled[np.isfinite(resampled)]
    if value is None or np.isnan(value) or not len(finite):
        return Estimate(None if value is None or np.isnan(value) else float(value), None, None, sentences)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Estimate(float(value), float(low), float(high), sentences)


# --------------------------------------------------------------------------------------------------- items


@dataclass(frozen=True)
class Item:
    """One sentence two annotators answered independently: its answers in the order given (person, techniques) and
    when the second came."""

    sentence_id: int
    report_id: int
    answers: tuple[tuple[str, frozenset[str]], ...]
    at: datetime | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return tuple(sorted((self.answers[0][0], self.answers[1][0])))  # type: ignore[return-value]

    @property
    def agree(self) -> bool:
        return self.answers[0][1] == self.answers[1][1]


def parent_technique(technique: str) -> str:
    """T1059.001 -> T1059; a technique without sub-technique is its own parent."""
    return technique.split(".", 1)[0]


def rolled_up(items: Sequence[Item]) -> list[Item]:
    """The items with every sub-technique replaced by its parent (two answers naming sibling sub-techniques agree)."""
    return [Item(i.sentence_id, i.report_id, tuple((who, frozenset(parent_technique(t) for t in labels))
                                                   for who, labels in i.answers), i.at) for i in items]


BOTH, FIRST_ONLY, SECOND_ONLY, NEITHER = range(4)  # the cells of two yes/no answers


def cell_counts(items: Sequence[Item], techniques: Sequence[str]) -> np.ndarray:
    """(items, techniques, 4): per sentence and technique, 1 in the cell both / first only / second only / neither."""
    out = np.zeros((len(items), len(techniques), 4))
    out[:, :, NEITHER] = 1
    column = {tech: col for col, tech in enumerate(techniques)}
    for row, item in enumerate(items):
        first, second = item.answers[0][1], item.answers[1][1]
        for tech in (first | second) & column.keys():
            out[row, column[tech], NEITHER] = 0
            cell = BOTH if tech in first and tech in second else FIRST_ONLY if tech in first else SECOND_ONLY
            out[row, column[tech], cell] = 1
    return out
