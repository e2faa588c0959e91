"""Quality on unseen reports: the embedded MiniLM fine-tuned with the default recipe vs the TF-IDF + LR baseline,
and the same model trained with ATT&CK's procedure examples (mixed in, as a first stage, or alone: cold start).

Imports TRAM 2's 121 MAT reports with the project's importer (sub-techniques rolled up to TRAM's 50 where the
parent is one of them, as TRAM's own exports do), keeps techniques with at least --min-count labelled sentences
in the whole corpus, splits by report (splits.grouped_split, --seed, 13 by default), and trains both models with
training.train_model on the same split. Prints test micro/macro F1 at 0.5 and at thresholds tuned on validation,
report-level F1, wall time, and the model/baseline ratios, then a paired bootstrap over the test reports
(significance.paired_bootstrap): the interval of each difference and ratio, and how often the model is ahead.
Every figure is printed on all the run's techniques, on TRAM's 50 and on the others apart (a model's score on
TRAM's 50 is never read as its score on the rest).

--procedure-modes trains one model per mode on the same split: 'recipe' (the default: what the base model's recipe
does, 'mix' for the embedded model), 'off' (the reports alone), 'mix', 'pretrain' and 'only' (ATT&CK's procedure
examples alone, no analyst label: the cold-start model, scored on the same test reports; --cold-start-classes says
its label space). Each mode is bootstrapped against the baseline and, when 'off' ran too, against 'off' on the
techniques both have.

    python benchmarks/quality.py --compare DIR         # rescore models kept with --keep DIR, no training
    python benchmarks/quality.py --test-data NEW/*.mjson  # train on the corpus, test on never-seen labelled reports

    python benchmarks/quality.py                       # full corpus, recipe defaults (CPU: tens of minutes)
    python benchmarks/quality.py --limit-reports 40 --epochs 2
    python benchmarks/quality.py --procedure-modes off mix pretrain only --epochs 2
    python benchmarks/quality.py --base baseline --only model --procedure-modes off mix only   # TF-IDF, seconds
    python benchmarks/quality.py --procedure-modes off only --baseline-reports 20   # cold start vs 20 reports
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


LABEL_SPACES = (("all", None), ("tram50", "TRAM's 50"), ("other", "other techniques"))
MODES = ("recipe", "off", "mix", "pretrain", "only")  # 'recipe': procedure_examples left to the recipe


def summary(name: str, evaluation: dict, wall_s: float) -> dict:
    """Print one model's test figures, on all its techniques and apart on TRAM's 50 and the others; its row."""
    row = {"model": name, "wall_s": wall_s}
    for space, title in LABEL_SPACES:
        part = evaluation if space == "all" else (evaluation.get("by_label_space") or {}).get(space)
        if not part:
            continue
        figures = {"micro_f1@0.5": part["at_0_5"]["micro_f1"], "macro_f1@0.5": part["at_0_5"]["macro_f1"],
                   "micro_f1@tuned": part["at_tuned"]["micro_f1"], "macro_f1@tuned": part["at_tuned"]["macro_f1"],
                   "doc_micro_f1": part["document"]["micro_f1"], "doc_macro_f1": part["document"]["macro_f1"]}
        row.update(figures if space == "all" else {f"{space}:{k}": v for k, v in figures.items()})
        techniques = part.get("techniques") or len(part["at_tuned"].get("per_technique", []))
        label = f"{name} [{title or 'all'}, {techniques}]"
        print(f"{label:>34}: micro-F1 {figures['micro_f1@0.5']:.3f} @0.5, {figures['micro_f1@tuned']:.3f} @tuned | "
              f"macro-F1 {figures['macro_f1@0.5']:.3f} @0.5, {figures['macro_f1@tuned']:.3f} @tuned | "
              f"report micro-F1 {figures['doc_micro_f1']:.3f}, macro-F1 {figures['doc_macro_f1']:.3f}"
              + (f" | wall {wall_s:.0f} s" if space == "all" else ""), flush=True)
    return row


def _test_predictions(examples, predictor, test_ids: list[int]):
    """A kept model's test scores: its boolean predictions and its report sets by technique, at its thresholds."""
    from tram_core.ml.technique_scores import predict_matrix

    by_id = {e.sentence_id: e for e in examples}
    texts = [by_id[i].text for i in test_ids]
    report_ids = [by_id[i].report_id for i in test_ids]
    scores = predictor.predict_scores(texts)
    predicted = predict_matrix(scores, predictor.classes, predictor.thresholds)
    by_report = None if predictor.report_threshold is None else \
        predictor.thresholds.report_predictions(scores, report_ids, predictor.classes)
    return predicted, by_report


def _check_same_corpus(examples, model_dir: Path, card) -> list[int]:
    """The kept model's test sentence ids, once this import is seen to hold the same test split."""
    from tram_core.ml.technique_scores import label_matrix

    by_id = {e.sentence_id: e for e in examples}
    test_ids = card.sentence_ids("test")
    counts = card.data["counts"]["test"]
    missing = [i for i in test_ids if i not in by_id]
    truth = label_matrix([by_id[i].labels for i in test_ids if i in by_id], card.classes)
    if missing or int(truth.sum()) != counts["labels"] or \
            len({by_id[i].report_id for i in test_ids}) != counts["reports"]:
        raise SystemExit(f"the corpus imported now is not the one {model_dir} was trained on ({len(missing)} test "
                         "sentences missing, or other labels): use the same --data, --limit-reports and --test-data")
    return test_ids


_SCORED: dict[str, tuple] = {}  # a kept model's test predictions, by its folder


def compare(examples, model_dir: Path, baseline_dir: Path, resamples: int, names=("model", "baseline")) -> None:
    """Score the test split of two kept models at their tuned thresholds and print the paired bootstrap, on the
    techniques both have, then on TRAM's 50 and on the others among them, apart."""
    from tram_core.attack import TRAM_CLASSES
    from tram_core.ml.significance import paired_bootstrap
    from tram_core.ml.technique_scores import label_matrix
    from tram_core.ml.thresholds import report_rule_text
    from tram_core.ml.trained import load_trained

    by_id = {e.sentence_id: e for e in examples}
    models = [load_trained(model_dir), load_trained(baseline_dir)]
    test_ids = _check_same_corpus(examples, model_dir, models[0].card)
    if models[1].card.sentence_ids("test") != test_ids:
        raise SystemExit(f"{model_dir} and {baseline_dir} were not tested on the same reports")
    shared = [c for c in models[0].classes if c in set(models[1].classes)]
    report_ids = [by_id[i].report_id for i in test_ids]
    truth = label_matrix([by_id[i].labels for i in test_ids], shared)
    predictions = []
    for folder, predictor in zip((model_dir, baseline_dir), models):
        key = str(Path(folder).resolve())  # a model compared twice is scored once
        if key not in _SCORED:
            _SCORED[key] = _test_predictions(examples, predictor, test_ids)
        predictions.append(_SCORED[key])
    for name, predictor in zip(names, models):
        print(f"report rule of {name}: {report_rule_text(predictor.report_threshold)}")
    for space, title in LABEL_SPACES:
        keep = [c for c in shared if space == "all" or (c in TRAM_CLASSES) == (space == "tram50")]
        if not keep:
            continue
        matrices, reports = [], []
        for predictor, (predicted, by_report) in zip(models, predictions):
            column = {c: j for j, c in enumerate(predictor.classes)}
            matrices.append(predicted[:, [column[c] for c in keep]])
            reports.append(None if by_report is None else {
                rid: [keep.index(c) for c in found if c in keep] for rid, found in by_report.items()})
        result = paired_bootstrap(report_ids, truth[:, [shared.index(c) for c in keep]], *matrices,
                                  resamples=resamples, report_predicted_a=reports[0], report_predicted_b=reports[1])
        for difference in result.values():
            print(f"bootstrap [{title or 'all shared'}, {len(keep)}]", difference.line(*names), flush=True)


def parse_args() -> argparse.Namespace:
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
    parser.add_argument("--procedure-modes", nargs="+", choices=MODES, default=["recipe"],
                        help="train the model once per mode of ATT&CK procedure examples (default: the recipe's)")
    parser.add_argument("--procedure-ratio", type=float, default=None,
                        help="mix/pretrain: examples per training sentence with a technique (0: all)")
    parser.add_argument("--baseline-reports", type=int, default=None,
                        help="also train the TF-IDF model on only N labelled reports (its training and validation "
                             "reports), tested on the same test reports: a team's first weeks, against the "
                             "cold-start model ('only')")
    parser.add_argument("--cold-start-classes", choices=("corpus", "attack"), default="corpus",
                        help="label space of 'only': the corpus's (as the other models) or every technique with "
                             "at least --cold-start-min-count procedure examples")
    parser.add_argument("--cold-start-min-count", type=int, default=20)
    return parser.parse_args()


def model_folder(root: Path, mode: str) -> Path:
    """Where a mode's model is kept: 'model' for the recipe's own choice, 'model-<mode>' otherwise (folders kept
    before the 'recipe' mode hold the reports-alone model in 'model': rename it 'model-off' to compare them)."""
    return root / ("model" if mode == "recipe" else f"model-{mode}")


def printer(name: str):
    started = time.time()

    def progress(event) -> None:
        if event.metrics or event.phase != "training" or event.step % 25 == 0:
            extra = " ".join(f"{k}={v:.3f}" for k, v in (event.metrics or {}).items() if isinstance(v, (int, float)))
            loss = f" loss={event.loss:.4f}" if event.loss is not None else ""
            print(f"  [{name} {time.time() - started:6.0f}s] {event.phase} {event.step}/{event.total}{loss} "
                  f"{extra} {event.message}", flush=True)
    return progress


def mode_options(args, mode: str, examples) -> dict:
    """The TrainOptions overrides of one procedure-example mode."""
    from tram_core.ml.training_data import choose_classes

    extra = json.loads(args.options)
    if args.epochs:
        extra["epochs"] = args.epochs
    if args.procedure_ratio is not None:
        extra["procedure_ratio"] = args.procedure_ratio  # the recipe's 'mix' reads it too
    if mode == "recipe":
        return extra
    extra["procedure_examples"] = mode
    if mode == "only":
        if args.cold_start_classes == "corpus":
            extra["classes"] = choose_classes(examples, args.min_count)
        else:
            extra["min_count"] = args.cold_start_min_count
    return extra


def describe(result, examples) -> None:
    card = result.card
    n_test_reports = len({e.report_id for e in examples if e.sentence_id in set(result.split.test)})
    print(f"classes: {len(result.classes)}; split seed {result.split.seed}; test sentences "
          f"{len(result.split.test)} from {n_test_reports} reports; best epoch {card.best_epoch}; thresholds global "
          f"{card.thresholds.global_:.2f}")
    if card.kind == "transformer":
        print("recipe:", json.dumps({k: card.options[k] for k in (
            "pooling", "epochs", "learning_rate", "head_learning_rate", "batch_size", "max_length",
            "negatives_ratio", "loss", "pos_weight")}))
    stage = card.data.get("procedure_examples")
    if stage:
        print("procedure examples:", json.dumps({k: v for k, v in stage.items() if k not in ("parse", "history")}),
              "| read:", json.dumps({k: v for k, v in (stage.get("parse") or {}).items() if k != "dropped_why"}))
        for h in stage.get("history") or []:
            print("  pretrain pass", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()})
    for h in result.history:
        print("  epoch", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()})


FEW = "baseline-few"  # the TF-IDF model trained on --baseline-reports labelled reports


def few_reports_baseline(examples, full_result, args, settings, out_root: Path, store):
    """The TF-IDF model of a team that has labelled ``args.baseline_reports`` reports: that many reports drawn
    (seeded) from outside the test split, split again into its training and validation reports, and tested on
    the full run's test reports."""
    import random

    from tram_core.ml.training import TrainOptions, train_model

    test_sentences = set(full_result.split.test)
    test_reports = sorted({e.report_id for e in examples if e.sentence_id in test_sentences})
    others = sorted({e.report_id for e in examples} - set(test_reports))
    chosen = set(random.Random(args.seed).sample(others, min(args.baseline_reports, len(others))))
    subset = [e for e in examples if e.report_id in chosen or e.report_id in set(test_reports)]
    print(f"baseline on {len(chosen)} labelled reports ({sum(1 for e in subset if e.report_id in chosen)} "
          f"sentences), tested on the same {len(test_reports)} test reports", flush=True)
    options = TrainOptions(base="baseline", min_count=2, threads=args.threads, seed=args.seed,
                           test_reports=test_reports)
    return train_model(subset, options, settings, out_root / FEW, progress=printer("baseline-few"), store=store)


def compare_kept(examples, root: Path, resamples: int) -> None:
    """Bootstrap every kept model against the baseline, every procedure mode against 'off', and the cold-start
    model against the TF-IDF model trained on a few reports."""
    kept = [mode for mode in MODES if (model_folder(root, mode) / "tram_model.json").is_file()]
    for mode in kept:
        if (root / "baseline" / "tram_model.json").is_file():
            compare(examples, model_folder(root, mode), root / "baseline", resamples, (f"model[{mode}]", "baseline"))
        if mode != "off" and "off" in kept:
            compare(examples, model_folder(root, mode), model_folder(root, "off"), resamples,
                    (f"model[{mode}]", "model[off]"))
    if "only" in kept and (root / FEW / "tram_model.json").is_file():
        compare(examples, model_folder(root, "only"), root / FEW, resamples, ("model[only]", "baseline[few reports]"))


def main() -> None:
    args = parse_args()
    from tram_core.ml.training import TrainOptions, train_model
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
        compare_kept(examples, args.compare, args.resamples)
        return

    rows = {}
    common = dict(min_count=args.min_count, threads=args.threads, seed=args.seed, test_reports=test_reports)
    if args.only != "model":
        t0 = time.time()
        base_result = train_model(examples, TrainOptions(base="baseline", **common), settings,
                                  out_root / "baseline", progress=printer("baseline"), store=store)
        rows["baseline"] = summary("baseline", base_result.metrics, time.time() - t0)
        if args.baseline_reports:
            t0 = time.time()
            few = few_reports_baseline(examples, base_result, args, settings, out_root, store)
            rows[FEW] = summary(f"baseline[{args.baseline_reports} reports]", few.metrics, time.time() - t0)
        if args.only == "baseline":
            return
    for mode in args.procedure_modes:
        t0 = time.time()
        name = f"{args.base}[{mode}]"
        options = TrainOptions(base=args.base, **{**common, **mode_options(args, mode, examples)})
        result = train_model(examples, options, settings, model_folder(out_root, mode), progress=printer(name),
                             store=store)
        rows[mode] = summary(name, result.metrics, time.time() - t0)
        describe(result, examples)
    print("\nsummary")
    for row in rows.values():
        print("  " + json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}))
    if "baseline" in rows:
        for mode in args.procedure_modes:
            model, base = rows[mode], rows["baseline"]
            for key in ("micro_f1@0.5", "micro_f1@tuned", "macro_f1@tuned", "doc_micro_f1"):
                print(f"ratio {mode}/baseline {key}: {model[key] / base[key]:.2f}x" if base[key] else
                      f"ratio {mode}/baseline {key}: n/a")
    compare_kept(examples, out_root, args.resamples)


if __name__ == "__main__":
    main()
