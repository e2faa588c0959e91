"""Which addresses URLs may be fetched from: every spelling of an inner address refused, allowed networks honoured."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from tests.io.url_fetch_helpers import LOCAL, refusal
from tram_core.errors import UserError, is_user_error
from tram_core.io.address_policy import address_refusal
from tram_core.io.importer import import_url
from tram_core.io.url_fetch import UrlFetchError, fetch
from tram_core.settings import SettingsError, load_settings


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "[::1]"])
def test_every_spelling_of_loopback_is_refused_by_default(server, connections, host):
    url = f"http://{host}:{server.port}/page"
    message = refusal(url)
    assert "loopback address (set TRAM_URL_ALLOW_NETWORKS to allow an intranet network)" in message
    assert server.requests == [] and connections == []


def test_the_message_names_the_url_and_the_reason(server):
    assert refusal(f"{server.url}/admin") == (
        f"{server.url}/admin: refused: 127.0.0.1 is a loopback address "
        "(set TRAM_URL_ALLOW_NETWORKS to allow an intranet network)")
    assert refusal(f"http://localhost:{server.port}/").endswith(
        "localhost resolves to 127.0.0.1, which is a loopback address "
        "(set TRAM_URL_ALLOW_NETWORKS to allow an intranet network)")


def test_credentials_are_refused_even_for_an_allowed_network(server, connections):
    message = refusal(f"http://user:pass@127.0.0.1:{server.port}/page", allowed_networks=LOCAL)
    assert "carries credentials" in message and "pass@" not in message  # the password is not echoed
    assert server.requests == [] and connections == []


@pytest.mark.parametrize("url", ["ftp://example.com/a", "file:///etc/passwd", "http:///no-host", "javascript:alert(1)"])
def test_only_http_and_https_urls_with_a_host(url, connections):
    with pytest.raises(UrlFetchError, match=r": not an http\(s\) URL$"):
        fetch(url, timeout_s=5)
    assert connections == []


@pytest.mark.parametrize(("address", "reason"), [
    ("10.0.0.5", "10.0.0.5, which is a private address"),
    ("192.168.1.1", "192.168.1.1, which is a private address"),
    ("100.64.0.7", "a shared (carrier-grade NAT) address"),
    ("169.254.169.254", "169.254.169.254, which is a link-local address (never allowed"),
    ("224.0.0.1", "224.0.0.1, which is a multicast address (never allowed"),
    ("0.0.0.0", "an unspecified address (never allowed"),
    ("fe80::1", "fe80::1, which is a link-local address (never allowed"),
    ("fd12::1", "fd12::1, which is a private address"),
    ("::ffff:10.0.0.1", "(embedding 10.0.0.1), which is a private address"),
    ("::ffff:127.0.0.1", "(embedding 127.0.0.1), which is a loopback address"),
    ("64:ff9b::a9fe:a9fe", "(embedding 169.254.169.254), which is a link-local address"),
    ("2002:a00:1::1", "(embedding 10.0.0.1), which is a private address"),
])
def test_names_resolving_to_inner_addresses_are_refused(fake_dns, connections, address, reason):
    fake_dns({"reports.test": [address]})
    message = refusal("http://reports.test/advisory")
    assert f"reports.test resolves to {ipaddress.ip_address(address)}" in message and reason in message
    assert connections == []


def test_one_inner_address_among_public_ones_is_enough_to_refuse(fake_dns, connections):
    fake_dns({"mixed.test": ["93.184.216.34", "10.0.0.5"]})
    assert "resolves to 10.0.0.5, which is a private address" in refusal("https://mixed.test/")
    assert connections == []


def test_always_refused_kinds_stay_refused_even_when_listed(fake_dns, connections):
    fake_dns({"meta.test": ["169.254.169.254"], "multi.test": ["224.0.0.1"]})
    for name in ("meta.test", "multi.test"):
        message = refusal(f"http://{name}/", allowed_networks=("169.254.0.0/16", "224.0.0.0/4"))
        assert "never allowed, even by TRAM_URL_ALLOW_NETWORKS" in message
    assert connections == []


@pytest.mark.parametrize("address, network", [("100.100.100.200", "100.64.0.0/10"), ("fd00:ec2::254", "fc00::/7"),
                                              ("192.0.0.192", "192.0.0.0/24")])
def test_cloud_metadata_services_stay_refused_inside_a_listed_network(address, network):
    judged, description, listable = address_refusal(ipaddress.ip_address(address), (ipaddress.ip_network(network),))
    assert description == "is a cloud metadata service" and not listable


def test_public_addresses_pass_the_address_check():
    for address in ("93.184.216.34", "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"):
        assert address_refusal(ipaddress.ip_address(address), ()) is None


def test_an_allowed_network_is_fetched_and_imported_as_a_report(store, settings, server):
    url = f"{server.url}/page"
    result = import_url(store, url, "tester", dataclasses.replace(settings, url_allowed_networks=LOCAL))
    outcome = result.outcomes[0]
    assert result.kind == "url" and outcome.title == "Local Advisory"
    assert store.get_report(outcome.report_id).source == url
    assert [s.text for s in store.sentences()] == [
        "The actor used PowerShell to download a payload.", "It then created a scheduled task for persistence."]
    with pytest.raises(UserError, match=r"refused: 127\.0\.0\.1 is a loopback address"):
        import_url(store, url, "tester", settings)  # the default settings allow no inner network


def test_allowed_networks_come_from_the_environment(tram_home, monkeypatch, store, server):
    monkeypatch.setenv("TRAM_URL_ALLOW_NETWORKS", " 10.20.0.0/16, 127.0.0.1/32 ")
    settings = load_settings()
    assert settings.url_allowed_networks == ("10.20.0.0/16", "127.0.0.1/32")
    assert import_url(store, f"{server.url}/page", "tester", settings).outcomes[0].title == "Local Advisory"


@pytest.mark.parametrize("value", ["10.20.0.0/33", "intranet", "10.20.0.1/16"])
def test_a_bad_allowed_network_names_the_variable(value):
    with pytest.raises(SettingsError, match=rf"^TRAM_URL_ALLOW_NETWORKS: '{value}' is not a network in CIDR form"):
        load_settings({"TRAM_URL_ALLOW_NETWORKS": f"127.0.0.1/32,{value}"})
    assert is_user_error(SettingsError("x"))


def test_the_command_line_reports_a_bad_allowed_network_in_one_line(tram_home, monkeypatch, capsys):
    from tram_core.cli import main

    monkeypatch.setenv("TRAM_URL_ALLOW_NETWORKS", "intranet")
    assert main(["reports"]) == 2
    assert capsys.readouterr().err.startswith("error: TRAM_URL_ALLOW_NETWORKS: 'intranet' is not a network")
