"""`python -m tram_core users`: add, list, disable, enable, set-role, reset-password. Passwords come from stdin or a
hidden prompt (never an argument), are never echoed, and `users list` shows no hash."""

from __future__ import annotations

import io

import pytest

from tests.cli.helpers import run
from tram_core import accounts

PASSWORD = "s3cret-enough-pw"


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_add_reads_the_password_from_stdin_and_never_echoes_it(store, capsys, monkeypatch):
    _stdin(monkeypatch, PASSWORD + "\n")
    code, out, err = run(capsys, "users", "add", "vera", "--role", "viewer", "--password-stdin")
    assert code == 0 and out.strip() == "added user 'vera' with role viewer"
    assert PASSWORD not in out + err
    assert accounts.authenticate(store, "vera", PASSWORD).actor.role == "viewer"


def test_list_shows_accounts_without_any_hash(store, capsys, monkeypatch):
    _stdin(monkeypatch, PASSWORD + "\n")
    run(capsys, "users", "add", "vera", "--role", "annotator", "--password-stdin")
    code, out, _ = run(capsys, "users", "list")
    assert code == 0 and "vera" in out and "annotator" in out and "active" in out
    assert "argon2" not in out and "$" not in out and PASSWORD not in out


def test_set_role_disable_enable_and_reset_password(store, capsys, monkeypatch):
    _stdin(monkeypatch, PASSWORD + "\n")
    run(capsys, "users", "add", "vera", "--role", "viewer", "--password-stdin")
    assert run(capsys, "users", "set-role", "vera", "maintainer")[0] == 0
    assert store.get_user("vera").role == "maintainer"
    assert run(capsys, "users", "disable", "vera")[0] == 0
    assert "disabled" in run(capsys, "users", "list")[1]
    assert run(capsys, "users", "enable", "vera")[0] == 0
    _stdin(monkeypatch, "another-long-pw\n")
    code, out, err = run(capsys, "users", "reset-password", "vera", "--password-stdin")
    assert code == 0 and "another-long-pw" not in out + err
    assert accounts.authenticate(store, "vera", "another-long-pw").actor == "vera"
    kinds = [e.kind for e in store.audit_events()]
    assert {"user add", "user role", "user disable", "user enable", "user password"} <= set(kinds)
    assert all(e.user == "ana" for e in store.audit_events(kinds=("user role",)))


def test_bad_input_is_one_line(store, capsys, monkeypatch):
    _stdin(monkeypatch, "short\n")
    code, _, err = run(capsys, "users", "add", "vera", "--role", "viewer", "--password-stdin")
    assert code == 2 and "at least 8" in err and "short" not in err.replace("at least", "")
    _stdin(monkeypatch, "")
    assert "No password on standard input" in run(capsys, "users", "add", "x", "--role", "viewer",
                                                    "--password-stdin")[2]
    assert "No user named 'ghost'" in run(capsys, "users", "disable", "ghost")[2]
    _stdin(monkeypatch, PASSWORD + "\n")
    run(capsys, "users", "add", "vera", "--role", "viewer", "--password-stdin")
    _stdin(monkeypatch, PASSWORD + "\n")
    assert "exists already" in run(capsys, "users", "add", "vera", "--role", "viewer", "--password-stdin")[2]


def test_a_password_is_never_an_argument(store, capsys):
    with pytest.raises(SystemExit):
        run(capsys, "users", "add", "vera", "--role", "viewer", "--password", PASSWORD)


def test_the_prompt_asks_twice_without_echo(store, capsys, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Tty(""))
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, out, err = run(capsys, "users", "add", "vera", "--role", "admin")
    assert code == 0 and PASSWORD not in out + err
    answers = iter([PASSWORD, "different-pw-1"])
    assert "differ" in run(capsys, "users", "reset-password", "vera")[2]


def test_command_line_changes_are_audited_as_the_operator(filled, capsys):
    job_code, out, _ = run(capsys, "train", "--base", "baseline")
    assert job_code == 0, out
    [train] = filled.audit_events(kinds=("train",))
    assert train.user == "ana" and train.target.startswith("job ")
    job_id = int(train.target.split()[1])
    assert run(capsys, "cancel", str(job_id))[0] == 0
    [cancel] = filled.audit_events(kinds=("cancel",))
    assert (cancel.user, cancel.target) == ("ana", f"job {job_id}")


def test_add_an_oidc_account_asks_no_password_and_keeps_the_role_at_sign_in(store, capsys, monkeypatch):
    from tram_core import oidc_accounts

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nothing to read: no password is asked
    code, out, err = run(capsys, "users", "add", "Alice@Example.com", "--role", "annotator", "--oidc")
    assert code == 0, err
    assert out.strip() == "added user 'alice@example.com' with role annotator (signs in through OpenID Connect)"
    claims = {"email": "alice@example.com", "email_verified": True, "sub": "1", "iss": "https://idp.example.org"}
    assert oidc_accounts.oidc_sign_in(store, claims).role == "annotator"
    with pytest.raises(accounts.SignInError):  # no password to sign in with locally
        accounts.authenticate(store, "alice@example.com", "")
    assert run(capsys, "users", "set-role", "alice@example.com", "admin")[0] == 0
    assert oidc_accounts.oidc_sign_in(store, claims).role == "admin"
    assert "not allowed with argument" in run_error(capsys, "users", "add", "bob@example.com", "--role", "viewer",
                                                    "--oidc", "--password-stdin")


def run_error(capsys, *argv: str) -> str:
    """The usage error argparse prints for a refused command line."""
    with pytest.raises(SystemExit):
        run(capsys, *argv)
    return capsys.readouterr().err


def test_a_team_account_below_admin_cannot_manage_users_from_the_command_line(tram_home):
    from tram_core import accounts
    from tram_core.access import local_user
    from tram_core.cli import main
    from tram_core.store import Store
    from tram_core.settings import load_settings

    store = Store.from_settings(load_settings())
    accounts.add_user(store, local_user("root"), "mia", "maintainer", "a long enough password 1")
    assert main(["--user", "mia", "users", "add", "eve", "--role", "viewer", "--password-stdin"]) == 2
    assert [a.name for a in accounts.list_users(store, local_user("root"))] == ["mia"]
