"""[notify] How a stream entry becomes a ``Delivery``: the document's webhook data (pure)."""

from __future__ import annotations

import json

from watcher.store.deliveries import Delivery
from watcher.webhooks.payloads import event_data


def delivery_from_entry(stream_id: str, fields: dict[str, str] | None) -> Delivery | None:
    """A stream entry (``event`` + ``data`` JSON document) → Delivery; None when unreadable."""
    if not fields or "data" not in fields:
        return None
    try:
        doc = json.loads(fields["data"])
        return Delivery(stream_id, fields.get("event") or "story.created", event_data(doc))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
