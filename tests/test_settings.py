"""Settings come from environment variables with defaults under one TRAM_HOME folder."""

from pathlib import Path

import pytest

from tram_core.settings import load_settings


def test_defaults_put_everything_under_tram_home(tmp_path):
    settings = load_settings({"TRAM_HOME": str(tmp_path / "home")})
    assert settings.home == tmp_path / "home"
    assert settings.database_url == f"sqlite:///{tmp_path / 'home' / 'tram.sqlite3'}"
    assert settings.models_dir == tmp_path / "home" / "models"
    assert not settings.offline


def test_environment_overrides(tmp_path):
    settings = load_settings({"TRAM_HOME": str(tmp_path), "TRAM_DATABASE_URL": "postgresql://u:p@db/tram",
                              "HF_HUB_OFFLINE": "1", "TRAM_DEVICE": "cpu"})
    assert settings.database_url == "postgresql://u:p@db/tram"
    assert settings.offline and settings.device == "cpu"
    assert load_settings({}).home == Path("./tram_data").resolve()


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-5", "601", "soon"])
def test_a_url_timeout_that_would_disable_the_deadline_is_refused(value):
    from tram_core.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="TRAM_URL_TIMEOUT_S"):
        load_settings({"TRAM_HOME": "/tmp/tram-settings-test", "TRAM_URL_TIMEOUT_S": value})
