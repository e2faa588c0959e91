"""Local accounts: Argon2 hashing, sign-in with a growing lock, sessions that expire, user management by admins,
no hash anywhere it could leak, and an audit row for every change kind."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from tests.views.test_annotation import SCORES, add_model, add_report
from tram_core import accounts as core_accounts
from tram_core.access import ADMIN, ANNOTATOR, MAINTAINER, VIEWER, Actor, PermissionDenied
from tram_core.errors import UserError
from tram_core.jobs import queue
from tram_core.services import accounts, activity, report_imports
from tram_core.services import annotate as annotate_svc
from tram_core.services import reports as reports_svc
from tram_core.services import train as train_svc
from tram_core.services import train_live
from tram_core.store import utcnow

ADA = Actor("ada", ADMIN)
PASSWORD = "correct horse battery"


@pytest.fixture
def team(ctx, monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "local")
    accounts.add_user(ctx, ADA, "vera", VIEWER, PASSWORD)
    return ctx


def test_passwords_are_argon2_hashed_and_verified():
    hashed = core_accounts.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert core_accounts.verify_password(hashed, PASSWORD)
    assert not core_accounts.verify_password(hashed, PASSWORD + "!")
    assert not core_accounts.verify_password("not a hash", PASSWORD)
    with pytest.raises(UserError, match="at least 8"):
        core_accounts.hash_password("short")


def test_sign_in_gives_a_session_whose_user_carries_the_role(team):
    signed = accounts.authenticate(team, "vera", PASSWORD)
    assert (signed.actor, signed.actor.role) == ("vera", VIEWER) and len(signed.token) >= 40
    user = accounts.session_user(team, signed.token)
    assert user == "vera" and user.role == VIEWER
    assert accounts.session_user(team, "forged-token") is None and accounts.session_user(team, "") is None
    assert team.store.get_user("vera").last_sign_in is not None
    accounts.sign_out(team, signed.token)
    assert accounts.session_user(team, signed.token) is None


def test_a_session_expires(team, monkeypatch):
    monkeypatch.setenv("TRAM_SESSION_HOURS", "2")
    now = utcnow()
    signed = accounts.authenticate(team, "vera", PASSWORD, now=now)
    assert accounts.session_user(team, signed.token, now=now + timedelta(hours=1)) == "vera"
    assert accounts.session_user(team, signed.token, now=now + timedelta(hours=2, seconds=1)) is None
    assert accounts.session_user(team, signed.token, now=now) is None  # an expired session is gone for good


def test_wrong_passwords_lock_the_account_for_a_growing_time(team):
    now = utcnow()
    for _ in range(core_accounts.FREE_ATTEMPTS - 1):
        with pytest.raises(accounts.SignInError, match="^Wrong name or password$"):
            accounts.authenticate(team, "vera", "wrong password", now=now)
    assert team.store.get_user("vera").locked_until is None
    with pytest.raises(accounts.SignInError):
        accounts.authenticate(team, "vera", "wrong password", now=now)
    locked = team.store.get_user("vera").locked_until
    assert locked == now + core_accounts.FIRST_LOCK
    with pytest.raises(accounts.SignInError, match="try again in"):
        accounts.authenticate(team, "vera", PASSWORD, now=now + timedelta(seconds=5))  # even the right one
    later = locked + timedelta(seconds=1)
    with pytest.raises(accounts.SignInError):
        accounts.authenticate(team, "vera", "wrong again", now=later)
    assert team.store.get_user("vera").locked_until == later + 2 * core_accounts.FIRST_LOCK
    assert core_accounts.lock_for(50) == core_accounts.LONGEST_LOCK
    signed = accounts.authenticate(team, "vera", PASSWORD, now=later + timedelta(hours=2))
    assert signed.actor == "vera" and team.store.get_user("vera").failed_attempts == 0


def test_an_unknown_name_gets_the_same_words_as_a_wrong_password(team):
    with pytest.raises(accounts.SignInError, match="^Wrong name or password$"):
        accounts.authenticate(team, "nobody", PASSWORD)


def test_disabling_ends_sessions_and_refuses_sign_in(team):
    signed = accounts.authenticate(team, "vera", PASSWORD)
    accounts.set_disabled(team, ADA, "vera")
    assert accounts.session_user(team, signed.token) is None
    with pytest.raises(accounts.SignInError, match="^Wrong name or password$"):  # the same as a wrong password
        accounts.authenticate(team, "vera", PASSWORD)
    with pytest.raises(accounts.SignInError, match="^Wrong name or password$"):
        accounts.authenticate(team, "vera", "not-the-password")
    accounts.set_disabled(team, ADA, "vera", False)
    assert accounts.authenticate(team, "vera", PASSWORD).actor == "vera"


def test_a_new_password_ends_sessions_and_the_old_one(team):
    signed = accounts.authenticate(team, "vera", PASSWORD)
    accounts.reset_password(team, ADA, "vera", "another long one")
    assert accounts.session_user(team, signed.token) is None
    with pytest.raises(accounts.SignInError):
        accounts.authenticate(team, "vera", PASSWORD)
    assert accounts.authenticate(team, "vera", "another long one").actor == "vera"


def test_a_role_change_takes_effect_on_the_next_request(team):
    signed = accounts.authenticate(team, "vera", PASSWORD)
    accounts.set_role(team, ADA, "vera", MAINTAINER)
    assert accounts.session_user(team, signed.token).role == MAINTAINER
    with pytest.raises(UserError, match="Unknown role"):
        accounts.set_role(team, ADA, "vera", "owner")


def test_only_admins_manage_users(team):
    with pytest.raises(PermissionDenied, match=r"max \(maintainer\) may not manage users: it needs the admin role"):
        accounts.add_user(team, Actor("max", MAINTAINER), "eve", ADMIN, PASSWORD)
    with pytest.raises(PermissionDenied):
        accounts.list_users(team, Actor("vera", VIEWER))
    assert [u.name for u in accounts.list_users(team, ADA)] == ["vera"]


def test_no_record_or_audit_row_carries_a_password_or_hash(team):
    accounts.reset_password(team, ADA, "vera", "another long one")
    records = accounts.list_users(team, ADA)
    assert all("password_hash" not in dataclasses.asdict(r) for r in records)
    dump = repr(records) + repr(team.store.audit_events())
    assert "argon2" not in dump and PASSWORD not in dump and "another long one" not in dump


def _kinds(ctx) -> set[str]:
    return {a.kind for a in activity.list_activity(ctx, ADA)}


def test_every_change_kind_leaves_an_audit_row(team):
    ctx = team
    report_id, ids = add_report(ctx.store)
    model_id = add_model(ctx.store, ids, SCORES, promote=False)
    report_imports.import_text(ctx, ADA, "Pasted", "The actor used a run key. It dumped credentials.")
    ctx.store.set_labels(ids[0], ["T1055"], "ada")
    ctx.store.set_labels(ids[1], [], "ada", status="reviewed")
    annotate_svc.undo(ctx, ADA, annotate_svc.Cursor(report_id=report_id))
    job_id = queue.submit_training(ctx.store, {"base": "baseline"}, "ada")
    train_live.cancel_run(ctx, ADA, job_id)
    train_svc.promote(ctx, ADA, model_id)
    reports_svc.queue_prediction(ctx, ADA, model_id, report_id)
    reports_svc.delete_report(ctx, ADA, report_id)
    accounts.set_role(team, ADA, "vera", ANNOTATOR)
    accounts.set_disabled(team, ADA, "vera")
    accounts.set_disabled(team, ADA, "vera", False)
    accounts.reset_password(team, ADA, "vera", "another long one")
    signed = accounts.authenticate(team, "vera", "another long one")
    with pytest.raises(accounts.SignInError):
        accounts.authenticate(team, "vera", "wrong")
    accounts.sign_out(team, signed.token)
    assert _kinds(ctx) >= {"label", "review", "undo", "import", "cancel", "promote", "run model", "delete report",
                           "user add", "user role", "user disable", "user enable", "user password", "sign in",
                           "sign in failed", "sign out"}
    [promoted] = activity.list_activity(ctx, ADA, kinds=["promote"])
    assert (promoted.user, promoted.before, promoted.after) == ("ada", {"promoted": None}, {"promoted": model_id})
    [role] = activity.list_activity(ctx, ADA, kinds=["user role"])
    assert (role.target, role.before, role.after) == ("vera", {"role": VIEWER}, {"role": ANNOTATOR})


def test_activity_filters_by_person_kind_and_date_and_exports_safe_csv(team):
    accounts.add_user(team, ADA, "=cmd|' /C calc'!A0", VIEWER, PASSWORD)
    accounts.set_role(team, ADA, "vera", ANNOTATOR)
    with pytest.raises(accounts.SignInError):
        accounts.authenticate(team, "vera", "wrong")
    assert {a.kind for a in activity.list_activity(team, ADA, person="vera")} == {"sign in failed"}
    assert [a.kind for a in activity.list_activity(team, ADA, kinds=["user add"])] == ["user add", "user add"]
    today = utcnow().date()
    assert activity.list_activity(team, ADA, since=today + timedelta(days=1)) == []
    assert len(activity.list_activity(team, ADA, since=today, until=today)) == 4
    assert activity.list_activity(team, ADA, until=date(2000, 1, 1)) == []
    data = activity.export_activity(team, ADA, kinds=["user add"]).decode()
    assert data.splitlines()[0] == "at,user,kind,target,before,after"
    assert "'=cmd" in data and "\n=cmd" not in data and ",=cmd" not in data
    with pytest.raises(PermissionDenied, match="needs the maintainer role"):
        activity.list_activity(team, Actor("vera", ANNOTATOR))


def test_parallel_failed_sign_ins_all_count(team):
    """Eight guesses at once: each one is counted (a read-then-write counter lost some), so the lock follows."""
    import threading

    def guess() -> None:
        with pytest.raises(accounts.SignInError):
            accounts.authenticate(team, "vera", "a wrong guess")

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    account = team.store.get_user("vera")
    assert account.failed_attempts >= 3 and account.locked_until is not None
