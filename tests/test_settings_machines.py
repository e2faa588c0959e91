"""The settings several machines share or set apart: TRAM_MODELS_DIR (the models folder) and TRAM_WORKER_HOST."""

from __future__ import annotations

import socket

import pytest

from tram_core.settings import SettingsError, load_settings, this_host


def test_the_models_folder_defaults_under_tram_home_and_can_be_shared(tmp_path):
    assert load_settings({"TRAM_HOME": str(tmp_path / "a")}).models_dir == tmp_path / "a" / "models"
    shared = load_settings({"TRAM_HOME": str(tmp_path / "a"), "TRAM_MODELS_DIR": str(tmp_path / "nfs" / "models")})
    assert shared.models_dir == tmp_path / "nfs" / "models" and shared.home == tmp_path / "a"
    shared.ensure_dirs()
    assert (tmp_path / "nfs" / "models").is_dir() and not (tmp_path / "a" / "models").exists()


def test_a_models_folder_that_is_a_file_is_refused_by_name(tmp_path):
    (tmp_path / "models.txt").write_text("not a folder")
    with pytest.raises(SettingsError, match="TRAM_MODELS_DIR: .*models.txt' is a file, not a folder"):
        load_settings({"TRAM_HOME": str(tmp_path), "TRAM_MODELS_DIR": str(tmp_path / "models.txt")})


def test_the_worker_host_is_the_machines_name_unless_set():
    assert this_host({}) == socket.gethostname() == load_settings({}).worker_host
    assert this_host({"TRAM_WORKER_HOST": " gpu-box-2 "}) == "gpu-box-2"
    assert load_settings({"TRAM_WORKER_HOST": "gpu-box-2"}).worker_host == "gpu-box-2"
