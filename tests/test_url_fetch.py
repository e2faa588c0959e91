"""URL fetching refuses server-side request forgery: inner addresses, numeric spellings, redirects, credentials, trickles.

Network traffic goes only to 127.0.0.0/8. Other addresses are proved refused by mocking DNS, and a guard on the
module's connect function fails any test that would open a connection anywhere else.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tram_core import url_fetch
from tram_core.errors import UserError, is_user_error
from tram_core.importer import import_url
from tram_core.ingest import IngestError, fetch_url
from tram_core.settings import SettingsError, load_settings
from tram_core.url_fetch import UrlFetchError, UrlRefusedError, fetch
from tests.conftest import skip_or_fail

LOCAL = ("127.0.0.1/32",)
PAGE = (b"<html><head><title>Local Advisory</title></head><body><p>The actor used PowerShell to download a "
        b"payload.</p><p>It then created a scheduled task for persistence.</p></body></html>")
TRICKLE_DELAY_S = 0.5


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # the server keeps its own log of paths instead
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)
        route = {
            "/page": lambda: self._send(200, "text/html; charset=utf-8", PAGE),
            "/headers": self._echo_headers,
            "/to-page": lambda: self._redirect(301, "/page"),
            "/to-metadata": lambda: self._redirect(302, "http://169.254.169.254/latest/meta-data/"),
            "/to-private": lambda: self._redirect(302, "http://10.0.0.1/"),
            "/to-file": lambda: self._redirect(302, "file:///etc/passwd"),
            "/loop": lambda: self._redirect(302, "/loop"),
            "/trickle-headers": self._trickle_headers,
            "/trickle-body": self._trickle_body,
            "/big": lambda: self._send(200, "text/plain", b"a" * 200_000),
            "/big-stream": self._big_stream,
            "/gzip": lambda: self._send(200, "text/plain", b"\x1f\x8b...", extra={"Content-Encoding": "gzip"}),
        }.get(self.path)
        if route is None:
            self._send(404, "text/html", b"<h1>Not found</h1>")
        else:
            route()

    def _send(self, status: int, content_type: str, body: bytes, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _echo_headers(self) -> None:
        body = "\n".join(f"{name}: {value}" for name, value in self.headers.items()).encode()
        self._send(200, "text/plain", body)

    def _trickle(self, data: bytes) -> None:
        """One byte every TRICKLE_DELAY_S: never idle long enough to trip a per-read socket timeout."""
        try:
            for byte in data:
                self.wfile.write(bytes([byte]))
                time.sleep(TRICKLE_DELAY_S)
        except OSError:  # the client gave up, as it should
            pass
        self.close_connection = True

    def _trickle_headers(self) -> None:
        self._trickle(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + b"x" * 60 + b"\r\n\r\nhello")

    def _trickle_body(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "60")
        self.end_headers()
        self._trickle(b"y" * 60)

    def _big_stream(self) -> None:  # no Content-Length: the limit must hold while reading
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for _ in range(50):
                self.wfile.write(b"b" * 10_000)
        except OSError:
            pass
        self.close_connection = True


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1; ``server.requests`` logs the paths it was asked for."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.port = httpd.server_address[1]
    httpd.url = f"http://127.0.0.1:{httpd.port}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Every address the fetcher connects to; a connection outside 127.0.0.0/8 fails the test before it is made."""
    made: list[str] = []
    real_connect = url_fetch._connect

    def guarded(family, proto, sockaddr, deadline, watchdog):
        made.append(sockaddr[0])
        assert ipaddress.ip_address(sockaddr[0]) in ipaddress.ip_network("127.0.0.0/8"), f"connected to {sockaddr}"
        return real_connect(family, proto, sockaddr, deadline, watchdog)

    monkeypatch.setattr(url_fetch, "_connect", guarded)
    return made


@pytest.fixture
def fake_dns(monkeypatch):
    """``fake_dns({"name.test": ["10.0.0.5"]})`` makes those names resolve to those addresses; the rest resolve for real.

    A value may also be an iterator of answers, one per lookup. Returns the log of looked-up names.
    """
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def install(table: dict[str, list[str] | Iterator[list[str]]]) -> list[str]:
        def getaddrinfo(host, port, *args, **kwargs):
            lookups.append(host)
            if host not in table:
                return real_getaddrinfo(host, port, *args, **kwargs)
            answer = table[host]
            addresses = next(answer) if isinstance(answer, Iterator) else answer
            return [_addrinfo(address, port) for address in addresses]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install


def _addrinfo(address: str, port: int) -> tuple:
    if ipaddress.ip_address(address).version == 6:
        return socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0)
    return socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)


def _refusal(url: str, **kwargs) -> str:
    with pytest.raises(UrlRefusedError) as caught:
        fetch(url, timeout_s=5, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(url.replace("user:pass@", "user:***@"))
    return message


# --- refused by default --------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "[::1]"])
def test_every_spelling_of_loopback_is_refused_by_default(server, connections, host):
    url = f"http://{host}:{server.port}/page"
    message = _refusal(url)
    assert "loopback address (set TRAM_URL_ALLOW_NETWORKS to allow an intranet network)" in message
    assert server.requests == [] and connections == []


def test_the_message_names_the_url_and_the_reason(server):
    assert _refusal(f"{server.url}/admin") == (
        f"{server.url}/admin: refused: 127.0.0.1 is a loopback address "
        "(set TRAM_URL_ALLOW_NETWORKS to allow an intranet network)")
    assert _refusal(f"http://localhost:{server.port}/").endswith(
        "localhost resolves to 127.0.0.1, which is a loopback address "
        "(set TRAM_URL_ALLOW_NETWORKS to allow an intranet network)")


def test_credentials_are_refused_even_for_an_allowed_network(server, connections):
    message = _refusal(f"http://user:pass@127.0.0.1:{server.port}/page", allowed_networks=LOCAL)
    assert "carries credentials" in message and "pass@" not in message  # the password is not echoed
    assert server.requests == [] and connections == []


@pytest.mark.parametrize("url", ["ftp://example.com/a", "file:///etc/passwd", "http:///no-host", "javascript:alert(1)"])
def test_only_http_and_https_urls_with_a_host(url, connections):
    with pytest.raises(UrlFetchError, match=r": not an http\(s\) URL$"):
        fetch(url, timeout_s=5)
    assert connections == []


# --- DNS answers that point inward -------------------------------------------------------------------------------


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
    message = _refusal("http://reports.test/advisory")
    assert f"reports.test resolves to {ipaddress.ip_address(address)}" in message and reason in message
    assert connections == []


def test_one_inner_address_among_public_ones_is_enough_to_refuse(fake_dns, connections):
    fake_dns({"mixed.test": ["93.184.216.34", "10.0.0.5"]})
    assert "resolves to 10.0.0.5, which is a private address" in _refusal("https://mixed.test/")
    assert connections == []


def test_always_refused_kinds_stay_refused_even_when_listed(fake_dns, connections):
    fake_dns({"meta.test": ["169.254.169.254"], "multi.test": ["224.0.0.1"]})
    for name in ("meta.test", "multi.test"):
        message = _refusal(f"http://{name}/", allowed_networks=("169.254.0.0/16", "224.0.0.0/4"))
        assert "never allowed, even by TRAM_URL_ALLOW_NETWORKS" in message
    assert connections == []


def test_public_addresses_pass_the_address_check():
    for address in ("93.184.216.34", "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"):
        assert url_fetch._address_refusal(ipaddress.ip_address(address), ()) is None


# --- allowed networks ----------------------------------------------------------------------------------------------


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


def test_the_request_carries_host_user_agent_and_no_compression(server):
    fetched = fetch(f"{server.url}/headers", timeout_s=5, allowed_networks=LOCAL)
    headers = dict(line.split(": ", 1) for line in fetched.body.decode().splitlines())
    assert headers["Host"] == f"127.0.0.1:{server.port}"
    assert headers["User-Agent"] == "tram-dashboard/1.0" and headers["Accept-Encoding"] == "identity"
    assert fetched.status == 200 and fetched.content_type == "text/plain"


def test_the_checked_address_is_used_without_a_second_lookup(server, fake_dns):
    # DNS rebinding: the first answer passes the check, a second lookup would answer an inner address
    lookups = fake_dns({"rebind.test": iter([["127.0.0.1"], ["10.0.0.5"]])})
    fetched = fetch(f"http://rebind.test:{server.port}/headers", timeout_s=5, allowed_networks=LOCAL)
    assert f"Host: rebind.test:{server.port}" in fetched.body.decode()
    assert lookups == ["rebind.test"]


def test_a_connection_that_lands_elsewhere_is_refused(server, fake_dns, monkeypatch):
    fake_dns({"swap.test": ["127.0.0.2"]})
    real_connect = url_fetch._connect
    monkeypatch.setattr(url_fetch, "_connect", lambda family, proto, sockaddr, deadline, watchdog: real_connect(
        family, proto, ("127.0.0.1", sockaddr[1]), deadline, watchdog))
    message = _refusal(f"http://swap.test:{server.port}/page", allowed_networks=("127.0.0.0/8",))
    assert "connected to 127.0.0.1 instead of the checked address 127.0.0.2" in message
    assert server.requests == []


# --- redirects -------------------------------------------------------------------------------------------------------


def test_a_redirect_within_the_allowed_network_is_followed(server):
    fetched = fetch(f"{server.url}/to-page", timeout_s=5, allowed_networks=LOCAL)
    assert fetched.url == f"{server.url}/page" and fetched.body == PAGE
    assert server.requests == ["/to-page", "/page"]


@pytest.mark.parametrize(("path", "reason"), [
    ("/to-metadata", "redirect to http://169.254.169.254/latest/meta-data/: 169.254.169.254 is a link-local address"),
    ("/to-private", "redirect to http://10.0.0.1/: 10.0.0.1 is a private address"),
])
def test_a_redirect_to_an_inner_address_is_refused(server, connections, path, reason):
    message = _refusal(f"{server.url}{path}", allowed_networks=LOCAL)
    assert f"{server.url}{path}: refused: {reason}" in message
    assert set(connections) == {"127.0.0.1"}  # only the first hop was connected to


def test_a_redirect_to_another_scheme_is_refused(server):
    with pytest.raises(UrlFetchError, match=r"/to-file: redirect to file:///etc/passwd: not an http\(s\) URL$"):
        fetch(f"{server.url}/to-file", timeout_s=5, allowed_networks=LOCAL)


def test_a_redirect_loop_stops_after_five_redirects(server):
    with pytest.raises(UrlFetchError, match=r"/loop: stopped after 5 redirects \(the limit\); the last one pointed to"):
        fetch(f"{server.url}/loop", timeout_s=5, allowed_networks=LOCAL)
    assert server.requests == ["/loop"] * 6


# --- one deadline, size limits, HTTP errors --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/trickle-headers", "/trickle-body"])
def test_a_trickling_server_is_stopped_at_the_deadline(server, path):
    started = time.monotonic()
    with pytest.raises(UrlFetchError, match=rf"^{server.url}{path}: timed out after 2 s$"):
        fetch(f"{server.url}{path}", timeout_s=2, allowed_networks=LOCAL)
    assert time.monotonic() - started < 4  # a behaviour bound: the deadline holds, not a benchmark


def test_a_hanging_dns_lookup_is_abandoned_at_the_deadline(monkeypatch, connections):
    release = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: release.wait(10) and [])
    started = time.monotonic()
    try:
        with pytest.raises(UrlFetchError, match=r"^http://slow-dns\.test/: timed out after 1 s$"):
            fetch("http://slow-dns.test/", timeout_s=1)
        assert time.monotonic() - started < 3 and connections == []
    finally:
        release.set()  # let the abandoned lookup thread finish


@pytest.mark.parametrize(("path", "expected"), [
    ("/big", r"/big: 200,000 bytes is over the size limit of 50,000 bytes$"),
    ("/big-stream", r"/big-stream: the download is over the size limit of 50,000 bytes \(stopped after"),
])
def test_max_bytes_is_enforced(server, path, expected):
    with pytest.raises(IngestError, match=expected):
        fetch_url(f"{server.url}{path}", timeout_s=5, max_bytes=50_000, allowed_networks=LOCAL)


def test_http_errors_and_compressed_bodies_are_one_line(server):
    with pytest.raises(IngestError, match=rf"^{server.url}/missing: the server answered HTTP 404 Not Found$"):
        fetch_url(f"{server.url}/missing", timeout_s=5, allowed_networks=LOCAL)
    with pytest.raises(IngestError, match=r"/gzip: the server sent a compressed body \(gzip\) although asked for none$"):
        fetch_url(f"{server.url}/gzip", timeout_s=5, allowed_networks=LOCAL)


def test_refusals_reach_the_user_as_one_line_ingest_errors(server):
    with pytest.raises(IngestError) as caught:
        fetch_url(f"{server.url}/page", timeout_s=5)
    assert str(caught.value).count("\n") == 0 and "refused: 127.0.0.1 is a loopback address" in str(caught.value)


# --- https: SNI and certificate checks against the host name, over a connection to the checked address ---------------


@pytest.fixture
def tls_server(tmp_path):
    """The local server behind TLS with a self-signed certificate for tls.test; ``sni`` logs the names clients sent."""
    if shutil.which("openssl") is None:
        skip_or_fail("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=tls.test",
                    "-addext", "subjectAltName=DNS:tls.test"], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sni: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd, cert, sni
    httpd.shutdown()
    httpd.server_close()


def test_https_verifies_the_certificate_against_the_host_name(tls_server, fake_dns, monkeypatch):
    httpd, cert, sni = tls_server
    port = httpd.server_address[1]
    fake_dns({"tls.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    real_context = ssl.create_default_context
    monkeypatch.setattr(url_fetch.ssl, "create_default_context", lambda: real_context(cafile=str(cert)))
    fetched = fetch(f"https://tls.test:{port}/page", timeout_s=5, allowed_networks=LOCAL)
    assert fetched.body == PAGE and sni == ["tls.test"]
    with pytest.raises(UrlFetchError, match=r"^https://other\.test:\d+/page: could not connect securely \(.*mismatch"):
        fetch(f"https://other.test:{port}/page", timeout_s=5, allowed_networks=LOCAL)
    assert httpd.requests == ["/page"]  # nothing was sent over the unverified connection
