"""tram_core.access: the role -> permission table, require's refusals, single-user and team mode, capabilities."""

from __future__ import annotations

import pickle

import pytest

from tram_core import access
from tram_core.access import ADMIN, ANNOTATOR, MAINTAINER, ROLES, VIEWER, Actor, PermissionDenied
from tram_core.errors import UserError


def test_each_role_has_everything_below_it():
    for permission, needed in access.PERMISSIONS.items():
        for role in ROLES:
            assert access.role_allows(role, permission) == (ROLES.index(role) >= ROLES.index(needed))


def test_the_table_says_what_each_role_adds():
    assert access.PERMISSIONS["label sentences"] == ANNOTATOR and access.PERMISSIONS["import reports"] == ANNOTATOR
    assert {access.PERMISSIONS[p] for p in ("start training", "cancel a run", "promote a model", "delete a model",
                                            "edit the label space")} == {MAINTAINER}
    assert access.PERMISSIONS["delete a report"] == ADMIN and access.PERMISSIONS["manage users"] == ADMIN
    assert access.PERMISSIONS["view"] == VIEWER


def test_a_refusal_says_who_what_and_the_role_needed(monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "local")
    with pytest.raises(PermissionDenied) as refused:
        access.require(Actor("vera", VIEWER), "delete a report")
    assert str(refused.value) == "vera (viewer) may not delete a report: it needs the admin role"
    assert isinstance(refused.value, UserError) and "\n" not in str(refused.value)
    assert access.require(Actor("ada", ADMIN), "delete a report").name == "ada"


def test_single_user_mode_makes_a_plain_name_the_local_admin(monkeypatch):
    monkeypatch.delenv("TRAM_AUTH", raising=False)
    assert not access.team_mode()
    actor = access.require("laptop", "delete a report")
    assert (actor.name, actor.role) == ("laptop", ADMIN)


def test_team_mode_refuses_a_plain_name(monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "local")
    with pytest.raises(PermissionDenied, match="sign in first"):
        access.require("mallory", "view")
    assert access.capabilities("mallory").allowed == frozenset()


def test_a_bad_auth_setting_is_one_line(monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "ldap")
    with pytest.raises(UserError, match="TRAM_AUTH must be"):
        access.team_mode()


def test_an_unknown_permission_is_a_bug_not_a_pass():
    with pytest.raises(KeyError):
        access.require(Actor("ada", ADMIN), "launch missiles")


def test_an_actor_is_its_name_and_keeps_its_role_through_pickle():
    actor = Actor("ann", ANNOTATOR)
    assert actor == "ann" and f"{actor}" == "ann" and actor.role == ANNOTATOR
    back = pickle.loads(pickle.dumps(actor))
    assert back == "ann" and back.role == ANNOTATOR
    with pytest.raises(UserError, match="Unknown role"):
        Actor("x", "owner")


def test_capabilities_list_what_the_role_may_do(monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "local")
    viewer = access.capabilities(Actor("vera", VIEWER))
    assert viewer.can("view") and viewer.can("export") and not viewer.label and not viewer.import_reports
    maintainer = access.capabilities(Actor("max", MAINTAINER))
    assert maintainer.train and maintainer.label and not maintainer.delete_reports
    assert access.capabilities(Actor("ada", ADMIN)).allowed == frozenset(access.PERMISSIONS)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_single_user_mode_may_listen_on_loopback(address):
    access.check_listen_address(address, {})


@pytest.mark.parametrize("address", ["0.0.0.0", "", None, "10.1.2.3", "::", "tram.example.org"])
def test_single_user_mode_on_a_reachable_address_is_refused_with_what_to_do(address):
    with pytest.raises(UserError, match="single-user mode .* TRAM_AUTH=local .* TRAM_ALLOW_ANONYMOUS=1"):
        access.check_listen_address(address, {})


def test_sign_in_or_stated_open_access_may_listen_anywhere():
    access.check_listen_address("0.0.0.0", {"TRAM_AUTH": "local"})
    access.check_listen_address("0.0.0.0", {"TRAM_ALLOW_ANONYMOUS": "1"})


def test_oidc_is_team_mode_and_may_listen_anywhere(monkeypatch):
    monkeypatch.setenv("TRAM_AUTH", "OIDC")
    assert access.auth_mode() == access.AUTH_OIDC and access.team_mode()
    with pytest.raises(PermissionDenied, match="sign in first"):
        access.require("mallory", "view")
    access.check_listen_address("0.0.0.0", {"TRAM_AUTH": "oidc"})
    monkeypatch.setenv("TRAM_AUTH", "saml")
    with pytest.raises(UserError, match="^TRAM_AUTH must be 'none', 'local' or 'oidc', not 'saml'$"):
        access.team_mode()
