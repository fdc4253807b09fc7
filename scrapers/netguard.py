"""[fetch] SSRF guard: refuse private targets, and connect only to the address that was checked.

``is_blocked`` is pure: an address and the allow setting in, a verdict out. ``GuardedBackend``
is the httpcore network backend the fetcher's client connects through. For every new
connection it resolves the host once, refuses the connection if ANY answer is blocked (a
resolver may rotate a private address in among public ones) and then opens the socket to one
of the addresses it checked. Because the check and the connect use the same answer, a DNS
record that changes between the two (rebinding) cannot reach a private address, and because
the URL keeps its host name, TLS SNI, certificate checks and connection-pool keys stay those
of the name (rewriting the URL to the IP would let one pooled TLS connection serve two names).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

import httpcore

from scrapers.errors import BlockedAddress, DnsFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Allow = bool | tuple[str, ...]

# Not globally reachable, per the IANA special-purpose registries (RFC 6890 and updates). An
# explicit table, because ``ipaddress.is_global`` changed between Python releases.
BLOCKED_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",  # "this network", includes the unspecified 0.0.0.0
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata lives at 169.254.169.254
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # TEST-NET-1
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes broadcast 255.255.255.255
        "::/96",  # unspecified ::, loopback ::1 and deprecated IPv4-compatible ::a.b.c.d
        "::ffff:0:0/96",  # IPv4-mapped: unwrapped before this table, listed to fail closed
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, ORCHID, ...)
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local (ULA), includes AWS metadata fd00:ec2::254
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)

# Cloud metadata endpoints hand out credentials. They are refused whatever the allow setting
# says (True, or a CIDR that encloses them: allowing your own ULA fc00::/7 must not open
# fd00:ec2::254), unless that exact address is listed (a.b.c.d, a.b.c.d/32, x::y/128). Azure's
# 168.63.129.16 is public address space: only this table refuses it.
METADATA_ADDRESSES: frozenset[Address] = frozenset(
    ipaddress.ip_address(ip)
    for ip in (
        "169.254.169.254",  # AWS, GCP, Azure IMDS, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd20:ce::254",  # GCP metadata over IPv6
        "168.63.129.16",  # Azure WireServer
        "100.100.100.200",  # Alibaba Cloud
    )
)

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_blocked(ip: str | Address, allow: Allow = False) -> bool:
    """Whether connecting to ``ip`` must be refused.

    ``allow=True`` allows everything but the metadata addresses, a tuple of CIDR strings
    allows those networks only (a metadata address only when listed exactly). Addresses that
    embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the embedded one too, so
    ``::ffff:127.0.0.1`` is loopback. A string that is not an address is blocked: refusing is
    the safe answer to what we can't judge.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:a.b.c.d is only a notation for a.b.c.d
    allowed = _networks(allow) if isinstance(allow, tuple) else ()
    return any(
        _is_refused(candidate, allowed, everything=allow is True)
        for candidate in (address, *_embedded(address))
    )


def _is_refused(address: Address, allowed: tuple[Network, ...], *, everything: bool) -> bool:
    if address in METADATA_ADDRESSES:
        return not any(net.num_addresses == 1 and address in net for net in allowed)
    if everything:
        return False
    return _in_any(address, BLOCKED_NETWORKS) and not _in_any(address, allowed)


def _embedded(address: Address) -> tuple[ipaddress.IPv4Address, ...]:
    """IPv4 addresses a translator (6to4, NAT64) will really send the packets to."""
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address in _NAT64:
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    return ()


def _in_any(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


@lru_cache(maxsize=64)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    """Parsed allow list; cached because the same settings tuple is checked on every connect."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


class Resolver(Protocol):
    """Turns a host name into addresses; injectable so tests can map names without DNS."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``) without blocking the event loop."""

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every distinct address for ``host``, in the resolver's order; OSError when none."""
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_addresses(host: str, port: int, resolver: Resolver, allow: Allow) -> list[str]:
    """Addresses of ``host`` that may be connected to; BlockedAddress if any answer is blocked.

    A literal IP is judged as is, without asking the resolver. A resolution that fails or
    answers nothing is DnsFailed: nothing was sent.
    """
    literal = _literal(host)
    try:
        addresses = [literal] if literal else await resolver.resolve(host, port)
    except (OSError, UnicodeError) as exc:  # gaierror; idna refuses labels like "a..b"
        raise DnsFailed(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise DnsFailed(f"cannot resolve {host}: no address")
    blocked = [ip for ip in addresses if is_blocked(ip, allow)]
    if blocked:
        shown = host if literal else f"{host} ({blocked[0]})"
        raise BlockedAddress(f"refused to connect to {shown}: {not_public(blocked[0])}")
    return addresses


def not_public(ip: str) -> str:
    """Why ``ip`` is refused and the setting that would allow it. The example is the exact
    address: the narrowest opening, and the only one that allows a metadata address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:  # a resolver's answer that is no address (is_blocked refuses it)
        return "not an address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # judged as the IPv4 address, so allowed as one
    exact = f"{address}/{address.max_prefixlen}"
    return f"not a public address (set fetch.allow_private_networks to allow it, e.g. [{exact}])"


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that checks every address before it opens a socket.

    ``inner`` does the real connecting (httpcore's AutoBackend by default); tests pass one
    that fails loudly to prove a refused host never reaches it.
    """

    def __init__(
        self,
        resolver: Resolver,
        allow: Allow,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolver = resolver
        self._allow = allow
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's NetworkBackend signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve, refuse if any answer is blocked, then try the checked addresses in order.

        BlockedAddress and DnsFailed are ours, not httpcore's: httpx passes them through
        untouched, so the caller sees why nothing was sent.
        """
        addresses = await checked_addresses(host, port, self._resolver, self._allow)
        error: httpcore.ConnectError | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    ip,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the next address, as browsers do
                error = exc
        assert error is not None  # addresses is never empty
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's NetworkBackend signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are local by definition: never allowed for fetched URLs."""
        raise BlockedAddress(f"refused to connect to unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
