"""The fine-tuning loop and its batching: multi-label BERT-family training on labelled sentences, saved as a model folder."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .device import resolve_device
from .errors import UserError
from .model_card import MODEL_INFO_FILE, ModelCard, TrainingJobInfo
from .thresholds import Thresholds

HEAD_FILE = "classifier_head.safetensors"
KINDS = ("transformer", "baseline")
POOLINGS = ("cls", "mean")
LOSSES = ("bce", "focal", "asl")
CLASS_WEIGHTINGS = ("none", "sqrt")


# ----------------------------------------------------------------------------------------------- options


@dataclass
class TrainOptions:
    """Every training option, with help text; ``None`` means "the base model's recipe default" (see RECIPES)."""

    base: str = field(default="embedded", metadata={
        "help": "Base model: 'embedded' (bundled all-MiniLM-L6-v2), 'tram-scibert', a hub id, a local folder, "
                "'trained:<id>' to continue from a trained model, or 'baseline' (TF-IDF + logistic regression)."})
    epochs: int | None = field(default=None, metadata={"help": "Passes over the (negative-subsampled) training set."})
    learning_rate: float | None = field(default=None, metadata={"help": "Peak AdamW learning rate of the encoder."})
    head_learning_rate: float | None = field(default=None, metadata={
        "help": "Peak learning rate of the new classifier head (higher than the encoder's: it starts from scratch)."})
    batch_size: int | None = field(default=None, metadata={"help": "Sentences per optimisation step."})
    token_budget: int | None = field(default=None, metadata={
        "help": "If set, batches hold up to this many (padded) tokens instead of a fixed number of sentences."})
    max_length: int | None = field(default=None, metadata={"help": "Truncate sentences to this many tokens."})
    seed: int = field(default=13, metadata={"help": "Seed of the split, sampling, head initialisation and shuffling."})
    negatives_ratio: float | None = field(default=None, metadata={
        "help": "Sentences without a technique sampled per epoch, per sentence with one (resampled every epoch); "
                "0 or less keeps every negative."})
    loss: str | None = field(default=None, metadata={
        "help": "'bce' (binary cross-entropy, with pos_weight), 'focal' (focal loss, gamma 2) or 'asl' "
                "(asymmetric loss, gamma- 4, clip 0.05)."})
    pos_weight: float | None = field(default=None, metadata={
        "help": "Weight of positive labels in BCE (>1 raises recall of rare techniques)."})
    class_weighting: str | None = field(default=None, metadata={
        "help": "'none', or 'sqrt': scale each technique's pos_weight by sqrt(median count / its count)."})
    pooling: str | None = field(default=None, metadata={
        "help": "'cls' (BERT pooler, a BertForSequenceClassification) or 'mean' (mean of token vectors + Linear)."})
    min_count: int = field(default=10, metadata={
        "help": "Label space: techniques with at least this many labelled sentences (ignored with 'classes')."})
    classes: list[str] | None = field(default=None, metadata={
        "help": "A fixed label space in this order (e.g. TRAM's 50); other techniques are ignored."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Share of steps with linear learning-rate warm-up."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay (not on biases and LayerNorm)."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    freeze_embeddings: bool | None = field(default=None, metadata={
        "help": "Keep the token embeddings fixed (faster steps on CPU; the vocabulary's meaning is kept)."})
    dropout: float = field(default=0.1, metadata={"help": "Dropout before the classifier head."})
    validation_fraction: float = field(default=0.15, metadata={"help": "Share of reports held out for validation."})
    test_fraction: float = field(default=0.15, metadata={"help": "Share of reports held out for the final test."})
    test_reports: list[int] | None = field(default=None, metadata={
        "help": "Report ids held out as the test set instead of test_fraction: the same test reports keep runs "
                "comparable."})
    device: str | None = field(default=None, metadata={
        "help": "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; None uses the settings."})
    threads: int | None = field(default=None, metadata={"help": "CPU threads for torch; None uses every core."})
    bf16: str = field(default="auto", metadata={
        "help": "'auto' (bf16 autocast on CUDA, and on CPUs with AMX/avx512_bf16), 'on' or 'off'."})
    eval_batch_size: int = field(default=64, metadata={"help": "Sentences per batch when scoring."})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainOptions":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# Defaults per kind of base model. The embedded MiniLM recipe comes from benchmarks/quality.py runs on a 2-core CPU
# (TRAM 2's 121 reports, grouped split seed 13, 51 techniques): with the head at 2e-3 the model learned only priors
# in 3 epochs (validation micro-F1 0.03); a head learning rate of 1e-2 (a new linear layer on mean-pooled sentence
# vectors needs big steps) gave 0.52 after one epoch, and an encoder at 1e-4 beat 2e-4 (0.44). Frozen token
# embeddings make each CPU step ~1.8x cheaper; max_length 64 keeps 94% of labelled sentences whole (mean 34 tokens).
# Negatives: three sampled per positive, resampled each epoch, with no positive weighting, for 4 epochs. Against one
# negative per positive with pos_weight 3 for 8 epochs (the same number of steps), test micro-F1 at tuned thresholds
# went 0.508 -> 0.525 and macro-F1 0.401 -> 0.431, and the scores stay calibrated (best validation threshold 0.50
# instead of 0.85-0.95, so "ticked above 0.5" means something on the Annotate page).
RECIPES: dict[str, dict] = {
    "embedded": dict(pooling="mean", epochs=4, learning_rate=1e-4, head_learning_rate=1e-2, batch_size=32,
                     max_length=64, negatives_ratio=3.0, loss="bce", pos_weight=1.0, class_weighting="none",
                     freeze_embeddings=True),
    "bert": dict(pooling="cls", epochs=4, learning_rate=3e-5, head_learning_rate=1e-3, batch_size=32,
                 max_length=128, negatives_ratio=3.0, loss="bce", pos_weight=1.0, class_weighting="none",
                 freeze_embeddings=False),
}


def recipe_for(kind: str, pooling_hint: str | None = None) -> dict:
    """The recipe defaults for a base-model kind ('embedded' gets the MiniLM recipe, BERT-size models the other)."""
    recipe = dict(RECIPES["embedded" if kind == "embedded" else "bert"])
    if pooling_hint in POOLINGS:
        recipe["pooling"] = pooling_hint
    return recipe


def resolve_options(options: TrainOptions, recipe: dict) -> TrainOptions:
    """A copy of ``options`` with every ``None`` recipe field filled from ``recipe``; checks the choices."""
    data = options.to_dict()
    for key, value in recipe.items():
        if data.get(key) is None:
            data[key] = value
    resolved = TrainOptions.from_dict(data)
    if resolved.pooling not in POOLINGS:
        raise UserError(f"Unknown pooling {resolved.pooling!r}: use one of {', '.join(POOLINGS)}")
    if resolved.loss not in LOSSES:
        raise UserError(f"Unknown loss {resolved.loss!r}: use one of {', '.join(LOSSES)}")
    if resolved.class_weighting not in CLASS_WEIGHTINGS:
        raise UserError(f"Unknown class weighting {resolved.class_weighting!r}: use one of "
                        f"{', '.join(CLASS_WEIGHTINGS)}")
    if resolved.epochs is not None and resolved.epochs < 1:
        raise UserError(f"epochs must be at least 1, not {resolved.epochs}")
    return resolved


# ----------------------------------------------------------------------------------------------- records


@dataclass
class ProgressEvent:
    """What the loop is doing now; the jobs worker writes these to the database."""

    phase: str  # preparing | tokenizing | training | evaluating | saving
    step: int
    total: int
    epoch: int | None = None
    loss: float | None = None
    metrics: dict | None = None
    message: str = ""


@dataclass
class TrainResult:
    """A finished run: its folder, the card written there, and the split it trained on."""

    model_dir: Path
    card: ModelCard
    split: object  # splits.DataSplit

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    @property
    def thresholds(self) -> Thresholds:
        return self.card.thresholds

    @property
    def metrics(self) -> dict:
        """The test evaluation (metrics.evaluate); empty when the run had no test reports."""
        return self.card.evaluation or {}

    @property
    def history(self) -> list[dict]:
        return list(self.card.history)


class TrainingCancelled(Exception):
    """Raised by train_model when should_cancel() said yes; nothing is left in the output folder."""


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


def sample_epoch(y: np.ndarray, negatives_ratio: float | None, rng: random.Random) -> list[int]:
    """Row indices for one epoch: every positive row plus ``negatives_ratio`` x as many random negative rows."""
    positive = [i for i in range(len(y)) if y[i].any()]
    negative = [i for i in range(len(y)) if not y[i].any()]
    if negatives_ratio is None or negatives_ratio <= 0 or not positive:
        return positive + negative
    keep = min(len(negative), int(round(negatives_ratio * len(positive))))
    return positive + rng.sample(negative, keep)


# ----------------------------------------------------------------------------------------------- batching


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


def tokenize(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Tokenize once, no padding, truncated to ``max_length``."""
    if not texts:
        return []
    return tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)["input_ids"]


# ----------------------------------------------------------------------------------------------- device


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with AMX or AVX512-BF16, where bf16 autocast can pay off."""
    try:
        import torch

        if "AMX" in str(torch.backends.cpu.get_cpu_capability()).upper():
            return True
    except Exception:  # pragma: no cover - very old torch
        pass
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in ("amx_bf16", "avx512_bf16"))


def settings_threads(settings) -> int | None:
    """CPU threads from the settings (``extra['threads']``) or TRAM_THREADS; None means every core."""
    value = (getattr(settings, "extra", None) or {}).get("threads") or os.environ.get("TRAM_THREADS")
    try:
        return int(value) if value else None
    except ValueError:
        raise UserError(f"TRAM_THREADS must be a whole number, not {value!r}") from None


def use_bf16(device: str, setting: str) -> bool:
    if setting == "off":
        return False
    if setting == "on":
        return True
    return device.startswith("cuda") or cpu_has_fast_bf16()


def configure_torch(device: str, threads: int | None) -> None:
    import torch

    if device == "cpu":
        torch.set_num_threads(max(1, threads or os.cpu_count() or 1))
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


# ----------------------------------------------------------------------------------------------- model


def _build_classes_module():
    import torch
    from torch import nn

    class MeanPoolClassifier(nn.Module):
        """Encoder (AutoModel) + mean of token vectors over the attention mask + dropout + Linear."""

        def __init__(self, encoder, num_labels: int, dropout: float = 0.1):
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.classifier(self.dropout(pooled))

    class ClsClassifier(nn.Module):
        """A BertForSequenceClassification-style model (pooler + dropout + Linear), returning logits."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        @property
        def classifier(self):
            return self.model.classifier

        @property
        def encoder(self):
            return self.model.base_model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    return torch, MeanPoolClassifier, ClsClassifier


def mean_pool_classifier(encoder, num_labels: int, dropout: float = 0.1):
    _, MeanPoolClassifier, _ = _build_classes_module()
    return MeanPoolClassifier(encoder, num_labels, dropout)


def cls_classifier(model):
    _, _, ClsClassifier = _build_classes_module()
    return ClsClassifier(model)


def grow_head(old_weight, old_bias, old_classes: Sequence[str] | None, new_classes: Sequence[str], init_std: float,
              generator=None):
    """A new (weight, bias) for ``new_classes``: rows of shared classes copied bit for bit, new rows initialised."""
    import torch

    hidden = old_weight.shape[1]
    weight = torch.empty(len(new_classes), hidden, dtype=old_weight.dtype)
    weight.normal_(0.0, init_std, generator=generator)
    bias = torch.zeros(len(new_classes), dtype=old_weight.dtype)
    old_index = {c: j for j, c in enumerate(old_classes or ())}
    for i, tech in enumerate(new_classes):
        j = old_index.get(tech)
        if j is not None:
            weight[i] = old_weight[j].detach().clone()
            bias[i] = old_bias[j].detach().clone()
    return weight, bias


def build_model(base_path: Path, pooling: str, classes: list[str], dropout: float, seed: int,
                base_classes: list[str] | None = None):
    """The classifier to fine-tune, from a base folder (plain encoder, BertForSequenceClassification, or ours).

    When the base already has a classifier for ``base_classes``, rows of shared classes are kept unchanged.
    """
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

    base_path = Path(base_path)
    base_card = ModelCard.read_if_present(base_path)
    card_classes = list(base_card.classes) if base_card is not None else None
    config = AutoConfig.from_pretrained(base_path)
    old_head = None  # (weight, bias, classes)
    head_file = base_path / HEAD_FILE
    if head_file.is_file():
        tensors = load_file(str(head_file))
        old_head = (tensors["weight"], tensors["bias"], card_classes or base_classes)
    is_seq_cls = any(a.endswith("ForSequenceClassification") for a in (config.architectures or []))
    generator = torch.Generator().manual_seed(seed)
    init_std = getattr(config, "initializer_range", 0.02)
    id2label = dict(enumerate(classes))
    if pooling == "cls":
        if is_seq_cls:
            model = AutoModelForSequenceClassification.from_pretrained(base_path)
            old_classes = base_classes or [config.id2label[i] for i in range(config.num_labels)]
            old_head = (model.classifier.weight.data, model.classifier.bias.data, old_classes)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(base_path, num_labels=len(classes))
        hidden = model.config.hidden_size
        weight, bias = grow_head(old_head[0] if old_head else torch.zeros(len(classes), hidden),
                                 old_head[1] if old_head else torch.zeros(len(classes)),
                                 old_head[2] if old_head else None, classes, init_std, generator)
        model.classifier = torch.nn.Linear(hidden, len(classes))
        model.classifier.weight.data.copy_(weight)
        model.classifier.bias.data.copy_(bias)
        model.config.num_labels = len(classes)
        model.config.id2label = id2label
        model.config.label2id = {c: i for i, c in id2label.items()}
        model.config.problem_type = "multi_label_classification"
        model.num_labels = len(classes)
        return cls_classifier(model)
    if is_seq_cls:
        full = AutoModelForSequenceClassification.from_pretrained(base_path)
        encoder = full.base_model
        old_classes = base_classes or [config.id2label[i] for i in range(config.num_labels)]
        old_head = (full.classifier.weight.data, full.classifier.bias.data, old_classes)
    else:
        encoder = AutoModel.from_pretrained(base_path, add_pooling_layer=False) if config.model_type == "bert" \
            else AutoModel.from_pretrained(base_path)
    model = mean_pool_classifier(encoder, len(classes), dropout)
    hidden = encoder.config.hidden_size
    weight, bias = grow_head(old_head[0] if old_head else torch.zeros(len(classes), hidden),
                             old_head[1] if old_head else torch.zeros(len(classes)),
                             old_head[2] if old_head else None, classes, init_std, generator)
    model.classifier.weight.data.copy_(weight)
    model.classifier.bias.data.copy_(bias)
    return model


# ----------------------------------------------------------------------------------------------- loss


def make_loss(kind: str, pos_weight):
    """Loss on logits and 0/1 targets: BCE (with pos_weight), focal (gamma 2) or asymmetric (ASL)."""
    import torch
    import torch.nn.functional as F

    def bce(logits, targets):
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight)

    def focal(logits, targets, gamma: float = 2.0):
        ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none", pos_weight=pos_weight)
        p = torch.sigmoid(logits)
        p_t = p * targets + (1 - p) * (1 - targets)
        return ((1 - p_t) ** gamma * ce).mean()

    def asl(logits, targets, gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05):
        p = torch.sigmoid(logits)
        p_neg = (p - clip).clamp(min=0)
        loss_pos = targets * torch.log(p.clamp(min=1e-8)) * (1 - p) ** gamma_pos
        loss_neg = (1 - targets) * torch.log((1 - p_neg).clamp(min=1e-8)) * p_neg ** gamma_neg
        if pos_weight is not None:
            loss_pos = loss_pos * pos_weight
        return -(loss_pos + loss_neg).mean()

    return {"bce": bce, "focal": focal, "asl": asl}[kind]


def class_pos_weight(y: np.ndarray, pos_weight: float | None, weighting: str):
    import torch

    base = float(pos_weight or 1.0)
    if weighting == "none":
        return None if pos_weight is None else torch.full((y.shape[1],), base)
    counts = y.sum(0).clip(min=1)
    scale = np.sqrt(np.median(counts) / counts).clip(0.5, 4.0)
    return torch.as_tensor(base * scale, dtype=torch.float32)


# ----------------------------------------------------------------------------------------------- scoring


def score_texts(model, input_ids: Sequence[Sequence[int]], pad_id: int, device: str, batch_size: int = 64,
                bf16: bool = False, should_cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """Sigmoid scores for tokenized sentences, batched by length, returned in input order."""
    import torch

    n = len(input_ids)
    out = None
    order = sorted(range(n), key=lambda i: len(input_ids[i]))
    model.eval()
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            if should_cancel is not None and should_cancel():
                raise TrainingCancelled("cancelled while scoring")
            rows = order[start:start + batch_size]
            ids, mask = collate(input_ids, rows, pad_id)
            with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                                enabled=bf16):
                logits = model(ids.to(device), mask.to(device))
            probs = torch.sigmoid(logits.float()).cpu().numpy()
            if out is None:
                out = np.zeros((n, probs.shape[1]), dtype=np.float32)
            out[rows] = probs
    if out is None:
        return np.zeros((0, 0), dtype=np.float32)
    return out


def _best_micro_f1(y: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    """(micro-F1 at 0.5, best micro-F1 over the threshold grid, that threshold) - a quick epoch-selection signal."""
    from .metrics import DEFAULT_GRID, DEFAULT_THRESHOLD, micro_f1_on_grid

    at_half = float(micro_f1_on_grid(y, scores, [DEFAULT_THRESHOLD])[0])
    curve = micro_f1_on_grid(y, scores, DEFAULT_GRID)
    best = int(np.argmax(curve))
    return at_half, float(curve[best]), float(DEFAULT_GRID[best])


# ----------------------------------------------------------------------------------------------- main entry


def freeze_word_embeddings(model) -> None:
    """Keep the token embedding matrix fixed: less work per step (no dense 30k x hidden gradient or AdamW update)."""
    for p in model.encoder.get_input_embeddings().parameters():
        p.requires_grad_(False)


def make_optimizer(model, learning_rate: float, head_learning_rate: float, weight_decay: float):
    """AdamW with the encoder at ``learning_rate`` and the classifier head at ``head_learning_rate``.

    No weight decay on biases and LayerNorm weights; frozen parameters are left out.
    """
    import torch

    head_params = [p for p in model.classifier.parameters() if p.requires_grad]
    head_ids = {id(p) for p in head_params}
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if id(p) in head_ids or not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    return torch.optim.AdamW([
        {"params": decay, "lr": learning_rate, "weight_decay": weight_decay},
        {"params": no_decay, "lr": learning_rate, "weight_decay": 0.0},
        {"params": head_params, "lr": head_learning_rate, "weight_decay": weight_decay},
    ], foreach=True)


def training_step(model, optimizer, scheduler, loss_fn, input_ids, attention_mask, targets, device: str,
                  bf16: bool, max_grad_norm: float) -> float:
    """One optimisation step on a padded batch: forward (bf16 autocast if asked), loss, backward, clip, step."""
    import torch

    with torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                        enabled=bf16):
        logits = model(input_ids.to(device, non_blocking=True), attention_mask.to(device, non_blocking=True))
    loss = loss_fn(logits.float(), targets.to(device, non_blocking=True))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.grad is not None], max_grad_norm,
                                   foreach=True)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return float(loss.detach())


def train_model(examples: list, options: TrainOptions, settings, output_dir: Path,
                progress: Callable[[ProgressEvent], None] | None = None,
                should_cancel: Callable[[], bool] | None = None, store=None,
                provenance: dict | None = None) -> TrainResult:
    """Train a multi-label classifier on ``examples`` and save it to ``output_dir`` (written whole or not at all).

    Splits by report (splits.grouped_split), trains with the base model's recipe (options override it), keeps the
    best epoch on validation, tunes global and per-technique thresholds on validation, evaluates on test and
    writes the model folder with tram_model.json. ``provenance`` (the job that asked: its id, label watermark,
    counts) goes into tram_model.json under ``job`` with the split, so a folder whose job died before recording
    it can still be recorded (model_folders).
    """
    from . import splits

    started = time.time()
    output_dir = Path(output_dir)
    if output_dir.exists() and any(output_dir.iterdir()):
        raise UserError(f"Output folder {output_dir} already exists and is not empty")
    emit = progress or (lambda event: None)
    cancelled = should_cancel or (lambda: False)
    timings: dict[str, float] = {}

    emit(ProgressEvent("preparing", 0, 1, message="choosing the label space and splitting by report"))
    examples = list(examples)
    if not examples:
        raise UserError("No labelled sentences to train on: label some sentences first")
    classes = choose_classes(examples, options.min_count, options.classes)
    test_reports = _test_reports_for(options, examples, store)
    split = splits.grouped_split(examples, seed=options.seed, validation=options.validation_fraction,
                                 test=options.test_fraction, test_reports=test_reports)
    by_id = {ex.sentence_id: ex for ex in examples}
    parts = {name: [by_id[i] for i in getattr(split, name)] for name in ("train", "validation", "test")}
    if not parts["train"]:
        raise UserError("The split left no training sentences: import or label more reports")

    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", suffix=".partial", dir=output_dir.parent))
    try:
        if options.base == "baseline":
            result = _train_baseline(parts, classes, options, split, tmp_dir, emit, cancelled, timings, started)
        else:
            result = _train_transformer(parts, classes, options, settings, store, split, tmp_dir, emit, cancelled,
                                        timings, started)
        if cancelled():
            raise TrainingCancelled("training was cancelled")
        if provenance is not None:
            # Part of the card before the rename: a worker killed between the rename and the model row leaves a
            # folder that names its job.
            result.card = replace(result.card, job=TrainingJobInfo.from_json({**provenance,
                                                                               "split": split.to_dict()}))
        result.card.write(tmp_dir)  # the card last: a folder whose card reads is complete
        emit(ProgressEvent("saving", 1, 1, message=f"saved to {output_dir}"))
        os.replace(tmp_dir, output_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    result.model_dir = output_dir
    return result


def _test_reports_for(options: TrainOptions, examples: list, store) -> list[int] | None:
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


def _split_snapshot(split, parts: dict, classes: list[str]) -> dict:
    counts = {}
    for name, exs in parts.items():
        y = binarize([e.labels for e in exs], classes)
        counts[name] = {"sentences": len(exs), "with_technique": int(y.any(1).sum()),
                        "reports": len({e.report_id for e in exs}), "labels": int(y.sum())}
    return {"split_seed": split.seed, "sentence_ids": {name: list(getattr(split, name)) for name in parts},
            "counts": counts}


def _thresholds_and_evaluation(parts: dict, classes: list[str], val_scores: np.ndarray, test_scores: np.ndarray):
    from . import metrics

    val_true = [set(e.labels) & set(classes) for e in parts["validation"]]
    test_true = [set(e.labels) & set(classes) for e in parts["test"]]
    if parts["validation"]:
        global_t, per_tech = metrics.tune_thresholds(val_true, val_scores, classes)
        report_t = metrics.tune_report_threshold([e.report_id for e in parts["validation"]], val_true, val_scores,
                                                 classes)
    else:
        global_t, per_tech, report_t = 0.5, {c: 0.5 for c in classes}, None
    # No report threshold tuned: the model keeps the union rule (see metrics.tune_report_threshold).
    thresholds = Thresholds(global_t, {c: per_tech.get(c, global_t) for c in classes}, report_t)
    evaluation = None
    if parts["test"]:
        evaluation = metrics.evaluate(test_true, test_scores, classes, thresholds,
                                      report_ids=[e.report_id for e in parts["test"]])
    return thresholds, evaluation


def _train_baseline(parts, classes, options, split, tmp_dir, emit, cancelled, timings, started) -> TrainResult:
    from . import baseline

    emit(ProgressEvent("training", 0, 1, message="fitting TF-IDF + logistic regression"))
    t0 = time.time()
    train = parts["train"]
    model = baseline.train_baseline([e.text for e in train], [set(e.labels) & set(classes) for e in train], classes)
    timings["train_s"] = time.time() - t0
    if cancelled():
        raise TrainingCancelled("training was cancelled")
    emit(ProgressEvent("evaluating", 0, 1, message="tuning thresholds and scoring the test reports"))
    t0 = time.time()
    val_scores = model.predict_scores([e.text for e in parts["validation"]]) if parts["validation"] else None
    test_scores = model.predict_scores([e.text for e in parts["test"]]) if parts["test"] else None
    thresholds, evaluation = _thresholds_and_evaluation(parts, classes, val_scores, test_scores)
    timings["evaluate_s"] = time.time() - t0
    emit(ProgressEvent("saving", 0, 1, message="writing the model folder"))
    model.save(tmp_dir)
    timings["total_s"] = time.time() - started
    card = ModelCard(kind="baseline", classes=tuple(classes), thresholds=thresholds, base_model="baseline",
                     options=options.to_dict(), data=_split_snapshot(split, parts, classes), evaluation=evaluation,
                     timings=timings, device="cpu")
    return TrainResult(tmp_dir, card, split)


def _resolve_base(spec: str, settings, store, emit):
    from . import models

    return models.resolve_base_model(spec, settings, store=store,
                                     progress=lambda *a, **k: emit(ProgressEvent("preparing", 0, 1,
                                                                                 message="fetching the base model")))


def _train_transformer(parts, classes, options, settings, store, split, tmp_dir, emit, cancelled, timings,
                       started) -> TrainResult:
    import torch
    from transformers import AutoTokenizer

    base = _resolve_base(options.base, settings, store, emit)
    base_card = ModelCard.read_if_present(Path(base.path))
    if base.kind == "trained" and base_card is not None and base_card.options:
        recipe = {k: v for k, v in base_card.options.items() if k in RECIPES["embedded"]}
    else:
        recipe = recipe_for(base.kind, getattr(base, "pooling_hint", None))
    opts = resolve_options(options, recipe)
    device = resolve_device(opts.device or getattr(settings, "device", "auto"))
    configure_torch(device, opts.threads or settings_threads(settings))
    bf16 = use_bf16(device, opts.bf16)
    random.seed(opts.seed)
    np.random.seed(opts.seed)
    torch.manual_seed(opts.seed)

    emit(ProgressEvent("tokenizing", 0, 1, message="tokenizing sentences"))
    t0 = time.time()
    tokenizer = AutoTokenizer.from_pretrained(str(base.tokenizer_path))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = {name: tokenize(tokenizer, [e.text for e in exs], opts.max_length) for name, exs in parts.items()}
    ys = {name: binarize([e.labels for e in exs], classes) for name, exs in parts.items()}
    timings["tokenize_s"] = time.time() - t0
    if cancelled():
        raise TrainingCancelled("training was cancelled")

    model = build_model(Path(base.path), opts.pooling, classes, opts.dropout, opts.seed, base_classes=base.classes)
    model.to(device)
    if opts.freeze_embeddings:
        freeze_word_embeddings(model)
    optimizer = make_optimizer(model, opts.learning_rate, opts.head_learning_rate, opts.weight_decay)
    lengths = [len(s) for s in ids["train"]]
    rng = random.Random(opts.seed)
    epoch_rows = [sample_epoch(ys["train"], opts.negatives_ratio, random.Random(opts.seed + 1000 * e))
                  for e in range(opts.epochs)]
    epoch_batches = [length_grouped_batches(lengths, rows, opts.batch_size, rng, opts.token_budget)
                     for rows in epoch_rows]
    total_steps = sum(len(b) for b in epoch_batches)
    warmup = int(round(opts.warmup_ratio * total_steps))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    pos_weight = class_pos_weight(ys["train"], opts.pos_weight, opts.class_weighting)
    loss_fn = make_loss(opts.loss, pos_weight.to(device) if pos_weight is not None else None)
    eval_loss_fn = make_loss("bce", None)
    y_train = torch.as_tensor(ys["train"])

    history: list[dict] = []
    best = {"score": -1.0, "epoch": 0, "state": None}
    step = 0
    t_train = time.time()
    trained_tokens = 0
    for epoch in range(1, opts.epochs + 1):
        model.train()
        running, seen = 0.0, 0
        for rows in epoch_batches[epoch - 1]:
            if cancelled():
                raise TrainingCancelled("training was cancelled")
            input_ids, mask = collate(ids["train"], rows, pad_id)
            trained_tokens += int(mask.sum())
            loss = training_step(model, optimizer, scheduler, loss_fn, input_ids, mask, y_train[rows], device, bf16,
                                 opts.max_grad_norm)
            step += 1
            running += loss * len(rows)
            seen += len(rows)
            if step % 5 == 0 or step == total_steps:
                emit(ProgressEvent("training", step, total_steps, epoch, loss=running / max(1, seen),
                                   message=f"epoch {epoch}/{opts.epochs}"))
        record = {"epoch": epoch, "train_loss": running / max(1, seen), "train_sentences": seen,
                  "elapsed_s": time.time() - t_train}
        if parts["validation"]:
            emit(ProgressEvent("evaluating", step, total_steps, epoch, message=f"validation after epoch {epoch}"))
            val_scores = score_texts(model, ids["validation"], pad_id, device, opts.eval_batch_size, bf16, cancelled)
            val_y = torch.as_tensor(ys["validation"])
            probs = torch.as_tensor(val_scores).clamp(1e-7, 1 - 1e-7)
            record["val_loss"] = float(eval_loss_fn(torch.log(probs / (1 - probs)), val_y))
            f1_05, f1_best, t_best = _best_micro_f1(ys["validation"], val_scores)
            record.update(val_micro_f1=f1_05, val_micro_f1_best=f1_best, val_best_threshold=t_best)
            score = f1_best
        else:
            score = float(epoch)
        history.append(record)
        emit(ProgressEvent("training", step, total_steps, epoch, loss=record["train_loss"],
                           metrics={k: v for k, v in record.items() if k.startswith("val_")},
                           message=f"epoch {epoch}/{opts.epochs} done"))
        if score > best["score"]:
            best = {"score": score, "epoch": epoch,
                    "state": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}}
    timings["train_s"] = time.time() - t_train
    timings["train_tokens"] = trained_tokens
    if best["state"] is not None and best["epoch"] != opts.epochs:
        model.load_state_dict(best["state"])
    best.pop("state", None)

    emit(ProgressEvent("evaluating", 0, 1, message="tuning thresholds on validation and scoring the test reports"))
    t0 = time.time()
    val_scores = score_texts(model, ids["validation"], pad_id, device, opts.eval_batch_size, bf16, cancelled) \
        if parts["validation"] else None
    test_scores = score_texts(model, ids["test"], pad_id, device, opts.eval_batch_size, bf16, cancelled) \
        if parts["test"] else None
    thresholds, evaluation = _thresholds_and_evaluation(parts, classes, val_scores, test_scores)
    timings["evaluate_s"] = time.time() - t0
    if cancelled():
        raise TrainingCancelled("training was cancelled")

    emit(ProgressEvent("saving", 0, 1, message="writing the model folder"))
    save_transformer(model, tokenizer, opts.pooling, classes, tmp_dir)
    timings["total_s"] = time.time() - started
    card = ModelCard(kind="transformer", classes=tuple(classes), thresholds=thresholds,
                     base_model={"spec": opts.base, "kind": base.kind, "name": getattr(base, "name", opts.base),
                                 "path": str(base.path)},
                     pooling=opts.pooling, max_length=opts.max_length, options=opts.to_dict(),
                     data=_split_snapshot(split, parts, classes), history=history, best_epoch=best["epoch"],
                     evaluation=evaluation, timings=timings,
                     device={"device": device, "bf16": bf16, "threads": torch.get_num_threads()})
    return TrainResult(tmp_dir, card, split)


def save_transformer(model, tokenizer, pooling: str, classes: list[str], folder: Path) -> None:
    """save_pretrained layout: a BertForSequenceClassification for cls pooling; encoder + head file for mean."""
    from safetensors.torch import save_file

    folder = Path(folder)
    if pooling == "cls":
        model.model.save_pretrained(folder)
    else:
        model.encoder.save_pretrained(folder)
        save_file({"weight": model.classifier.weight.detach().cpu().contiguous(),
                   "bias": model.classifier.bias.detach().cpu().contiguous()}, str(folder / HEAD_FILE))
        (folder / "README.md").write_text(MEAN_POOL_README.format(n=len(classes), head=HEAD_FILE,
                                                                  info=MODEL_INFO_FILE))
    tokenizer.save_pretrained(folder)


MEAN_POOL_README = """# TRAM multi-label technique classifier (mean pooling)

The encoder is saved with `save_pretrained`; the classifier head ({n} techniques) is `{head}`
(`weight` [{n}, hidden], `bias` [{n}]). The technique order and tuned thresholds are in `{info}`
(`classes`, `thresholds`). Rebuild with plain transformers:

```python
import json, torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer

folder = "path/to/this/folder"
info = json.load(open(f"{{folder}}/{info}"))
tokenizer = AutoTokenizer.from_pretrained(folder)
encoder = AutoModel.from_pretrained(folder).eval()
head = torch.nn.Linear(encoder.config.hidden_size, len(info["classes"]))
head.load_state_dict(load_file(f"{{folder}}/{head}"))

batch = tokenizer(["The actor used PowerShell to download a payload."], padding=True, truncation=True,
                  max_length=info.get("max_length") or 128, return_tensors="pt")
with torch.no_grad():
    hidden = encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    scores = torch.sigmoid(head((hidden * mask).sum(1) / mask.sum(1)))   # column j = info["classes"][j]
```
"""
