"""The dashboard and API's pure parts: who may look, parameters, index words, page helpers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from watcher.store.leases import LeaseView
from watcher.store.status import SourceRow
from watcher.views import SourceView
from watcher.web.access import check, is_loopback, presented_token
from watcher.web.pages import duration, page_link, render, safe_href
from watcher.web.params import BadParam, integer, moment, parse, story_query
from watcher.words import MAX_WORDS, indexed_entry, query_words, words_of

TOKEN = "s3cret-token-0123456789"


def _basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"user:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("environ", "token", "denied"),
    [
        ({"REMOTE_ADDR": "127.0.0.1"}, None, None),
        ({"REMOTE_ADDR": "::1"}, None, None),
        ({"REMOTE_ADDR": "192.0.2.1"}, None, "403 Forbidden"),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "192.0.2.1"}, None, "403 Forbidden"),
        ({"REMOTE_ADDR": "192.0.2.1", "HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}, TOKEN, None),
        ({"REMOTE_ADDR": "192.0.2.1", "HTTP_AUTHORIZATION": _basic(TOKEN)}, TOKEN, None),
        ({"REMOTE_ADDR": "127.0.0.1"}, TOKEN, "401 Unauthorized"),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer x"}, TOKEN, "401 Unauthorized"),
        (
            {"REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": f"Token {TOKEN}"},
            TOKEN,
            "401 Unauthorized",
        ),
        ({"HTTP_AUTHORIZATION": _basic(TOKEN + "x")}, TOKEN, "401 Unauthorized"),
    ],
    ids=[
        "loopback",
        "ipv6-loopback",
        "outside",
        "proxied",
        "bearer",
        "basic",
        "token-missing",
        "token-wrong",
        "scheme-unknown",
        "basic-wrong",
    ],
)
def test_check_answers_by_peer_and_token(
    environ: dict[str, str], token: str | None, denied: str | None
) -> None:
    """Without a token: loopback only, never through a proxy; with one: its holders only."""
    verdict = check(environ, token)
    assert (verdict.status if verdict else None) == denied


@pytest.mark.parametrize(
    ("peer", "loopback"),
    [
        *[("127.0.0.1", True), ("127.255.0.9", True), ("::1", True), ("::ffff:127.0.0.1", True)],
        *[("fe80::1%eth0", False), ("10.0.0.1", False), ("localhost", False), (None, False)],
    ],
)
def test_is_loopback(peer: str | None, loopback: bool) -> None:
    """Only 127/8 and ::1 (also IPv4-mapped) count; names and garbage do not."""
    assert is_loopback(peer) is loopback


def test_presented_token_reads_bearer_and_basic_and_nothing_else() -> None:
    """A malformed Basic header is no token, not an error."""
    assert presented_token(f"bearer {TOKEN}") == TOKEN
    assert presented_token(_basic(TOKEN)) == TOKEN
    assert presented_token("Basic !!!notbase64") is None
    assert presented_token(None) is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit: 0 is not between 1 and 200"),
        ("limit=", "limit: '' is not a whole number"),
        ("offset=1e3", "offset: '1e3' is not a whole number"),
        ("since=tomorrow", "since: 'tomorrow' is not an ISO 8601 time"),
        ("q=" + "w" * 401, "q: longer than 400 characters"),
    ],
)
def test_bad_parameters_name_themselves(query: str, message: str) -> None:
    """Each bad parameter is a BadParam starting with its name and what was wrong."""
    with pytest.raises(BadParam) as caught:
        story_query(parse(query))
    assert str(caught.value).startswith(message)


def test_story_query_reads_every_filter() -> None:
    """Words as the index spells them; a zoneless since is UTC."""
    query = story_query(parse("q=Llama+THE+Meta&topic=t&source=s&since=2026-12-01T10:00&limit=5"))
    assert query.words == ("llama", "meta")
    assert (query.topic, query.source, query.limit, query.offset) == ("t", "s", 5, 0)
    assert query.since == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert moment(parse("since=2026-12-01T10:00:00Z"), "since") == query.since
    assert integer({}, "limit", 7, 1, 9) == 7


def test_words_are_distinct_casefolded_title_first_and_bounded() -> None:
    """Stopwords, one-letter words and 41-letter runs are not words; the count is capped."""
    words = words_of("Meta's Llama", "the LLAMA and a model " + "x" * 41 + " é2026")
    assert words == ("meta", "llama", "model", "é2026")
    many = words_of(None, " ".join(f"w{i}" for i in range(1000)))
    assert len(many) == MAX_WORDS
    assert query_words(" ".join(f"q{i}" for i in range(20))) == tuple(f"q{i}" for i in range(8))


def test_indexed_entry_skips_what_is_not_a_story() -> None:
    """Someone else's entry is None; a story keeps its brief and topics."""
    assert indexed_entry("1-0", "story.created", "[]") is None
    assert indexed_entry("1-0", "story.created", "{") is None
    entry = indexed_entry(
        "1-0", "story.created", '{"id": "x", "source": "s", "title": "Hi there", "topics": ["t"]}'
    )
    assert entry is not None
    assert (entry.story_id, entry.topics, entry.words) == ("x", ("t",), ("hi", "there"))
    assert ("title", "Hi there") in entry.brief


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://a.test/x", "https://a.test/x"),
        ("HTTP://a.test/", "HTTP://a.test/"),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("//a.test/x", None),
        ("", None),
        ("http://[::1", None),
    ],
)
def test_safe_href_links_only_http(url: str, href: str | None) -> None:
    """A stranger's URL becomes a link only when it is http(s)."""
    assert safe_href(url) == href


def test_duration_reads_like_the_config() -> None:
    """Intervals read as the config writes them."""
    assert [duration(s) for s in (600, 5400, 86400, 0.4, None)] == ["10m", "1h30m", "1d", "0s", "-"]


def test_page_link_keeps_filters_and_drops_empty() -> None:
    assert (
        page_link("/stories", {"q": "llama", "topic": ""}, offset=50)
        == "/stories?q=llama&offset=50"
    )
    assert page_link("/", {}, offset=0) == "/"


def test_templates_escape_strangers_text() -> None:
    """A title with markup is shown as text, never as markup."""
    body = render("error.html", status="404", reason="<script>alert(1)</script>", here="")
    assert b"<script>alert" not in body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_sources_page_shows_a_feed_read_only_partly() -> None:
    """The dashboard shows what `watcher status` does: a source whose feed is damaged."""
    moment = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    warning = "malformed_feed: https://x.test/feed.xml: malformed XML at line 4, column 2: x"
    row = SourceRow("damaged", polls=1, last_warning=warning, last_warning_at=moment)
    view = SourceView(row=row, lease=LeaseView("damaged", None, None, None))
    body = render(
        "sources.html",
        here="sources",
        refresh=30,
        views=[view],
        total=1,
        offset=0,
        limit=100,
        path="/",
        query={},
    )
    assert b"read partly since 2026-12-03T15:00:00+00:00" in body
    assert warning.encode() in body
