"""Who a command acts as (tram_core.cli.common): ``--user NAME`` is that team account with its role, refused as a page
would refuse it; a name with no account, or no ``--user``, is the local admin of that name; every change says once
on stderr who made it, and the audit trail records that name."""

from __future__ import annotations

import pytest

from tests.views.test_annotation import SCORES, add_model, add_report
from tram_core import accounts
from tram_core.access import ADMIN, Actor, PermissionDenied
from tram_core.cli import main
from tram_core.services import reports as reports_svc
from tram_core.services.common import Context

PASSWORD = "correct horse battery"


@pytest.fixture
def team(store, monkeypatch):
    """Accounts (a viewer, a maintainer, a disabled annotator), a report and a promoted model; TRAM_USER is 'ops'."""
    monkeypatch.setenv("TRAM_USER", "ops")
    ada = Actor("ada", ADMIN)
    for name, role in (("vera", "viewer"), ("mia", "maintainer"), ("dora", "annotator")):
        accounts.add_user(store, ada, name, role, PASSWORD)
    accounts.set_disabled(store, ada, "dora")
    report_id, ids = add_report(store, title="Kept")
    model_id = add_model(store, ids, SCORES)
    return store, report_id, model_id


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_without_user_the_command_acts_as_the_local_admin_and_says_so_once(team, capsys):
    store, report_id, model_id = team
    code, out, err = run(capsys, "reports", "delete", str(report_id), "--yes")
    assert code == 0 and out.startswith(f"deleted report #{report_id} 'Kept'")
    assert err == ("acting as local admin 'ops' (no account named 'ops'; give --user NAME to act as a team "
                   "account)\n")
    [audited] = store.audit_events(kinds=("delete report",))
    assert audited.user == "ops"


def test_a_name_with_no_account_is_the_local_admin_of_that_name_even_in_team_mode(team, capsys, monkeypatch):
    store, report_id, _ = team
    monkeypatch.setenv("TRAM_AUTH", "local")
    code, _, err = run(capsys, "--user", "bob", "reports", "delete", str(report_id), "--yes")
    assert code == 0 and err.startswith("acting as local admin 'bob' (no account named 'bob'")
    assert store.list_reports() == [] and store.audit_events(kinds=("delete report",))[0].user == "bob"


def test_the_default_name_stays_the_local_admin_even_when_an_account_has_it(team, capsys, monkeypatch):
    store, report_id, _ = team
    monkeypatch.setenv("TRAM_USER", "vera")
    code, _, err = run(capsys, "reports", "delete", str(report_id), "--yes")
    assert code == 0
    assert err == "acting as local admin 'vera' (no --user given; give --user vera to act as the team account)\n"


def test_a_viewer_account_is_refused_with_the_line_a_page_shows(team, capsys):
    store, report_id, _ = team
    code, out, err = run(capsys, "--user", "vera", "reports", "delete", str(report_id), "--yes")
    with pytest.raises(PermissionDenied) as page:
        reports_svc.delete_report(Context(None, store, None), Actor("vera", "viewer"), report_id)
    assert code == 2 and out == "" and err == f"error: {page.value}\n"
    assert str(page.value) == "vera (viewer) may not delete a report: it needs the admin role"
    assert [r.id for r in store.list_reports()] == [report_id] and store.audit_events(kinds=("delete report",)) == []


def test_a_maintainer_account_acts_with_its_role(team, capsys):
    store, report_id, model_id = team
    store.promote_model(model_id)  # promote again: a change a maintainer may make
    code, _, err = run(capsys, "--user", "mia", "promote", str(model_id))
    assert code == 0 and err == "acting as team account 'mia' (maintainer)\n"
    assert [e.user for e in store.audit_events(kinds=("promote",))] == ["mia"]
    assert [j.created_by for j in store.list_jobs()] == ["mia"]
    code, _, err = run(capsys, "--user", "mia", "reports", "delete", str(report_id), "--yes")
    assert code == 2 and err == "error: mia (maintainer) may not delete a report: it needs the admin role\n"


def test_a_disabled_account_is_refused_in_one_line(team, capsys):
    store, report_id, _ = team
    code, _, err = run(capsys, "--user", "dora", "label", "1", "T1055")
    assert code == 2 and err == ("error: The account 'dora' is disabled: it cannot act (an admin can enable it with "
                                 "python -m tram_core users enable dora)\n")
    assert store.get_sentence(1).labels == () and store.label_history() == []


def test_reading_commands_say_nothing_about_who_acts(team, capsys):
    for argv in (("reports",), ("models",), ("jobs",), ("--user", "vera", "reports", "list")):
        code, _, err = run(capsys, *argv)
        assert code == 0 and err == "", argv


def test_a_reading_check_names_nobody_and_a_later_change_says_who_acts_once(team, capsys, settings):
    import argparse

    from tram_core.cli.common import acting

    store = team[0]
    args = argparse.Namespace(user="vera", user_given=True, settings=settings)
    assert acting(args, "view", store).role == "viewer" and capsys.readouterr().err == ""
    args = argparse.Namespace(user="mia", user_given=True, settings=settings)
    for permission in ("view", "start training", "edit the label space"):
        assert acting(args, permission, store) == "mia"
    assert capsys.readouterr().err == "acting as team account 'mia' (maintainer)\n" and args.user == "mia"
