"""Command-line commands that run training: train (optionally followed to its end), worker, jobs, cancel."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from tram_core.cli.common import acting, audit, open_store, score_text
from tram_core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    """Add train, worker, jobs and cancel to the ``python -m tram_core`` parser."""
    train = sub.add_parser("train", help="queue a training run (--wait to follow it, in this process if no worker)")
    train.add_argument("--base", default=None,
                       help="embedded | tram-scibert | baseline | a hub id | a model folder | a trained model id "
                            "(default: TRAM_BASE_MODEL or 'embedded')")
    from tram_core.ml.training_options import PROCEDURE_LABEL_SPACES, PROCEDURE_MODES

    choices = {"procedure_examples": PROCEDURE_MODES, "procedure_label_space": PROCEDURE_LABEL_SPACES}
    for name, kind, help_text in _training_option_fields():
        train.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None,
                           choices=choices.get(name), help=help_text + " (default: the base model's recipe)")
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

    from tram_core.ml.training import TrainOptions

    hints = typing.get_type_hints(TrainOptions)
    out = []
    for f in dataclasses.fields(TrainOptions):
        if f.name in _SPECIAL_TRAIN_OPTIONS:
            continue
        kinds = [k for k in typing.get_args(hints[f.name]) or (hints[f.name],) if k in (int, float, str)]
        if kinds:
            out.append((f.name, kinds[0], str(f.metadata.get("help", "")).rstrip(".")))
    return out


def _train_options(args, actor) -> dict:
    """The run's options from the flags; a base model the worker reads as a folder is confined for a team account
    other than an admin (server_paths), as on the Train page."""
    from tram_core.server_paths import check_base_model

    base = args.base or getattr(args.settings, "default_base_model", "embedded")
    options: dict = {"base": check_base_model(actor, base, args.settings)}
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


def cmd_train(args) -> int:
    from tram_core.jobs import queue
    from tram_core.jobs.runner import run_claimed_job
    from tram_core.ml.device import resolve_device
    from tram_core.ml.model_card import key_scores

    store = open_store(args)
    acting(args, "start training", store)
    actor = acting(args, "edit the label space", store)  # a run carries its own label space (--classes, --min-count)
    options = _train_options(args, actor)
    job_id = queue.submit_training(store, options, args.user)
    audit(store, args, "train", f"job {job_id}",
          after={"base": str(options["base"])[:200], "label space": str(args.classes or "corpus")[:200],
                 "min count": options.get("min_count")})
    print(f"queued training job {job_id}")
    if not args.wait:
        if not queue.live_workers(store):
            print("no worker is running: start one with `python -m tram_core worker` (or use --wait)")
        return 0
    runner = None
    if not queue.live_workers(store):
        device = resolve_device(getattr(args.settings, "device", "auto"))
        claimed = store.claim_job(job_id, f"{queue.worker_name()} (foreground)", device)
        if claimed is not None:
            print(f"no worker is running: training in this process on {device}")
            import dataclasses

            settings = dataclasses.replace(args.settings, device=device)
            runner = threading.Thread(target=run_claimed_job, args=(store, settings, claimed, None),
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
        print(f"test scores at tuned thresholds: micro-F1 {score_text(scores['micro_f1'])}, "
              f"macro-F1 {score_text(scores['macro_f1'])}; at 0.5: micro-F1 {score_text(scores['micro_f1_at_0_5'])}, "
              f"macro-F1 {score_text(scores['macro_f1_at_0_5'])}")
        print(f"promote it with `python -m tram_core promote {model.id}`")
    return 0


def cmd_worker(args) -> int:
    from tram_core.jobs.worker import run_worker

    run_worker(args.settings, once=args.once, poll_s=args.poll, device=args.device)
    return 0


def cmd_jobs(args) -> int:
    from tram_core.jobs import queue

    store = open_store(args)
    state = queue.worker_state(store)
    print(f"worker: {state.text}")
    rows = store.list_jobs(limit=args.limit, status=args.status)
    if not rows:
        print("no jobs")
        return 0
    print(f"{'id':>4}  {'kind':<8} {'status':<10} {'progress':>8}  {'created':<16}  message")
    for job in rows:
        progress = f"{int(job.fraction * 100)}%" if job.status in ("running", "done") else ""
        text = queue.describe_job(job) if job.status == "running" else job.message
        print(f"{job.id:>4}  {job.kind:<8} {job.status:<10} {progress:>8}  {job.created_at:%Y-%m-%d %H:%M}  {text}")
    return 0


def cmd_cancel(args) -> int:
    store = open_store(args)
    acting(args, "cancel a run", store)
    job = store.request_cancel(args.job_id)
    audit(store, args, "cancel", f"job {job.id}", after={"status": job.status})
    if job.status == "cancelled":
        print(f"job {job.id} cancelled")
    elif job.status == "running":
        print(f"job {job.id} will stop at its next step")
    else:
        print(f"job {job.id} had already finished ({job.status})")
    return 0

