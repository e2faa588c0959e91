"""Command-line commands for stored reports: ``reports`` (or ``reports list``) and ``reports delete ID --yes``."""

from __future__ import annotations

import argparse

from tram_core.cli.common import acting, open_store, table
from tram_core.errors import CommandError

LIST_COLUMNS = ["id", "title", "sentences", "labelled", "reviewed", "progress", "imported", "by", "techniques"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``reports`` group to the ``python -m tram_core`` parser: list (also the default) and delete."""
    p = sub.add_parser("reports", help="list reports with their labelling progress, or delete one",
                       description="List every report (the default action), or delete one with its sentences, "
                                   "labels and suggestions.")
    p.set_defaults(handler=cmd_reports_list)
    actions = p.add_subparsers(dest="reports_command", metavar="ACTION")
    actions.add_parser("list", help="every report: id, title, sentences, labelled, reviewed, progress, when and by "
                                    "whom it was imported, the techniques labelled in it"
                       ).set_defaults(handler=cmd_reports_list)
    delete = actions.add_parser("delete", help="delete a report with its sentences, labels and suggestions (admin)",
                                description="Delete a report with its sentences, labels and suggestions; its label "
                                            "history and an audit row stay. Without --yes nothing is deleted: the "
                                            "command says what would be.")
    delete.add_argument("report_id", type=int, metavar="ID")
    delete.add_argument("--yes", action="store_true", help="really delete it")
    delete.set_defaults(handler=cmd_reports_delete)


def cmd_reports_list(args: argparse.Namespace) -> int:
    reports = open_store(args).list_reports()
    if not reports:
        print("no reports yet; import some with: python -m tram_core import FILE")
        return 0
    rows = [[r.id, r.title, r.sentences, r.labelled, r.reviewed, f"{100 * r.progress:.0f}%",
             f"{r.created_at:%Y-%m-%d %H:%M}", r.created_by or "-",
             f"{len(r.techniques)}: {' '.join(r.techniques)}" if r.techniques else "0"]
            for r in reports]
    print(table(LIST_COLUMNS, rows, {1: 50, 7: 20, 8: 60}))
    return 0


def cmd_reports_delete(args: argparse.Namespace) -> int:
    from tram_core import deletions

    store = open_store(args)
    acting(args, "delete a report", store)
    gone = deletions.report_deletion(store, args.report_id)
    if not args.yes:
        raise CommandError(f"would delete {gone.summary}, with their labels and suggestions: add --yes to delete it "
                           "(nothing deleted)")
    deletions.delete_report(store, args.user, args.report_id)
    print(f"deleted {gone.summary}")
    return 0
