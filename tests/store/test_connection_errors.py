"""A database that cannot be reached (store/base.py): the app's store, the CLI and the worker each say in one line
which database (password hidden) and why, instead of a driver traceback."""

from __future__ import annotations

import socket

import pytest

from tram_core.cli import main
from tram_core.services import common
from tram_core.store import Store, StoreError

PASSWORD = "s3cret-pw"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound for a moment, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_one_masked_line(message: str, *expected: str) -> None:
    assert "\n" not in message and PASSWORD not in message and "Traceback" not in message
    for text in expected:
        assert text in message, message


@pytest.fixture
def closed_url(tram_home, monkeypatch) -> str:
    url = f"postgresql+psycopg://tram:{PASSWORD}@127.0.0.1:{closed_port()}/tram"
    monkeypatch.setenv("TRAM_DATABASE_URL", url)
    return url


def test_a_closed_port_is_one_line_naming_the_database_and_the_refusal(closed_url):
    port = closed_url.rsplit(":", 1)[1].split("/")[0]
    with pytest.raises(StoreError) as refused:
        Store(closed_url)
    assert_one_masked_line(str(refused.value), "Cannot reach the database",
                           f"postgresql+psycopg://tram:***@127.0.0.1:{port}/tram", "Connection refused")


def test_the_app_sidebar_path_gets_the_same_line(closed_url):
    with pytest.raises(StoreError) as refused:
        common.open_store(common.load_settings())
    line = common.error_line(refused.value, "Opening the database")
    assert_one_masked_line(line, "Opening the database: Cannot reach the database", "127.0.0.1", "Connection refused")


@pytest.mark.parametrize("command", [["jobs"], ["worker", "--once"]])
def test_the_cli_and_the_worker_exit_with_one_line(closed_url, command, capsys):
    assert main(command) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: Cannot reach the database postgresql+psycopg://tram:***@127.0.0.1:")
    assert_one_masked_line(err.strip(), "Connection refused")


def test_a_url_that_is_no_database_url_is_one_line():
    with pytest.raises(StoreError) as refused:
        Store(f"not a url with {PASSWORD}")
    assert_one_masked_line(str(refused.value), "TRAM_DATABASE_URL is not a database URL", "postgresql+psycopg://")


@pytest.fixture
def password_user(pg_cluster) -> str:
    """A role that must give its password (scram-sha-256 for its socket connections); the cluster's own ``postgres``
    role keeps trust. Returns the role's name."""
    role = "tram_with_password"
    hba = pg_cluster.data / "pg_hba.conf"
    rule = f"local all {role} scram-sha-256\n"
    if rule not in hba.read_text():
        hba.write_text(rule + hba.read_text())
        pg_cluster._admin("SELECT pg_reload_conf()")
        pg_cluster._admin(f"DROP ROLE IF EXISTS {role}")
        pg_cluster._admin(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{PASSWORD}'")
    return role


def test_a_wrong_password_on_a_real_server_is_one_line(pg_cluster, password_user):
    name = pg_cluster.new_database()
    try:
        good = pg_cluster.url(name).replace("postgres@", f"{password_user}:{PASSWORD}@")
        pg_cluster._admin(f"ALTER DATABASE {name} OWNER TO {password_user}")
        Store(good).engine.dispose()  # the right password opens it (and makes the schema)
        wrong = good.replace(PASSWORD, "wrong-pw")
        with pytest.raises(StoreError) as refused:
            Store(wrong)
        assert_one_masked_line(str(refused.value), "Cannot reach the database", f"{password_user}:***@",
                               f'password authentication failed for user "{password_user}"')
        assert "wrong-pw" not in str(refused.value)
    finally:
        pg_cluster.drop_database(name)


def test_a_database_that_does_not_exist_is_one_line(pg_cluster, monkeypatch, tram_home, capsys):
    url = pg_cluster.url("no_such_tram_db")
    with pytest.raises(StoreError) as refused:
        Store(url)
    assert_one_masked_line(str(refused.value), "Cannot reach the database", 'database "no_such_tram_db" does not exist')
    monkeypatch.setenv("TRAM_DATABASE_URL", url)
    assert main(["worker", "--once"]) == 2
    assert 'database "no_such_tram_db" does not exist' in capsys.readouterr().err
