"""[notify] Standard Webhooks signatures: secrets, the stable ``webhook-id`` and the headers.

Pure: the caller passes the timestamp. The signed content is ``"<id>.<timestamp>.<body>"``,
HMAC-SHA256 with each secret, base64, prefixed ``v1,`` and space-separated
(https://www.standardwebhooks.com/, "Signature scheme"). Several secrets are how a secret is
rotated: the config's ``secret:`` holds them space-separated (``"whsec_new whsec_old"``), every
one signs, and a receiver that knows either verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence


def webhook_id(namespace: str, endpoint: str, event_id: str) -> str:
    """The message id: one per (event, endpoint), identical on every retry and replay.

    Receivers dedupe on it, so it must not change between attempts; it must differ per endpoint
    (two endpoints are two deliveries) and per namespace (two watchers may share a receiver).
    """
    digest = hashlib.sha256(f"{namespace}\0{endpoint}\0{event_id}".encode()).digest()
    return "msg_" + base64.b32encode(digest[:20]).decode("ascii").lower().rstrip("=")


def sign(msg_id: str, timestamp: int, body: bytes, keys: Sequence[bytes]) -> str:
    """The ``webhook-signature`` value: ``v1,<base64>`` per key, space-separated."""
    content = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")
        for key in keys
    )


def signed_headers(
    msg_id: str, timestamp: int, body: bytes, keys: Sequence[bytes]
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (``timestamp`` in Unix seconds)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, keys),
    }
