"""Config URLs checked at load: scheme, port, host syntax, IDNA, and what httpx will accept.

A URL that passes here is one the fetcher, the webhook sender and redis-py can use, so a typo
fails ``watcher check`` instead of every poll at run time. Messages name the part that is wrong,
never the whole URL: a webhook URL's path and a Redis URL's password are secrets.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

import httpx
import idna

MAX_URL = 4096  # longer than any real feed URL; bounds the work on a pasted blob
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")  # DNS LDH; '_' as DNS allows
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")  # WHATWG: such a last label means IPv4


def check_http_url(value: str) -> str:
    """An http(s) URL the fetcher can request, its host IDNA-encoded; ValueError says why not."""
    parts = _split(value, ("http", "https"))
    host = _ascii_host(parts)
    url = _with_host(value, parts, host)
    _check_httpx_agrees(url, host)
    return url


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def check_proxy_url(value: str) -> str:
    """A proxy the fetcher can go through (http, https, socks5, socks5h); "" is no proxy.

    Messages name the part that is wrong, never the URL: it may carry a password.
    """
    if value == "":
        return value
    parts = _split(value, PROXY_SCHEMES)
    host = _ascii_host(parts)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("a proxy URL is scheme://[user:password@]host:port, without a path")
    url = _with_host(value, parts, host)
    _check_httpx_agrees(url, host)
    return url


def proxy_host(value: str) -> str:
    """The host of a checked proxy URL (an IP address or an IDNA name)."""
    return (urlsplit(value).hostname or "").strip("[]")


def check_redis_url(value: str) -> str:
    """``redis://``, ``rediss://`` or ``unix://`` as redis-py reads them; "" means embedded."""
    if value == "":
        return value
    parts = _split(value, ("redis", "rediss", "unix"))
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError("a unix:// Redis URL needs a socket path")
        return value
    if parts.hostname:
        _ascii_host(parts)
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ValueError(f"the database must be a number (/0 .. /15), not {db[:20]!r}")
    return value


def _split(value: str, schemes: tuple[str, ...]) -> SplitResult:
    if len(value) > MAX_URL:
        raise ValueError(f"is longer than {MAX_URL} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value.strip()):
        raise ValueError("contains whitespace or control characters (percent-encode them)")
    try:
        parts = urlsplit(value.strip())
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ValueError(f"must start with {wanted}")
    _check_port(parts)
    return parts


def _check_port(parts: SplitResult) -> None:
    written = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    if written and not (written.isascii() and written.isdigit()):
        raise ValueError(f"port {written[:20]!r} is not a number")
    if written and (len(written) > 5 or not 1 <= int(written) <= 65535):
        raise ValueError(f"port {written[:20]} is out of range (1-65535)")


def _ascii_host(parts: SplitResult) -> str:
    """The host as it goes on the wire: an IP address, or an IDNA (A-label) host name."""
    host = parts.hostname or ""
    if not host:
        raise ValueError("has no host")
    if parts.netloc.rpartition("@")[2].startswith("["):
        return _ipv6(host)
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(
                f"host {host!r} is not a valid internationalized name ({exc})"
            ) from None
    labels = host.removesuffix(".").split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        return _ipv4(host)
    if len(host) > 253:
        raise ValueError("host name is longer than 253 characters")
    for label in labels:
        _check_label(host, label)
    return host


def _check_label(host: str, label: str) -> None:
    if not _LABEL.match(label):
        raise ValueError(
            f"host {host!r} is not a valid host name (label {label!r}: 1-63 letters, digits,"
            " '-' or '_', not starting or ending with '-')"
        )
    if label.startswith("xn--"):
        try:
            idna.decode(label)
        except idna.IDNAError as exc:
            raise ValueError(
                f"host {host!r}: {label!r} is not a valid IDNA label ({exc})"
            ) from None


def _ipv4(host: str) -> str:
    try:
        return str(ipaddress.IPv4Address(host.removesuffix(".")))
    except ValueError:
        pass
    hint = ""
    with contextlib.suppress(OSError):  # what a C resolver makes of octal, hex or short forms
        hint = f"; it would mean {socket.inet_ntoa(socket.inet_aton(host))}, write that"
    raise ValueError(
        f"host {host!r} looks like an IPv4 address but is not four decimal numbers 0-255"
        f" without leading zeros{hint}"
    )


def _ipv6(host: str) -> str:
    try:
        return str(ipaddress.IPv6Address(host))
    except ValueError:
        raise ValueError(f"host [{host}] is not a valid IPv6 address") from None


def _with_host(value: str, parts: SplitResult, host: str) -> str:
    """``value`` with its host replaced by the IDNA form, when that differs (else unchanged)."""
    if (parts.hostname or "").isascii():
        return value
    userinfo, _, hostport = parts.netloc.rpartition("@")
    port = hostport[len(hostport.rsplit(":", 1)[0]) :] if parts.port is not None else ""
    netloc = f"{userinfo}@{host}{port}" if userinfo else f"{host}{port}"
    return parts._replace(netloc=netloc).geturl()


def _check_httpx_agrees(url: str, host: str) -> None:
    """httpx parses URLs itself: refuse what it refuses, and any URL it reads another host from
    (two parsers disagreeing on a host is how SSRF filters are bypassed)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:  # idna.IDNAError is a ValueError
        raise ValueError(f"is not a URL httpx can request ({exc})") from None
    seen = parsed.raw_host.decode("ascii", "replace")
    if not _same_host(seen, host):
        raise ValueError(f"is ambiguous: its host reads as {host!r} or as {seen!r}")


def _same_host(a: str, b: str) -> bool:
    a, b = a.strip("[]").lower().removesuffix("."), b.strip("[]").lower().removesuffix(".")
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b
