"""[notify] The HTTP channels: Standard Webhooks (signed JSON), Slack and Discord messages.

One POST per attempt through the SSRF-guarded ``Sender``; the status decides the outcome:
2xx delivered, 410 gone (the endpoint is disabled), anything else or no answer retried (no
sooner than a ``Retry-After``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import cast

from scrapers.fetch import retry_after_seconds
from watcher import logs
from watcher.config import Webhook
from watcher.webhooks.channels.base import Channel, ChannelContext, ChannelKind, Event
from watcher.webhooks.outcome import Delivered, Gone, Outcome, Retry
from watcher.webhooks.payloads import Format, render
from watcher.webhooks.retry import verdict_for
from watcher.webhooks.sender import Sender, origin
from watcher.webhooks.signing import signed_headers
from watcher.whsec import parse_secrets


class WebhookChannel(Channel):
    """POSTs the event rendered in the entry's format, signed with every configured secret."""

    def __init__(self, hook: Webhook, context: ChannelContext) -> None:
        self._url = hook.url
        self._format = cast(Format, hook.format)
        secret = hook.secret.get_secret_value() if hook.secret else ""
        self._keys = parse_secrets(secret)
        self._sender = Sender(
            timeout=context.timeout,
            connections=context.concurrency,
            allow_private_networks=context.allow_private_networks,
            resolver=context.resolver,
        )

    async def deliver(self, event: Event) -> Outcome:
        body = render(self._format, event.type, event.data, event.occurred_at)
        headers = signed_headers(event.id, int(time.time()), body, self._keys)
        attempt = await self._sender.post(self._url, body, headers)
        if attempt.status is None:
            return Retry(attempt.reason, attempt.detail)
        verdict = verdict_for(attempt.status)
        if verdict == "delivered":
            return Delivered(attempt.status)
        if verdict == "gone":
            return Gone(attempt.reason, attempt.detail, attempt.status)
        delay = retry_after_seconds(attempt.retry_after, datetime.now(UTC))
        return Retry(attempt.reason, attempt.detail, delay, attempt.status)

    def target(self) -> str:
        return origin(self._url)

    async def aclose(self) -> None:
        await self._sender.aclose()


def check(hook: Webhook) -> list[tuple[str, str]]:
    """An HTTP(S) URL (the config checked its host) and a Standard Webhooks secret (every
    format signs)."""
    problems = []
    if not hook.url.lower().startswith(("http://", "https://")):
        problems.append(("url", f"format {hook.format} needs an http:// or https:// URL"))
    if hook.secret is None:
        problems.append(("secret", f"is required for format {hook.format} (whsec_ + base64)"))
    else:
        try:
            parse_secrets(hook.secret.get_secret_value())
        except ValueError as exc:  # names the secret's position, never its value
            problems.append(("secret", str(exc)))
    return problems


def secrets(hook: Webhook) -> list[tuple[str, str]]:
    """Each secret, and the URL beyond its origin (Slack and Discord put the token there)."""
    out = [
        (part, "***") for part in (hook.secret.get_secret_value() if hook.secret else "").split()
    ]
    if hook.url.rstrip("/") != origin(hook.url):
        out.append((hook.url, f"{origin(hook.url)}/***"))
        out += logs.url_secrets(hook.url)
    return out


KIND = ChannelKind(check=check, build=WebhookChannel, secrets=secrets)
