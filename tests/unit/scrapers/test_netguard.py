"""is_blocked: which addresses the SSRF guard refuses, with and without an allow setting."""

from __future__ import annotations

import asyncio
import socket

import pytest

from scrapers.errors import BlockedAddress, DnsFailed
from scrapers.netguard import Allow, checked_addresses, is_blocked

BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback-range"),
    ("10.1.2.3", "rfc1918-10"),
    ("172.16.0.1", "rfc1918-172-low"),
    ("172.31.255.255", "rfc1918-172-high"),
    ("192.168.1.1", "rfc1918-192"),
    ("169.254.169.254", "metadata-v4"),
    ("169.254.1.1", "link-local-v4"),
    ("100.64.0.1", "cgnat-low"),
    ("100.127.255.255", "cgnat-high"),
    ("0.0.0.0", "unspecified-v4"),
    ("224.0.0.1", "multicast-v4"),
    ("239.255.255.250", "multicast-ssdp"),
    ("240.0.0.1", "reserved-v4"),
    ("255.255.255.255", "broadcast"),
    ("192.0.2.1", "test-net-1"),
    ("198.18.0.1", "benchmarking"),
    ("::1", "loopback-v6"),
    ("::", "unspecified-v6"),
    ("fc00::1", "ula-fc"),
    ("fd12:3456::1", "ula-fd"),
    ("fd00:ec2::254", "metadata-v6"),
    ("fe80::1", "link-local-v6"),
    ("fe80::1%eth0", "link-local-scoped"),
    ("ff02::1", "multicast-v6"),
    ("2001:db8::1", "documentation-v6"),
    ("::ffff:127.0.0.1", "mapped-loopback"),
    ("::ffff:10.0.0.1", "mapped-private"),
    ("::ffff:169.254.169.254", "mapped-metadata"),
    ("::127.0.0.1", "ipv4-compatible"),
    ("2002:7f00:1::1", "6to4-loopback"),
    ("64:ff9b::a00:1", "nat64-private"),
    ("not-an-ip", "garbage"),
    ("", "empty"),
]

PUBLIC = [
    ("8.8.8.8", "google-dns"),
    ("93.184.216.34", "example-com"),
    ("172.32.0.1", "just-past-172-16-12"),
    ("100.128.0.1", "just-past-cgnat"),
    ("169.255.0.1", "just-past-link-local"),
    ("2606:4700:4700::1111", "cloudflare-v6"),
    ("2a00:1450:4001::1", "google-v6"),
    ("::ffff:8.8.8.8", "mapped-public"),
    ("64:ff9b::808:808", "nat64-public"),
    ("2002:808:808::1", "6to4-public"),
]


@pytest.mark.parametrize("ip", [ip for ip, _ in BLOCKED], ids=[name for _, name in BLOCKED])
def test_is_blocked_refuses_non_public(ip: str) -> None:
    """Loopback, private, link-local, metadata, CGNAT, multicast, reserved and junk are refused."""
    assert is_blocked(ip, False)


@pytest.mark.parametrize("ip", [ip for ip, _ in PUBLIC], ids=[name for _, name in PUBLIC])
def test_is_blocked_allows_public(ip: str) -> None:
    """Globally routable addresses, including ones embedding a public IPv4, are allowed."""
    assert not is_blocked(ip, False)


@pytest.mark.parametrize(
    ("ip", "allow", "blocked"),
    [
        ("127.0.0.1", ("127.0.0.1/32",), False),
        ("::ffff:127.0.0.1", ("127.0.0.1/32",), False),
        ("127.0.0.2", ("127.0.0.1/32",), True),
        ("10.0.0.1", ("127.0.0.1/32",), True),
        ("8.8.8.8", ("127.0.0.1/32",), False),
        ("10.9.9.9", ("10.0.0.0/8",), False),
        ("10.9.9.9", ("10.0.0.1/8",), False),
        ("::1", ("127.0.0.0/8",), True),
        ("::1", ("::1/128",), False),
        ("169.254.1.1", ("169.254.0.0/16",), False),
        ("169.254.169.254", ("169.254.0.0/16",), True),
        ("fd12::1", ("fc00::/7",), False),
        ("fd00:ec2::254", ("fc00::/7",), True),
        ("169.254.169.254", ("0.0.0.0/0",), True),
        ("127.0.0.1", (), True),
        ("127.0.0.1", True, False),
        ("169.254.169.254", True, True),
        ("fd00:ec2::254", True, True),
    ],
    ids=[
        "exact-allowed",
        "mapped-of-allowed",
        "neighbour-of-allowed",
        "other-private",
        "public-still-fine",
        "private-network",
        "non-strict-cidr",
        "v6-loopback-not-in-v4-list",
        "v6-loopback-allowed",
        "link-local-allowed",
        "metadata-never-by-cidr",
        "ula-allowed",
        "v6-metadata-never-by-cidr",
        "metadata-not-even-everything",
        "empty-list",
        "true-allows-loopback",
        "true-still-refuses-metadata",
        "true-still-refuses-v6-metadata",
    ],
)
def test_is_blocked_with_allow(ip: str, allow: Allow, blocked: bool) -> None:
    """A CIDR list opens exactly its networks; True opens everything but metadata."""
    assert is_blocked(ip, allow) is blocked


METADATA = [
    ("169.254.169.254", "aws-gcp-azure-imds"),
    ("169.254.170.2", "aws-ecs"),
    ("fd00:ec2::254", "aws-imds-v6"),
    ("fd20:ce::254", "gcp-v6"),
    ("168.63.129.16", "azure-wireserver"),
    ("100.100.100.200", "alibaba"),
    ("::ffff:168.63.129.16", "mapped-azure"),
    ("64:ff9b::a83f:8110", "nat64-azure"),
    ("2002:a83f:8110::1", "6to4-azure"),
    ("::ffff:100.100.100.200", "mapped-alibaba"),
]
ENCLOSING: list[Allow] = [
    False,
    True,
    ("0.0.0.0/0", "::/0"),
    ("169.254.0.0/16", "168.63.0.0/16", "100.64.0.0/10", "fc00::/7"),
    ("169.254.169.0/24", "169.254.170.0/24", "168.63.129.0/24", "fd00::/8", "fd20:ce::/64"),
]


@pytest.mark.parametrize("ip", [ip for ip, _ in METADATA], ids=[name for _, name in METADATA])
@pytest.mark.parametrize("allow", ENCLOSING, ids=["off", "true", "all", "wide", "narrow"])
def test_metadata_is_refused_even_inside_an_allowed_network(ip: str, allow: Allow) -> None:
    """Cloud metadata endpoints hand out credentials: no allow setting opens them by
    enclosing them, not even True; public 168.63.129.16 included, in any embedding."""
    assert is_blocked(ip, allow)


@pytest.mark.parametrize(
    ("ip", "listed"),
    [
        ("169.254.170.2", "169.254.170.2"),
        ("169.254.170.2", "169.254.170.2/32"),
        ("168.63.129.16", "168.63.129.16/32"),
        ("fd20:ce::254", "fd20:ce::254/128"),
        ("fd00:ec2::254", "fd00:ec2::254"),
        ("::ffff:100.100.100.200", "100.100.100.200/32"),
    ],
)
def test_metadata_listed_exactly_is_allowed(ip: str, listed: str) -> None:
    """Listing the exact address (bare, /32 or /128) is the one way to open a metadata
    endpoint, and it opens only that one: its neighbours stay refused."""
    allow = (listed, "0.0.0.0/0", "::/0")
    assert not is_blocked(ip, allow)
    others = [m for m, _ in METADATA if ":" not in m and m not in (ip, listed.split("/")[0])]
    assert all(is_blocked(other, allow) for other in others)


class TableResolver:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.table.get(host, [])


@pytest.mark.parametrize(
    ("host", "answers", "outcome"),
    [
        ("news.test", ["93.184.216.34"], ["93.184.216.34"]),
        ("news.test", ["93.184.216.34", "10.0.0.1"], BlockedAddress),
        ("news.test", [], DnsFailed),
        ("93.184.216.34", None, ["93.184.216.34"]),
        ("[::1]", None, BlockedAddress),
    ],
    ids=["public", "one-private-answer", "no-answer", "literal-v4", "literal-v6"],
)
def test_checked_addresses(host: str, answers: list[str] | None, outcome: object) -> None:
    """Names are resolved and refused if any answer is blocked; literals skip the resolver."""
    resolver = TableResolver({} if answers is None else {host: answers})
    call = checked_addresses(host, 80, resolver, False)
    if isinstance(outcome, list):
        assert asyncio.run(call) == outcome
    else:
        with pytest.raises(outcome):  # type: ignore[call-overload]
            asyncio.run(call)
    assert resolver.calls == ([] if answers is None else [host])


class FailingResolver:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def resolve(self, host: str, port: int) -> list[str]:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        OSError("resolver down"),
        UnicodeError("label empty or too long"),
    ],
    ids=["nxdomain", "oserror", "idna"],
)
def test_failed_resolution_is_dns_failed(error: Exception) -> None:
    """Whatever way resolving fails (no such name, resolver error, a label idna refuses), it
    is DnsFailed with slug "dns" and the host's name, never a bare OSError or UnicodeError."""
    call = checked_addresses("nowhere.test", 80, FailingResolver(error), False)
    with pytest.raises(DnsFailed, match=r"nowhere\.test") as caught:
        asyncio.run(call)
    assert caught.value.slug == "dns"


@pytest.mark.parametrize(
    ("host", "answers", "message"),
    [
        ("127.0.0.1", None, "refused to connect to 127.0.0.1: not a public address "
         "(set fetch.allow_private_networks to allow it, e.g. [127.0.0.1/32])"),
        ("[::1]", None, "refused to connect to [::1]: not a public address "
         "(set fetch.allow_private_networks to allow it, e.g. [::1/128])"),
        ("::ffff:10.0.0.7", None, "refused to connect to ::ffff:10.0.0.7: not a public address "
         "(set fetch.allow_private_networks to allow it, e.g. [10.0.0.7/32])"),
        ("intranet.test", ["192.168.1.20"], "refused to connect to intranet.test (192.168.1.20): "
         "not a public address (set fetch.allow_private_networks to allow it, "
         "e.g. [192.168.1.20/32])"),
    ],
    ids=["literal-v4", "literal-v6", "v4-mapped", "name"],
)  # fmt: skip
def test_refusal_names_the_setting_that_allows_the_address(
    host: str, answers: list[str] | None, message: str
) -> None:
    """A refusal says which address and how to allow exactly it: an IPv4-mapped address is
    allowed as the IPv4 address it is judged as, so that is the example given."""
    resolver = TableResolver({} if answers is None else {host: answers})
    with pytest.raises(BlockedAddress) as caught:
        asyncio.run(checked_addresses(host, 80, resolver, False))
    assert str(caught.value) == message
    example = message.rsplit("[", 1)[1].rstrip("])")
    ip = answers[0] if answers else host.strip("[]")
    assert not is_blocked(ip, (example,))  # the example given does allow it
