"""The command line: ``python -m tram_core <command>``; each command group lives in its own module (data, reports,
users, training, models, database, with common for what they share)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from tram_core.errors import UserError
from tram_core.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    """The parser: the data commands and the reports group, the accounts group (users), then the training group
    (train, worker, jobs, cancel), then the trained-model group (models, promote, suggest, evaluate, predict), the team's
    label agreement, the ATT&CK version (attack), then the database schema (db)."""
    from tram_core.cli import agreement, attack, data, database, models, reports, training, users

    parser = argparse.ArgumentParser(
        prog="python -m tram_core",
        description="TRAM: map threat-report sentences to MITRE ATT&CK techniques.",
    )
    parser.add_argument("--user", default=None, metavar="NAME",
                        help="act as this team account, with its role (python -m tram_core users list); a name "
                             "with no account, or no --user, acts as the local admin of that name (default: "
                             "$TRAM_USER or the login name)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data.register(sub)
    reports.register(sub)
    users.register(sub)
    training.register(sub)
    models.register(sub)
    agreement.register(sub)
    attack.register(sub)
    database.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int | None] = args.handler
    args.user_given = args.user is not None
    if args.user is None:
        import getpass
        import os

        args.user = os.environ.get("TRAM_USER") or getpass.getuser()
    try:
        args.settings = load_settings()  # inside the try: a bad environment variable is one line, not a traceback
        code = int(handler(args) or 0)
        sys.stdout.flush()  # here, not at exit: a reader that closed its end (| head) is seen below
        return code
    except BrokenPipeError:
        return closed_pipe_exit()
    except UserError as exc:  # every error a user can cause is one line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for any command whose reader went away


def closed_pipe_exit() -> int:
    """The reader of our output went away (``python -m tram_core reports | head``): stop quietly, as ``cat``
    would. Standard output is pointed at /dev/null so the interpreter's last flush cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test's captured stdout): nothing left to flush
        pass
    return SIGPIPE_EXIT
