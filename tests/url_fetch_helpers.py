"""Fixtures and helpers for the URL fetching tests: a local HTTP server, a connection guard and made-up DNS answers.

Network traffic goes only to 127.0.0.0/8. Other addresses are proved refused by mocking DNS, and a guard on the
fetcher's connect function (``connections``, autouse wherever it is imported) fails any test that would open a
connection anywhere else.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tram_core import url_fetch
from tram_core.url_fetch import UrlRefusedError, fetch


LOCAL = ("127.0.0.1/32",)

PAGE = (b"<html><head><title>Local Advisory</title></head><body><p>The actor used PowerShell to download a "
        b"payload.</p><p>It then created a scheduled task for persistence.</p></body></html>")

TRICKLE_DELAY_S = 0.5


class LocalHandler(BaseHTTPRequestHandler):
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
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), LocalHandler)
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


def refusal(url: str, **kwargs) -> str:
    with pytest.raises(UrlRefusedError) as caught:
        fetch(url, timeout_s=5, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(url.replace("user:pass@", "user:***@"))
    return message
