"""One deadline for a whole fetch: a trickling server and a hanging DNS lookup are both cut off at it."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.io.url_fetch_helpers import LOCAL
from tram_core.io.url_fetch import UrlFetchError, fetch


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
