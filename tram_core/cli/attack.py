"""Command-line commands for ATT&CK: which catalog version TRAM uses, remapping stored labels to another version's
techniques, and a trained model's coverage as a Navigator layer (``attack version``, ``attack remap``,
``attack coverage``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tram_core.cli.common import acting, open_store, table
from tram_core.errors import CommandError

_SHOWN_SENTENCES = 5


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``attack`` group to the ``python -m tram_core`` parser: ``attack version``, ``attack remap``,
    ``attack coverage``."""
    group = sub.add_parser(
        "attack", help="ATT&CK versions: the catalog in use, remapping labels to another version",
        description="The ATT&CK catalog TRAM uses (the embedded v18.1, or the enterprise-attack.json the "
                    "TRAM_ATTACK_STIX setting names), and moving stored labels to another version's techniques.")
    commands = group.add_subparsers(dest="attack_command", required=True, metavar="COMMAND")

    p = commands.add_parser("version", help="say which ATT&CK version and file TRAM uses",
                            description="Print the catalog's ATT&CK version and where it comes from.")
    p.set_defaults(handler=cmd_version)

    p = commands.add_parser(
        "remap", help="list (and replace) stored labels whose technique is revoked, deprecated or moved",
        description="List every stored label whose technique the given ATT&CK bundle revokes, deprecates, moves "
                    "(renumbered, revoked-by another technique) or lacks, with its replacement where the bundle "
                    "names one. Nothing changes without --apply --yes, which swaps each replaced technique for its "
                    "replacement through the label history (maintainer permission: edit the label space).")
    p.add_argument("--stix", metavar="FILE", default=None,
                   help="an official enterprise-attack.json STIX bundle (default: the catalog TRAM uses)")
    p.add_argument("--apply", action="store_true", help="relabel the sentences whose technique has a replacement")
    p.add_argument("--yes", action="store_true", help="confirm --apply")
    p.set_defaults(handler=cmd_remap)

    p = commands.add_parser(
        "coverage", help="write a Navigator layer of a trained model's techniques by test F1 or training support",
        description="Write an ATT&CK Navigator layer of a trained model's label space: each technique scored by its "
                    "test F1 at the model's tuned thresholds (--by f1) or by its training sentences (--by support).")
    p.add_argument("--model", type=int, required=True, metavar="ID", help="the trained model")
    p.add_argument("--by", choices=("f1", "support"), default="f1", help="what scores a technique (default f1)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write ('-' for stdout)")
    p.set_defaults(handler=cmd_coverage)


def cmd_version(args: argparse.Namespace) -> int:
    from tram_core.attack import load_catalog

    catalog = load_catalog()
    current = len(catalog.techniques())
    print(f"{catalog.description}: {current} current techniques and sub-techniques "
          f"({len(catalog) - current} revoked or deprecated)")
    return 0


def cmd_remap(args: argparse.Namespace) -> int:
    from tram_core.attack import load_catalog
    from tram_core.attack_remap import apply_remap, plan_remap

    if args.yes and not args.apply:
        raise CommandError("--yes confirms --apply; give both to relabel, or neither to list")
    catalog = load_catalog(args.stix) if args.stix else load_catalog()
    store = open_store(args)
    plan = plan_remap(store, catalog)
    if not plan.changes:
        print(f"Every stored label is a current technique in {plan.catalog}: nothing to remap.")
        return 0
    _print_plan(plan)
    to_relabel = plan.sentences_to_relabel
    if not args.apply:
        if to_relabel:
            print(f"\n{to_relabel} sentence(s) would be relabelled; nothing changed. Run again with --apply --yes "
                  "to relabel them.")
        return 0
    if not args.yes:
        raise CommandError(f"--apply relabels {to_relabel} sentence(s): add --yes to confirm")
    user = acting(args, "edit the label space")
    result = apply_remap(store, user, plan)
    line = f"\nRelabelled {len(result.relabelled)} sentence(s) as {user}; the label history records each change."
    if result.skipped:
        line += (f" Skipped {len(result.skipped)} changed by someone else meanwhile "
                 f"(sentences {', '.join(map(str, result.skipped[:_SHOWN_SENTENCES]))}): run remap again.")
    print(line)
    return 0


def _print_plan(plan) -> None:
    print(f"Stored labels to look at against {plan.catalog}:")
    rows = [[c.technique, c.name or "-", c.note, len(c.sentence_ids), _sentence_list(c.sentence_ids)]
            for c in plan.changes]
    print(table(["technique", "name", "change", "sentences", "sentence ids"], rows, {1: 40}))


def _sentence_list(ids: tuple[int, ...]) -> str:
    shown = ", ".join(map(str, ids[:_SHOWN_SENTENCES]))
    return shown + (f" and {len(ids) - _SHOWN_SENTENCES} more" if len(ids) > _SHOWN_SENTENCES else "")


def cmd_coverage(args: argparse.Namespace) -> int:
    from tram_core.io.exporters import export_model_coverage

    content, suggested = export_model_coverage(open_store(args), args.model, args.by)
    if args.output == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return 0
    out = Path(args.output)
    out = out / suggested if out.is_dir() else out
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {out} ({len(content):,} bytes, model {args.model} by {args.by})")
    return 0
