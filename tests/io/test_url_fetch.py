"""Fetching a URL: one DNS lookup, the checked address and no other, redirects, size limits, HTTP errors, TLS.

Network traffic goes only to 127.0.0.0/8 (see url_fetch_helpers: the connection guard is autouse here).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from http.server import ThreadingHTTPServer

import pytest

from tests.conftest import skip_or_fail
from tests.io.url_fetch_helpers import LOCAL, PAGE, LocalHandler, refusal
from tram_core.io import url_fetch
from tram_core.io.extract_common import IngestError
from tram_core.io.ingest import fetch_url
from tram_core.io.url_fetch import UrlFetchError, fetch


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
    message = refusal(f"http://swap.test:{server.port}/page", allowed_networks=("127.0.0.0/8",))
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
    message = refusal(f"{server.url}{path}", allowed_networks=LOCAL)
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
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), LocalHandler)
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
