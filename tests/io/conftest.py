"""Fixtures for the URL fetching tests: a local HTTP server, a connection guard and made-up DNS answers.

Network traffic goes only to 127.0.0.0/8. Other addresses are proved refused by mocking DNS, and a guard on the
fetcher's connect function (``connections``, autouse for every test in tests/io) fails any test that would open a
connection anywhere else.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from tests.io.url_fetch_helpers import LocalHandler
from tram_core.io import url_fetch


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
