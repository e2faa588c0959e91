"""Fine-tuning a BERT-family encoder for multi-label technique classification, read top to bottom.

``TrainOptions`` is the one source of training options (the CLI and the Train form are built from it);
``train_model`` is the whole run in one place: set-up (label space, split by report, base model and recipe,
tokens, model, optimizer, schedule), the loop (epochs of length-grouped batches, one optimisation step each, a
validation pass after every epoch, the best epoch kept) and the finish (thresholds tuned on validation, the
test evaluation, the model folder written whole or not at all). The pieces live in training_data (split,
tokens, batches), training_model (the classifier), training_loop (optimizer, schedule, step, validation,
best epoch) and training_output (the folder and its card).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

from tram_core.errors import UserError
from tram_core.ml.device import resolve_device
from tram_core.ml.model_card import ModelCard
from tram_core.ml.training_data import TokenizedParts, collate, epoch_batches, split_by_report, tokenize_parts
from tram_core.ml.training_loop import (
    BestEpoch, class_pos_weight, configure_torch, linear_schedule, make_loss, make_optimizer, score_texts,
    seed_everything, settings_threads, training_step, use_bf16, validate,
)
from tram_core.ml.training_model import build_model, freeze_word_embeddings
from tram_core.ml.training_output import (
    partial_folder, publish, save_transformer, split_snapshot, thresholds_and_evaluation,
)
from tram_core.ml.training_run import ProgressEvent, TrainingRun, TrainResult

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


# ----------------------------------------------------------------------------------------------- the run


def train_model(examples: list, options: TrainOptions, settings, output_dir: Path,
                progress: Callable[[ProgressEvent], None] | None = None,
                should_cancel: Callable[[], bool] | None = None, store=None,
                provenance: dict | None = None) -> TrainResult:
    """Train a multi-label classifier on ``examples`` and save it to ``output_dir`` (written whole or not at all).

    Splits by report (splits.grouped_split), trains with the base model's recipe (options override it), keeps the
    best epoch on validation, tunes global and per-technique thresholds on validation, evaluates on test and
    writes the model folder with tram_model.json. ``provenance`` (the job that asked: its id, label watermark,
    counts) goes into tram_model.json under ``job`` with the split, so a folder whose job died before recording
    it can still be recorded (model_folders). The TF-IDF baseline (``base='baseline'``) is one fit, no loop.
    """
    # -- set-up: label space and split, a .partial folder (removed on any failure), the model and its optimizer
    run = _start_run(examples, options, settings, output_dir, progress, should_cancel, store)
    with partial_folder(run.output_dir) as folder:
        if options.base == "baseline":
            return publish(run, folder, _fit_baseline(run, folder), provenance)
        ft = _set_up_fine_tuning(run)
        opts, model, data = ft.options, ft.model, ft.data
        history, best, step, tokens, t_train = [], BestEpoch(), 0, 0, time.time()
        # -- the loop: every epoch's batches, one optimisation step each, then validation; the best epoch kept
        for epoch in range(1, opts.epochs + 1):
            model.train()
            running, seen = 0.0, 0
            for rows in ft.batches[epoch - 1]:
                run.check_cancelled()
                input_ids, mask = collate(data.ids["train"], rows, data.pad_id)
                tokens += int(mask.sum())
                loss = training_step(model, ft.optimizer, ft.scheduler, ft.loss_fn, input_ids, mask,
                                     ft.targets[rows], ft.device, ft.bf16, opts.max_grad_norm)
                step, running, seen = step + 1, running + loss * len(rows), seen + len(rows)
                if step % 5 == 0 or step == ft.total_steps:
                    run.emit(ProgressEvent("training", step, ft.total_steps, epoch, loss=running / max(1, seen),
                                           message=f"epoch {epoch}/{opts.epochs}"))
            record = {"epoch": epoch, "train_loss": running / max(1, seen), "train_sentences": seen,
                      "elapsed_s": time.time() - t_train}
            if run.parts["validation"]:
                run.emit(ProgressEvent("evaluating", step, ft.total_steps, epoch,
                                       message=f"validation after epoch {epoch}"))
                record.update(validate(model, data, ft.device, opts.eval_batch_size, ft.bf16, run.cancelled))
            history.append(record)
            run.emit(ProgressEvent("training", step, ft.total_steps, epoch, loss=record["train_loss"],
                                   metrics={k: v for k, v in record.items() if k.startswith("val_")},
                                   message=f"epoch {epoch}/{opts.epochs} done"))
            best.offer(record.get("val_micro_f1_best", float(epoch)), epoch, model)
        run.timings.update(train_s=time.time() - t_train, train_tokens=tokens)
        # -- finish: the best epoch's weights, thresholds on validation, the test scores, the folder and its card
        best.restore(model, last_epoch=opts.epochs)
        return publish(run, folder, _finish_fine_tuning(run, ft, folder, history, best.epoch), provenance)


def _start_run(examples, options: TrainOptions, settings, output_dir: Path, progress, should_cancel,
               store) -> TrainingRun:
    """The run's context: the output folder checked, the label space chosen, the examples split by report."""
    started = time.time()
    output_dir = Path(output_dir)
    if output_dir.exists() and any(output_dir.iterdir()):
        raise UserError(f"Output folder {output_dir} already exists and is not empty")
    emit = progress or (lambda event: None)
    emit(ProgressEvent("preparing", 0, 1, message="choosing the label space and splitting by report"))
    classes, split, parts = split_by_report(examples, options, store)
    return TrainingRun(options=options, settings=settings, store=store, output_dir=output_dir, classes=classes,
                       split=split, parts=parts, emit=emit, cancelled=should_cancel or (lambda: False),
                       started=started)


@dataclass
class FineTuning:
    """What the loop works with, made once in the set-up."""

    options: TrainOptions  # resolved: every recipe field filled
    base: object  # base_models.resolve_base_model's answer
    tokenizer: object
    data: TokenizedParts
    targets: object  # the train part's 0/1 rows as a tensor
    model: object
    device: str
    bf16: bool
    optimizer: object
    scheduler: object
    loss_fn: Callable
    batches: list[list[list[int]]]  # per epoch, per step: row indices of the train part
    total_steps: int


def _set_up_fine_tuning(run: TrainingRun) -> FineTuning:
    """The base model and its recipe, the device and seeds, the tokens, the model, optimizer, schedule and loss."""
    import torch
    from transformers import AutoTokenizer

    base = _resolve_base(run)
    opts = resolve_options(run.options, _recipe_of(base))
    device = resolve_device(opts.device or getattr(run.settings, "device", "auto"))
    configure_torch(device, opts.threads or settings_threads(run.settings))
    bf16 = use_bf16(device, opts.bf16)
    seed_everything(opts.seed)

    run.emit(ProgressEvent("tokenizing", 0, 1, message="tokenizing sentences"))
    t0 = time.time()
    tokenizer = AutoTokenizer.from_pretrained(str(base.tokenizer_path))
    data = tokenize_parts(tokenizer, run.parts, run.classes, opts.max_length)
    run.timings["tokenize_s"] = time.time() - t0
    run.check_cancelled()

    model = build_model(Path(base.path), opts.pooling, run.classes, opts.dropout, opts.seed, base_classes=base.classes)
    model.to(device)
    if opts.freeze_embeddings:
        freeze_word_embeddings(model)
    optimizer = make_optimizer(model, opts.learning_rate, opts.head_learning_rate, opts.weight_decay)
    batches = epoch_batches(data.y["train"], [len(s) for s in data.ids["train"]], opts.epochs, opts.batch_size,
                            opts.negatives_ratio, opts.seed, opts.token_budget)
    total_steps = sum(len(b) for b in batches)
    scheduler = linear_schedule(optimizer, opts.warmup_ratio, total_steps)
    pos_weight = class_pos_weight(data.y["train"], opts.pos_weight, opts.class_weighting)
    loss_fn = make_loss(opts.loss, pos_weight.to(device) if pos_weight is not None else None)
    return FineTuning(opts, base, tokenizer, data, torch.as_tensor(data.y["train"]), model, device, bf16,
                      optimizer, scheduler, loss_fn, batches, total_steps)


def _resolve_base(run: TrainingRun):
    from tram_core.ml.base_models import resolve_base_model

    def fetching(*args, **kwargs) -> None:
        run.emit(ProgressEvent("preparing", 0, 1, message="fetching the base model"))

    return resolve_base_model(run.options.base, run.settings, store=run.store, progress=fetching)


def _recipe_of(base) -> dict:
    """A trained base's own options (the recipe fields of them), else the recipe for its kind."""
    base_card = ModelCard.read_if_present(Path(base.path))
    if base.kind == "trained" and base_card is not None and base_card.options:
        return {k: v for k, v in base_card.options.items() if k in RECIPES["embedded"]}
    return recipe_for(base.kind, getattr(base, "pooling_hint", None))


def _finish_fine_tuning(run: TrainingRun, ft: FineTuning, folder: Path, history: list[dict],
                        best_epoch: int) -> ModelCard:
    """Thresholds tuned on validation, the test evaluation, the model files; returns the card to write last."""
    import torch

    opts = ft.options
    run.emit(ProgressEvent("evaluating", 0, 1, message="tuning thresholds on validation and scoring the test reports"))
    t0 = time.time()
    val_scores, test_scores = (
        score_texts(ft.model, ft.data.ids[part], ft.data.pad_id, ft.device, opts.eval_batch_size, ft.bf16,
                    run.cancelled) if run.parts[part] else None
        for part in ("validation", "test"))
    thresholds, evaluation = thresholds_and_evaluation(run, val_scores, test_scores)
    run.timings["evaluate_s"] = time.time() - t0
    run.check_cancelled()

    run.emit(ProgressEvent("saving", 0, 1, message="writing the model folder"))
    save_transformer(ft.model, ft.tokenizer, opts.pooling, run.classes, folder)
    run.timings["total_s"] = time.time() - run.started
    base = {"spec": opts.base, "kind": ft.base.kind, "name": getattr(ft.base, "name", opts.base),
            "path": str(ft.base.path)}
    return ModelCard(kind="transformer", classes=tuple(run.classes), thresholds=thresholds, base_model=base,
                     pooling=opts.pooling, max_length=opts.max_length, options=opts.to_dict(),
                     data=split_snapshot(run), history=history, best_epoch=best_epoch, evaluation=evaluation,
                     timings=run.timings, device={"device": ft.device, "bf16": ft.bf16,
                                                  "threads": torch.get_num_threads()})


def _fit_baseline(run: TrainingRun, folder: Path) -> ModelCard:
    """The TF-IDF + logistic regression baseline: one fit on the train part, thresholds, test, its files."""
    from tram_core.ml import baseline

    run.emit(ProgressEvent("training", 0, 1, message="fitting TF-IDF + logistic regression"))
    t0 = time.time()
    model = baseline.train_baseline(run.texts("train"), run.true_labels("train"), run.classes)
    run.timings["train_s"] = time.time() - t0
    run.check_cancelled()
    run.emit(ProgressEvent("evaluating", 0, 1, message="tuning thresholds and scoring the test reports"))
    t0 = time.time()
    val_scores = model.predict_scores(run.texts("validation")) if run.parts["validation"] else None
    test_scores = model.predict_scores(run.texts("test")) if run.parts["test"] else None
    thresholds, evaluation = thresholds_and_evaluation(run, val_scores, test_scores)
    run.timings["evaluate_s"] = time.time() - t0
    run.emit(ProgressEvent("saving", 0, 1, message="writing the model folder"))
    model.save(folder)
    run.timings["total_s"] = time.time() - run.started
    return ModelCard(kind="baseline", classes=tuple(run.classes), thresholds=thresholds, base_model="baseline",
                     options=run.options.to_dict(), data=split_snapshot(run), evaluation=evaluation,
                     timings=run.timings, device="cpu")
