"""One wall-clock deadline for a whole URL fetch, and the watchdog that shuts a trickling connection at it."""

from __future__ import annotations

import socket
import threading
import time


class TimedOut(Exception):
    """The one deadline of the whole fetch passed."""


class Deadline:
    """One wall-clock limit for the whole fetch; every socket operation gets only the time that is left."""

    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self._at

    def remaining(self) -> float:
        left = self._at - time.monotonic()
        if left <= 0:
            raise TimedOut()
        return left


class Watchdog:
    """Shuts the current socket down at the deadline: a server trickling a byte at a time never trips a socket timeout."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket | None) -> None:
        """Watch ``sock`` from now on (None before closing it, so that a closed descriptor is never shut down)."""
        with self._lock:
            self._sock = sock
            if sock is not None and self.fired:
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                _shutdown(self._sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        # the plain socket method, also for TLS sockets: SSLSocket.shutdown would drop its TLS state under a reader
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # not connected yet, or already closed


def raise_if_timed_out(deadline: Deadline, watchdog: Watchdog) -> None:
    """TimedOut once the deadline passed or the watchdog fired (a cut connection can read as an ordinary end)."""
    if watchdog.fired or deadline.passed:
        raise TimedOut()

