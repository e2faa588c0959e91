"""Train/validation/test splits by report, so no report's sentences sit on two sides; seeded and reproducible."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

from tram_core.errors import UserError
from tram_core.store import Example


class SplitError(UserError):
    """The examples cannot be split as asked (too few reports, bad fractions)."""


@dataclass
class DataSplit:
    """Sentence ids on each side (sorted), the seed that made the split, and the report ids of each side."""

    train: list[int]
    validation: list[int]
    test: list[int]
    seed: int
    train_reports: list[int] = field(default_factory=list)
    validation_reports: list[int] = field(default_factory=list)
    test_reports: list[int] = field(default_factory=list)
    fractions: dict = field(default_factory=dict)

    def side_of(self) -> dict[int, str]:
        """sentence id -> 'train' | 'validation' | 'test'."""
        out = {sid: "train" for sid in self.train}
        out.update({sid: "validation" for sid in self.validation})
        out.update({sid: "test" for sid in self.test})
        return out

    def select(self, examples: Sequence[Example], side: str) -> list[Example]:
        """The examples on one side, in the order given."""
        wanted = set(getattr(self, side))
        return [e for e in examples if e.sentence_id in wanted]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> "DataSplit":
        return cls(**{k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in data.items()})


def grouped_split(examples: Sequence[Example], seed: int = 13, validation: float = 0.15, test: float = 0.15,
                  test_reports: Sequence[int] | None = None) -> DataSplit:
    """Split ``examples`` by report into roughly the asked fractions of sentences.

    Reports are shuffled with ``seed`` and each goes, in turn, to the side that is least full relative to its
    target (ties: train, then validation, then test), so train is never empty and two reports already give a
    train and a validation side. A side asked for 0 gets nothing.

    ``test_reports``: exactly these reports are the test side (``test`` is ignored) and the other reports are
    split into train and validation, ``validation`` being their share of those reports' sentences. A fixed test
    set keeps runs comparable, and lets a model be scored on reports chosen as unseen.
    """
    if test_reports is not None:
        return _split_with_fixed_test(examples, seed, validation, sorted(set(test_reports)))
    for name, value in (("validation", validation), ("test", test)):
        if not 0 <= value < 1:
            raise SplitError(f"The {name} fraction must be at least 0 and below 1, got {value}.")
    if validation + test >= 1:
        raise SplitError(f"validation ({validation}) + test ({test}) must leave sentences for training (sum < 1).")
    by_report: dict[int, list[int]] = {}
    for example in examples:
        by_report.setdefault(example.report_id, []).append(example.sentence_id)
    if not by_report:
        raise SplitError("There are no sentences to split: label some sentences first.")
    if len(by_report) == 1 and (validation > 0 or test > 0):
        only = next(iter(by_report))
        raise SplitError(
            f"All {len(examples)} sentences come from one report (id {only}); a split by report needs at least "
            "two reports. Import and label another report, or set validation and test to 0."
        )
    reports = sorted(by_report)
    random.Random(seed).shuffle(reports)
    total = sum(len(ids) for ids in by_report.values())
    sides = ("train", "validation", "test")
    targets = {"train": (1 - validation - test) * total, "validation": validation * total, "test": test * total}
    counts = {side: 0 for side in sides}
    assigned: dict[str, list[int]] = {side: [] for side in sides}
    for report in reports:
        open_sides = [s for s in sides if targets[s] > 0]
        side = min(open_sides, key=lambda s: (counts[s] / targets[s], sides.index(s)))
        assigned[side].append(report)
        counts[side] += len(by_report[report])
    return DataSplit(
        train=sorted(sid for r in assigned["train"] for sid in by_report[r]),
        validation=sorted(sid for r in assigned["validation"] for sid in by_report[r]),
        test=sorted(sid for r in assigned["test"] for sid in by_report[r]),
        seed=seed,
        train_reports=sorted(assigned["train"]),
        validation_reports=sorted(assigned["validation"]),
        test_reports=sorted(assigned["test"]),
        fractions={"validation": validation, "test": test},
    )


def _split_with_fixed_test(examples: Sequence[Example], seed: int, validation: float, test_reports: list[int]
                           ) -> DataSplit:
    if not test_reports:
        raise SplitError("The list of test reports is empty: name at least one report id, or use a test fraction.")
    present = {e.report_id for e in examples}
    absent = [r for r in test_reports if r not in present]
    if absent:
        raise SplitError(f"Test report(s) {', '.join(map(str, absent))} have no labelled sentences to test on: "
                         "label them first, or leave them out of the test reports.")
    held = set(test_reports)
    rest = [e for e in examples if e.report_id not in held]
    if not rest:
        raise SplitError("Every report with labelled sentences is a test report: no report is left to train on.")
    inner = grouped_split(rest, seed=seed, validation=validation, test=0.0)
    return DataSplit(
        train=inner.train, validation=inner.validation,
        test=sorted(e.sentence_id for e in examples if e.report_id in held),
        seed=seed, train_reports=inner.train_reports, validation_reports=inner.validation_reports,
        test_reports=list(test_reports), fractions={"validation": validation, "test_reports": list(test_reports)},
    )
