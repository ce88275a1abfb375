"""Requests the server makes to other hosts (an OIDC issuer's discovery document and keys), under one rule.

An unauthenticated caller decides when these happen, so each request, and each redirect it is
answered with, obeys the same rule: https, or http to a loopback name only (local test issuers);
every address the host name resolves to must be public or loopback, unless its network is listed in
`oidc_private_targets`; multicast and unspecified addresses never. The connection goes to the
address that was checked, so a second lookup (DNS rebinding) cannot send it elsewhere. Redirects are
followed by hand, each hop checked, at most `MAX_REDIRECTS` of them.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 3
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """The URL, or an address its host resolves to, is not one the server may fetch from."""


class Unreachable(Exception):
    """The fetch failed: no answer, a refused connection, a bad certificate, an HTTP error."""


@dataclass(frozen=True)
class Fetched:
    """A 200 answer: the URL that gave it (after redirects), its body and its Cache-Control header."""

    url: str
    body: bytes
    cache_control: str


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked address the connection goes to
    path: str


def fetch(url: str, *, private: tuple[Network, ...], max_bytes: int, timeout: float) -> Fetched:
    """GET `url` under the rule; Refused or Unreachable otherwise, and for a body over `max_bytes`."""
    for _ in range(MAX_REDIRECTS + 1):
        target = _target(url, private)
        status, location, cache_control, body = _get(target, max_bytes, timeout)
        if status in _REDIRECTS:
            if not location:
                raise Unreachable(f"{url}: redirect without a Location")
            try:
                url = urljoin(url, location)
            except ValueError as exc:
                raise Unreachable(f"{url}: redirect to `{location}`, not a URL") from exc
            continue
        if status != 200:
            raise Unreachable(f"{url}: HTTP {status}")
        return Fetched(url, body, cache_control)
    raise Unreachable(f"{url}: more than {MAX_REDIRECTS} redirects")


def check_url(url: str, private: tuple[Network, ...]) -> None:
    """The rule without a lookup (for a URL being registered): scheme, and the host if it is an address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # an unclosed IPv6 bracket, for one
        raise Refused(f"{url} is not a URL") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise Refused(f"{url} is not an http(s) URL")
    if parts.scheme == "http" and host not in LOOPBACK_NAMES:
        raise Refused(f"{url} is http to a host other than loopback")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: its addresses are checked at every fetch
    _check_address(literal, private, url)


def parse_networks(text: str | None) -> tuple[Network, ...]:
    """Comma-separated networks (`10.0.0.0/8, fd00::/8`); ValueError names one that is not a network."""
    networks = []
    for item in (text or "").split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"`{item.strip()}` is not a network") from exc
    return tuple(networks)


def _target(url: str, private: tuple[Network, ...]) -> _Target:
    check_url(url, private)
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(f"{url}: bad port") from exc
    addresses = _resolve(host, port)
    for address in addresses:
        _check_address(address, private, url)
    if parts.scheme == "http" and not all(_unmapped(a).is_loopback for a in addresses):
        raise Refused(f"{url}: http to an address other than loopback")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(parts.scheme, host, port, str(addresses[0]), path)


def _resolve(host: str, port: int) -> list[Address]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unreachable(f"{host}: {exc}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    if not addresses:
        raise Unreachable(f"{host}: no address")
    return addresses


def _unmapped(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped IPv6 one (::ffff:169.254.169.254), else the address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _check_address(address: Address, private: tuple[Network, ...], url: str) -> None:
    """Refused unless public or loopback, or in a listed private network; never multicast or unspecified."""
    address = _unmapped(address)
    if address.is_multicast or address.is_unspecified:
        raise Refused(f"{url}: {address} is a multicast or unspecified address")
    if address.is_loopback or (address.is_global and not address.is_reserved):
        return
    if any(address.version == n.version and address in n for n in private):
        return
    raise Refused(f"{url}: {address} is a private, link-local or reserved address")


def _get(target: _Target, max_bytes: int, timeout: float) -> tuple[int, str, str, bytes]:
    """(status, Location, Cache-Control, body) of one GET, connected to the checked address."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPS(target.host, target.port, target.address, timeout)
    else:
        connection = _PinnedHTTP(target.host, target.port, target.address, timeout)
    try:
        connection.request("GET", target.path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        body = response.read(max_bytes + 1)
        location = response.getheader("Location", "")
        cache_control = response.getheader("Cache-Control", "")
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise Unreachable(f"{target.host}: {exc}") from exc
    finally:
        connection.close()
    if len(body) > max_bytes:
        raise Unreachable(f"{target.host}: document too large")
    return response.status, location, cache_control, body


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to one checked address; Host still names the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to one checked address, its certificate verified for the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
