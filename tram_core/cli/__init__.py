"""The command line: ``python -m tram_core <command>``; each command group lives in its own module (data, training,
models, with common for what they share)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from tram_core.errors import UserError
from tram_core.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    """The parser: the data commands and the accounts group (users), then the training group (train, worker, jobs,
    cancel), then the trained-model group (models, promote, evaluate, predict), then the database schema (db)."""
    from tram_core.cli import data, database, models, training, users

    parser = argparse.ArgumentParser(
        prog="python -m tram_core",
        description="TRAM: map threat-report sentences to MITRE ATT&CK techniques.",
    )
    parser.add_argument("--user", default=None, help="who is acting (default: $TRAM_USER or the login name)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data.register(sub)
    users.register(sub)
    training.register(sub)
    models.register(sub)
    database.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int | None] = args.handler
    if args.user is None:
        import getpass
        import os

        args.user = os.environ.get("TRAM_USER") or getpass.getuser()
    try:
        args.settings = load_settings()  # inside the try: a bad environment variable is one line, not a traceback
        return int(handler(args) or 0)
    except UserError as exc:  # every error a user can cause is one line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
