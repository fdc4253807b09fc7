"""[notify] One webhook POST: SSRF-checked address, no redirects, bounded time and response.

Connections go through the netguard's ``GuardedBackend``: the host is resolved once per
connection, refused if any answer is private (unless allowed), and the socket opens to the
checked address, so DNS rebinding cannot reach a private address. Redirects are not followed
at all: a 3xx is a failed attempt, like any other non-2xx.

A webhook URL can itself be a secret (Slack and Discord put their token in the path), so
messages name only the scheme and host, never the path or query. That holds for the receiver's
own words too: an error page often quotes the request line, and the attempt's detail is
stored in Redis (retry reasons, dead letters), so the path is cut out of it here, at the source.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit

import httpcore
import httpx

from scrapers.errors import BlockedAddress, DnsFailed
from scrapers.netguard import GuardedBackend, Resolver, SystemResolver

MAX_RESPONSE = 64 * 1024  # read at most this much of a reply; we only need its status
DETAIL_CHARS = 200  # a whole detail, one line: enough to tell "maintenance" from "bad signature"
URL_PIECE = 8  # path segments and query values this long may be a token (Slack's are 9-24)
USER_AGENT = "news-watcher/0.1 (webhooks; +https://www.standardwebhooks.com/)"
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")
_PRINTABLE_HOST = re.compile(r"[A-Za-z0-9.:_-]{1,253}")


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one POST came to: a status (None without a response) and a stable ``reason`` slug."""

    status: int | None
    # ok | http_<code> | timeout | connect_error | dns | network_error | private_address
    # | invalid_url (httpx cannot parse the URL: nothing was sent)
    reason: str
    detail: str = ""
    retry_after: str | None = None


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: what may appear in logs, status and errors.

    Never the path, query or user info. A URL httpx refuses is named by what the standard
    library makes of its host (``http://0177.0.0.2``), else by ``<invalid url>``.
    """
    try:
        parts = httpx.URL(url)
        scheme, host, port = parts.scheme, parts.host, parts.port
    except httpx.InvalidURL:
        try:
            split = urlsplit(url)
            scheme, host, port = split.scheme, split.hostname or "", split.port
        except ValueError:
            return "<invalid url>"
        if not (scheme and host) or not _PRINTABLE_HOST.fullmatch(host):
            return "<invalid url>"
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}{f':{port}' if port else ''}"


class Sender:
    """One endpoint's httpx client (no env proxies: they'd bypass the guard).

    One per endpoint, not one for all: each endpoint keeps its own warm connections (as many
    as it has attempts in flight, so none is closed and reopened between two events), a
    receiver that hangs can only exhaust its own pool, and the pool that httpcore scans on
    every request stays small (a shared pool of 160 connections cost more CPU than the POST).
    """

    def __init__(
        self,
        *,
        timeout: float,
        connections: int,
        allow_private_networks: bool | tuple[str, ...] = False,
        resolver: Resolver | None = None,
    ) -> None:
        self._timeout = timeout
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.AsyncClient(
            transport=_guarded_transport(
                GuardedBackend(resolver or SystemResolver(), allow_private_networks), limits
            ),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            limits=limits,
            headers={"user-agent": USER_AGENT},
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt:
        """POST ``body``; never raises for the receiver's, network's or URL's failures: returns
        them. No detail quotes an exception about the URL itself: it could carry the path."""
        attempt = await self._attempt(url, body, headers)
        return replace(attempt, detail=scrubbed(attempt.detail, url))

    async def _attempt(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._post(url, body, headers)
        except httpx.InvalidURL:  # before any connection: the URL itself is the problem
            return Attempt(None, "invalid_url", f"POST {origin(url)}: httpx cannot parse the URL")
        except BlockedAddress as exc:
            return Attempt(None, "private_address", f"POST {origin(url)}: {exc}")
        except DnsFailed as exc:
            return Attempt(None, "dns", f"POST {origin(url)}: {exc}")
        except (TimeoutError, httpx.TimeoutException):
            return Attempt(None, "timeout", f"POST {origin(url)}: no answer in {self._timeout:g}s")
        except httpx.ConnectError as exc:
            return Attempt(None, "connect_error", f"POST {origin(url)}: cannot connect ({exc})")
        except httpx.TransportError as exc:
            return Attempt(None, "network_error", f"POST {origin(url)}: {type(exc).__name__}")

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt:
        request_headers = {
            **headers,
            "content-type": "application/json",
            "accept-encoding": "identity",  # the reply is read raw and bounded: no gzip bombs
        }
        async with self._client.stream(
            "POST", url, content=body, headers=request_headers
        ) as response:
            head = await _read_bounded(response)
        status = response.status_code
        if 200 <= status < 300:
            return Attempt(status, "ok")
        detail = f"POST {origin(url)}: HTTP {status}"
        if 300 <= status < 400:
            detail += " (redirects are not followed)"
        elif snippet := _one_line(head.decode("utf-8", "replace")):
            if len(head) >= MAX_RESPONSE:  # cut mid-word: a token's head must not stay behind
                snippet = snippet.rpartition(" ")[0]
            detail += f": {snippet}"
        return Attempt(status, f"http_{status}", detail, response.headers.get("retry-after"))

    async def aclose(self) -> None:
        await self._client.aclose()


def scrubbed(detail: str, url: str) -> str:
    """``detail`` as one printable line of at most DETAIL_CHARS, without ``url``'s path, query
    or any long piece of them (a reply may quote the path JSON-escaped, or just the token)."""
    text = _one_line(detail)
    for piece in sorted(_url_pieces(url), key=len, reverse=True):
        text = text.replace(piece, "***")
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."


def _one_line(text: str) -> str:
    return " ".join(_UNPRINTABLE.sub(" ", text).split())


def _url_pieces(url: str) -> set[str]:
    """The parts of a webhook URL beyond its origin, as configured and as httpx sends them."""
    tails = set()
    try:
        split = urlsplit(url)
        tails.add(split.path + (f"?{split.query}" if split.query else ""))
        sent = httpx.URL(url).raw_path.decode("ascii")
        tails.add(sent)
    except (ValueError, httpx.InvalidURL):
        pass
    pieces = {url} | {t for t in tails if len(t) > 1}
    for tail in tails:
        path, _, query = tail.partition("?")
        raw_query = query.replace("=", "&").split("&")  # as sent, and decoded below
        words = path.split("/") + raw_query + [v for _k, v in parse_qsl(query)]
        pieces |= {w for w in words if len(w) >= URL_PIECE}
    return {p for p in pieces if p.strip()}


async def _read_bounded(response: httpx.Response) -> bytes:
    """At most MAX_RESPONSE bytes of the reply; the rest is left unread (the stream closes)."""
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE:
            break
    return b"".join(chunks)[:MAX_RESPONSE]


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying context for every endpoint: building one loads the CA bundle (~10 ms)."""
    return httpx.create_ssl_context(trust_env=False)


def _guarded_transport(backend: GuardedBackend, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport over a pool that connects through the netguard backend.

    httpx has no public hook for a network backend, so the pool it built is swapped for one
    with the same settings plus the backend (httpx is pinned below 0.29 in pyproject).
    """
    transport = httpx.AsyncHTTPTransport(verify=_ssl_context(), trust_env=False, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend,
    )
    return transport
