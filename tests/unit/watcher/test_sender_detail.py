"""What of a receiver's reply an attempt keeps: one bounded line, without the URL's path."""

from __future__ import annotations

import time

import pytest

from watcher.webhooks.sender import DETAIL_CHARS, scrubbed

SLACK = "https://hooks.slack.test/services/T0AAAA1111/B0BBBB2222/SlackTokenAbc123XyZ789"
SECRET_PARTS = ("T0AAAA1111", "B0BBBB2222", "SlackTokenAbc123XyZ789")


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        (f"no route for POST {SLACK.split('.test')[1]}", "no route for POST ***"),
        (f"bad url {SLACK}", "bad url ***"),
        ('{"error":"\\/services\\/T0AAAA1111\\/B0BBBB2222\\/SlackTokenAbc123XyZ789"}', "error"),
        ("invalid_token SlackTokenAbc123XyZ789\nretry later", "invalid_token *** retry later"),
        ("team T0AAAA1111 is archived", "team *** is archived"),
    ],
    ids=["request-line", "whole-url", "json-escaped", "token-alone-multiline", "one-segment"],
)
def test_scrubbed_cuts_every_piece_of_the_slack_path(reply: str, kept: str) -> None:
    """However the reply quotes the path (whole, JSON-escaped, one segment), none of it stays,
    and the receiver's own words do."""
    detail = scrubbed(f"POST https://hooks.slack.test: HTTP 404: {reply}", SLACK)
    assert kept in detail
    for part in SECRET_PARTS:
        assert part not in detail


@pytest.mark.parametrize(
    "reply", ["raw Abc%2FDef123456", "decoded Abc/Def123456"], ids=["raw", "decoded"]
)
def test_scrubbed_cuts_a_query_value_raw_and_decoded(reply: str) -> None:
    """A query value is cut as sent (percent-encoded) and as the receiver may decode it."""
    detail = scrubbed(
        f"POST https://h.test: HTTP 401: {reply}", "https://h.test/hook?token=Abc%2FDef123456"
    )
    assert "Def123456" not in detail
    assert detail.endswith(" ***")


@pytest.mark.parametrize(
    "reply",
    ["x" * 100_000, "line\n" * 20_000, "\x00\x1b[31m\u202e" * 1000, "word " * 10_000],
    ids=["long", "many-lines", "control-chars", "many-words"],
)
def test_scrubbed_is_one_printable_line_within_the_bound(reply: str) -> None:
    """Any reply becomes one line of printable ASCII, at most DETAIL_CHARS long."""
    detail = scrubbed(f"POST https://h.test: HTTP 500: {reply}", SLACK)
    assert len(detail) <= DETAIL_CHARS
    assert detail.isprintable()
    assert detail.isascii()
    assert "\n" not in detail


def test_scrubbed_keeps_a_short_reply_as_it_is() -> None:
    """A plain reply on a URL without a path is left alone."""
    assert scrubbed("POST https://h.test: HTTP 503: down for maintenance", "https://h.test/") == (
        "POST https://h.test: HTTP 503: down for maintenance"
    )


def test_scrubbed_grows_linearly_with_the_reply() -> None:
    """Scrubbing the largest reply kept (64 KB) is linear: 10x the text is about 10x the time
    (a ratio measured in-process, not a wall-clock limit)."""
    unit = "SlackTokenAbc123X /services/T0AAAA1111 " * 160  # ~6.4 KB of near-misses and hits

    def cost(text: str) -> float:
        start = time.perf_counter()
        for _ in range(20):
            scrubbed(text, SLACK)
        return time.perf_counter() - start

    small, large = cost(unit), cost(unit * 10)
    assert large / small < 30
