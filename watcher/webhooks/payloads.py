"""[notify] A stream entry → the webhook body: standard JSON, or a Slack / Discord message.

Pure. Field limits are the receivers' documented ones, so a long title never turns a
deliverable story into a 400 that is retried until it is dead-lettered:
Slack https://api.slack.com/reference/block-kit/blocks#section (3000 chars per text object),
Discord https://discord.com/developers/docs/resources/message#embed-object-embed-limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from watcher.config import MessageTemplate
from watcher.webhooks.message import DIGEST, digest_message

Format = Literal["standard", "slack", "discord"]

# SPEC's webhook ``data`` keys, in SPEC's order.
DATA_FIELDS = ("id", "url", "title", "source", "site", "published_at", "topics", "excerpt")
MAX_TITLE = 500  # longer "titles" are extraction accidents (a whole paragraph), not headlines
MAX_EXCERPT = 1000  # SPEC's excerpt is ~300 chars; this only bounds a malformed entry
MAX_URL = 2048  # the de-facto URL limit of browsers and CDNs
MAX_TOPICS = 50
SLACK_TEXT = 3000
DISCORD_CONTENT, DISCORD_TITLE, DISCORD_DESCRIPTION, DISCORD_FOOTER = 2000, 256, 4096, 2048
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>\[\]])")  # inline markdown and masked links


def _cut(value: object, limit: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


UPDATE_FIELDS = ("update_reason", "original_url", "original_source")  # additive, updates only


def event_data(doc: Mapping[str, Any]) -> dict[str, Any]:
    """SPEC's ``data`` object from a stream document, each field bounded in size.

    A ``story.updated`` document's ``update_reason`` and original (``original_url``,
    ``original_source``) follow SPEC's fields, when present: a receiver learns why and from
    whom without reading the stream.
    """
    topics = doc.get("topics") or []
    data = {
        "id": _cut(doc.get("id"), 200),
        "url": _cut(doc.get("url"), MAX_URL),
        "title": _cut(doc["title"], MAX_TITLE) if doc.get("title") else None,
        "source": _cut(doc.get("source"), 200),
        "site": _cut(doc.get("site"), 255),
        "published_at": _cut(doc["published_at"], 64) if doc.get("published_at") else None,
        "topics": [_cut(t, 100) for t in list(topics)[:MAX_TOPICS]],
        "excerpt": _cut(doc.get("excerpt"), MAX_EXCERPT),
    }
    if doc.get("update_reason"):
        for name in UPDATE_FIELDS:
            if doc.get(name):
                data[name] = _cut(doc[name], MAX_URL)
    return data


def is_wanted(
    event_type: str, topics: Sequence[str], *, events: Sequence[str], wanted: Sequence[str]
) -> bool:
    """The endpoint's filters: ``events`` (empty: all) and ``topics`` (empty: all; any overlap)."""
    if events and event_type not in events:
        return False
    return not wanted or bool(set(topics) & set(wanted))


def render(fmt: Format, event_type: str, data: Mapping[str, Any], occurred_at: datetime) -> bytes:
    """The request body for one endpoint format, as UTF-8 JSON bytes (the exact signed bytes)."""
    if event_type == DIGEST and fmt in ("slack", "discord"):
        text = digest_message(MessageTemplate(), data)
        plain = f"{text.title}\n\n{text.body}"
        key, limit = ("text", SLACK_TEXT) if fmt == "slack" else ("content", DISCORD_CONTENT)
        body: dict[str, Any] = {key: _cut(plain, limit)}
        if fmt == "discord":
            body["allowed_mentions"] = {"parse": []}
    elif fmt == "slack":
        body = slack_message(event_type, data)
    elif fmt == "discord":
        body = discord_message(event_type, data)
    else:
        body = {"type": event_type, "timestamp": occurred_at.isoformat(), "data": dict(data)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _headline(event_type: str) -> str:
    return "Updated story" if event_type == "story.updated" else "New story"


def _slack_escape(text: str) -> str:
    """Slack's three control characters; this also defuses ``<!channel>``-style mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str) -> str:
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")


def slack_message(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: linked title, outlet, excerpt, with a plain fallback."""
    title = _slack_escape(data.get("title") or data["url"])
    outlet = _slack_escape(data.get("site") or data.get("source") or "")
    link = f"<{_slack_link(data['url'])}|{title}>"
    lines = [
        f"*{link}*",
        f"{outlet}" + (f" · {data['published_at']}" if data.get("published_at") else ""),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut("\n".join(lines), SLACK_TEXT)}}
    ]
    if data.get("excerpt"):
        excerpt = _cut(_slack_escape(data["excerpt"]), SLACK_TEXT)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": excerpt}})
    context = f"{_headline(event_type)} from {_slack_escape(str(data.get('source') or ''))}"
    if data.get("topics"):
        context += " · topics: " + ", ".join(_slack_escape(t) for t in data["topics"])
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, SLACK_TEXT)}]}
    )
    fallback = f"{_headline(event_type)}: {title} ({outlet}) {data['url']}"
    return {"text": _cut(fallback, SLACK_TEXT), "blocks": blocks}


def _discord_escape(text: str) -> str:
    return _DISCORD_MARKDOWN.sub(r"\\\1", text)


def _discord_timestamp(value: object) -> str | None:
    """Discord rejects the whole message for a malformed embed timestamp: send only valid ones."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def discord_message(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A Discord webhook message: one embed (title → link, outlet, excerpt); mentions disabled."""
    title = data.get("title") or data["url"]
    outlet = data.get("site") or data.get("source") or ""
    embed: dict[str, Any] = {
        "title": _cut(title, DISCORD_TITLE),
        "url": data["url"],
        "description": _cut(data.get("excerpt") or "", DISCORD_DESCRIPTION),
        "author": {"name": _cut(outlet, DISCORD_TITLE)},
    }
    footer = str(data.get("source") or "")
    if data.get("topics"):
        footer += " · " + ", ".join(data["topics"])
    embed["footer"] = {"text": _cut(footer, DISCORD_FOOTER)}
    if stamp := _discord_timestamp(data.get("published_at")):
        embed["timestamp"] = stamp
    content = f"{_headline(event_type)}: **{_discord_escape(title)}** ({_discord_escape(outlet)})"
    # A title saying "@everyone" must not ping a whole server.
    return {
        "content": _cut(content, DISCORD_CONTENT),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }
