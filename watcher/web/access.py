"""Who may read the dashboard and the API. Pure: the request's peer and headers in, a verdict out.

With ``http.token`` set, every request must carry it (``Authorization: Bearer <token>``, or
HTTP Basic with the token as password, which is what a browser can send): 401 otherwise,
whoever asks. Without a token only loopback peers are answered, and 403 goes to anyone else,
including a request that came through a proxy (it carries ``Forwarded``/``X-Forwarded-For``):
the peer is then the proxy, not the person. Probes and /metrics are never asked.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROXY_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")


@dataclass(frozen=True, slots=True)
class Denied:
    """Why a request is refused: its HTTP status and a one-line reason for the body."""

    status: str
    reason: str
    challenge: bool = False  # 401: ask the browser for the token (WWW-Authenticate)


def is_loopback(peer: str | None) -> bool:
    """127.0.0.0/8 and ::1 (an IPv4-mapped loopback too); anything unparsable is not."""
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def presented_token(authorization: str | None) -> str | None:
    """The token in an ``Authorization`` header: Bearer's, or Basic's password."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def check(environ: Mapping[str, Any], token: str | None) -> Denied | None:
    """None when the request may be answered, else why not."""
    if token is not None:
        given = presented_token(environ.get("HTTP_AUTHORIZATION"))
        if given is None:
            return Denied("401 Unauthorized", "this needs the http.token", challenge=True)
        if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
            return Denied("401 Unauthorized", "wrong token", challenge=True)
        return None
    if any(environ.get(h) for h in PROXY_HEADERS):
        return Denied("403 Forbidden", "proxied request and no http.token set")
    if not is_loopback(environ.get("REMOTE_ADDR")):
        return Denied("403 Forbidden", "only loopback clients, unless http.token is set")
    return None
