"""Command-line commands for the engine: train, worker, jobs, cancel, models, promote, evaluate, predict."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from tram_core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the engine commands to the ``python -m tram_core`` parser."""
    train = sub.add_parser("train", help="queue a training run (--wait to follow it, in this process if no worker)")
    train.add_argument("--base", default=None,
                       help="embedded | tram-scibert | baseline | a hub id | a model folder | a trained model id "
                            "(default: TRAM_BASE_MODEL or 'embedded')")
    for name, kind, help_text in _training_option_fields():
        train.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None,
                           help=help_text + " (default: the base model's recipe)")
    train.add_argument("--classes", default=None,
                       help="label space: 'tram50' (TRAM's 50), 'corpus' (by --min-count) or a file of IDs")
    train.add_argument("--test-reports", default=None, metavar="IDS",
                       help="report ids held out as the test set, comma-separated (instead of --test-fraction): "
                            "the same test reports keep runs comparable")
    train.add_argument("--wait", action="store_true", help="follow the job with a progress bar until it ends")
    train.set_defaults(handler=cmd_train)

    worker = sub.add_parser("worker", help="run queued training and prediction jobs")
    worker.add_argument("--once", action="store_true", help="run at most one queued job, then exit")
    worker.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: TRAM_DEVICE or auto)")
    worker.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the queue")
    worker.set_defaults(handler=cmd_worker)

    jobs = sub.add_parser("jobs", help="list jobs with status and progress")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.add_argument("--status", default=None, help="queued, running, done, failed or cancelled")
    jobs.set_defaults(handler=cmd_jobs)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id", type=int)
    cancel.set_defaults(handler=cmd_cancel)

    models = sub.add_parser("models", help="list trained models with their key scores")
    models.add_argument("--check", action="store_true",
                        help="compare the models folder with the model rows: list folders without a row, rows "
                             "without their folder and stale .partial folders; exit 1 when they disagree (only "
                             "reports: a worker start repairs)")
    models.set_defaults(handler=cmd_models)

    promote = sub.add_parser("promote", help="make a model the source of suggestions (and queue fresh suggestions)")
    promote.add_argument("model_id", type=int)
    promote.set_defaults(handler=cmd_promote)

    evaluate = sub.add_parser("evaluate", help="score a model on its test reports or on a dataset file")
    evaluate.add_argument("--model", required=True, help="model id, name or folder")
    evaluate.add_argument("--data", default=None, help="a dataset file (TRAM JSON, .mjson, CSV); not stored")
    evaluate.add_argument("--json", default=None, help="also write the full evaluation to this JSON file")
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = sub.add_parser("predict", help="label a report file or a JSON list of sentences")
    predict.add_argument("--model", required=True, help="model id, name or folder")
    predict.add_argument("input", help="a report (.pdf .docx .html .txt .md) or a JSON list of sentences")
    predict.add_argument("-o", "--output", required=True, help="where to write the JSON result")
    predict.set_defaults(handler=cmd_predict)


# --------------------------------------------------------------------------------------------------- helpers


def _store(args):
    from tram_core.store import Store

    return Store.from_settings(args.settings)


def read_class_list(spec: str | None) -> list[str] | None:
    """--classes: 'tram50' -> TRAM's 50 in order, 'corpus' or None -> chosen from the data, else a file of IDs."""
    if spec is None or spec == "corpus":
        return None
    if spec == "tram50":
        from tram_core.attack import TRAM_CLASSES

        return list(TRAM_CLASSES)
    path = Path(spec)
    if not path.is_file():
        raise UserError(f"--classes {spec!r}: use 'tram50', 'corpus' or a file of technique IDs")
    from tram_core.attack import load_catalog, parse_technique_list

    text = path.read_text(encoding="utf-8")
    entries: str | list[str] = text
    if path.suffix.lower() == ".json":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(values, list):
            raise UserError(f"{path}: expected a JSON list of technique IDs")
        entries = [str(v) for v in values]
    ids = parse_technique_list(entries, load_catalog(), where=str(path))
    if not ids:
        raise UserError(f"{path} lists no technique IDs")
    return list(ids)


_SPECIAL_TRAIN_OPTIONS = {"base", "classes", "test_reports"}


def _training_option_fields() -> list[tuple[str, type, str]]:
    """(name, type, help) of every plain TrainOptions field, so the CLI offers each option with its help text."""
    import dataclasses
    import typing

    from tram_core.training import TrainOptions

    hints = typing.get_type_hints(TrainOptions)
    out = []
    for f in dataclasses.fields(TrainOptions):
        if f.name in _SPECIAL_TRAIN_OPTIONS:
            continue
        kinds = [k for k in typing.get_args(hints[f.name]) or (hints[f.name],) if k in (int, float, str)]
        if kinds:
            out.append((f.name, kinds[0], str(f.metadata.get("help", "")).rstrip(".")))
    return out


def _train_options(args) -> dict:
    options: dict = {"base": args.base or getattr(args.settings, "default_base_model", "embedded")}
    for name, _, _ in _training_option_fields():
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    classes = read_class_list(args.classes)
    if classes is not None:
        options["classes"] = classes
    if getattr(args, "test_reports", None):
        options["test_reports"] = parse_report_ids(args.test_reports)
    return options


def parse_report_ids(text: str) -> list[int]:
    """'3, 7,12' -> [3, 7, 12]; anything but positive whole numbers is refused, naming the bad item."""
    ids = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if not (item.isascii() and item.isdigit()) or int(item) < 1:
            raise UserError(f"--test-reports: '{item[:40]}' is not a report id (a positive whole number)")
        ids.append(int(item))
    if not ids:
        raise UserError("--test-reports names no report id")
    return ids


def _pct(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def follow_job(store, job_id: int, out=None, poll_s: float = 0.5, runner: threading.Thread | None = None):
    """Draw a job's progress with tqdm until it ends; Ctrl-C asks to cancel it. Returns the finished Job."""
    from tqdm import tqdm

    out = out or sys.stderr
    bar = tqdm(total=100, unit="%", file=out, dynamic_ncols=True, bar_format="{percentage:3.0f}%|{bar:30}| {desc}")
    try:
        while True:
            try:
                job = store.get_job(job_id)
                if job.finished:
                    break
                bar.n = int(round(job.fraction * 100))
                details = [job.phase or job.status]
                if job.total:
                    details.append(f"{job.step}/{job.total}")
                if job.epoch:
                    epochs = job.metrics.get("epochs")
                    details.append(f"epoch {job.epoch}/{epochs}" if epochs else f"epoch {job.epoch}")
                if job.loss is not None:
                    details.append(f"loss {job.loss:.4f}")
                if job.eta_s is not None:
                    details.append(f"ETA {int(job.eta_s)} s")
                if job.status == "queued":
                    details.append("queued")
                bar.set_description_str(" ".join(details), refresh=False)
                bar.refresh()
                time.sleep(poll_s)
            except KeyboardInterrupt:
                print(f"\ncancelling job {job_id} (Ctrl-C again to stop waiting)", file=out)
                store.request_cancel(job_id)
                try:
                    if runner is not None:
                        runner.join()
                    else:
                        while not store.get_job(job_id).finished:
                            time.sleep(poll_s)
                except KeyboardInterrupt:
                    break
    finally:
        if store.get_job(job_id).status == "done":
            bar.n = 100
            bar.refresh()
        bar.close()
    if runner is not None:
        runner.join()
    return store.get_job(job_id)


# --------------------------------------------------------------------------------------------------- commands


def cmd_train(args) -> int:
    from tram_core import jobs
    from tram_core.device import resolve_device
    from tram_core.model_card import key_scores

    store = _store(args)
    job_id = jobs.submit_training(store, _train_options(args), args.user)
    print(f"queued training job {job_id}")
    if not args.wait:
        if not jobs.live_workers(store):
            print("no worker is running: start one with `python -m tram_core worker` (or use --wait)")
        return 0
    runner = None
    if not jobs.live_workers(store):
        device = resolve_device(getattr(args.settings, "device", "auto"))
        claimed = store.claim_job(job_id, f"{jobs.worker_name()} (foreground)", device)
        if claimed is not None:
            print(f"no worker is running: training in this process on {device}")
            import dataclasses

            settings = dataclasses.replace(args.settings, device=device)
            runner = threading.Thread(target=jobs.run_claimed_job, args=(store, settings, claimed, None),
                                      name=f"job-{job_id}", daemon=True)
            runner.start()
    job = follow_job(store, job_id, runner=runner)
    print(f"job {job.id}: {job.status} - {job.message}")
    if job.status != "done":
        return 1
    if job.model_id is not None:
        model = store.get_model(job.model_id)
        scores = key_scores(model.metrics)
        print(f"model {model.id} '{model.name}' in {model.path}")
        print(f"test scores at tuned thresholds: micro-F1 {_pct(scores['micro_f1'])}, "
              f"macro-F1 {_pct(scores['macro_f1'])}; at 0.5: micro-F1 {_pct(scores['micro_f1_at_0_5'])}, "
              f"macro-F1 {_pct(scores['macro_f1_at_0_5'])}")
        print(f"promote it with `python -m tram_core promote {model.id}`")
    return 0


def cmd_worker(args) -> int:
    from tram_core.worker import run_worker

    run_worker(args.settings, once=args.once, poll_s=args.poll, device=args.device)
    return 0


def cmd_jobs(args) -> int:
    from tram_core import jobs

    store = _store(args)
    state = jobs.worker_state(store)
    print(f"worker: {state.text}")
    rows = store.list_jobs(limit=args.limit, status=args.status)
    if not rows:
        print("no jobs")
        return 0
    print(f"{'id':>4}  {'kind':<8} {'status':<10} {'progress':>8}  {'created':<16}  message")
    for job in rows:
        progress = f"{int(job.fraction * 100)}%" if job.status in ("running", "done") else ""
        text = jobs.describe_job(job) if job.status == "running" else job.message
        print(f"{job.id:>4}  {job.kind:<8} {job.status:<10} {progress:>8}  {job.created_at:%Y-%m-%d %H:%M}  {text}")
    return 0


def cmd_cancel(args) -> int:
    store = _store(args)
    job = store.request_cancel(args.job_id)
    if job.status == "cancelled":
        print(f"job {job.id} cancelled")
    elif job.status == "running":
        print(f"job {job.id} will stop at its next step")
    else:
        print(f"job {job.id} had already finished ({job.status})")
    return 0


def cmd_models(args) -> int:
    from tram_core.model_card import key_scores

    store = _store(args)
    if getattr(args, "check", False):
        return cmd_models_check(store, args.settings)
    models = store.list_models(include_imported=False)
    if not models:
        print("no trained models yet: `python -m tram_core train --wait`")
        return 0
    print(f"{'':1} {'id':>4}  {'micro-F1':>8} {'macro-F1':>8} {'report-F1':>9}  {'kind':<11}  name")
    for model in models:
        scores = key_scores(model.metrics)
        mark = "*" if model.promoted else ""
        print(f"{mark:1} {model.id:>4}  {_pct(scores['micro_f1']):>8} {_pct(scores['macro_f1']):>8} "
              f"{_pct(scores['report_f1']):>9}  {model.kind:<11}  {model.name}")
    print("scores: test split at tuned thresholds (report-F1: each test report's techniques as a set); "
          "* = promoted (source of suggestions)")
    return 0


def cmd_models_check(store, settings) -> int:
    """``models --check``: one line per disagreement between the models folder and the model rows; 1 if any."""
    from tram_core.model_folders import check_lines

    lines = check_lines(store, settings.models_dir)
    for line in lines:
        print(line)
    if lines:
        print(f"{len(lines)} problem{'s' if len(lines) != 1 else ''} in {settings.models_dir}: the next "
              "`python -m tram_core worker` start removes stale and unrecordable folders and records complete "
              "ones whose training job is known; a model row without its folder stays until the folder is "
              "restored or the model deleted")
        return 1
    print(f"model folders in {settings.models_dir} and model rows agree")
    return 0


def cmd_promote(args) -> int:
    from tram_core import jobs

    store = _store(args)
    job_id = jobs.promote_and_predict(store, args.model_id, args.user)
    model = store.get_model(args.model_id)
    print(f"model {model.id} '{model.name}' promoted; job {job_id} queued to refresh suggestions")
    return 0


def evaluation_data(store, model_path: Path, data: str | None):
    """(texts, label sets, report ids, where) to evaluate on: a dataset file (parsed, not stored), or the
    model's recorded test split read from the store with today's labels."""
    if data is not None:
        from tram_core.formats import parse_dataset

        path = Path(data)
        if not path.is_file():
            raise UserError(f"--data {data}: no such file")
        parsed = parse_dataset(path.read_bytes(), path.name)
        texts, truth, groups = [], [], []
        for r, report in enumerate(parsed.reports):
            for sentence in report.sentences:
                if sentence.status == "unlabelled":
                    continue
                texts.append(sentence.text)
                truth.append(set(sentence.labels))
                groups.append(r)
        if not texts:
            raise UserError(f"{path} holds no labelled sentences to evaluate on")
        return texts, truth, groups, f"{len(texts)} labelled sentences of {path.name}"
    from tram_core.model_card import ModelCard

    ids = ModelCard.read(model_path).sentence_ids("test")
    if not ids:
        raise UserError(f"Model {model_path} has no recorded test split: evaluate it with --data FILE")
    wanted = set(ids)
    examples = [e for e in store.examples() if e.sentence_id in wanted]
    if not examples:
        raise UserError(f"The test sentences of {model_path} are no longer in the store: use --data FILE")
    missing = len(wanted) - len(examples)
    where = f"{len(examples)} test sentences from the store (current labels)"
    if missing:
        where += f"; {missing} are gone or no longer labelled"
    return [e.text for e in examples], [set(e.labels) for e in examples], [e.report_id for e in examples], where


def cmd_evaluate(args) -> int:
    from tram_core import metrics
    from tram_core.predict import load_model, resolve_model_path

    store = _store(args)
    path = resolve_model_path(store, args.model)
    texts, truth, groups, where = evaluation_data(store, path, args.data)
    predictor = load_model(path, getattr(args.settings, "device", None))
    classes = list(predictor.classes)
    truth = [labels & set(classes) for labels in truth]
    scores = predictor.predict_scores(texts)
    result = metrics.evaluate(truth, scores, classes, predictor.thresholds, report_ids=groups)
    print(f"model {path} on {where}")
    print(f"{'':22} {'P':>7} {'R':>7} {'F1':>7}")
    for label, key in (("micro at 0.5", "at_0_5"), ("micro at tuned", "at_tuned")):
        s = result[key]
        print(f"{label:22} {s['micro_precision']:7.3f} {s['micro_recall']:7.3f} {s['micro_f1']:7.3f}")
    for label, key in (("macro at 0.5", "at_0_5"), ("macro at tuned", "at_tuned")):
        s = result[key]
        print(f"{label:22} {s['macro_precision']:7.3f} {s['macro_recall']:7.3f} {s['macro_f1']:7.3f}")
    doc = result.get("document")
    if doc:
        print(f"{'report level (micro)':22} {doc['micro_precision']:7.3f} {doc['micro_recall']:7.3f} "
              f"{doc['micro_f1']:7.3f}   {doc['reports']} reports; {doc['rule']}")
    print()
    print(f"{'technique':<12} {'support':>7} {'P':>7} {'R':>7} {'F1':>7}   (tuned thresholds)")
    for row in sorted(result["at_tuned"]["per_technique"], key=lambda r: (-r["support"], r["technique"])):
        print(f"{row['technique']:<12} {row['support']:>7} {row['precision']:7.3f} {row['recall']:7.3f} "
              f"{row['f1']:7.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"full evaluation written to {args.json}")
    return 0


def read_prediction_input(path: Path, settings=None) -> list[str]:
    """Sentences to label: a JSON list (strings or {"sentence": ...} objects) in order, or a report file split
    into sentences."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(items, list):
            raise UserError(f"{path}: expected a JSON list of sentences (strings or {{\"sentence\": ...}} objects)")
        texts = []
        for n, item in enumerate(items, 1):
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict) and isinstance(item.get("sentence", item.get("text")), str):
                texts.append(item.get("sentence", item.get("text")))
            else:
                raise UserError(f"{path}, item {n}: expected a string or an object with a \"sentence\" string")
        return texts
    from tram_core.ingest import extract_file
    from tram_core.sentences import split_sentences

    max_bytes = getattr(settings, "max_upload_bytes", None) if settings is not None else None
    extracted = extract_file(path, max_bytes=max_bytes, **({"limits": settings.limits} if settings is not None else {}))
    texts = [span.text for span in split_sentences(extracted.text)]
    if not texts:
        raise UserError(f"{path}: no sentences found in the extracted text")
    return texts


def cmd_predict(args) -> int:
    from tram_core import metrics
    from tram_core.predict import load_model, predict_texts, report_findings, resolve_model_path

    store = _store(args)
    path = resolve_model_path(store, args.model)
    texts = read_prediction_input(Path(args.input), args.settings)
    predictor = load_model(path, getattr(args.settings, "device", None))
    results = predict_texts(path, texts, predictor=predictor)
    Path(args.output).write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    labelled = sum(1 for r in results if r["labels"])
    print(f"{len(results)} sentences, {labelled} with at least one technique, written to {args.output}")
    # Anything but a JSON list is one report file that read_prediction_input split: say what it shows as a whole.
    if Path(args.input).suffix.lower() != ".json":
        found = report_findings(results, predictor.classes, predictor.thresholds)
        listed = ", ".join(f"{tech} ({value:.2f})" for tech, value in found) or "none"
        print(f"the report as a whole: {listed} ({metrics.report_rule_text(predictor.thresholds.report)})")
    return 0
