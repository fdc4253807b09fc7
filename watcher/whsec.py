"""Standard Webhooks secrets: ``whsec_<base64>`` values → HMAC keys (pure).

Apart from ``webhooks/signing.py`` because the config validates secrets at load (so ``watcher
check`` reports them) and the config must not import the notify package.
"""

from __future__ import annotations

import base64
import binascii

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
