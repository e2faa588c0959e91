"""Fine-tuning a BERT-family encoder for multi-label technique classification, read top to bottom.

``TrainOptions`` (training_options, read from here too) is the one source of training options; ``train_model``
is the whole run in one place: set-up (label space, split by report, ATT&CK procedure examples if asked, base
model and recipe, tokens, model, optimizer, schedule), the loop (a pretrain stage on procedure examples if asked,
then epochs of length-grouped batches, one optimisation step each, a validation pass after every epoch, the best
epoch kept) and the finish (thresholds tuned on validation, the test evaluation, the model folder written whole
or not at all). The pieces live in training_data (split, tokens, batches), procedure_training (what a run does
with procedure examples), training_model (the classifier), training_loop (optimizer, schedule, step,
validation, best epoch) and training_output (the folder and its card).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tram_core.errors import UserError
from tram_core.ml.device import resolve_device
from tram_core.ml.model_card import ModelCard
from tram_core.ml.procedure_training import plan_run
from tram_core.ml.training_data import TokenizedParts, binarize, collate, epoch_batches, tokenize, tokenize_parts
from tram_core.ml.training_loop import (
    BestEpoch, class_pos_weight, configure_torch, linear_schedule, make_loss, make_optimizer, score_texts,
    seed_everything, settings_threads, training_step, use_bf16, validate,
)
from tram_core.ml.training_model import build_model, freeze_word_embeddings
from tram_core.ml.training_output import (
    partial_folder, publish, save_transformer, split_snapshot, thresholds_and_evaluation,
)
from tram_core.ml.training_options import (  # noqa: F401 - the options are read from here too
    CLASS_WEIGHTINGS, KINDS, LOSSES, POOLINGS, PROCEDURE_LABEL_SPACES, PROCEDURE_MODES, RECIPES, TrainOptions,
    procedure_mode, recipe_for, resolve_options,
)
from tram_core.ml.training_run import ProgressEvent, TrainingRun, TrainResult


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
        if run.procedure is not None and run.procedure.stage == "pretrain":
            _pretrain_on_procedure_examples(run, ft)  # a first stage; the reports' epochs follow
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
                # every step: the jobs side writes by the clock (at most and at least every 2 s while steps move)
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
    # The mode is written down before anything reads it: the card says what the run did, whatever the recipe.
    options = dataclasses.replace(options, procedure_examples=_run_procedure_mode(options, store))
    classes, split, parts, plan = plan_run(examples, options, store)
    return TrainingRun(options=options, settings=settings, store=store, output_dir=output_dir, classes=classes,
                       split=split, parts=parts, emit=emit, cancelled=should_cancel or (lambda: False),
                       started=started, procedure=plan)


def _run_procedure_mode(options: TrainOptions, store) -> str:
    """training_options.procedure_mode, except that a run continuing from a trained model (``trained:<id>``) left
    to the recipe keeps that model's own mode, as the Train page shows it (train_form.recipe_defaults)."""
    card = ModelCard.of_trained_base(store, options.base) if options.procedure_examples is None else None
    kept = (card.options or {}).get("procedure_examples") if card is not None else None
    return kept or procedure_mode(options)


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
    data = tokenize_parts(tokenizer, {**run.parts, "train": run.train_examples()}, run.classes, opts.max_length)
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


def _pretrain_on_procedure_examples(run: TrainingRun, ft: FineTuning) -> None:
    """The pretrain stage: ``procedure_epochs`` passes over the run's procedure examples, with an optimizer and
    schedule of their own, before the reports' epochs (which keep their own, and pick the best epoch)."""
    import torch

    opts, examples = ft.options, run.procedure.train
    ids = tokenize(ft.tokenizer, [e.text for e in examples], opts.max_length)
    targets = torch.as_tensor(binarize([e.labels for e in examples], run.classes))
    batches = epoch_batches(targets.numpy(), [len(s) for s in ids], opts.procedure_epochs, opts.batch_size, None,
                            opts.seed + 1, opts.token_budget)
    total = sum(len(b) for b in batches)
    optimizer = make_optimizer(ft.model, opts.learning_rate, opts.head_learning_rate, opts.weight_decay)
    scheduler = linear_schedule(optimizer, opts.warmup_ratio, total)
    step, t0 = 0, time.time()
    for epoch, epoch_rows in enumerate(batches, 1):
        ft.model.train()
        running, seen = 0.0, 0
        for rows in epoch_rows:
            run.check_cancelled()
            input_ids, mask = collate(ids, rows, ft.data.pad_id)
            loss = training_step(ft.model, optimizer, scheduler, ft.loss_fn, input_ids, mask, targets[rows],
                                 ft.device, ft.bf16, opts.max_grad_norm)
            step, running, seen = step + 1, running + loss * len(rows), seen + len(rows)
            run.emit(ProgressEvent("training", step, total, loss=running / max(1, seen),
                                   message=f"ATT&CK procedure examples, pass {epoch}/{opts.procedure_epochs}"))
        run.procedure.history.append({"epoch": epoch, "train_loss": running / max(1, seen), "train_sentences": seen,
                                      "elapsed_s": time.time() - t0})
    run.timings["pretrain_s"] = time.time() - t0


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
    train = run.train_examples()
    model = baseline.train_baseline([e.text for e in train], [set(e.labels) & set(run.classes) for e in train],
                                    run.classes)
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
