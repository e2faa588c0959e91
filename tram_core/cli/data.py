"""Command-line commands for data: import, export, techniques, label, undo, history (the reports group is
cli.reports)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tram_core.cli.common import acting, audit, table
from tram_core.errors import CommandError


def _store(args: argparse.Namespace):
    from tram_core.store import Store

    return Store.from_settings(args.settings)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the data commands to the ``python -m tram_core`` parser: import, export, techniques, label, undo,
    history."""
    _register_import(sub)
    _register_export(sub)
    _register_catalogs(sub)
    _register_labels(sub)


def _register_import(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import", help="import datasets and reports (files, folders or web addresses)",
        description="Import dataset files (TRAM multi-label / single-label / report JSON, MAT .mjson, CSV), "
                    "report documents (.pdf .docx .html .htm .txt .md) and web pages or PDFs by their http(s) "
                    "address (public addresses and TRAM_URL_ALLOW_NETWORKS only). Every file and every row is read "
                    "and checked "
                    "first, then everything is stored in one transaction: a bad file or row means nothing is "
                    "imported, unless --skip-bad-files or --skip-bad-rows. A report already stored is not stored "
                    "again. Exit code: 0 all imported, 1 some files skipped, 2 nothing imported.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="files to import (folders: every supported file in them; http(s)://...: a web page or PDF)")
    p.add_argument("--skip-bad-rows", action="store_true", help="import the good rows and report how many were skipped")
    p.add_argument("--skip-bad-files", action="store_true",
                   help="import the files that can be read and list the others (exit code 1); without it, one bad "
                        "file means nothing is imported")
    p.add_argument("--roll-up-tram50", action="store_true",
                   help="roll sub-techniques up to their parent where the parent is one of TRAM's 50 classes "
                        "(T1027.002 -> T1027), as TRAM's own exports did")
    p.add_argument("--roll-up-to", metavar="IDS", default=None,
                   help="roll sub-techniques up to a parent in this comma-separated class list")
    p.add_argument("--on-duplicate", choices=("merge", "keep", "skip"), default=None,
                   help="a report document that is the same document as a stored report (or as another file of "
                        "this import) in another format: merge (keep the stored report, record this file as "
                        "another source of it), keep (import it as a report of its own) or skip it; without it, "
                        "ask on a terminal, else keep it with a warning")
    p.set_defaults(handler=cmd_import)


def _register_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export labelled data, a Navigator layer or a STIX 2.1 bundle",
        description="Export the corpus (or one report) as TRAM multi-label JSON (the seed notebook's training "
                    "format), TRAM report JSON, CSV, an ATT&CK Navigator layer, or a STIX 2.1 bundle.",
    )
    from tram_core.io.exporters import ALL_EXPORT_FORMATS

    p.add_argument("--format", "-f", required=True, choices=ALL_EXPORT_FORMATS, help="what to write")
    p.add_argument("--report", type=int, default=None, metavar="ID", help="only this report (default: all)")
    p.add_argument("--include-unlabelled", action="store_true",
                   help="also write unlabelled sentences, marked with status 'unlabelled' (multi-label and csv)")
    p.add_argument("--model-findings", action="store_true",
                   help="navigator layer of one --report: also the techniques the model finds there that no "
                        "sentence is labelled with, in their own colour; stix bundle of one --report: also every "
                        "technique the model finds there, its best sentences as notes")
    p.add_argument("--without-labels", action="store_true",
                   help="stix with --model-findings: only the model's findings, not the labelled sentences")
    p.add_argument("--model", type=int, default=None, metavar="ID",
                   help="the model whose findings to add (default: the promoted model)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write ('-' for stdout)")
    p.set_defaults(handler=cmd_export)


def _register_catalogs(sub: argparse._SubParsersAction) -> None:
    """The listing of the ATT&CK technique catalog."""
    p = sub.add_parser("techniques", help="search the ATT&CK technique catalog",
                       description="Search ATT&CK techniques by ID, name, tactic or description.")
    p.add_argument("search", nargs="*", metavar="SEARCH", help="words to look for (e.g. 'process injection', T1055)")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N techniques (default 20)")
    p.add_argument("--all", action="store_true", help="include revoked and deprecated techniques")
    p.set_defaults(handler=cmd_techniques)


def _register_labels(sub: argparse._SubParsersAction) -> None:
    """Setting a sentence's labels from a script, undoing the last change, and the history of label changes."""
    p = sub.add_parser("label", help="set a sentence's labels (for scripts)",
                       description="Replace a sentence's techniques. --none records the answer 'no technique' "
                                   "(a labelled negative).")
    p.add_argument("sentence_id", type=int, metavar="SENTENCE_ID")
    p.add_argument("techniques", nargs="*", metavar="TECHNIQUE", help="technique IDs like T1055 or T1055.001")
    p.add_argument("--none", action="store_true", help="the sentence describes no technique")
    p.add_argument("--reviewed", action="store_true", help="mark the answer as reviewed rather than labelled")
    p.add_argument("--expected-version", type=int, default=None, metavar="N",
                   help="fail if someone changed the sentence since version N")
    p.set_defaults(handler=cmd_label)

    p = sub.add_parser("undo", help="undo your last label change (as the Annotate page's Undo does)",
                       description="Undo the acting user's (--user) most recent label change that is not undone "
                                   "yet: the sentence gets back the labels and status it had before.")
    p.set_defaults(handler=cmd_undo)

    p = sub.add_parser("history", help="show the label change history",
                       description="Show label changes, newest first.")
    p.add_argument("--sentence", type=int, default=None, metavar="ID", help="only this sentence")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N changes (default 50)")
    p.set_defaults(handler=cmd_history)


# --------------------------------------------------------------------------------------------------- import


def _is_address(raw: str) -> bool:
    return raw.strip().lower().startswith(("http://", "https://"))


def _expand(paths: list[str]) -> list[Path | str]:
    """The items to import: each file, every supported file of each folder, and each web address (as given)."""
    from tram_core.io.importer import SUPPORTED_EXTENSIONS

    out: list[Path | str] = []
    for raw in paths:
        if _is_address(raw):
            out.append(raw.strip())
            continue
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS))
        else:
            out.append(path)
    return out


def import_options(args: argparse.Namespace):
    """ImportOptions from the import command's flags (roll-up IDs are checked against the catalog)."""
    from tram_core.attack import TRAM_CLASSES, load_catalog, parse_technique_list
    from tram_core.io.dataset_checks import ImportOptions

    roll_up: tuple[str, ...] | None = None
    if args.roll_up_tram50:
        roll_up = TRAM_CLASSES
    if args.roll_up_to:
        named = parse_technique_list(args.roll_up_to, load_catalog(), where="--roll-up-to")
        roll_up = tuple(dict.fromkeys((roll_up or ()) + named))
    limits = getattr(getattr(args, "settings", None), "limits", None)
    return ImportOptions(skip_bad_rows=args.skip_bad_rows, roll_up_to=roll_up,
                         **({"limits": limits} if limits is not None else {}))


def _sources(items: list[Path | str], options, settings) -> list[tuple[str, object]]:
    """``(name, prepare)`` per item for ``import_batch``: a web address fetched, a file read."""
    from tram_core.io.importer import prepare_path, prepare_url

    def ocr_progress(name: str):
        return lambda done, pages: print(f"{name}: OCR page {done} of {pages}", file=sys.stderr)

    return [(item, lambda u=item: prepare_url(u, settings, ocr_progress(u))) if isinstance(item, str)
            else (item.name, lambda p=item: prepare_path(p, options, settings.max_upload_bytes, ocr_progress(p.name)))
            for item in items]


def cmd_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from tram_core.cli.near_duplicates import decider
    from tram_core.io.import_duplicates import import_checked

    store = _store(args)
    acting(args, "import reports", store)
    options = import_options(args)
    files = _expand(args.paths)
    if not files:
        print("error: no supported files found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    bar = tqdm(total=len(files), unit="file", desc="reading", file=sys.stderr, disable=None if len(files) > 1 else True,
               leave=False)

    def read(i: int, name: str, error: str | None) -> None:
        bar.update(1)
        if error is not None:
            tqdm.write(f"error: {error}", file=sys.stderr)

    batch = import_checked(store, _sources(files, options, args.settings), args.user,
                           decider(getattr(args, "on_duplicate", None)), skip_bad_files=args.skip_bad_files,
                           on_prepared=read)
    bar.close()
    if batch.failures and not batch.stored:
        if len(files) > 1:  # one file: its error line says it all
            hint = "" if args.skip_bad_files else " (--skip-bad-files imports the others)"
            print(f"nothing imported: {len(batch.failures)} of {len(files)} files could not be read{hint}",
                  file=sys.stderr)
        return 2
    audit(store, args, "import", ", ".join(r.source for r in batch.results),
          after={"items": len(files), "failed": len(batch.failures)})
    for result in batch.results:
        print(f"{result.source}: {result.summary()}")
        for warning in result.warnings:
            print(f"  warning: {warning}")
    if len(files) > 1:
        results = batch.results
        line = (f"{len(results)} of {len(files)} files imported in one transaction: "
                f"{sum(r.reports_created for r in results)} reports created, {sum(r.duplicates for r in results)} "
                f"duplicates, {sum(r.sentences for r in results)} sentences, {sum(r.labelled for r in results)} labelled")
        skipped = sum(r.skipped_rows for r in results)
        if skipped:
            line += f", {skipped} bad rows skipped"
        if batch.failures:
            line += f"; skipped files: {', '.join(name for name, _ in batch.failures)}"
        print(line)
    return 1 if batch.failures else 0


# --------------------------------------------------------------------------------------------------- export


def cmd_export(args: argparse.Namespace) -> int:
    from tram_core.views.report_export import export_with_findings

    store = _store(args)
    content, suggested = export_with_findings(store, args.format, report_id=args.report,
                                              include_unlabelled=args.include_unlabelled,
                                              model_findings=args.model_findings, model_id=args.model,
                                              labelled=not args.without_labels)
    if args.output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return 0
    out = Path(args.output)
    if out.is_dir():
        out = out / suggested
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {out} ({len(content):,} bytes, {args.format})")
    return 0


# --------------------------------------------------------------------------------------------------- tables


def cmd_techniques(args: argparse.Namespace) -> int:
    from tram_core.attack import load_catalog

    catalog = load_catalog()
    found = catalog.search(" ".join(args.search), limit=args.limit, include_revoked=args.all)
    if not found:
        print(f"no technique matches '{' '.join(args.search)}'")
        return 0
    rows = [[t.id, t.name, ", ".join(t.tactics), t.status_note] for t in found]
    print(table(["id", "name", "tactics", "note"], rows, {1: 50, 2: 45}))
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from tram_core.attack import load_catalog, parse_technique_list
    from tram_core.store import LABELLED, REVIEWED

    if args.none and args.techniques:
        raise CommandError("give technique IDs or --none, not both")
    if not args.none and not args.techniques:
        raise CommandError("give technique IDs (e.g. T1055) or --none for 'no technique'")
    store = _store(args)
    acting(args, "label sentences", store)  # the label history records the change
    catalog = load_catalog()
    where = f"sentence {args.sentence_id}"
    ids = parse_technique_list(args.techniques, catalog, where=f"labels for {where}") if args.techniques else ()
    for warning in catalog.check(ids, where):
        print(f"warning: {warning}", file=sys.stderr)
    sentence = store.set_labels(args.sentence_id, ids, args.user, status=REVIEWED if args.reviewed else LABELLED,
                                expected_version=args.expected_version)
    labels = " ".join(sentence.labels) or "no technique"
    print(f"sentence {sentence.id} ({sentence.status}, version {sentence.version}): {labels}")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from tram_core.store import UNLABELLED

    store = _store(args)
    acting(args, "undo", store)  # the label history records the undo
    sentence = store.undo_last(args.user)
    if sentence is None:
        print(f"nothing to undo: '{args.user}' has no label change that is not undone yet")
        return 0
    labels = "" if sentence.status == UNLABELLED else f": {' '.join(sentence.labels) or 'no technique'}"
    print(f"undone: sentence {sentence.id} is {sentence.status} again{labels}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    events = _store(args).label_history(sentence_id=args.sentence, limit=args.limit)
    if not events:
        print("no label changes yet")
        return 0
    rows = [[e.at.strftime("%Y-%m-%d %H:%M:%S"), e.user, e.action, e.sentence_id, e.report_id,
             f"{e.before_status} -> {e.after_status}",
             f"{' '.join(e.before_labels) or '-'} -> {' '.join(e.after_labels) or '-'}",
             "undone" if e.undone else ""]
            for e in events]
    print(table(["at (UTC)", "user", "action", "sentence", "report", "status", "labels", ""], rows, {6: 70}))
    return 0
