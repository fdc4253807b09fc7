"""[notify] Message templates: ``string.Template`` over a fixed set of fields (pure).

A template is the user's text with ``$field`` placeholders, nothing more: no attribute access,
no format specs, no code, so a config file cannot make the daemon run anything. Unknown
placeholders are config errors (``watcher check``), found before any message is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

STORY_FIELDS = (
    "event",  # story.created | story.updated
    "headline",  # "New story" | "Updated story"
    "title",
    "outlet",  # the site's name, else its host, else the source name
    "link",
    "excerpt",
    "source",
    "site",
    "topics",  # comma-separated
    "published_at",
)
DIGEST_FIELDS = ("count", "period_start", "period_end", "topics")


def problems(text: str, fields: tuple[str, ...]) -> list[str]:
    """What is wrong with a template: a malformed ``$`` or a placeholder outside ``fields``."""
    template = Template(text)
    if not template.is_valid():
        return ["has a malformed placeholder (use $name or ${name}; $$ for a dollar sign)"]
    unknown = sorted(set(template.get_identifiers()) - set(fields))
    if unknown:
        return [f"unknown placeholder ${unknown[0]} (known: {', '.join(fields)})"]
    return []


def fill(text: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced; a missing value is left as written."""
    return Template(text).safe_substitute(values)
