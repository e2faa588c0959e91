"""The agreement coefficients (views.agreement, views.agreement_summary) against hand-computed values, scikit-learn's
cohen_kappa_score, Krippendorff's own worked example, and two simulated annotators at a known disagreement rate."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from tram_core.views.agreement import (
    PARENT_LEVEL,
    Item,
    cohen_kappa,
    jaccard_distance,
    krippendorff_alpha,
    masi_distance,
    nominal_distance,
    parent_technique,
    percent_agreement,
    resample_weights,
)
from tram_core.views.agreement_summary import summarize

F = frozenset


def item(sentence_id: int, first: set, second: set, who=("ann", "bo"), at: datetime | None = None) -> Item:
    return Item(sentence_id, 1, ((who[0], F(first)), (who[1], F(second))), at)


# --------------------------------------------------------------------------------------------------- kappa


def test_kappa_by_hand():
    # both 3, first only 1, second only 1, neither 5: p_o = 0.8, p_e = 0.4*0.4 + 0.6*0.6 = 0.52,
    # kappa = (0.8 - 0.52) / (1 - 0.52) = 7/12
    first = [1, 1, 0, 0, 1, 0, 1, 0, 0, 0]
    second = [1, 0, 0, 0, 1, 0, 1, 1, 0, 0]
    assert cohen_kappa(first, second) == pytest.approx(7 / 12)
    assert cohen_kappa([1, 0, 1], [1, 0, 1]) == pytest.approx(1.0)
    assert cohen_kappa([0, 0, 0], [0, 0, 0]) is None  # nobody ever used it: chance agreement is 1, kappa undefined


@pytest.mark.parametrize("seed", range(5))
def test_kappa_matches_scikit_learn_on_random_answers(seed):
    rng = np.random.default_rng(seed)
    first = rng.random(300) < rng.uniform(0.1, 0.6)
    second = np.where(rng.random(300) < 0.7, first, rng.random(300) < 0.4)
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))


def test_per_technique_and_per_pair_kappa_match_scikit_learn():
    rng = random.Random(3)
    techniques = ["T1055", "T1059.001", "T1027", "T1566.001"]
    items = []
    for n in range(400):
        first = {t for t in techniques if rng.random() < 0.3}
        second = set(first) if rng.random() < 0.6 else {t for t in techniques if rng.random() < 0.3}
        items.append(item(n, first, second, ("ann", "bo") if n % 2 else ("ann", "cy")))
    summary = summarize(items, resamples=50)
    for row in summary.techniques:
        y1 = [row.technique in i.answers[0][1] for i in items]
        y2 = [row.technique in i.answers[1][1] for i in items]
        assert row.kappa.value == pytest.approx(cohen_kappa_score(y1, y2)), row.technique
        assert row.kappa.sentences == 400
    for pair in summary.pairs:
        shared = [i for i in items if i.pair == (pair.first, pair.second)]
        used = sorted({t for i in shared for _, labels in i.answers for t in labels})
        y1 = [t in i.answers[0][1] for i in shared for t in used]
        y2 = [t in i.answers[1][1] for i in shared for t in used]
        assert pair.kappa.value == pytest.approx(cohen_kappa_score(y1, y2))
        assert pair.kappa.sentences == len(shared) == 200


# --------------------------------------------------------------------------------------------------- alpha


def test_krippendorffs_nominal_worked_example():
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", C: nominal data, four observers, missing
    values: 12 units, observers A-D (None: not coded), alpha_nominal = 0.743 (exactly 1 - 39/152)."""
    matrix = [  # units as columns in the paper; here one row per unit: A, B, C, D
        (1, 1, None, 1), (2, 2, 3, 2), (3, 3, 3, 3), (3, 3, 3, 3), (2, 2, 2, 2), (1, 2, 3, 4),
        (4, 4, 4, 4), (1, 1, 2, 1), (2, 2, 2, 2), (None, 5, 5, 5), (None, None, 1, 1), (None, None, 3, None)]
    units = [[v for v in unit if v is not None] for unit in matrix]
    alpha = krippendorff_alpha(units, nominal_distance)
    assert round(alpha, 3) == 0.743
    assert alpha == pytest.approx(1 - 39 / 152)


def test_masi_and_jaccard_distances_by_hand():
    assert masi_distance(F({1, 2}), F({1, 2, 3, 4})) == pytest.approx(1 - 0.5 * 2 / 3)  # subset: J=1/2, M=2/3
    assert masi_distance(F({1, 2}), F({2, 3})) == pytest.approx(1 - 1 / 3 * 1 / 3)  # overlap: J=1/3, M=1/3
    assert masi_distance(F({1}), F({2})) == 1.0 and masi_distance(F(), F()) == 0.0
    assert masi_distance(F(), F({1})) == 1.0  # "no technique" against a technique
    assert jaccard_distance(F({1, 2}), F({2, 3})) == pytest.approx(2 / 3)
    assert jaccard_distance(F(), F()) == 0.0


def test_alpha_over_label_sets_by_hand():
    # units: {A}/{A}, {A}/{A,B}, {}/{B}; n = 6 values.
    # MASI: D_o = (0 + 2*(2/3) + 2*1) / 6 = 5/9; D_e = 2*(3*2/3 + 3 + 3 + 1 + 2/3 + 1) / 30 = 32/45; alpha = 7/32.
    # Jaccard: D_o = (0 + 2*(1/2) + 2*1) / 6 = 1/2; D_e = 2*(3/2 + 3 + 3 + 1 + 1/2 + 1) / 30 = 2/3; alpha = 1/4.
    units = [[F("A"), F("A")], [F("A"), F("AB")], [F(), F("B")]]
    assert krippendorff_alpha(units, masi_distance) == pytest.approx(7 / 32)
    assert krippendorff_alpha(units, jaccard_distance) == pytest.approx(1 / 4)
    assert krippendorff_alpha([[F("A"), F("A")]], masi_distance) is None  # no variation: undefined
    items = [item(i, set(a), set(b)) for i, (a, b) in enumerate(units)]
    summary = summarize(items, resamples=50)
    assert summary.alpha_masi.value == pytest.approx(7 / 32) and summary.alpha_jaccard.value == pytest.approx(1 / 4)
    assert summary.agreement.value == pytest.approx(1 / 3) and summary.sentences == 3


def test_percent_agreement_by_hand():
    assert percent_agreement([[1, 1], [1, 2], [3, 3], [4]]) == pytest.approx(2 / 3)  # the single value is no pair
    assert percent_agreement([]) is None


# --------------------------------------------------------------------------------------------------- intervals


def test_intervals_are_seeded_hold_the_value_and_narrow_with_more_sentences():
    rng = random.Random(7)
    def sample(n):
        return [item(i, {"T1055"} if rng.random() < 0.5 else set(), {"T1055"} if rng.random() < 0.5 else set())
                for i in range(n)]
    small, large = sample(60), sample(2000)
    a, b = summarize(small, resamples=300, seed=1), summarize(small, resamples=300, seed=1)
    assert a == b  # the same seed, the same intervals
    assert summarize(small, resamples=300, seed=2).agreement != a.agreement
    for e in (a.agreement, a.alpha_masi, a.techniques[0].kappa):
        assert e.low <= e.value <= e.high and e.sentences == 60
    wide = a.agreement.high - a.agreement.low
    narrow = summarize(large, resamples=300, seed=1).agreement
    assert narrow.high - narrow.low < wide / 3
    weights = resample_weights(5, resamples=4, seed=0)
    assert weights.shape == (4, 5) and (weights.sum(axis=1) == 5).all()


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_two_simulated_annotators_at_a_known_disagreement_rate(rate):
    """The second annotator copies the first and, with probability ``rate``, answers something else: the share of
    differing answers recovers ``rate`` within its interval."""
    rng = random.Random(11)
    techniques = [f"T{1000 + i}" for i in range(40)]
    items = []
    for n in range(3000):
        first = set(rng.sample(techniques, rng.randint(0, 2)))
        second = set(first)
        if rng.random() < rate:
            while second == first:
                second = set(rng.sample(techniques, rng.randint(0, 2)))
        items.append(item(n, first, second))
    agreement = summarize(items, resamples=500, seed=0).agreement
    differ_low, differ_high = 1 - agreement.high, 1 - agreement.low
    assert differ_low <= rate <= differ_high, (differ_low, rate, differ_high)
    assert differ_high - differ_low < 0.05


# --------------------------------------------------------------------------------------------------- views


def test_parent_level_counts_sibling_sub_techniques_as_agreeing():
    items = [item(1, {"T1059.001"}, {"T1059.003"}), item(2, {"T1055"}, {"T1055"}), item(3, {"T1027"}, set())]
    by_technique = summarize(items, resamples=50)
    by_parent = summarize(items, level=PARENT_LEVEL, resamples=50)
    assert by_technique.agreement.value == pytest.approx(1 / 3)
    assert by_parent.agreement.value == pytest.approx(2 / 3)
    assert {t.technique for t in by_parent.techniques} == {"T1059", "T1055", "T1027"}
    assert parent_technique("T1059.001") == "T1059" and parent_technique("T1055") == "T1055"
    worst = by_technique.techniques[0]
    assert worst.disagreements == 1 and worst.technique in {"T1027", "T1059.001", "T1059.003"}


def test_pairs_and_weeks():
    start = datetime(2025, 3, 3, 9)  # a Monday
    items = [item(i, {"T1055"}, {"T1055"} if i % 4 else set(), ("ann", "bo"), start + timedelta(days=i))
             for i in range(14)]
    items += [item(100 + i, {"T1027"}, set(), ("cy", "ann"), start) for i in range(3)]
    summary = summarize(items, resamples=50)
    assert [p.name for p in summary.pairs] == ["ann & cy", "ann & bo"]  # the pair that differs most first
    assert summary.pairs[0].agreement.value == 0.0 and summary.pairs[0].agreement.sentences == 3
    assert [w.week for w in summary.periods] == ["2025-03-03", "2025-03-10"]
    assert sum(w.agreement.sentences for w in summary.periods) == 17
    assert summarize([], resamples=10).agreement.value is None
