"""The pieces of the fine-tuning loop: device set-up, the loss, the optimizer and its schedule, one optimisation
step, scoring, the validation pass after an epoch and the best epoch kept. training.train_model strings them
together; nothing here loops over epochs."""

from __future__ import annotations

import os
import random
from typing import Callable, Sequence

import numpy as np

from tram_core.errors import UserError
from tram_core.ml.cpu_features import cpu_has_fast_bf16
from tram_core.ml.training_data import TokenizedParts, collate
from tram_core.ml.training_run import TrainingCancelled

# ----------------------------------------------------------------------------------------------- device


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


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


# ----------------------------------------------------------------------------------------------- optimisation


def make_optimizer(model, learning_rate: float, head_learning_rate: float, weight_decay: float):
    """AdamW with the encoder at ``learning_rate`` and the classifier head at ``head_learning_rate``.

    No weight decay on biases and LayerNorm weights; frozen parameters are left out. The fused kernel where it
    fits (see fused_adamw_fits), else ``foreach``.
    """
    import torch

    head_params = [p for p in model.classifier.parameters() if p.requires_grad]
    head_ids = {id(p) for p in head_params}
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if id(p) in head_ids or not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    groups = [
        {"params": decay, "lr": learning_rate, "weight_decay": weight_decay},
        {"params": no_decay, "lr": learning_rate, "weight_decay": 0.0},
        {"params": head_params, "lr": head_learning_rate, "weight_decay": weight_decay},
    ]
    if fused_adamw_fits(head_params + decay + no_decay):
        return torch.optim.AdamW(groups, fused=True)
    return torch.optim.AdamW(groups, foreach=True)


def fused_adamw_fits(params) -> bool:
    """Whether AdamW's fused kernel takes these parameters: floating point, all on CPU or all on CUDA.

    The fused step is one kernel per tensor instead of about ten (on CPU ``foreach`` still loops tensor by
    tensor); benchmarks/train_profile.py measured +13% sentences/s in bf16 and +7% in fp32 on MiniLM, 2 cores.
    """
    devices = {p.device.type for p in params}
    return bool(params) and len(devices) == 1 and devices <= {"cpu", "cuda"} and all(
        p.is_floating_point() for p in params)


def linear_schedule(optimizer, warmup_ratio: float, total_steps: int):
    """Linear warm-up over ``warmup_ratio`` of the steps, then linear decay to zero at ``total_steps``."""
    import torch

    warmup = int(round(warmup_ratio * total_steps))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)


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


def best_micro_f1(y: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    """(micro-F1 at 0.5, best micro-F1 over the threshold grid, that threshold) - a quick epoch-selection signal."""
    from tram_core.ml.threshold_tuning import DEFAULT_GRID, micro_f1_on_grid
    from tram_core.ml.thresholds import DEFAULT_THRESHOLD

    at_half = float(micro_f1_on_grid(y, scores, [DEFAULT_THRESHOLD])[0])
    curve = micro_f1_on_grid(y, scores, DEFAULT_GRID)
    best = int(np.argmax(curve))
    return at_half, float(curve[best]), float(DEFAULT_GRID[best])


def validate(model, data: TokenizedParts, device: str, batch_size: int, bf16: bool,
             should_cancel: Callable[[], bool] | None = None) -> dict[str, float]:
    """The validation pass after an epoch: val_loss (plain BCE), val_micro_f1 at 0.5, val_micro_f1_best and
    val_best_threshold on the threshold grid."""
    import torch

    scores = score_texts(model, data.ids["validation"], data.pad_id, device, batch_size, bf16, should_cancel)
    probs = torch.as_tensor(scores).clamp(1e-7, 1 - 1e-7)
    val_loss = float(make_loss("bce", None)(torch.log(probs / (1 - probs)), torch.as_tensor(data.y["validation"])))
    f1_05, f1_best, t_best = best_micro_f1(data.y["validation"], scores)
    return {"val_loss": val_loss, "val_micro_f1": f1_05, "val_micro_f1_best": f1_best,
            "val_best_threshold": t_best}


class BestEpoch:
    """The epoch with the highest score so far and a CPU copy of its weights."""

    def __init__(self) -> None:
        self.score = -1.0
        self.epoch = 0
        self.state: dict | None = None

    def offer(self, score: float, epoch: int, model) -> None:
        """Keep ``model``'s weights when ``score`` beats the best so far."""
        if score > self.score:
            self.score, self.epoch = score, epoch
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def restore(self, model, last_epoch: int) -> None:
        """Load the best epoch's weights into ``model`` (unless it is the last epoch's) and drop the copy."""
        if self.state is not None and self.epoch != last_epoch:
            model.load_state_dict(self.state)
        self.state = None
