"""Standard Webhooks signing: secrets, signatures equal to the reference package's, webhook ids."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import standardwebhooks

from watcher.webhooks.signing import sign, signed_headers, webhook_id
from watcher.whsec import parse_secrets

KEY_A = bytes(range(32))
KEY_B = b"\xff" * 24
SECRET_A = "whsec_" + base64.b64encode(KEY_A).decode()
SECRET_B = "whsec_" + base64.b64encode(KEY_B).decode()


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        (SECRET_A, (KEY_A,)),
        (SECRET_A.removeprefix("whsec_"), (KEY_A,)),
        (SECRET_A.rstrip("="), (KEY_A,)),
        (f"{SECRET_A} {SECRET_B}", (KEY_A, KEY_B)),
        (f"  {SECRET_B}\n", (KEY_B,)),
    ],
    ids=["prefixed", "bare-base64", "unpadded", "rotation-two", "surrounding-space"],
)
def test_parse_secrets_decodes_each_secret(value: str, keys: tuple[bytes, ...]) -> None:
    """Space-separated whsec_ secrets decode to their HMAC keys, in order."""
    assert parse_secrets(value) == keys


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("whsec_not*base64!", "#1 is not whsec_"),
        (f"{SECRET_A} whsec_c2hvcnQ=", "#2 is shorter"),
    ],
    ids=["empty", "not-base64", "second-too-short"],
)
def test_parse_secrets_rejects_bad_secret_without_echoing_it(value: str, message: str) -> None:
    """A bad secret is named by position; the message never contains the secret itself."""
    with pytest.raises(ValueError, match=message) as info:
        parse_secrets(value)
    for part in value.split():
        assert part not in str(info.value)


@pytest.mark.parametrize(
    ("msg_id", "timestamp", "body"),
    [
        ("msg_1", 1_700_000_000, b'{"type":"story.created"}'),
        ("msg_x", 0, b""),
        ("msg_\u00e9", 1_800_000_123, '{"title":"Caf\u00e9 \u2014 news"}'.encode()),
    ],
    ids=["json", "empty-body", "unicode"],
)
def test_sign_equals_reference_implementation(msg_id: str, timestamp: int, body: bytes) -> None:
    """Our v1 signature is byte-for-byte the standardwebhooks package's for the same input."""
    reference = standardwebhooks.Webhook(SECRET_A).sign(
        msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode()
    )
    assert sign(msg_id, timestamp, body, [KEY_A]) == reference


def test_sign_with_rotated_secrets_lists_one_signature_per_secret() -> None:
    """During a rotation every secret signs, space-separated, so either one verifies."""
    signature = sign("msg_r", 1_700_000_000, b"{}", [KEY_A, KEY_B])
    moment = datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert signature.split(" ") == [
        standardwebhooks.Webhook(SECRET_A).sign("msg_r", moment, "{}"),
        standardwebhooks.Webhook(SECRET_B).sign("msg_r", moment, "{}"),
    ]


def test_signed_headers_carry_the_three_standard_headers() -> None:
    """The headers are exactly webhook-id, webhook-timestamp (Unix seconds), webhook-signature."""
    headers = signed_headers("msg_h", 1_700_000_001, b"{}", [KEY_A])
    assert headers == {
        "webhook-id": "msg_h",
        "webhook-timestamp": "1700000001",
        "webhook-signature": sign("msg_h", 1_700_000_001, b"{}", [KEY_A]),
    }


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (("watcher", "bot", "1700000000000-0"), True),
        (("watcher", "bot", "1700000000000-1"), False),
        (("watcher", "slack", "1700000000000-0"), False),
        (("other-ns", "bot", "1700000000000-0"), False),
    ],
    ids=["same-event-same-endpoint", "other-event", "other-endpoint", "other-namespace"],
)
def test_webhook_id_is_stable_per_event_and_endpoint(
    other: tuple[str, str, str], same: bool
) -> None:
    """The id repeats for the same event and endpoint (every retry) and differs otherwise."""
    first = webhook_id("watcher", "bot", "1700000000000-0")
    assert first.startswith("msg_")
    assert (webhook_id(*other) == first) is same
