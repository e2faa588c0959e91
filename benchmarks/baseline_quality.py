"""TF-IDF baseline on TRAM 2's 121 annotated reports: old and new settings side by side, split by report.

Usage: python benchmarks/baseline_quality.py [MJSON_DIR] [--seed N] [--jobs N] [--only old|new]
Reports are read with the project's own parser (tram_core.io.dataset_parsers.parse_dataset, sub-techniques rolled
up to TRAM's 50 classes); sentences it leaves unlabelled are left out. Both settings are trained in the same run, one
after the other, so a busy machine slows both alike; the load average is printed before and after each.
"train CPU s" is the CPU time of this process (all its threads), which other programs sway less than the wall
time. Thresholds are tuned on validation, scores are on test; "new/old" is the ratio of the two figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tram_core.attack import TRAM_CLASSES, load_catalog  # noqa: E402
from tram_core.io.dataset_checks import ImportOptions  # noqa: E402
from tram_core.io.dataset_parsers import parse_dataset  # noqa: E402  # noqa: E402
from tram_core.ml.baseline import BaselineOptions, train_baseline  # noqa: E402
from tram_core.ml.metrics import evaluate  # noqa: E402
from tram_core.ml.splits import grouped_split  # noqa: E402
from tram_core.ml.threshold_tuning import tune_thresholds  # noqa: E402  # noqa: E402
from tram_core.ml.thresholds import Thresholds  # noqa: E402
from tram_core.store import Example  # noqa: E402

DEFAULT_DIR = REPO_ROOT.parent / "shared" / "data" / "tram2" / "mjson"

SETTINGS = {
    # before: scikit-learn's char_wb analyzer on every sentence, n-grams of every word, liblinear's usual tolerance
    "old": dict(char_analyzer="char_wb", char_skip_df=None, tol=1e-4),
    # now: char_wb n-grams cut once per distinct word, none for words in >= 200 training sentences
    "new": dict(),
}


def load_examples(folder: Path) -> list[Example]:
    """Every labelled sentence of every .mjson report in ``folder``, as the app would import it."""
    catalog = load_catalog()
    options = ImportOptions(roll_up_to=tuple(TRAM_CLASSES))
    examples: list[Example] = []
    paths = sorted(folder.glob("*.mjson"))
    if not paths:
        raise SystemExit(f"no .mjson reports in {folder}")
    for report_id, path in enumerate(paths, start=1):
        parsed = parse_dataset(path.read_bytes(), path.name, catalog, options)
        for report in parsed.reports:
            for sentence in report.sentences:
                if sentence.status == "labelled":
                    examples.append(Example(len(examples) + 1, report_id, report.title, sentence.text,
                                            sentence.labels, sentence.status))
    return examples


def load() -> str:
    return "load average " + "/".join(f"{x:.2f}" for x in os.getloadavg())


def run(name: str, options: BaselineOptions, train, val, test, classes) -> dict[str, float]:
    before = load()
    start, cpu = time.perf_counter(), time.process_time()
    model = train_baseline([e.text for e in train], [set(e.labels) for e in train], classes, options)
    train_s, train_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    val_scores = model.predict_scores([e.text for e in val])
    test_scores = model.predict_scores([e.text for e in test])
    predict_s = time.perf_counter() - start
    global_t, per = tune_thresholds([set(e.labels) for e in val], val_scores, classes)
    result = evaluate([set(e.labels) for e in test], test_scores, classes, Thresholds(global_t, per),
                      report_ids=[e.report_id for e in test])
    n_features = sum(len(t.vocabulary_) for _, t in model.features.transformer_list)
    print(f"{name}: {options.char_analyzer} char n-grams, skip_df {options.char_skip_df}, {n_features} features; "
          f"training {train_s:.1f} s, scoring {len(val) + len(test)} sentences {predict_s:.1f} s "
          f"({before} before, {load()} after)", flush=True)
    at5, tuned, doc = result["at_0_5"], result["at_tuned"], result["document"]
    return {"train s": train_s, "train CPU s": train_cpu, "predict s": predict_s,
            "micro F1 @0.5": at5["micro_f1"], "macro F1 @0.5": at5["macro_f1"],
            "micro F1 tuned": tuned["micro_f1"], "macro F1 tuned": tuned["macro_f1"],
            "report micro F1": doc["micro_f1"], "report macro F1": doc["macro_f1"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_DIR))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--only", choices=sorted(SETTINGS))
    args = parser.parse_args()
    start = time.perf_counter()
    examples = load_examples(Path(args.folder))
    split = grouped_split(examples, seed=args.seed)
    train, val, test = (split.select(examples, side) for side in ("train", "validation", "test"))
    classes = list(TRAM_CLASSES)
    print(f"{len(examples)} labelled sentences ({sum(1 for e in examples if e.labels)} with a technique) in "
          f"{len({e.report_id for e in examples})} reports, parsed in {time.perf_counter() - start:.1f} s; "
          f"train/validation/test sentences {len(train)}/{len(val)}/{len(test)}; {os.cpu_count()} CPUs, {load()}")
    figures = {}
    for name, settings in SETTINGS.items():
        if args.only in (None, name):
            figures[name] = run(name, BaselineOptions(n_jobs=args.jobs, seed=args.seed, **settings),
                                train, val, test, classes)
    names = list(figures)
    print(f"\n{'':18s}" + "".join(f"{n:>10s}" for n in names) + ("    new/old" if len(names) == 2 else ""))
    for key in figures[names[0]]:
        values = [figures[n][key] for n in names]
        row = f"{key:18s}" + "".join(f"{v:10.3f}" if "F1" in key else f"{v:10.1f}" for v in values)
        if len(values) == 2:
            row += f"    {values[1] / values[0]:7.2f}" if values[0] else "        -"
        print(row)


if __name__ == "__main__":
    main()
