"""The database commands: ``db upgrade`` (bring the schema to the newest revision) and ``db current``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``db upgrade`` and ``db current`` to the ``python -m tram_core`` parser."""
    db = sub.add_parser("db", help="the database schema: show its revision or upgrade it")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="bring the database schema to this TRAM's newest revision (additive; "
                                       "the app and the worker also do it on start)").set_defaults(handler=cmd_upgrade)
    actions.add_parser("current", help="show the database's schema revision and the newest this TRAM knows"
                       ).set_defaults(handler=cmd_current)


def _unopened_store(args):
    """The store of ``args.settings``, opened without touching its schema."""
    from tram_core.store import Store

    args.settings.ensure_dirs()
    return Store(args.settings.database_url, create=False)


def _describe(revision: str | None) -> str:
    if revision is None:
        return "empty (no TRAM tables yet)"
    if revision == "legacy":
        return "made before schema revisions (TRAM's revision-1 tables, not yet stamped)"
    return f"revision {revision}"


def cmd_upgrade(args) -> int:
    store = _unopened_store(args)
    before, after = store.upgrade_schema()
    if before == after:
        print(f"{store.display_url}: already at the newest revision {after}")
    else:
        print(f"{store.display_url}: upgraded from {_describe(before)} to revision {after}")
    return 0


def cmd_current(args) -> int:
    store = _unopened_store(args)
    revision, head = store.schema_revision()
    note = "the newest" if revision == head else f"the newest is {head}: run python -m tram_core db upgrade"
    print(f"{store.display_url}: {_describe(revision)} ({note})")
    return 0
