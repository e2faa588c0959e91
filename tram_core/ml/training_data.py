"""The data side of training: the label space, the split by report, tokenizing once, negatives resampled every
epoch and length-grouped batches padded only to their longest sentence."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from tram_core.errors import UserError
from tram_core.ml.model_card import ModelCard

# ----------------------------------------------------------------------------------------------- label space


def choose_classes(examples: Sequence, min_count: int = 10, classes: Sequence[str] | None = None) -> list[str]:
    """The label space: ``classes`` as given, or the techniques with at least ``min_count`` sentences, sorted."""
    if classes:
        out = list(dict.fromkeys(classes))
        return out
    counts: dict[str, int] = {}
    for ex in examples:
        for tech in set(ex.labels):
            counts[tech] = counts.get(tech, 0) + 1
    chosen = sorted(t for t, n in counts.items() if n >= min_count)
    if not chosen:
        raise UserError(f"No technique has at least {min_count} labelled sentences: label more sentences or lower "
                        f"min_count (most frequent: {sorted(counts.items(), key=lambda kv: -kv[1])[:3]})")
    return chosen


def binarize(label_sets: Sequence[Sequence[str]], classes: Sequence[str]) -> np.ndarray:
    """MultiLabelBinarizer order: column j is ``classes[j]``; labels outside ``classes`` are dropped."""
    index = {c: j for j, c in enumerate(classes)}
    y = np.zeros((len(label_sets), len(classes)), dtype=np.float32)
    for i, labels in enumerate(label_sets):
        for tech in labels:
            j = index.get(tech)
            if j is not None:
                y[i, j] = 1.0
    return y


# ----------------------------------------------------------------------------------------------- split


def split_by_report(examples: Sequence, options, store=None) -> tuple[list[str], object, dict[str, list]]:
    """(classes, split, parts): the label space, the split by report (splits.grouped_split) and its examples.

    ``options`` is a TrainOptions (min_count, classes, seed, validation_fraction, test_fraction, test_reports).
    """
    from tram_core.ml import splits

    examples = list(examples)
    if not examples:
        raise UserError("No labelled sentences to train on: label some sentences first")
    classes = choose_classes(examples, options.min_count, options.classes)
    test_reports = held_out_reports(options, examples, store)
    split = splits.grouped_split(examples, seed=options.seed, validation=options.validation_fraction,
                                 test=options.test_fraction, test_reports=test_reports)
    by_id = {ex.sentence_id: ex for ex in examples}
    parts = {name: [by_id[i] for i in getattr(split, name)] for name in ("train", "validation", "test")}
    if not parts["train"]:
        raise UserError("The split left no training sentences: import or label more reports")
    return classes, split, parts


def held_out_reports(options, examples: list, store) -> list[int] | None:
    """The test reports of a run; a run that continues from a trained model never tests on what that model learnt.

    From ``trained:<id>`` without test reports of its own, the run keeps the parent's test reports (those that
    still have labelled sentences), so the two runs compare like with like. Given test reports that hold
    sentences the parent trained or validated on are refused.
    """
    spec = options.base or ""
    if not spec.startswith("trained:") or store is None or not spec[len("trained:"):].isdecimal():
        return options.test_reports
    try:
        record = store.get_model(int(spec[len("trained:"):]))
        parent = ModelCard.read_if_present(Path(record.path)) if record.path else None
    except (OSError, ValueError, UserError):  # a StoreError (no such model) is a UserError
        return options.test_reports  # resolving the base says what is wrong with it
    parent_ids = parent.sentence_ids if parent is not None else (lambda part: [])
    report_of = {e.sentence_id: e.report_id for e in examples}
    if options.test_reports is None:
        kept = sorted({report_of[i] for i in parent_ids("test") if i in report_of})
        return kept or None
    learnt = set(parent_ids("train")) | set(parent_ids("validation"))
    overlap = sorted({report_of[i] for i in learnt if report_of.get(i) in set(options.test_reports)})
    if overlap:
        raise UserError(f"Test report(s) {', '.join(map(str, overlap))} were training or validation data of model "
                        f"#{record.id}, which this run continues from: its scores on them would be inflated. Pick "
                        "other test reports, or leave them out to keep that model's test reports.")
    return options.test_reports


# ----------------------------------------------------------------------------------------------- tokens


@dataclass
class TokenizedParts:
    """Token ids (unpadded, truncated) and 0/1 label rows of the train, validation and test parts."""

    ids: dict[str, list[list[int]]]
    y: dict[str, np.ndarray]
    pad_id: int


def tokenize(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Tokenize once, no padding, truncated to ``max_length``."""
    if not texts:
        return []
    return tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)["input_ids"]


def tokenize_parts(tokenizer, parts: dict[str, list], classes: Sequence[str], max_length: int) -> TokenizedParts:
    """Every part tokenized once and its labels binarized in ``classes`` order."""
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = {name: tokenize(tokenizer, [e.text for e in exs], max_length) for name, exs in parts.items()}
    ys = {name: binarize([e.labels for e in exs], classes) for name, exs in parts.items()}
    return TokenizedParts(ids, ys, pad_id)


# ----------------------------------------------------------------------------------------------- batches


def sample_epoch(y: np.ndarray, negatives_ratio: float | None, rng: random.Random) -> list[int]:
    """Row indices for one epoch: every positive row plus ``negatives_ratio`` x as many random negative rows."""
    positive = [i for i in range(len(y)) if y[i].any()]
    negative = [i for i in range(len(y)) if not y[i].any()]
    if negatives_ratio is None or negatives_ratio <= 0 or not positive:
        return positive + negative
    keep = min(len(negative), int(round(negatives_ratio * len(positive))))
    return positive + rng.sample(negative, keep)


def length_grouped_batches(lengths: Sequence[int], indices: Sequence[int], batch_size: int, rng: random.Random,
                           token_budget: int | None = None, group_factor: int = 50) -> list[list[int]]:
    """Batches of similar length: shuffle, cut into mega-chunks, sort each by length, slice, shuffle the batches.

    With ``token_budget``, a batch grows while ``len(batch) * longest`` stays within the budget.
    """
    order = list(indices)
    rng.shuffle(order)
    chunk = max(batch_size * group_factor, 1)
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: lengths[i], reverse=True)
        if token_budget:
            batch: list[int] = []
            longest = 0
            for i in part:
                new_longest = max(longest, lengths[i])
                if batch and new_longest * (len(batch) + 1) > token_budget:
                    batches.append(batch)
                    batch, new_longest = [], lengths[i]
                batch.append(i)
                longest = new_longest
            if batch:
                batches.append(batch)
        else:
            batches.extend(part[k:k + batch_size] for k in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def epoch_batches(y_train: np.ndarray, lengths: Sequence[int], epochs: int, batch_size: int,
                  negatives_ratio: float | None, seed: int, token_budget: int | None = None) -> list[list[list[int]]]:
    """Every epoch's batches, planned up front (so the schedule knows the step count): negatives resampled per
    epoch (seeded ``seed + 1000 * epoch``), then length-grouped batches shuffled with one ``seed`` generator."""
    rng = random.Random(seed)
    epoch_rows = [sample_epoch(y_train, negatives_ratio, random.Random(seed + 1000 * e)) for e in range(epochs)]
    return [length_grouped_batches(lengths, rows, batch_size, rng, token_budget) for rows in epoch_rows]


def collate(input_ids: Sequence[Sequence[int]], rows: Sequence[int], pad_id: int):
    """Pad the rows of a batch to the longest one in it (dynamic padding); returns (ids, attention_mask) tensors."""
    import torch

    longest = max(len(input_ids[i]) for i in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for r, i in enumerate(rows):
        seq = input_ids[i]
        ids[r, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[r, :len(seq)] = 1
    return ids, mask
