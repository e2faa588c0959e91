"""Helpers for the URL fetching tests (their fixtures are in tests/io/conftest.py): the local server's pages and a
refusal check."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from tram_core.io.url_fetch import UrlRefusedError, fetch


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


def refusal(url: str, **kwargs) -> str:
    with pytest.raises(UrlRefusedError) as caught:
        fetch(url, timeout_s=5, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(url.replace("user:pass@", "user:***@"))
    return message
