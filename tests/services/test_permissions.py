"""The role x action matrix in tram_core: for every write action of the services, each role below the one it needs
is refused (with who, what and the role needed) and changes nothing; the needed role and those above get through
the permission check. In team mode; single-user mode is every other service test (a plain name is the admin)."""

from __future__ import annotations

import pytest

from tests.views.test_annotation import SCORES, add_model, add_report
from tram_core.access import PERMISSIONS, ROLES, Actor, PermissionDenied
from tram_core.jobs import queue
from tram_core.services import accounts, activity, report_imports
from tram_core.services import agreement as agreement_svc
from tram_core.services import annotate as annotate_svc
from tram_core.services import reports as reports_svc
from tram_core.services import train as train_svc
from tram_core.services import train_live

TEXT = "The actor sent spearphishing emails. The payload added a run key."


@pytest.fixture
def team(ctx, monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "local")
    report_id, ids = add_report(ctx.store)
    model_id = add_model(ctx.store, ids, SCORES)
    job_id = queue.submit_training(ctx.store, {"base": "baseline"}, "someone")
    return ctx, report_id, ids, model_id, job_id


def _cursor(ctx, report_id):
    cursor = annotate_svc.Cursor(report_id=report_id)
    annotate_svc.settle(cursor, annotate_svc.report_titles(ctx), annotate_svc.suggestion_models(ctx))
    return cursor


def _noted(run):
    """Run a page action that reports failures as notes on the cursor; raise the refusal it noted, if any."""
    cursor = run()
    for note in cursor.take_notes():
        if note.kind == "error" and ("may not" in note.text or "sign in first" in note.text):
            raise PermissionDenied(note.text)


def _save(ctx, user, report_id, ids):
    def run():
        cursor = _cursor(ctx, report_id)
        annotate_svc.read(ctx, cursor)
        annotate_svc.save(ctx, user, cursor, ["T1055"], annotate_svc.SAVE_LABELS, annotate_svc.DEFAULT_FILTERS)
        return cursor
    _noted(run)


def _undo(ctx, user, report_id):
    def run():
        cursor = _cursor(ctx, report_id)
        annotate_svc.undo(ctx, user, cursor)
        return cursor
    _noted(run)


def _decide(ctx, user, report_id, ids):
    def run():
        cursor = _cursor(ctx, report_id)
        annotate_svc.decide(ctx, user, cursor, ctx.store.get_sentence(ids[0]), "T1055", True)
        return cursor
    _noted(run)


# (permission, action(ctx, user, report id, sentence ids, model id, job id)); each reaches the permission check
# first, so a role that passes may still fail later for an unrelated reason (caught as 'not refused').
ACTIONS = {
    "export": lambda c, u, r, i, m, j: reports_svc.prepare_export(
        c, u, reports_svc.export_request(c, "csv", reports_svc.SCOPES[0], r, False, False, None)),
    "label sentences": lambda c, u, r, i, m, j: _save(c, u, r, i),
    "label sentences (technique view)": lambda c, u, r, i, m, j: _decide(c, u, r, i),
    "undo": lambda c, u, r, i, m, j: _undo(c, u, r),
    "import reports": lambda c, u, r, i, m, j: report_imports.import_text(c, u, "t", TEXT),
    "run a model": lambda c, u, r, i, m, j: reports_svc.queue_prediction(c, u, m, r),
    "start training": lambda c, u, r, i, m, j: train_svc.start_training(c, u, None),
    "cancel a run": lambda c, u, r, i, m, j: train_live.cancel_run(c, u, j),
    "promote a model": lambda c, u, r, i, m, j: train_svc.promote(c, u, m),
    "delete a model": lambda c, u, r, i, m, j: train_svc.delete_model(c, u, m),
    "see the activity": lambda c, u, r, i, m, j: activity.list_activity(c, u),
    "delete a report": lambda c, u, r, i, m, j: reports_svc.delete_report(c, u, r),
    "manage users": lambda c, u, r, i, m, j: accounts.add_user(c, u, f"new-{u}", "viewer", "long enough pw"),
    "set up double annotation": lambda c, u, r, i, m, j: agreement_svc.set_share(c, u, 10, r),
    "adjudicate": lambda c, u, r, i, m, j: agreement_svc.adjudicate(c, u, i[0], "first"),
}


def _needed(action: str) -> str:
    return PERMISSIONS[action.split(" (")[0]]


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_every_role_below_the_needed_one_is_refused_and_the_rest_pass(team, action, role):
    ctx, report_id, ids, model_id, job_id = team
    user = Actor(f"{role}-user", role)
    needed = _needed(action)
    permission = action.split(" (")[0]
    run = ACTIONS[action]
    if ROLES.index(role) < ROLES.index(needed):
        reports_before = len(ctx.store.list_reports())
        with pytest.raises(PermissionDenied) as refused:
            run(ctx, user, report_id, ids, model_id, job_id)
        assert f"{role}-user ({role}) may not {permission}: it needs the {needed} role" in str(refused.value)
        assert len(ctx.store.list_reports()) == reports_before
        assert ctx.store.audit_events(kinds=("delete report", "import", "delete model")) == []
        assert [m.id for m in ctx.store.list_models()] == [model_id]
    else:
        try:
            run(ctx, user, report_id, ids, model_id, job_id)
        except PermissionDenied as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{role} refused {action}: {exc}")
        except Exception:  # noqa: BLE001 - past the permission check; the action's own checks are tested elsewhere
            pass


def test_a_forged_plain_name_acts_as_nobody_in_team_mode(team):
    ctx, report_id, ids, model_id, job_id = team
    with pytest.raises(PermissionDenied, match="sign in first"):
        reports_svc.delete_report(ctx, "admin", report_id)
    assert [r.id for r in ctx.store.list_reports()] == [report_id]


def test_every_write_permission_is_in_the_matrix():
    tested = {a.split(" (")[0] for a in ACTIONS}
    # The label space has no store of its own: each run carries one, so starting a run is where it is set (below).
    untested = set(PERMISSIONS) - tested - {"view", "edit the label space"}
    assert not untested, f"write permissions without a matrix row: {untested}"


def test_starting_a_run_sets_its_label_space_and_needs_that_permission(team, monkeypatch):
    """Were "edit the label space" kept for admins, a maintainer could no longer start a run: the check is there."""
    from tram_core import access

    ctx = team[0]
    monkeypatch.setitem(access.PERMISSIONS, "edit the label space", access.ADMIN)
    with pytest.raises(PermissionDenied, match=r"mia \(maintainer\) may not edit the label space: it needs the "
                                               "admin role"):
        train_svc.start_training(ctx, Actor("mia", "maintainer"), None)
    assert [j.id for j in ctx.store.list_jobs()] == [team[4]]
