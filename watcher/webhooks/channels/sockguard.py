"""[notify] The SSRF guard for blocking libraries (Apprise): every name resolved on a guarded
thread goes through netguard's ``checked_addresses`` first.

Apprise opens its own sockets (``requests`` for web services, ``smtplib`` for mail), with no
hook for a network backend like httpcore's. Both resolve through ``socket.getaddrinfo``, so
that function is wrapped once per process: on a thread inside ``guarded(...)`` it resolves the
host with the daemon's resolver on the event loop, refuses it if ANY answer is blocked, and
hands the library only the checked addresses (so a record that changes between check and
connect, DNS rebinding, cannot reach a private address). Other threads are untouched.

Proxies from the environment (``HTTPS_PROXY``) are ignored on guarded threads, as the webhook
client ignores them: through a proxy, the guard would check the proxy, not the target.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scrapers.errors import BlockedAddress, DnsFailed
from scrapers.netguard import Allow, Resolver, checked_addresses

RESOLVE_TIMEOUT = 10.0  # a resolver that never answers fails the attempt, not the thread

_state = threading.local()
_install_lock = threading.Lock()
_original_getaddrinfo = socket.getaddrinfo


@dataclass(frozen=True, slots=True)
class Guard:
    """How a guarded thread resolves: the daemon's resolver and loop, and what is allowed."""

    loop: asyncio.AbstractEventLoop
    resolver: Resolver
    allow: Allow


class Refused(socket.gaierror):
    """The guard refused a host; an OSError, so the library reports a connection failure."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def refusal() -> Refused | None:
    """The last refusal on this thread inside ``guarded`` (the library swallows the error)."""
    found: Refused | None = getattr(_state, "refused", None)
    return found


@contextlib.contextmanager
def guarded(guard: Guard) -> Iterator[None]:
    """Within the block, on this thread, every resolution is checked (see module docstring)."""
    _install()
    _state.guard, _state.refused = guard, None
    try:
        yield
    finally:
        _state.guard = None


def _install() -> None:
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo
            _no_env_proxies()


def _no_env_proxies() -> None:
    """requests (Apprise's HTTP client) asks the environment for proxies in these two places."""
    import requests.sessions as sessions

    environ_proxies, resolve = sessions.get_environ_proxies, sessions.resolve_proxies

    def get_environ_proxies(*args: Any, **kwargs: Any) -> Any:
        return {} if getattr(_state, "guard", None) else environ_proxies(*args, **kwargs)

    def resolve_proxies(request: Any, proxies: Any, trust_env: bool = True) -> Any:
        trust = trust_env and getattr(_state, "guard", None) is None
        return resolve(request, proxies, trust)

    sessions.get_environ_proxies = get_environ_proxies
    sessions.resolve_proxies = resolve_proxies


def _guarded_getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> list[Any]:
    guard: Guard | None = getattr(_state, "guard", None)
    if guard is None:
        return _original_getaddrinfo(host, port, family, type, proto, flags)
    name = host.decode("idna") if isinstance(host, bytes) else str(host or "localhost")
    number = int(port) if isinstance(port, int) or (isinstance(port, str) and port.isdigit()) else 0
    addresses = _checked(guard, name, number)
    infos: list[Any] = []
    for ip in addresses:
        numeric = flags | socket.AI_NUMERICHOST
        infos += _original_getaddrinfo(ip, port, family, type, proto, numeric)
    return infos


def _checked(guard: Guard, host: str, port: int) -> list[str]:
    """netguard's verdict, computed on the event loop (the resolver is async and injectable)."""
    future = asyncio.run_coroutine_threadsafe(
        checked_addresses(host, port, guard.resolver, guard.allow), guard.loop
    )
    try:
        return future.result(timeout=RESOLVE_TIMEOUT)
    except BlockedAddress as exc:
        _state.refused = Refused("private_address", str(exc))
        raise _state.refused from None
    except DnsFailed as exc:
        _state.refused = Refused("dns", str(exc))
        raise _state.refused from None
    except TimeoutError:
        future.cancel()
        _state.refused = Refused("dns", f"cannot resolve {host}: no answer")
        raise _state.refused from None
