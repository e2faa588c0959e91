"""Server paths a user types (tram_core.server_paths): an admin may name any folder; everyone else only folders
inside the models folder and TRAM_MODEL_FOLDERS, after symlinks and '..' are resolved, and a refusal reads the same
whether the path exists or not."""

from __future__ import annotations

import os

import pytest

from tram_core.access import ADMIN, ANNOTATOR, MAINTAINER, Actor
from tram_core.server_paths import (OutsideAllowedFolders, allowed_folders, check_base_model, confine_path,
                                    folders_help)
from tram_core.settings import load_settings

MAINTAINER_USER = Actor("mia", MAINTAINER)


@pytest.fixture
def server(tmp_path):
    """A TRAM_HOME, one extra allowed folder (named by TRAM_MODEL_FOLDERS beside a blank entry), and a folder
    outside both holding a model."""
    shared = tmp_path / "shared-models"
    (shared / "bert").mkdir(parents=True)
    secret = tmp_path / "secret"
    (secret / "model").mkdir(parents=True)
    (secret / "model" / "config.json").write_text("{}")
    settings = load_settings({"TRAM_HOME": str(tmp_path / "home"),
                              "TRAM_MODEL_FOLDERS": f"{shared}{os.pathsep}{os.pathsep} "})
    settings.ensure_dirs()
    return settings, shared, secret


def _refusal(settings, typed: str) -> str:
    allowed = ", ".join(str(f) for f in allowed_folders(settings))
    return f"'{typed}' is outside the folders this server allows: {allowed}"


def test_the_allowed_folders_are_the_models_folder_and_the_setting(server):
    settings, shared, _ = server
    assert allowed_folders(settings) == (settings.models_dir.resolve(), shared.resolve())
    assert settings.model_folders == (shared,)
    assert load_settings({"TRAM_HOME": str(settings.home)}).model_folders == ()


def test_a_maintainer_may_name_folders_inside_the_allowed_ones(server):
    settings, shared, _ = server
    assert confine_path(MAINTAINER_USER, str(shared / "bert"), settings) == (shared / "bert").resolve()
    inside = settings.models_dir / "run-3"
    assert confine_path(MAINTAINER_USER, f"  {inside}  ", settings) == inside.resolve()
    # '..' that stays inside is fine; the returned path is the resolved one the worker will read
    assert confine_path(MAINTAINER_USER, str(shared / "bert" / ".." / "bert"), settings) == (shared / "bert").resolve()


@pytest.mark.parametrize("escape", ["dotdot", "symlink", "symlinked_parent", "absolute", "sibling_prefix"])
def test_escapes_are_refused_after_resolving(server, escape):
    settings, shared, secret = server
    if escape == "dotdot":
        typed = str(shared / ".." / "secret" / "model")
    elif escape == "symlink":  # a link inside an allowed folder that points outside it
        (shared / "link").symlink_to(secret / "model")
        typed = str(shared / "link")
    elif escape == "symlinked_parent":
        (settings.models_dir / "elsewhere").symlink_to(secret)
        typed = str(settings.models_dir / "elsewhere" / "model")
    elif escape == "absolute":
        typed = str(secret / "model")
    else:  # /x/shared-models-evil is not inside /x/shared-models
        (shared.parent / "shared-models-evil").mkdir()
        typed = str(shared.parent / "shared-models-evil")
    with pytest.raises(OutsideAllowedFolders) as refused:
        confine_path(MAINTAINER_USER, typed, settings)
    assert str(refused.value) == _refusal(settings, typed)


def test_a_refusal_does_not_say_whether_the_path_exists(server):
    settings, _, secret = server
    exists, missing = secret / "model", secret / "modex"
    messages = []
    for path in (exists, missing):
        with pytest.raises(OutsideAllowedFolders) as refused:
            confine_path(Actor("ann", ANNOTATOR), str(path), settings)
        messages.append(str(refused.value).replace(str(path), "PATH"))
    assert messages[0] == messages[1]
    with pytest.raises(OutsideAllowedFolders) as refused:  # a NUL byte cannot be resolved: refused the same way
        confine_path(MAINTAINER_USER, "/tmp/a\x00b", settings)
    assert "is outside the folders this server allows" in str(refused.value)


def test_an_admin_and_the_single_user_mode_name_any_folder(server, monkeypatch):
    settings, _, secret = server
    assert confine_path(Actor("ada", ADMIN), str(secret / "model"), settings) == (secret / "model").resolve()
    monkeypatch.delenv("TRAM_AUTH", raising=False)
    assert confine_path("laptop user", str(secret / "model"), settings) == (secret / "model").resolve()
    assert folders_help("laptop user", settings) == "Any folder on the server (you are an admin)."
    monkeypatch.setenv("TRAM_AUTH", "local")  # team mode: a plain name is nobody, so confined
    with pytest.raises(OutsideAllowedFolders):
        confine_path("ada", str(secret / "model"), settings)
    assert folders_help(MAINTAINER_USER, settings).endswith(
        ", ".join(str(f) for f in allowed_folders(settings)))


def test_a_base_model_spec_is_confined_only_where_the_worker_reads_a_folder(server, monkeypatch, tmp_path):
    settings, shared, secret = server
    for spec in ("embedded", "tram-scibert", "baseline", "trained:7", "allenai/scibert_scivocab_uncased"):
        assert check_base_model(MAINTAINER_USER, spec, settings) == spec
    assert check_base_model(MAINTAINER_USER, str(shared / "bert"), settings) == str((shared / "bert").resolve())
    for spec in (str(secret / "model"), "~/model", "../secret/model", "a/b/c"):
        with pytest.raises(OutsideAllowedFolders):
            check_base_model(MAINTAINER_USER, spec, settings)
    # A hub-looking name that is a folder in the server's working directory would be read as that folder.
    monkeypatch.chdir(secret)
    with pytest.raises(OutsideAllowedFolders):
        check_base_model(MAINTAINER_USER, "model", settings)
    assert check_base_model(Actor("ada", ADMIN), "model", settings) == "model"
