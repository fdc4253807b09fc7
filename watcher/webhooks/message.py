"""[notify] An event → a text message (title + body) for channels that send text (Apprise).

Pure. The user's ``MessageTemplate`` decides the wording; the values are the event's fields,
bounded like the webhook payload's. A digest lists its stories grouped by topic, one ``item``
line each, under a ``digest_title``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watcher import template
from watcher.config import MessageTemplate

NO_TOPIC = "other"  # the heading of stories that matched no topic


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class TopicGroup:
    """One heading of a digest: a topic and its stories, in the order they arrived."""

    topic: str
    stories: tuple[Mapping[str, Any], ...]


def story_values(event_type: str, data: Mapping[str, Any]) -> dict[str, str]:
    """The template fields of one story (``template.STORY_FIELDS``), each a string."""
    outlet = data.get("site") or data.get("source") or ""
    return {
        "event": event_type,
        "headline": "Updated story" if event_type == "story.updated" else "New story",
        "title": str(data.get("title") or data.get("url") or ""),
        "outlet": str(outlet),
        "link": str(data.get("url") or ""),
        "excerpt": str(data.get("excerpt") or ""),
        "source": str(data.get("source") or ""),
        "site": str(data.get("site") or ""),
        "topics": ", ".join(str(t) for t in data.get("topics") or []),
        "published_at": str(data.get("published_at") or ""),
    }


def story_message(texts: MessageTemplate, event_type: str, data: Mapping[str, Any]) -> Message:
    values = story_values(event_type, data)
    return Message(template.fill(texts.title, values).strip(), template.fill(texts.body, values))


def group_by_topic(stories: Sequence[Mapping[str, Any]]) -> list[TopicGroup]:
    """Stories under each of their topics (a story in two topics is listed under both: a
    reader skimming one heading must not miss it), topics by name, NO_TOPIC last."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for story in stories:
        for topic in story.get("topics") or [NO_TOPIC]:
            groups.setdefault(str(topic), []).append(story)
    names = sorted(groups, key=lambda name: (name == NO_TOPIC, name))
    return [TopicGroup(name, tuple(groups[name])) for name in names]


def digest_message(texts: MessageTemplate, data: Mapping[str, Any]) -> Message:
    """A digest event's data (``period_start``, ``period_end``, ``stories``) → one message."""
    stories = list(data.get("stories") or [])
    groups = group_by_topic(stories)
    values = {
        "count": str(len(stories)),
        "period_start": str(data.get("period_start") or ""),
        "period_end": str(data.get("period_end") or ""),
        "topics": ", ".join(g.topic for g in groups),
    }
    sections = []
    for group in groups:
        lines = [template.fill(texts.item, story_values("story.created", s)) for s in group.stories]
        sections.append("\n".join([f"{group.topic} ({len(group.stories)})", *lines]))
    return Message(template.fill(texts.digest_title, values).strip(), "\n\n".join(sections))


def message_of(texts: MessageTemplate, event_type: str, data: Mapping[str, Any]) -> Message:
    """The message for any event: a digest, or one story."""
    if event_type == DIGEST:
        return digest_message(texts, data)
    return story_message(texts, event_type, data)


DIGEST = "digest"  # the event type of a digest (``data["stories"]`` lists the period's stories)
