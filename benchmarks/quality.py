"""Quality on unseen reports: the embedded MiniLM fine-tuned with the default recipe vs the TF-IDF + LR baseline.

Imports TRAM 2's 121 MAT reports with the project's importer (sub-techniques rolled up to TRAM's 50 where the
parent is one of them, as TRAM's own exports do), keeps techniques with at least --min-count labelled sentences
in the whole corpus, splits by report (splits.grouped_split, --seed, 13 by default), and trains both models with
training.train_model on the same split. Prints test micro/macro F1 at 0.5 and at thresholds tuned on validation,
report-level F1, wall time, and the model/baseline ratios, then a paired bootstrap over the test reports
(significance.paired_bootstrap): the interval of each difference and ratio, and how often the model is ahead.

    python benchmarks/quality.py --compare DIR         # rescore models kept with --keep DIR, no training
    python benchmarks/quality.py --test-data NEW/*.mjson  # train on the corpus, test on never-seen labelled reports

    python benchmarks/quality.py                       # full corpus, recipe defaults (CPU: tens of minutes)
    python benchmarks/quality.py --limit-reports 40 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def import_corpus(store, data: Path, limit: int | None) -> int:
    from tram_core.attack import TRAM_CLASSES
    from tram_core.io.dataset_checks import ImportOptions
    from tram_core.io.importer import import_path

    files = sorted((data / "tram2" / "mjson").glob("*.mjson"))
    if limit:
        files = files[:limit]
    for path in files:
        import_path(store, path, "quality-benchmark", ImportOptions(roll_up_to=TRAM_CLASSES))
    return len(files)


def import_test_data(store, paths: list[Path]) -> list[int]:
    """Import labelled report files (or every file in the folders given) as the test set; their report ids."""
    from tram_core.attack import TRAM_CLASSES
    from tram_core.io.dataset_checks import ImportOptions
    from tram_core.io.importer import import_path

    files = [f for p in paths for f in (sorted(x for x in p.iterdir() if x.is_file()) if p.is_dir() else [p])]
    report_ids: list[int] = []
    already = 0
    for path in files:
        result = import_path(store, path, "never-seen", ImportOptions(roll_up_to=TRAM_CLASSES))
        report_ids += [o.report_id for o in result.outcomes]
        already += result.duplicates
    print(f"test data: {len(set(report_ids))} reports from {len(files)} files"
          + (f" ({already} already in the corpus: held out of training)" if already else ""), flush=True)
    return sorted(set(report_ids))


def summary(name: str, evaluation: dict, wall_s: float) -> dict:
    row = {"model": name,
           "micro_f1@0.5": evaluation["at_0_5"]["micro_f1"], "macro_f1@0.5": evaluation["at_0_5"]["macro_f1"],
           "micro_f1@tuned": evaluation["at_tuned"]["micro_f1"], "macro_f1@tuned": evaluation["at_tuned"]["macro_f1"],
           "doc_micro_f1": evaluation["document"]["micro_f1"], "doc_macro_f1": evaluation["document"]["macro_f1"],
           "wall_s": wall_s}
    print(f"{name:>10}: micro-F1 {row['micro_f1@0.5']:.3f} @0.5, {row['micro_f1@tuned']:.3f} @tuned | "
          f"macro-F1 {row['macro_f1@0.5']:.3f} @0.5, {row['macro_f1@tuned']:.3f} @tuned | "
          f"document micro-F1 {row['doc_micro_f1']:.3f}, macro-F1 {row['doc_macro_f1']:.3f} | wall {wall_s:.0f} s",
          flush=True)
    return row


def compare(examples, model_dir: Path, baseline_dir: Path, resamples: int) -> None:
    """Score the test split of both kept models at their tuned thresholds and print the paired bootstrap."""
    from tram_core.ml.significance import paired_bootstrap
    from tram_core.ml.technique_scores import label_matrix, predict_matrix
    from tram_core.ml.thresholds import report_rule_text
    from tram_core.ml.trained import load_trained

    by_id = {e.sentence_id: e for e in examples}
    model, baseline = load_trained(model_dir), load_trained(baseline_dir)
    test_ids = model.card.sentence_ids("test")
    if baseline.card.sentence_ids("test") != test_ids or baseline.classes != model.classes:
        raise SystemExit(f"{model_dir} and {baseline_dir} were not trained on the same split and classes")
    # The ids come from the training run's store: check that this import gave the same test split back.
    counts = model.card.data["counts"]["test"]
    missing = [i for i in test_ids if i not in by_id]
    truth = label_matrix([by_id[i].labels for i in test_ids if i in by_id], model.classes)
    if missing or int(truth.sum()) != counts["labels"] or \
            len({by_id[i].report_id for i in test_ids}) != counts["reports"]:
        raise SystemExit(f"the corpus imported now is not the one {model_dir} was trained on ({len(missing)} test "
                         "sentences missing, or other labels): use the same --data, --limit-reports and --test-data")
    texts = [by_id[i].text for i in test_ids]
    report_ids = [by_id[i].report_id for i in test_ids]
    column = {c: j for j, c in enumerate(model.classes)}
    predicted, by_report = [], []
    for predictor in (model, baseline):
        scores = predictor.predict_scores(texts)
        predicted.append(predict_matrix(scores, predictor.classes, predictor.thresholds))
        by_report.append(None if predictor.report_threshold is None else {
            rid: [column[c] for c in techniques] for rid, techniques in
            predictor.thresholds.report_predictions(scores, report_ids, predictor.classes).items()})
    result = paired_bootstrap(report_ids, truth, *predicted, resamples=resamples,
                              report_predicted_a=by_report[0], report_predicted_b=by_report[1])
    for name, predictor in (("model", model), ("baseline", baseline)):
        print(f"report rule of the {name}: {report_rule_text(predictor.report_threshold)}")
    for difference in result.values():
        print("bootstrap", difference.line("model", "baseline"), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit-reports", type=int, default=None, help="import only the first N reports")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--min-count", type=int, default=10, help="label space: techniques with >= N sentences")
    parser.add_argument("--base", default="embedded")
    parser.add_argument("--options", default="{}", help="JSON of further TrainOptions overrides")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=13, help="split (and training) seed, the same for both models")
    parser.add_argument("--only", choices=("baseline", "model"), default=None, help="train just one of the two")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the trained models in")
    parser.add_argument("--compare", type=Path, default=None,
                        help="skip training: bootstrap the models kept in this --keep folder")
    parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples of the test reports")
    parser.add_argument("--test-data", type=Path, nargs="+", default=None,
                        help="labelled report files or folders (any format the importer reads) to test on: both "
                             "models train and validate on the corpus and are scored on these reports only")
    args = parser.parse_args()

    from tram_core.ml.training import TrainOptions, train_model
    from tram_core.ml.training_run import ProgressEvent
    from tram_core.settings import load_settings
    from tram_core.store import Store

    work = Path(tempfile.mkdtemp(prefix="tram-quality-"))
    settings = load_settings({"TRAM_HOME": str(work / "home")})
    store = Store.from_settings(settings)
    t0 = time.time()
    n_files = import_corpus(store, args.data, args.limit_reports)
    test_reports = import_test_data(store, args.test_data) if args.test_data else None
    examples = store.examples()
    positives = sum(1 for e in examples if e.labels)
    print(f"imported {n_files} reports, {len(examples)} sentences ({positives} with a technique) in "
          f"{time.time() - t0:.0f} s", flush=True)
    out_root = args.keep or work / "models"
    if args.compare:
        compare(examples, args.compare / "model", args.compare / "baseline", args.resamples)
        return

    def printer(name: str):
        started = time.time()

        def progress(event: ProgressEvent) -> None:
            if event.metrics or event.phase != "training" or event.step % 25 == 0:
                extra = " ".join(f"{k}={v:.3f}" for k, v in (event.metrics or {}).items()
                                 if isinstance(v, (int, float)))
                loss = f" loss={event.loss:.4f}" if event.loss is not None else ""
                print(f"  [{name} {time.time() - started:6.0f}s] {event.phase} {event.step}/{event.total}{loss} "
                      f"{extra} {event.message}", flush=True)
        return progress

    rows = []
    common = dict(min_count=args.min_count, threads=args.threads, seed=args.seed, test_reports=test_reports)
    if args.only != "model":
        t0 = time.time()
        base_result = train_model(examples, TrainOptions(base="baseline", **common), settings,
                                  out_root / "baseline", progress=printer("baseline"), store=store)
        rows.append(summary("baseline", base_result.metrics, time.time() - t0))
        if args.only == "baseline":
            return
    overrides = json.loads(args.options)
    if args.epochs:
        overrides["epochs"] = args.epochs
    t0 = time.time()
    result = train_model(examples, TrainOptions(base=args.base, **common, **overrides), settings,
                         out_root / "model", progress=printer(args.base), store=store)
    rows.append(summary(args.base, result.metrics, time.time() - t0))
    card = result.card
    n_test_reports = len({e.report_id for e in examples if e.sentence_id in set(result.split.test)})
    print(f"classes: {len(result.classes)}; split seed {result.split.seed}; test sentences "
          f"{len(result.split.test)} from {n_test_reports} reports; best epoch {card.best_epoch}; thresholds global "
          f"{card.thresholds.global_:.2f}")
    print("recipe:", json.dumps({k: card.options[k] for k in (
        "pooling", "epochs", "learning_rate", "head_learning_rate", "batch_size", "max_length", "negatives_ratio",
        "loss", "pos_weight")}))
    for h in result.history:
        print("  epoch", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()})
    if len(rows) < 2:
        return
    model, base = rows[1], rows[0]
    for key in ("micro_f1@0.5", "micro_f1@tuned", "macro_f1@tuned", "doc_micro_f1"):
        print(f"ratio {key}: {model[key] / base[key]:.2f}x" if base[key] else f"ratio {key}: n/a")
    compare(examples, result.model_dir, base_result.model_dir, args.resamples)


if __name__ == "__main__":
    main()
