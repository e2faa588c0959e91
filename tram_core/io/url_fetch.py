"""Fetch an http(s) URL with no server-side request forgery: checked addresses, checked redirects, one deadline."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from tram_core.errors import UserError
from tram_core.io.address_policy import (
    IPAddress, IPNetwork, address_of, address_refusal, describe_refusal, parse_networks,
)
from tram_core.io.fetch_deadline import Deadline, TimedOut, Watchdog, raise_if_timed_out

USER_AGENT = "tram-dashboard/1.0"
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_READ_SIZE = 65536
_URL_SAFE = "/%:@!$&'()*+,;=~"


class UrlFetchError(UserError):
    """A URL could not be fetched; the one-line message names the URL and the reason."""


class UrlRefusedError(UrlFetchError):
    """A URL (or a redirect it led to) carries credentials or reaches an address TRAM may not fetch from."""


@dataclass(frozen=True)
class FetchedUrl:
    """A successful download: the URL after redirects, the HTTP status, the Content-Type and the body."""

    url: str
    status: int
    content_type: str
    body: bytes


def fetch(url: str, timeout_s: float, max_bytes: int | None = None, allowed_networks: Iterable[str] = ()) -> FetchedUrl:
    """GET ``url``, following up to MAX_REDIRECTS redirects, all within ``timeout_s`` seconds of wall-clock time.

    Only globally routable addresses are fetched from, plus those inside ``allowed_networks`` (CIDR strings);
    link-local, multicast, unspecified and broadcast addresses are refused even there.
    """
    networks = parse_networks(allowed_networks)
    deadline = Deadline(timeout_s)
    watchdog = Watchdog(timeout_s)
    watchdog.start()
    hop_url = url
    try:
        for hop in range(MAX_REDIRECTS + 1):
            try:
                outcome = _fetch_hop(hop_url, deadline, watchdog, networks, max_bytes)
            except _HopProblem as problem:
                raise problem.as_error(url, hop_url if hop else None) from None
            if isinstance(outcome, FetchedUrl):
                return outcome
            hop_url = outcome
        raise UrlFetchError(f"{_display_url(url)}: stopped after {MAX_REDIRECTS} redirects (the limit); "
                            f"the last one pointed to {_display_url(hop_url)}")
    except TimedOut:
        raise UrlFetchError(f"{_display_url(url)}: timed out after {timeout_s:g} s") from None
    finally:
        watchdog.cancel()


# --- one hop: check, resolve, connect, request --------------------------------------------------------------


class _HopProblem(Exception):
    """Why one hop failed; ``refused`` marks a policy refusal rather than a network or server failure."""

    def __init__(self, reason: str, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused

    def as_error(self, url: str, redirect_url: str | None) -> UrlFetchError:
        via = f"redirect to {_display_url(redirect_url)}: " if redirect_url else ""
        if self.refused:
            return UrlRefusedError(f"{_display_url(url)}: refused: {via}{self.reason}")
        return UrlFetchError(f"{_display_url(url)}: {via}{self.reason}")


@dataclass(frozen=True)
class _Target:
    """One hop's URL split into what the connection needs."""

    scheme: str
    host: str  # ASCII host name or IP literal, without brackets
    port: int
    request_path: str  # path and query, percent-encoded, for the request line
    host_header: str


def _fetch_hop(url: str, deadline: Deadline, watchdog: Watchdog, networks: Sequence[IPNetwork],
               max_bytes: int | None) -> FetchedUrl | str:
    """Fetch one URL: a FetchedUrl, or the absolute URL a redirect points to."""
    target = _parse_target(url)
    addresses = _resolve_checked(target, deadline, networks)
    sock = _open_checked(target, addresses, deadline, watchdog, networks)
    try:
        response = _send_request(sock, target, deadline, watchdog)
        if response.status in REDIRECT_STATUSES:
            location = response.getheader("Location")
            if not location:
                raise _HopProblem(f"the server answered HTTP {response.status} without a Location header")
            return urldefrag(urljoin(url, location.strip())).url
        if response.status >= 400:
            raise _HopProblem(f"the server answered HTTP {response.status} {response.reason or ''}".rstrip())
        body = _read_body(response, sock, deadline, watchdog, max_bytes)
        content_type = response.getheader("Content-Type", "")
        return FetchedUrl(url=url, status=response.status, content_type=content_type, body=body)
    except (OSError, http.client.HTTPException) as exc:  # TimeoutError is an OSError: a socket timeout is the deadline
        if isinstance(exc, TimeoutError) or watchdog.fired or deadline.passed:
            raise TimedOut() from None
        raise _HopProblem(f"download failed ({_short_reason(exc)})") from None
    finally:
        watchdog.watch(None)
        sock.close()


def _parse_target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _HopProblem("not an http(s) URL")
    if "@" in parts.netloc:  # credentials would be sent to whoever the host is; they also hide the real host from readers
        raise _HopProblem("the URL carries credentials (user:password@); remove them", refused=True)
    default_port = 443 if parts.scheme == "https" else 80
    try:
        port = default_port if parts.port is None else parts.port
    except ValueError:
        raise _HopProblem("the URL's port is not a number from 0 to 65535") from None
    host = _ascii_host(parts.hostname)
    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed if port == default_port else f"{bracketed}:{port}"
    # percent-encode what may not appear raw in a request line (spaces, non-ASCII) and keep existing escapes
    path = quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_URL_SAFE + "?")
    return _Target(scheme=parts.scheme, host=host, port=port, request_path=path, host_header=host_header)


def _ascii_host(hostname: str) -> str:
    """The host name as it goes into DNS, the Host header and SNI (IDNA for non-ASCII names)."""
    if hostname.isascii():
        return hostname
    try:
        return hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise _HopProblem(f"{hostname!r} is not a valid host name") from None


def _resolve_checked(target: _Target, deadline: Deadline, networks: Sequence[IPNetwork]) -> list[tuple]:
    """The host's addresses (getaddrinfo entries), refused if ANY of them is not allowed: one bad answer is enough."""
    infos = _resolve(target.host, target.port, deadline)
    usable = [info for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not usable:
        raise _HopProblem(f"could not resolve host {target.host} (no IPv4 or IPv6 address)")
    for info in usable:
        address = address_of(info[4])
        refusal = address_refusal(address, networks)
        if refusal:
            raise _HopProblem(describe_refusal(target.host, address, refusal), refused=True)
    return usable


def _resolve(host: str, port: int, deadline: Deadline) -> list[tuple]:
    """getaddrinfo in a helper thread, since the resolver itself has no timeout and must not outlive the deadline."""
    outcome: dict[str, object] = {}

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError) as exc:  # ValueError: a NUL in the name
            outcome["error"] = exc

    thread = threading.Thread(target=lookup, name="tram-url-resolve", daemon=True)
    thread.start()
    thread.join(deadline.remaining())
    if thread.is_alive():
        raise TimedOut()
    if "error" in outcome:
        raise _HopProblem(f"could not resolve host {host} ({_short_reason(outcome['error'])})")
    return list(outcome["infos"])


def _open_checked(target: _Target, addresses: list[tuple], deadline: Deadline, watchdog: Watchdog,
                  networks: Sequence[IPNetwork]) -> socket.socket:
    """A socket connected to one of the checked addresses (never a fresh DNS lookup), TLS-wrapped for https."""
    failures: list[str] = []
    for family, _type, proto, _canon, sockaddr in addresses:
        try:
            sock = _connect(family, proto, sockaddr, deadline, watchdog)
        except OSError as exc:
            if watchdog.fired or deadline.passed:
                raise TimedOut() from None
            failures.append(_short_reason(exc))
            continue
        try:
            _check_peer(sock, address_of(sockaddr), target.host, networks)
        except BaseException:
            watchdog.watch(None)
            sock.close()
            raise
        return _wrap_tls(sock, target.host, deadline, watchdog) if target.scheme == "https" else sock
    raise _HopProblem(f"could not connect ({failures[-1] if failures else 'no address'})")


def _connect(family: int, proto: int, sockaddr: tuple, deadline: Deadline, watchdog: Watchdog) -> socket.socket:
    """A TCP connection to exactly ``sockaddr``, watched by the deadline's watchdog."""
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    try:
        sock.settimeout(deadline.remaining())
        watchdog.watch(sock)
        sock.connect(sockaddr)
        return sock
    except BaseException:
        watchdog.watch(None)
        sock.close()
        raise


def _check_peer(sock: socket.socket, expected: IPAddress, host: str, networks: Sequence[IPNetwork]) -> None:
    """The connected peer must be the address that was checked, and still allowed (belt and braces)."""
    try:
        peer = address_of(sock.getpeername())
    except OSError as exc:  # the peer hung up already
        raise _HopProblem(f"could not connect ({_short_reason(exc)})") from None
    refusal = address_refusal(peer, networks)
    if refusal:
        raise _HopProblem(describe_refusal(host, peer, refusal), refused=True)
    if peer != expected:
        raise _HopProblem(f"connected to {peer} instead of the checked address {expected}", refused=True)


def _wrap_tls(sock: socket.socket, host: str, deadline: Deadline, watchdog: Watchdog) -> ssl.SSLSocket:
    """TLS with SNI and certificate checks against the URL's host name, although the socket went to an IP address."""
    context = ssl.create_default_context()
    tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    watchdog.watch(tls)  # the plain socket object is detached now; a trickled handshake must still stop at the deadline
    try:
        tls.settimeout(deadline.remaining())
        tls.do_handshake()
        return tls
    except BaseException as exc:
        watchdog.watch(None)
        tls.close()
        if isinstance(exc, OSError):
            raise_if_timed_out(deadline, watchdog)  # the watchdog's shutdown surfaces as a TLS error
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise _HopProblem(f"could not connect securely ({exc.verify_message or _short_reason(exc)})") from None
        if isinstance(exc, OSError):
            raise _HopProblem(f"could not connect securely ({_short_reason(exc)})") from None
        raise


def _send_request(sock: socket.socket, target: _Target, deadline: Deadline,
                  watchdog: Watchdog) -> http.client.HTTPResponse:
    """Send the GET on ``sock`` and read the status line and headers (a trickle is cut by the watchdog)."""
    connection = http.client.HTTPConnection(target.host, target.port)
    connection.sock = sock  # already connected to the checked address: http.client must not resolve or connect again
    headers = {
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
        "Accept-Encoding": "identity",  # the size limit must hold for what the parsers will see
        "Connection": "close",
    }
    sock.settimeout(deadline.remaining())
    connection.request("GET", target.request_path, headers=headers)
    sock.settimeout(deadline.remaining())
    response = connection.getresponse()
    raise_if_timed_out(deadline, watchdog)  # a trickle of headers cut by the watchdog reads as their end
    return response


def _read_body(response: http.client.HTTPResponse, sock: socket.socket, deadline: Deadline, watchdog: Watchdog,
               max_bytes: int | None) -> bytes:
    """The body, one recv per read so that the deadline is checked between reads; max_bytes is enforced as it arrives."""
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":  # asked for none: a compressed body could expand far past max_bytes once decoded
        raise _HopProblem(f"the server sent a compressed body ({encoding}) although asked for none")
    declared = response.getheader("Content-Length", "").strip()
    if declared.isdigit() and max_bytes is not None and int(declared) > max_bytes:
        raise _HopProblem(f"{_format_size(int(declared))} is over the size limit of {_format_size(max_bytes)}")
    chunks: list[bytes] = []
    size = 0
    while True:
        sock.settimeout(deadline.remaining())
        chunk = response.read1(_READ_SIZE)
        raise_if_timed_out(deadline, watchdog)  # the watchdog's shutdown reads as an ordinary end of the body
        if not chunk:
            break
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise _HopProblem(f"the download is over the size limit of {_format_size(max_bytes)} "
                              f"(stopped after {_format_size(size)})")
        chunks.append(chunk)
    if response.length:  # http.client ends a Content-Length body quietly when the connection drops early
        raise _HopProblem(f"the server closed the connection after {_format_size(size)}, "
                          f"{_format_size(size + response.length)} announced")
    return b"".join(chunks)


# --- messages -----------------------------------------------------------------------------------------------


def _format_size(n: int) -> str:
    """Sizes in the same words as tram_core.io.ingest's size messages."""
    if n < 1024 * 1024:
        return f"{n:,} bytes"
    return f"{n / (1024 * 1024):.1f} MB"


def _display_url(url: str) -> str:
    """The URL for a message, with any password masked: messages end up on screens and in logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _short_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:200]
    return (str(exc) or type(exc).__name__)[:200]
