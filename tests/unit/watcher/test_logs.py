"""Log lines: one JSON object per event when not on a terminal, and never a secret."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator

import pytest
import structlog

from watcher import logs
from watcher.cli import secrets_of
from watcher.config import parse_config

SECRET = "whsec_" + base64.b64encode(b"log-secret-0123456789abcdef").decode()
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXtokenXXXX"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """JSON logs that know the secrets of a config with a Slack webhook; reset afterwards."""
    config = parse_config(
        {
            "sources": [{"name": "s", "type": "feed", "url": "https://example.com/feed"}],
            "webhooks": [
                {"name": "bot", "url": SLACK, "secret": f"{SECRET} {SECRET[:-4]}AAAA"},
            ],
        },
        {},
    )
    out = io.StringIO()
    logs.setup("info", json=True, stream=out)
    logs.register_secrets(secrets_of(config))
    yield out
    logs.register_secrets([])
    structlog.reset_defaults()


def read(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_event_is_one_json_line_with_its_fields(
    json_logs: io.StringIO,
) -> None:
    log = structlog.get_logger("t")
    log.info("poll", source="verge", url="https://example.com/a", outcome="ok", duration_ms=12)
    log.warning("article_failed", source="verge", reason="timeout")
    first, second = read(json_logs)
    assert first["event"] == "poll"
    assert first["source"] == "verge"
    assert first["duration_ms"] == 12
    assert first["level"] == "info"
    assert "timestamp" in first
    assert second["reason"] == "timeout"


def test_secrets_never_reach_a_log_line(
    json_logs: io.StringIO,
) -> None:
    log = structlog.get_logger("t")
    log.info("x", secret=SECRET)  # a field named like a secret
    log.error("post_failed", error=f"rejected {SECRET} at {SLACK}")  # inside a message
    log.info("fetch", url="https://user:hunter2@example.com/feed")  # URL userinfo
    text = json_logs.getvalue()
    assert SECRET.removeprefix("whsec_") not in text
    assert "XXXXtokenXXXX" not in text
    assert "hunter2" not in text
    assert "https://hooks.slack.com/***" in text
    assert "https://***@example.com/feed" in text


def test_level_filters_below_it() -> None:
    out = io.StringIO()
    logs.setup("warning", json=True, stream=out)
    try:
        log = structlog.get_logger("t")
        log.info("quiet")
        log.warning("loud")
        assert [line["event"] for line in read(out)] == ["loud"]
    finally:
        structlog.reset_defaults()


def _post(url: str, secret: str) -> None:
    """A real frame whose locals hold the secrets, raising with only the URL's path in its
    message (as httpx's request line would show it)."""
    headers = {"authorization": f"Bearer {secret}"}
    path = url.split("hooks.slack.com", 1)[1]
    raise RuntimeError(f"POST {path} failed with headers {headers}")


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "console"])
def test_tracebacks_show_no_locals_and_no_secret(as_json: bool) -> None:
    """An exception logged with its traceback shows frames, never their local variables, and
    no secret or URL path token even inside the exception's own message."""
    config = parse_config(
        {
            "sources": [{"name": "s", "type": "feed", "url": "https://example.com/feed"}],
            "webhooks": [{"name": "bot", "url": SLACK, "secret": SECRET, "format": "slack"}],
        },
        {},
    )
    out = io.StringIO()
    logs.setup("info", json=as_json, stream=out)
    logs.register_secrets(secrets_of(config))
    try:
        try:
            _post(SLACK, SECRET)
        except RuntimeError:
            structlog.get_logger("t").exception("webhook_internal_error", endpoint="bot")
    finally:
        logs.register_secrets([])
        structlog.reset_defaults()
    text = out.getvalue()
    assert "_post" in text  # the traceback is there, frame by frame
    assert "RuntimeError" in text
    for leak in ("XXXXtokenXXXX", "/services/T000/B000", SECRET.removeprefix("whsec_")):
        assert leak not in text, text
    assert '"locals"' not in text  # JSON frames have no locals key


def test_url_tokens_cover_path_segments_and_query() -> None:
    """A webhook URL's path, its long segments and its query values are each redacted, so the
    token is hidden however a message quotes it."""
    shown = dict(
        logs.url_secrets("https://discord.com/api/webhooks/123456789012/AbCdEfGhIjKlMnOpQrSt")
    )
    assert shown["/api/webhooks/123456789012/AbCdEfGhIjKlMnOpQrSt"] == "/***"
    assert shown["AbCdEfGhIjKlMnOpQrSt"] == "***"
    assert "api" not in shown  # short, common segments are left readable
    assert (
        dict(logs.url_secrets("https://h.example/hook?token=0123456789abcdef"))["0123456789abcdef"]
        == "***"
    )


def test_request_header_values_and_proxy_passwords_never_reach_a_log_line() -> None:
    """A configured header's value (a token from ${ENV}) is redacted wherever a line quotes
    it, but for headers that carry no secret (Accept-Language); a proxy's password too."""
    config = parse_config(
        {
            "fetch": {"headers": {"X-Api-Key": "${KEY}", "Accept-Language": "en-GB"}},
            "sources": [
                {
                    "name": "s",
                    "type": "site",
                    "url": "https://example.com/",
                    "headers": {"Cookie": "session=c00kie-value"},
                    "proxy": "http://bot:pr0xy-pass@proxy.example:3128",
                }
            ],
        },
        {"KEY": "k3y-from-env-123"},
    )
    out = io.StringIO()
    logs.setup("info", json=True, stream=out)
    logs.register_secrets(secrets_of(config))
    try:
        structlog.get_logger("t").warning(
            "poll",
            error="GET https://example.com/ sent X-Api-Key: k3y-from-env-123, "
            "Cookie: session=c00kie-value via http://bot:pr0xy-pass@proxy.example:3128",
            language="en-GB",
        )
    finally:
        logs.register_secrets([])
        structlog.reset_defaults()
    (line,) = read(out)
    text = json.dumps(line)
    for secret in ("k3y-from-env-123", "c00kie-value", "pr0xy-pass"):
        assert secret not in text, text
    assert line["language"] == "en-GB"
