"""[notify] Standard Webhooks signatures: secrets, the stable ``webhook-id`` and the headers.

Pure: the caller passes the timestamp. The signed content is ``"<id>.<timestamp>.<body>"``,
HMAC-SHA256 with each secret, base64, prefixed ``v1,`` and space-separated
(https://www.standardwebhooks.com/, "Signature scheme"). Several secrets are how a secret is
rotated: the config's ``secret:`` holds them space-separated (``"whsec_new whsec_old"``), every
one signs, and a receiver that knows either verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 16  # the spec asks for 24 to 64 random bytes; below 16 is a typo, not a key


def parse_secrets(value: str) -> tuple[bytes, ...]:
    """Space-separated ``whsec_<base64>`` secrets → HMAC keys, in the order given.

    The ``whsec_`` prefix is optional (as in the reference ``standardwebhooks`` package).
    Raises ValueError naming the position of a bad secret, never its value: the message ends up
    in ``watcher check`` output and logs.
    """
    keys = []
    parts = value.split()
    if not parts:
        raise ValueError("webhook secret is empty")
    for position, part in enumerate(parts, start=1):
        raw = part.removeprefix(SECRET_PREFIX)
        try:
            key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"webhook secret #{position} is not whsec_ + base64") from None
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"webhook secret #{position} is shorter than {MIN_KEY_BYTES} bytes")
        keys.append(key)
    return tuple(keys)


def webhook_id(namespace: str, endpoint: str, stream_id: str) -> str:
    """The message id: one per (event, endpoint), identical on every retry and replay.

    Receivers dedupe on it, so it must not change between attempts; it must differ per endpoint
    (two endpoints are two deliveries) and per namespace (two watchers may share a receiver).
    """
    digest = hashlib.sha256(f"{namespace}\0{endpoint}\0{stream_id}".encode()).digest()
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
