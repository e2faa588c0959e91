"""TF-IDF baseline on TRAM 2's 121 annotated reports: training time and test scores, split by report.

Usage: python benchmarks/baseline_quality.py [MJSON_DIR] [--solver liblinear|sgd] [--class-weight balanced|none]
       [--seed N] [--jobs N] [--max-negatives N]
Sentences come from tram_core.sentences; a sentence's labels are the 50 classes whose spans overlap it
(sub-techniques rolled up to a parent among the 50). Thresholds are tuned on validation, scored on test.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tram_core.attack import TRAM_CLASSES  # noqa: E402
from tram_core.baseline import BaselineOptions, train_baseline  # noqa: E402
from tram_core.metrics import evaluate, tune_thresholds, thresholds_dict  # noqa: E402
from tram_core.sentences import split_sentences  # noqa: E402
from tram_core.splits import grouped_split  # noqa: E402
from tram_core.store import Example  # noqa: E402

DEFAULT_DIR = REPO_ROOT.parent / "shared" / "data" / "tram2" / "mjson"
TECHNIQUE = re.compile(r"\((T\d{4}(?:\.\d{3})?)\)\s*$")


def load_examples(folder: Path) -> list[Example]:
    classes = set(TRAM_CLASSES)
    examples: list[Example] = []
    for report_id, path in enumerate(sorted(folder.glob("*.mjson")), start=1):
        doc = json.loads(path.read_text(encoding="utf-8"))
        spans = []
        for aset in doc["asets"]:
            match = TECHNIQUE.search(aset.get("type", ""))
            if not match:
                continue
            tech = match.group(1)
            if tech not in classes and tech.split(".")[0] in classes:
                tech = tech.split(".")[0]
            if tech in classes:
                spans += [(a[0], a[1], tech) for a in aset.get("annots", [])]
        for span in split_sentences(doc["signal"]):
            labels = tuple(sorted({t for s, e, t in spans if s < span.end and e > span.start}))
            examples.append(Example(len(examples) + 1, report_id, path.stem, span.text, labels, "labelled"))
    return examples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_DIR))
    parser.add_argument("--solver", default="liblinear")
    parser.add_argument("--class-weight", default="balanced")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-negatives", type=int, default=4000, help="0: use every negative")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    examples = load_examples(Path(args.folder))
    split = grouped_split(examples, seed=args.seed)
    train, val, test = (split.select(examples, side) for side in ("train", "validation", "test"))
    classes = list(TRAM_CLASSES)
    print(f"{len(examples)} sentences ({sum(1 for e in examples if e.labels)} labelled) in "
          f"{len({e.report_id for e in examples})} reports; train/validation/test sentences "
          f"{len(train)}/{len(val)}/{len(test)}")
    start = time.perf_counter()
    model = train_baseline([e.text for e in train], [set(e.labels) for e in train], classes,
                           BaselineOptions(solver=args.solver, n_jobs=args.jobs, max_negatives=args.max_negatives or None,
                                           class_weight=None if args.class_weight == "none" else args.class_weight))
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    val_scores = model.predict_scores([e.text for e in val])
    test_scores = model.predict_scores([e.text for e in test])
    predict_s = time.perf_counter() - start
    global_t, per = tune_thresholds([set(e.labels) for e in val], val_scores, classes)
    result = evaluate([set(e.labels) for e in test], test_scores, classes, thresholds_dict(global_t, per),
                      report_ids=[e.report_id for e in test])
    print(f"solver {args.solver}, class_weight {args.class_weight}, max_negatives {args.max_negatives}: training {train_s:.1f} s ({len(train) / train_s:.0f} sentences/s), "
          f"scoring {len(val) + len(test)} sentences {predict_s:.1f} s")
    for key in ("at_0_5", "at_tuned"):
        s = result[key]
        print(f"test {key:9s} micro P/R/F1 {s['micro_precision']:.3f}/{s['micro_recall']:.3f}/{s['micro_f1']:.3f}"
              f"  macro F1 {s['macro_f1']:.3f}  seed-style macro F1 {s['macro_seen_f1']:.3f}")
    doc = result["document"]
    print(f"test reports: micro F1 {doc['micro_f1']:.3f}, macro F1 {doc['macro_f1']:.3f}; global threshold {global_t}")


if __name__ == "__main__":
    main()
