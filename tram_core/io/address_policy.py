"""Which addresses URLs may be fetched from: public ones and listed intranet networks, never link-local or multicast."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

ALLOW_ENV_VAR = "TRAM_URL_ALLOW_NETWORKS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Refusal = tuple[IPAddress, str, bool]  # (the judged address, what kind it is, whether a listed network may allow it)

_PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE_NETWORK = ipaddress.ip_network("::/96")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
# Cloud metadata services outside link-local space, which hand out credentials: never fetched, even inside a listed
# network (Alibaba 100.100.100.200 sits in the shared range, AWS's IPv6 fd00:ec2::254 in ULA, Oracle's 192.0.0.192).
_METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("100.100.100.200", "fd00:ec2::254", "192.0.0.192"))


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR strings (``10.20.0.0/16``; a bare address is one host) as networks; ValueError names a bad one."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip()))
        except ValueError as exc:
            raise ValueError(f"{cidr.strip()!r} is not a network in CIDR form such as 10.20.0.0/16 ({exc})") from None
    return tuple(networks)


def address_of(sockaddr: tuple) -> IPAddress:
    """The IP address of a socket address (host, port, ...), without an IPv6 scope."""
    return ipaddress.ip_address(sockaddr[0].split("%", 1)[0])  # drop an IPv6 scope such as %eth0


def address_refusal(address: IPAddress, networks: Sequence[IPNetwork]) -> Refusal | None:
    """(the judged address, what kind it is, whether a listed network can allow it), or None when it is allowed.

    IPv6 forms that embed an IPv4 address are judged by the embedded address(es), where traffic really goes.
    """
    for judged in _judged_addresses(address):
        kind = _non_public_kind(judged)
        if kind is None:
            continue
        description, listable = kind
        if listable and any(judged in network for network in networks if network.version == judged.version):
            continue
        return judged, description, listable
    return None


def _judged_addresses(address: IPAddress) -> tuple[IPAddress, ...]:
    if address.version == 4:
        return (address,)
    if address.ipv4_mapped:
        return (address.ipv4_mapped,)
    if address.sixtofour:
        return (address.sixtofour,)
    if address.teredo:
        return address.teredo  # (server, client): refuse if either points inward
    if address in _NAT64_NETWORK or (address in _IPV4_COMPATIBLE_NETWORK and int(address) > 1):  # not :: or ::1
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    return (address,)


def _non_public_kind(address: IPAddress) -> tuple[str, bool] | None:
    """What is wrong with a non-public address and whether TRAM_URL_ALLOW_NETWORKS may allow it; None if public."""
    never_listable = (
        (address.is_unspecified, "is an unspecified address"),
        (address.is_link_local, "is a link-local address"),  # 169.254.169.254: cloud metadata with credentials
        (address.is_multicast, "is a multicast address"),
        (address == _BROADCAST, "is a broadcast address"),
        (address in _METADATA_ADDRESSES, "is a cloud metadata service"),
    )
    for matches, description in never_listable:
        if matches:
            return description, False
    listable = (
        (address.is_loopback, "is a loopback address"),
        (any(address in network for network in _PRIVATE_NETWORKS), "is a private address"),
        (address in _SHARED_NETWORK, "is a shared (carrier-grade NAT) address"),
        (getattr(address, "is_site_local", False), "is a site-local address"),
        (address.is_reserved, "is a reserved address"),
        (not address.is_global, "is not a globally routable address"),
    )
    for matches, description in listable:
        if matches:
            return description, True
    return None


def describe_refusal(host: str, address: IPAddress, refusal: Refusal) -> str:
    """'127.0.0.1 is a loopback address (…)', 'x.test resolves to ::ffff:a00:1 (embedding 10.0.0.1), which is …'."""
    judged, predicate, listable = refusal
    hint = (f"set {ALLOW_ENV_VAR} to allow an intranet network" if listable
            else f"never allowed, even by {ALLOW_ENV_VAR}")
    embedding = f" (embedding {judged})" if judged != address else ""
    if _is_ip_literal(host) and ipaddress.ip_address(host) == address:
        subject = f"{address}{embedding}" + (", which" if embedding else "")
    else:
        subject = f"{host} resolves to {address}{embedding}, which"
    return f"{subject} {predicate} ({hint})"


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

