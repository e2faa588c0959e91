"""Command-line commands for accounts: ``users add|list|disable|enable|set-role|reset-password``.

The command line's operator (who can reach the database) acts as the local admin. A password is read from a prompt
(never echoed) or, with ``--password-stdin``, from the first line of standard input; never from an argument. An
account for OpenID Connect sign-in (``users add EMAIL --role ROLE --oidc``) has no password.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from tram_core.access import ROLES
from tram_core.errors import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``users`` command group to the ``python -m tram_core`` parser."""
    p = sub.add_parser("users", help="accounts for team mode (TRAM_AUTH=local or oidc)",
                       description="Manage the accounts people sign in with when TRAM_AUTH=local (a password) or "
                                   "TRAM_AUTH=oidc (an OpenID Connect provider; the name is the email). Passwords "
                                   "are read from a prompt or --password-stdin, never from an argument.")
    users = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    how.add_argument("--oidc", action="store_true",
                     help="an account for OpenID Connect sign-in (TRAM_AUTH=oidc): NAME is the email the provider "
                          "signs in; no password")
    add.set_defaults(handler=cmd_users_add)
    users.add_parser("list", help="list the accounts (no password hashes)").set_defaults(handler=cmd_users_list)
    for action, handler in (("disable", cmd_users_disable), ("enable", cmd_users_enable)):
        q = users.add_parser(action, help=f"{action} an account")
        q.add_argument("name")
        q.set_defaults(handler=handler)
    role = users.add_parser("set-role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(handler=cmd_users_set_role)
    reset = users.add_parser("reset-password", help="set a new password (ends the account's sessions)")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    reset.set_defaults(handler=cmd_users_reset_password)


def read_password(args: argparse.Namespace) -> str:
    """The new password: the first line of stdin with --password-stdin, else typed twice at a hidden prompt."""
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
        if not password:
            raise CommandError("No password on standard input")
        return password
    if not sys.stdin.isatty():
        raise CommandError("No terminal to ask for the password: use --password-stdin")
    password = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != password:
        raise CommandError("The two passwords differ")
    return password


def _context(args: argparse.Namespace):
    from tram_core.cli.common import open_store

    return open_store(args)


def _actor(args: argparse.Namespace):
    """Who manages the accounts: ``--user``'s team account with its role, else the local admin (as every command)."""
    from tram_core.cli.common import acting

    return acting(args, "manage users", _context(args))


def cmd_users_add(args: argparse.Namespace) -> int:
    from tram_core import accounts, oidc_accounts

    actor = _actor(args)  # refused before a password is asked for
    if args.oidc:
        account = oidc_accounts.add_oidc_user(_context(args), actor, args.name, args.role)
        print(f"added user '{account.name}' with role {account.role} (signs in through OpenID Connect)")
        return 0
    password = read_password(args)
    account = accounts.add_user(_context(args), actor, args.name, args.role, password)
    print(f"added user '{account.name}' with role {account.role}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from tram_core import accounts

    rows = accounts.list_users(_context(args), _actor(args))
    if not rows:
        print("no accounts (single-user mode unless TRAM_AUTH=local or oidc)")
        return 0
    print(f"{'name':<24} {'role':<11} {'state':<9} {'last sign-in':<17} failures")
    for a in rows:
        state = "disabled" if a.disabled else ("locked" if a.locked_until else "active")
        last = f"{a.last_sign_in:%Y-%m-%d %H:%M}" if a.last_sign_in else "-"
        print(f"{a.name:<24} {a.role:<11} {state:<9} {last:<17} {a.failed_attempts}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    from tram_core import accounts

    accounts.set_disabled(_context(args), _actor(args), args.name, True)
    print(f"disabled user '{args.name}' (their sessions ended)")
    return 0


def cmd_users_enable(args: argparse.Namespace) -> int:
    from tram_core import accounts

    accounts.set_disabled(_context(args), _actor(args), args.name, False)
    print(f"enabled user '{args.name}'")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    from tram_core import accounts

    account = accounts.set_role(_context(args), _actor(args), args.name, args.role)
    print(f"user '{account.name}' now has role {account.role}")
    return 0


def cmd_users_reset_password(args: argparse.Namespace) -> int:
    from tram_core import accounts

    actor = _actor(args)  # refused before a password is asked for
    password = read_password(args)
    accounts.reset_password(_context(args), actor, args.name, password)
    print(f"new password set for '{args.name}' (their sessions ended)")
    return 0
