"""[notify] The channel registry: each ``format`` name → the kind of channel that serves it.

Adding a channel is a new module here that defines a ``ChannelKind`` and one line in
``REGISTRY`` (README, "Adding a channel"). Everything else (durable retries, dead letters,
replay, digests, health, metrics) is the endpoint's and the same for every channel.
"""

from __future__ import annotations

from watcher.config import Config, Webhook
from watcher.errors import ConfigError, Problem
from watcher.webhooks.channels import apprise_channel, webhook
from watcher.webhooks.channels.base import Channel, ChannelContext, ChannelKind, Event

REGISTRY: dict[str, ChannelKind] = {
    "standard": webhook.KIND,
    "slack": webhook.KIND,
    "discord": webhook.KIND,
    "apprise": apprise_channel.KIND,
}


def kind_of(hook: Webhook) -> ChannelKind:
    """The registered kind for ``hook.format``; KeyError for an unknown one (``check`` first)."""
    return REGISTRY[hook.format]


def problems(config: Config) -> list[Problem]:
    """Every channel entry's problems, each at its key path (``notify[0].url: ...``)."""
    out = []
    for path, hook in config.channel_entries():
        kind = REGISTRY.get(hook.format)
        if kind is None:
            known = ", ".join(sorted(REGISTRY))
            out.append(Problem(f"{path}.format", f"unknown format {hook.format!r} ({known})"))
            continue
        out += [Problem(f"{path}.{field}", message) for field, message in kind.check(hook)]
    return out


def check(config: Config) -> None:
    """Raise ConfigError listing every channel problem (``watcher check`` reports them)."""
    if found := problems(config):
        raise ConfigError(found)


def build(hook: Webhook, context: ChannelContext) -> Channel:
    return kind_of(hook).build(hook, context)


def secrets_of(config: Config) -> list[tuple[str, str]]:
    """What the logs must never show of any channel: secrets, tokens in URLs, passwords."""
    out: list[tuple[str, str]] = []
    for _path, hook in config.channel_entries():
        if kind := REGISTRY.get(hook.format):
            out += kind.secrets(hook)
    return out


__all__ = ["REGISTRY", "Channel", "ChannelContext", "ChannelKind", "Event", "build", "check"]
