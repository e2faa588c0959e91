"""ATT&CK's procedure examples as a training data source: which run uses them how, the label space they make, and
what the run keeps of them, always apart from the analysts' labelled sentences.

``procedure_examples`` (TrainOptions, read through training_options.procedure_mode: 'mix' is the embedded
recipe's default) says how: 'mix' adds a sample of them to the training part, 'pretrain'
trains a first stage on them before the reports, 'only' trains on them alone (the cold-start model). A run with
no labelled technique and the option on is a cold start too. The analysts' split by report is made from their
sentences alone, before any example is added, so the test reports and every labelled-sentence count stay what
they were; the examples are read from the ATT&CK data when the run starts and never stored as sentences.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Sequence

from tram_core.errors import UserError
from tram_core.ml.procedure_examples import (
    ParseCounts, description_sentences, frequent_techniques, load_procedure_examples, technique_counts,
    within_label_space,
)
from tram_core.ml.training_options import check_procedure_options, procedure_mode

MIX, PRETRAIN, ONLY, COLD_START = "mix", "pretrain", "only", "cold start"


@dataclass
class ProcedurePlan:
    """What one run does with the procedure examples.

    ``stage`` is 'mix', 'pretrain' or 'cold start'. ``train`` holds the examples added to the training part
    (mix), of the first stage (pretrain) or of the whole training (cold start, with ``validation`` held out of
    them by source for the thresholds and best epoch). A cold start also learns what a sentence about no technique
    reads like from ATT&CK's group, software and campaign descriptions, split the same way.
    """

    stage: str
    train: list
    validation: list = field(default_factory=list)
    added_classes: list[str] = field(default_factory=list)
    available: int = 0  # examples within the label space, before sampling
    counts: ParseCounts | None = None
    history: list[dict] = field(default_factory=list)  # the pretrain stage's epochs

    def summary(self) -> dict:
        """The card's ``data['procedure_examples']``: how many examples went where, and what reading them did."""
        def split(examples: list) -> dict:
            labelled = sum(1 for e in examples if e.labels)
            return {"examples": labelled, "without_technique": len(examples) - labelled}

        return {"stage": self.stage, "train": split(self.train), "validation": split(self.validation),
                "available": self.available, "techniques": len(technique_counts(self.train)),
                "added_classes": list(self.added_classes),
                "parse": self.counts.to_dict() if self.counts is not None else None, "history": list(self.history)}


def is_cold_start(options, examples: Sequence) -> bool:
    """Whether a run trains on procedure examples alone: asked ('only'), or on, with no labelled technique."""
    return cold_start_for(procedure_mode(options), any(e.labels for e in examples))


def cold_start_for(mode: str, any_labelled_technique: bool) -> bool:
    """The cold-start rule on a resolved mode: 'only', or any mode but 'off' when no sentence carries a technique."""
    return mode == ONLY or (mode != "off" and not any_labelled_technique)


def plan_run(examples: Sequence, options, store=None) -> tuple[list[str], object, dict[str, list],
                                                                 ProcedurePlan | None]:
    """(classes, split, parts, plan): the label space, the analysts' split by report, the parts the run trains,
    validates and tests on, and what it does with the procedure examples (None when it uses none)."""
    from tram_core.ml.training_data import split_by_report

    check_procedure_options(options)
    mode = procedure_mode(options)
    if mode == "off":
        return (*split_by_report(examples, options, store), None)
    if is_cold_start(options, examples):
        return _plan_cold_start(examples, options, store)
    classes, split, parts = split_by_report(examples, options, store)
    available, counts = load_procedure_examples()
    added: list[str] = []
    if options.procedure_label_space == "extend":
        added = extra_techniques(available, classes, options.min_count)
        classes = list(classes) + added
    within = within_label_space(available, classes)
    positives = sum(1 for e in parts["train"] if set(e.labels) & set(classes))
    chosen = sample_examples(within, options.procedure_ratio, positives, options.seed)
    stage = PRETRAIN if mode == PRETRAIN else MIX
    return classes, split, parts, ProcedurePlan(stage, chosen, added_classes=added, available=len(within),
                                                counts=counts)


def extra_techniques(examples: Sequence, classes: Sequence[str], min_count: int) -> list[str]:
    """Techniques with at least ``min_count`` examples that ``classes`` lacks, sub-techniques whose parent is one
    of ``classes`` aside (their examples count for the parent)."""
    have = set(classes)
    return [t for t in frequent_techniques(examples, min_count) if t not in have and t.split(".")[0] not in have]


def sample_examples(examples: Sequence, ratio: float | None, positives: int, seed: int) -> list:
    """``ratio`` x ``positives`` examples drawn by ``seed`` (every example when ratio is 0 or less, or asks for
    more than there are), in their original order."""
    if ratio is None or ratio <= 0:
        return list(examples)
    wanted = int(round(ratio * positives))
    if wanted >= len(examples):
        return list(examples)
    keep = set(random.Random(seed).sample(range(len(examples)), wanted))
    return [e for i, e in enumerate(examples) if i in keep]


def _plan_cold_start(examples: Sequence, options, store) -> tuple[list[str], object, dict[str, list],
                                                                  ProcedurePlan]:
    """Procedure examples alone: the label space from them, validation held out of them by source, and the
    analysts' test reports (when there are labelled sentences) to score the model on."""
    from tram_core.ml import splits

    available, counts = load_procedure_examples()
    if options.classes:
        classes = list(dict.fromkeys(options.classes))
    else:
        classes = frequent_techniques(available, options.min_count)
        if not classes:
            raise UserError(f"No technique has {options.min_count} or more ATT&CK procedure examples: lower "
                            "min_count")
    within = within_label_space(available, classes)
    if not within:
        raise UserError("None of the chosen techniques has an ATT&CK procedure example: pick another label space")
    negatives = description_sentences()
    inner = splits.grouped_split(within + negatives, seed=options.seed, validation=options.validation_fraction,
                                 test=0.0)
    by_id = {e.sentence_id: e for e in within + negatives}
    train, validation = ([by_id[i] for i in getattr(inner, side)] for side in ("train", "validation"))
    split, test = _analyst_test(examples, options, store)
    plan = ProcedurePlan(COLD_START, train, validation, available=len(within), counts=counts)
    return classes, split, {"train": train, "validation": validation, "test": test}, plan


def _analyst_test(examples: Sequence, options, store) -> tuple[object, list]:
    """The analysts' test reports (those a run without procedure examples would test on) as a split with only a
    test side, and their sentences; an empty split when no technique is labelled."""
    from tram_core.ml import splits
    from tram_core.ml.training_data import held_out_reports

    examples = list(examples)
    if not any(e.labels for e in examples) or len({e.report_id for e in examples}) < 2:
        return splits.DataSplit([], [], [], seed=options.seed), []
    split = splits.grouped_split(examples, seed=options.seed, validation=options.validation_fraction,
                                 test=options.test_fraction, test_reports=held_out_reports(options, examples, store))
    # The model learnt nothing from the analysts' train and validation reports: the split says so.
    split = splits.DataSplit([], [], split.test, seed=split.seed, test_reports=split.test_reports,
                             fractions=split.fractions)
    test = set(split.test)
    return split, [e for e in examples if e.sentence_id in test]


def is_procedure_example(example) -> bool:
    """Whether an example comes from ATT&CK rather than from an analyst (procedure examples have negative ids)."""
    return getattr(example, "status", None) == "procedure"
