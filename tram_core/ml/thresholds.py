"""A model's tuned thresholds as one typed record, with the sentence lookup rule and the one report-level rule."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Sequence

import numpy as np

from tram_core.errors import UserError

DEFAULT_THRESHOLD = 0.5  # the seed notebook's sigmoid().gt(.5): the threshold of a model nobody tuned

# A report mentions a technique when its REPORT_TOP_K best sentence scores for it add up to more than the model's
# report threshold (tuned on the validation reports): one confident sentence, or two moderate ones. On TRAM 2's
# test reports (grouped splits with seeds 13, 7 and 21) this rule, with its threshold tuned on validation, scored
# report micro-F1 0.788/0.767/0.769 for the MiniLM recipe against 0.767/0.752/0.759 for the union of sentence
# predictions; noisy-OR (0.773/0.777/0.754) and the maximum alone (0.775/0.739/0.771) were less steady.
REPORT_TOP_K = 2
# The report threshold of a model with no validation reports to tune it on: the top-k rule's neutral value, k
# sentences at DEFAULT_THRESHOLD each (one sentence at 1.0 never passes alone; two at 0.5 just fail, 0.51 pass).
UNTUNED_REPORT_THRESHOLD = REPORT_TOP_K * DEFAULT_THRESHOLD

# Keys with a meaning of their own in every stored layout; any other top-level key is a technique (flat layout).
GLOBAL_KEY = "global"
PER_TECHNIQUE_KEY = "per_technique"
OLD_PER_TECHNIQUE_KEY = "techniques"  # the nested key of early model rows (annotation read it until now)
REPORT_KEY = "report"
_RESERVED_KEYS = frozenset({GLOBAL_KEY, PER_TECHNIQUE_KEY, OLD_PER_TECHNIQUE_KEY, REPORT_KEY})


class ThresholdsError(UserError, ValueError):
    """Stored thresholds that cannot be read: the message names the key and what is wrong with its value."""


def _number(value: Any, what: str, upper: float) -> float:
    """``value`` as a float in [0, upper]; a ThresholdsError naming ``what`` otherwise (JSON true is no number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ThresholdsError(f"thresholds: {what} should be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= upper:
        raise ThresholdsError(f"thresholds: {what} should lie between 0 and {upper:g}, not {value!r}")
    return number


@dataclass(frozen=True)
class Thresholds:
    """Scores strictly above these thresholds are predictions (sentence level) and findings (report level).

    ``global_`` applies to every technique without a value of its own in ``per_technique``; ``report`` is the
    report threshold of the top-k rule (see ``report_predictions``), None for a model tuned before that rule
    existed, which decides reports by the union of its sentence predictions instead.

    Scripts written when loaded models exposed a flat ``{'global': g, technique: t}`` dict can still index it
    (``thresholds['global']``, ``thresholds.get(tid, default)``); it is deliberately no Mapping, so ``dict()`` of
    it fails instead of silently dropping ``report``: store it with ``to_json``. New code calls ``for_technique``.
    """

    global_: float = DEFAULT_THRESHOLD
    per_technique: Mapping[str, float] = field(default_factory=dict)
    report: float | None = None

    def __post_init__(self) -> None:
        # Checked and copied here, so a record is valid however it was built and no caller's dict can change it.
        values = {}
        for technique, value in dict(self.per_technique).items():
            if not isinstance(technique, str) or not technique:
                raise ThresholdsError(f"thresholds: technique keys should be non-empty strings, not {technique!r}")
            values[technique] = _number(value, f"technique {technique!r}", 1.0)
        object.__setattr__(self, "global_", _number(self.global_, f"'{GLOBAL_KEY}'", 1.0))
        object.__setattr__(self, "per_technique", MappingProxyType(values))
        if self.report is not None:
            object.__setattr__(self, "report", _number(self.report, f"'{REPORT_KEY}'", float(REPORT_TOP_K)))

    def __reduce__(self):  # a mappingproxy cannot be pickled; the field values can
        return (type(self), (self.global_, dict(self.per_technique), self.report))

    # ------------------------------------------------------------------------------------------- sentence rule

    def for_technique(self, technique: str) -> float:
        """The score above which a sentence gets ``technique``: its own tuned value, else the global one."""
        return self.per_technique.get(technique, self.global_)

    def vector(self, classes: Sequence[str]) -> np.ndarray:
        """One threshold per class, in ``classes`` order (float64, to compare against a score matrix's columns)."""
        return np.array([self.for_technique(c) for c in classes], dtype=float)

    # ------------------------------------------------------------------------------------------- report rule

    def report_predictions(self, scores: np.ndarray, report_ids: Sequence[int], classes: Sequence[str]
                           ) -> dict[int, set[str]]:
        """Per report (first-seen order), the techniques the model finds in it from its sentences' scores.

        With a report threshold: the REPORT_TOP_K best sentence scores of a technique add up to strictly more than
        it (report_evidence). Without one: any sentence scores strictly above the technique's threshold (the union
        of the sentence predictions). ``scores`` is (sentences, classes), one row per entry of ``report_ids``.
        """
        reports, _, found = self._report_decisions(scores, report_ids, classes)
        return {rid: {c for c, hit in zip(classes, row) if hit} for rid, row in zip(reports, found)}

    def report_has_technique(self, technique: str, sentence_scores: Sequence[float]) -> bool:
        """Whether one report's sentence scores for ``technique`` make the model find it in the report."""
        _, found = self.report_strength(np.asarray(list(sentence_scores), dtype=float).reshape(-1, 1), [technique])
        return bool(found[0])

    def report_strength(self, scores: np.ndarray, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """For one report's (sentences, classes) scores: per class the value the rule weighs (the top-k sum with
        a report threshold, else the best sentence score) and whether the model finds the class."""
        scores = _score_matrix(scores, classes)
        if not scores.shape[0]:  # no sentence, no evidence
            return np.zeros(len(classes)), np.zeros(len(classes), dtype=bool)
        _, strength, found = self._report_decisions(scores, [0] * scores.shape[0], classes)
        return strength[0], found[0]

    def _report_decisions(self, scores: np.ndarray, report_ids: Sequence[int], classes: Sequence[str]
                          ) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Reports in first-seen order, per report and class the value the rule weighs, and whether it finds it."""
        scores = _score_matrix(scores, classes)
        if self.report is not None:
            reports, evidence = report_evidence(report_ids, scores)
            return reports, evidence, evidence > self.report
        # The union rule: the best sentence score is above the cut exactly when some sentence's score is.
        reports, best = _per_report(report_ids, scores, lambda block: block.max(axis=0))
        return reports, best, best > self.vector(classes)[None, :]

    # ------------------------------------------------------------------------------------------- JSON

    def to_json(self) -> dict:
        """The layout models store: ``{'global': g, 'per_technique': {...}}``, plus ``'report'`` when tuned."""
        out: dict[str, Any] = {GLOBAL_KEY: self.global_, PER_TECHNIQUE_KEY: dict(self.per_technique)}
        if self.report is not None:
            out[REPORT_KEY] = self.report
        return out

    @classmethod
    def from_json(cls, obj: Any) -> "Thresholds":
        """Thresholds from any layout models and model rows hold, old ones included:

        - ``{'global': g, 'per_technique': {tid: t}, 'report': r}`` (training writes this; 'report' optional);
        - ``{'global': g, 'techniques': {tid: t}}`` (early model rows);
        - ``{'global': g, tid: t, ...}`` (flat: the quick model's manifest, loaded models, hand-added rows);
        - ``{}`` or None: nothing tuned (imported suggestions, cards written by hand), every technique at 0.5.

        A missing 'global' is 0.5. Anything else raises a ThresholdsError that names the key at fault.
        """
        if obj is None:
            return cls()
        if isinstance(obj, Thresholds):
            return obj
        if not isinstance(obj, Mapping):
            raise ThresholdsError(f"thresholds should be a JSON object, not {type(obj).__name__} {obj!r:.60}")
        nested_keys = [k for k in (PER_TECHNIQUE_KEY, OLD_PER_TECHNIQUE_KEY) if k in obj]
        flat = {k: v for k, v in obj.items() if k not in _RESERVED_KEYS}
        if len(nested_keys) > 1 or (nested_keys and flat):
            extra = ", ".join(repr(k) for k in [*nested_keys[1:], *list(flat)[:3]])
            raise ThresholdsError(f"thresholds mix the {nested_keys[0]!r} map with {extra}: "
                                  "per-technique values belong in one place")
        per_technique: Any = obj[nested_keys[0]] if nested_keys else flat
        if not isinstance(per_technique, Mapping):
            raise ThresholdsError(f"thresholds: {nested_keys[0]!r} should map techniques to numbers, "
                                  f"not {type(per_technique).__name__}")
        report = obj.get(REPORT_KEY)
        return cls(obj.get(GLOBAL_KEY, DEFAULT_THRESHOLD), per_technique, report)

    @classmethod
    def of(cls, value: "Thresholds | Mapping[str, Any] | float | None") -> "Thresholds":
        """What the scoring functions accept: a record, a stored layout (see from_json), or one number for all."""
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return cls(global_=value)
        return cls.from_json(value)

    # ------------------------------------------------------------------------------------------- flat lookups

    def __getitem__(self, key: str) -> float:
        """'global', or a technique with a value of its own (KeyError otherwise, as the flat dict did)."""
        if key == GLOBAL_KEY:
            return self.global_
        return self.per_technique[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    __iter__ = None  # no iteration through __getitem__: dict(thresholds) raises TypeError rather than losing data


def model_thresholds(model: Any) -> Thresholds:
    """A model record's stored thresholds (``TrainedModel.thresholds``) as a record; 0.5 everywhere for None."""
    return Thresholds.from_json(None if model is None else model.thresholds)


def report_evidence(report_ids: Sequence[int], scores: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Reports in first-seen order, and per report and column the sum of the REPORT_TOP_K highest sentence scores."""
    return _per_report(report_ids, scores, _top_k_sum)


def report_rule_text(report_threshold: float | None) -> str:
    """How a model decides that a report mentions a technique, in words for the pages and the CLI."""
    if report_threshold is None:
        return "a report has a technique when any of its sentences is above that technique's threshold"
    return (f"a report has a technique when its {REPORT_TOP_K} best sentence scores for it add up to more than "
            f"{report_threshold:.2f}")


def _top_k_sum(block: np.ndarray) -> np.ndarray:
    """Per column, the sum of the REPORT_TOP_K largest values (all of them when the block has fewer rows)."""
    k = min(REPORT_TOP_K, block.shape[0])
    return np.sort(block, axis=0)[-k:].sum(axis=0)


def _per_report(report_ids: Sequence[int], scores: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray]
                ) -> tuple[list[int], np.ndarray]:
    """Reports in first-seen order, and per report ``reduce`` of its (sentences, columns) block of scores."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or len(report_ids) != scores.shape[0]:
        raise ValueError(f"{len(report_ids)} report ids for scores of shape {scores.shape}")
    rows: dict[int, list[int]] = {}
    for i, rid in enumerate(report_ids):
        rows.setdefault(rid, []).append(i)
    reduced = np.zeros((len(rows), scores.shape[1]))
    for r, chosen in enumerate(rows.values()):
        reduced[r] = reduce(scores[chosen])
    return list(rows), reduced


def _score_matrix(scores: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError(f"scores must be (n, {len(classes)}), got {scores.shape}")
    return scores
