"""The team's agreement in figures: overall, per technique, per pair of annotators and per week, each with the
sentences behind it and a bootstrap interval over sentences (the coefficients: views.agreement). Pure: no store."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Sequence

import numpy as np

from tram_core.views.agreement import (
    BOTH,
    CONFIDENCE,
    FIRST_ONLY,
    NEITHER,
    PARENT_LEVEL,
    RESAMPLES,
    SECOND_ONLY,
    TECHNIQUE_LEVEL,
    Estimate,
    Item,
    alpha_from_weights,
    alpha_parts,
    cell_counts,
    estimate,
    jaccard_distance,
    kappa_from_counts,
    masi_distance,
    resample_weights,
    rolled_up,
)

LEVELS = (TECHNIQUE_LEVEL, PARENT_LEVEL)


@dataclass(frozen=True)
class TechniqueAgreement:
    """One technique: Cohen's kappa of "present or absent" over every double-answered sentence, the share of
    sentences where both answers say the same about it, in how many any answer has it, and in how many only one."""

    technique: str
    kappa: Estimate
    agreement: Estimate
    labelled: int
    disagreements: int


@dataclass(frozen=True)
class PairAgreement:
    """Two annotators over the sentences both answered: kappa pooled over every technique either of them used,
    alpha with MASI distance, and the share of identical answers."""

    first: str
    second: str
    kappa: Estimate
    alpha_masi: Estimate
    agreement: Estimate

    @property
    def name(self) -> str:
        return f"{self.first} & {self.second}"


@dataclass(frozen=True)
class PeriodAgreement:
    """The sentences whose second answer came in one week (starting ``week``, a Monday)."""

    week: str
    agreement: Estimate
    alpha_masi: Estimate


@dataclass(frozen=True)
class AgreementSummary:
    """Everything the Agreement page and ``python -m tram_core agreement`` show, at one level (technique or parent)."""

    level: str
    sentences: int
    agreement: Estimate
    alpha_masi: Estimate
    alpha_jaccard: Estimate
    techniques: tuple[TechniqueAgreement, ...]
    pairs: tuple[PairAgreement, ...]
    periods: tuple[PeriodAgreement, ...]


def _kappa_estimate(counts: np.ndarray, weights: np.ndarray, confidence: float) -> Estimate:
    """Kappa from per-sentence cell counts (sentences, 4), with its interval from the resample ``weights``."""
    value = float(kappa_from_counts(*counts.sum(axis=0)))
    resampled = kappa_from_counts(*(weights @ counts).T)
    return estimate(None if np.isnan(value) else value, resampled, len(counts), confidence)


def _share_estimate(hits: np.ndarray, weights: np.ndarray, confidence: float) -> Estimate:
    """The share of sentences where ``hits`` is 1, with its interval."""
    if not len(hits):
        return Estimate(None, None, None, 0)
    return estimate(float(hits.mean()), (weights @ hits) / len(hits), len(hits), confidence)  # rows sum to n


def _alpha_estimate(items: Sequence[Item], distance, weights: np.ndarray, confidence: float) -> Estimate:
    parts = alpha_parts([[labels for _, labels in i.answers] for i in items], distance)
    if not len(parts.unit_disagreement):
        return Estimate(None, None, None, 0)
    value = float(alpha_from_weights(np.ones((1, len(items))), parts)[0])
    return estimate(None if np.isnan(value) else value, alpha_from_weights(weights, parts), len(items), confidence)


def technique_agreement(items: Sequence[Item], weights: np.ndarray,
                        confidence: float = CONFIDENCE) -> list[TechniqueAgreement]:
    """Every technique any answer used, the ones the team disagrees on most first."""
    techniques = sorted({t for i in items for _, labels in i.answers for t in labels})
    if not techniques:
        return []
    cells = cell_counts(items, techniques)
    totals = cells.sum(axis=0)  # (techniques, 4)
    resampled = np.tensordot(weights, cells, axes=(1, 0))  # (resamples, techniques, 4)
    kappas = kappa_from_counts(*totals.T)
    resampled_kappas = kappa_from_counts(*np.moveaxis(resampled, 2, 0))  # (resamples, techniques)
    same = (totals[:, BOTH] + totals[:, NEITHER]) / len(items)
    resampled_same = (resampled[:, :, BOTH] + resampled[:, :, NEITHER]) / len(items)
    out = []
    for col, tech in enumerate(techniques):
        value = float(kappas[col])
        out.append(TechniqueAgreement(
            tech, estimate(None if np.isnan(value) else value, resampled_kappas[:, col], len(items), confidence),
            estimate(float(same[col]), resampled_same[:, col], len(items), confidence),
            int(len(items) - totals[col, NEITHER]), int(totals[col, FIRST_ONLY] + totals[col, SECOND_ONLY])))
    return sorted(out, key=lambda t: (-t.disagreements, t.kappa.value if t.kappa.value is not None else 2,
                                      t.technique))


def pair_agreement(items: Sequence[Item], resamples: int = RESAMPLES, seed: int = 0,
                   confidence: float = CONFIDENCE) -> list[PairAgreement]:
    """Every pair of annotators who answered the same sentences, the pair that differs most first."""
    by_pair: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        by_pair[item.pair].append(item)
    out = []
    for (first, second), shared in sorted(by_pair.items()):
        weights = resample_weights(len(shared), resamples, seed)
        techniques = sorted({t for i in shared for _, labels in i.answers for t in labels})
        cells = cell_counts(shared, techniques).sum(axis=1) if techniques else np.zeros((len(shared), 4))
        out.append(PairAgreement(first, second, _kappa_estimate(cells, weights, confidence),
                                 _alpha_estimate(shared, masi_distance, weights, confidence),
                                 _share_estimate(np.array([float(i.agree) for i in shared]), weights, confidence)))
    return sorted(out, key=lambda p: (p.agreement.value if p.agreement.value is not None else 2, p.name))


def period_agreement(items: Sequence[Item], resamples: int = RESAMPLES, seed: int = 0,
                     confidence: float = CONFIDENCE) -> list[PeriodAgreement]:
    """Agreement per week of the second answer, oldest first (sentences without a time left out)."""
    by_week: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.at is not None:
            by_week[(item.at.date() - timedelta(days=item.at.weekday())).isoformat()].append(item)
    out = []
    for week, shared in sorted(by_week.items()):
        weights = resample_weights(len(shared), resamples, seed)
        out.append(PeriodAgreement(week, _share_estimate(np.array([float(i.agree) for i in shared]), weights,
                                                         confidence),
                                   _alpha_estimate(shared, masi_distance, weights, confidence)))
    return out


def summarize(items: Sequence[Item], level: str = TECHNIQUE_LEVEL, resamples: int = RESAMPLES, seed: int = 0,
              confidence: float = CONFIDENCE) -> AgreementSummary:
    """The figures over the sentences two annotators answered (``items``), at technique or parent level."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    items = [i for i in items if len(i.answers) >= 2]
    if level == PARENT_LEVEL:
        items = rolled_up(items)
    weights = resample_weights(len(items), resamples, seed)
    agree = np.array([float(i.agree) for i in items])
    return AgreementSummary(
        level, len(items), _share_estimate(agree, weights, confidence),
        _alpha_estimate(items, masi_distance, weights, confidence),
        _alpha_estimate(items, jaccard_distance, weights, confidence),
        tuple(technique_agreement(items, weights, confidence)),
        tuple(pair_agreement(items, resamples, seed, confidence)),
        tuple(period_agreement(items, resamples, seed, confidence)))
