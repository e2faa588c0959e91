"""Command-line commands about trained models: models (--check, delete), promote, suggest, evaluate, predict."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tram_core.cli.common import acting, audit, open_store, score_text
from tram_core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    """Add models (and models delete), promote, suggest, evaluate and predict to the ``python -m tram_core``
    parser."""
    models = sub.add_parser("models", help="list trained models with their key scores, or delete one")
    models.add_argument("--check", action="store_true",
                        help="compare the models folder with the model rows: list folders without a row, rows "
                             "without their folder and stale .partial folders; exit 1 when they disagree (only "
                             "reports: a worker start repairs)")
    models.set_defaults(handler=cmd_models)
    actions = models.add_subparsers(dest="models_command", metavar="ACTION")
    delete = actions.add_parser("delete", help="delete a model, its suggestions and its folder (maintainer)",
                                description="Delete a trained model's row, its suggestions and its folder under the "
                                            "models folder. The promoted model and a model a queued or running job "
                                            "uses are refused. Without --yes nothing is deleted.")
    delete.add_argument("model_id", type=int, metavar="ID")
    delete.add_argument("--yes", action="store_true", help="really delete it")
    delete.set_defaults(handler=cmd_models_delete)

    promote = sub.add_parser("promote", help="make a model the source of suggestions (and queue fresh suggestions)")
    promote.add_argument("model_id", type=int)
    promote.add_argument("--anyway", action="store_true",
                         help="promote even a model that scores worse than the quick or the promoted model on the "
                              "same test sentences (refused without it)")
    promote.set_defaults(handler=cmd_promote)

    suggest = sub.add_parser("suggest", help="queue a job that runs a model over stored reports (its suggestions "
                                             "show on the Annotate page)")
    suggest.add_argument("model_id", type=int, metavar="MODEL_ID")
    suggest.add_argument("--report", type=int, default=None, metavar="ID",
                         help="only this report (default: every unlabelled sentence)")
    suggest.set_defaults(handler=cmd_suggest)

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


def cmd_models(args) -> int:
    from tram_core.ml.model_card import key_scores

    store = open_store(args)
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
        print(f"{mark:1} {model.id:>4}  {score_text(scores['micro_f1']):>8} {score_text(scores['macro_f1']):>8} "
              f"{score_text(scores['report_f1']):>9}  {model.kind:<11}  {model.name}")
    print("scores: test split at tuned thresholds (report-F1: each test report's techniques as a set); "
          "* = promoted (source of suggestions)")
    return 0


def cmd_models_check(store, settings) -> int:
    """``models --check``: one line per disagreement between the models folder and the model rows; 1 if any."""
    from tram_core.jobs.model_folders import check_lines

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


def cmd_models_delete(args) -> int:
    from tram_core import deletions

    store = open_store(args)
    acting(args, "delete a model", store)
    model = deletions.find_model(store, args.model_id)
    reason = deletions.model_in_use(store, model)
    if reason:
        raise UserError(reason)
    if not args.yes:
        raise UserError(f"would delete model #{model.id} '{model.name}' ({model.kind}, folder {model.path or '-'}) "
                        "with its suggestions: add --yes to delete it (nothing deleted)")
    print(deletions.delete_model(store, args.settings, args.user, model.id).line)
    return 0


def cmd_suggest(args) -> int:
    from tram_core.jobs import queue

    store = open_store(args)
    acting(args, "run a model", store)
    job_id = queue.submit_prediction(store, args.model_id, args.report, args.user)
    where = f"report {args.report}" if args.report is not None else "every unlabelled sentence"
    audit(store, args, "run model", f"model {args.model_id} on {where}", after={"job": job_id})
    print(f"queued prediction job {job_id}: model {args.model_id} on {where}")
    if not queue.live_workers(store):
        print("no worker is running: start one with `python -m tram_core worker`")
    return 0


def cmd_promote(args) -> int:
    from tram_core.jobs import queue
    from tram_core.views.run_verdict import check_promotion

    store = open_store(args)
    acting(args, "promote a model", store)
    verdict = check_promotion(store, args.settings, args.model_id, getattr(args, "anyway", False), "add --anyway")
    was = store.promoted_model()
    job_id = queue.promote_and_predict(store, args.model_id, args.user)
    audit(store, args, "promote", f"model {args.model_id}", {"promoted": was.id if was else None},
          {"promoted": args.model_id, **({"anyway": list(verdict.worse)} if verdict.worse else {})})
    model = store.get_model(args.model_id)
    print(f"model {model.id} '{model.name}' promoted; job {job_id} queued to refresh suggestions")
    if verdict.sentence:
        print(f"verdict: {verdict.sentence}")
    return 0


def evaluation_data(store, model_path: Path, data: str | None):
    """(texts, label sets, report ids, where) to evaluate on: a dataset file (parsed, not stored), or the
    model's recorded test split read from the store with today's labels."""
    if data is not None:
        from tram_core.io.dataset_parsers import parse_dataset

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
    from tram_core.ml.model_card import ModelCard

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
    from tram_core.ml import metrics
    from tram_core.ml.predict import load_model, resolve_model_path

    store = open_store(args)
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
    for space, title in (("tram50", "TRAM's 50"), ("other", "other techniques")):
        part = (result.get("by_label_space") or {}).get(space)
        if part:
            s, d = part["at_tuned"], part["document"]
            print(f"{title + ' (' + str(part['techniques']) + ')':22} micro-F1 {s['micro_f1']:.3f}, macro-F1 "
                  f"{s['macro_f1']:.3f} at tuned" + (f"; report micro-F1 {d['micro_f1']:.3f}" if d else ""))
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
    from tram_core.io.ingest import extract_file
    from tram_core.io.sentences import split_sentences

    max_bytes = getattr(settings, "max_upload_bytes", None) if settings is not None else None
    extracted = extract_file(path, max_bytes=max_bytes, **({"limits": settings.limits} if settings is not None else {}))
    texts = [span.text for span in split_sentences(extracted.text)]
    if not texts:
        raise UserError(f"{path}: no sentences found in the extracted text")
    return texts


def cmd_predict(args) -> int:
    from tram_core.ml.predict import load_model, predict_texts, report_findings, resolve_model_path
    from tram_core.ml.thresholds import report_rule_text

    store = open_store(args)
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
        print(f"the report as a whole: {listed} ({report_rule_text(predictor.thresholds.report)})")
    return 0
