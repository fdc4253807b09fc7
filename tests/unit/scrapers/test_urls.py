"""URL identity: canonicalize, strip_tracking, host_of, same_site."""

from __future__ import annotations

import pytest

from scrapers.urls import (
    TRACKING_PARAMS,
    canonicalize,
    host_of,
    is_web_url,
    same_site,
    strip_tracking,
)

CANONICAL = [
    ("utm-and-click-ids", "https://x.com/a?utm_source=tw&id=7&fbclid=AbC&gclid=1&z=2", "https://x.com/a?id=7&z=2"),
    ("only-tracking", "https://x.com/a?utm_source=rss&utm_medium=rss", "https://x.com/a"),
    ("order-kept", "https://x.com/s?b=2&a=1&c=3", "https://x.com/s?b=2&a=1&c=3"),
    ("fragment-dropped", "https://x.com/story#comments", "https://x.com/story"),
    ("http-default-port", "http://x.com:80/a", "http://x.com/a"),
    ("https-default-port", "https://x.com:443/a", "https://x.com/a"),
    ("other-port-kept", "https://x.com:8443/a", "https://x.com:8443/a"),
    ("wrong-default-port-kept", "http://x.com:443/a", "http://x.com:443/a"),
    ("host-lowered", "HTTPS://WWW.Example.COM/a", "https://www.example.com/a"),
    ("path-case-kept", "https://x.com/News/Story-ABC", "https://x.com/News/Story-ABC"),
    ("trailing-slash-kept", "https://x.com/news/story/", "https://x.com/news/story/"),
    ("no-trailing-slash-kept", "https://x.com/news/story", "https://x.com/news/story"),
    ("empty-path-is-root", "https://x.com", "https://x.com/"),
    ("dot-segments", "https://x.com/a/b/../c/./d", "https://x.com/a/c/d"),
    ("dotdot-above-root", "https://x.com/../a", "https://x.com/a"),
    ("dot-keeps-trailing-slash", "https://x.com/a/b/..", "https://x.com/a/"),
    ("idna-host", "https://Bücher.example/a", "https://xn--bcher-kva.example/a"),
    ("punycode-kept", "https://xn--bcher-kva.example/a", "https://xn--bcher-kva.example/a"),
    ("non-ascii-path-encoded", "https://x.com/caf\u00e9 au lait", "https://x.com/caf%C3%A9%20au%20lait"),
    ("escapes-uppercased", "https://x.com/a%2fb", "https://x.com/a%2Fb"),
    ("encoded-query-kept", "https://x.com/s?q=a%20b&x=%E2%9C%93", "https://x.com/s?q=a%20b&x=%E2%9C%93"),
    ("uppercase-tracking-name", "https://x.com/a?UTM_Source=x&Fbclid=y&k=1", "https://x.com/a?k=1"),
    ("guardian-cmp", "https://www.theguardian.com/a?CMP=share_btn_link", "https://www.theguardian.com/a"),
    ("empty-query", "https://x.com/a?", "https://x.com/a"),
    ("blank-param-kept", "https://x.com/a?amp&id=1", "https://x.com/a?amp&id=1"),
    ("userinfo-kept", "https://user@x.com:443/a", "https://user@x.com/a"),
    ("ipv6", "http://[::1]:80/a", "http://[::1]/a"),
    ("whitespace", "  https://x.com/a \n", "https://x.com/a"),
    ("trailing-dot-host", "https://x.com./a", "https://x.com/a"),
    ("bad-port-left-alone", "http://x.com:abc/a", "http://x.com:abc/a"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "expected"), [c[1:] for c in CANONICAL], ids=[c[0] for c in CANONICAL]
)
def test_canonicalize_table(url: str, expected: str) -> None:
    """Each URL canonicalizes to its identity: scheme/host case, ports, fragments, tracking go."""
    assert canonicalize(url) == expected


@pytest.mark.parametrize("url", [c[2] for c in CANONICAL], ids=[c[0] for c in CANONICAL])
def test_canonicalize_is_idempotent(url: str) -> None:
    """A canonical URL is its own canonical form, so stored keys stay stable across runs."""
    assert canonicalize(canonicalize(url)) == canonicalize(url)


STRIP = [
    ("utm", "https://X.com/A?utm_source=rss&id=7#top", "https://X.com/A?id=7#top"),
    ("click-ids", "https://x.com/a?gclid=1&p=2&msclkid=3&dclid=4", "https://x.com/a?p=2"),
    ("nothing-to-strip", "HTTP://X.com:80/a/../b?z=1&a=2#f", "HTTP://X.com:80/a/../b?z=1&a=2#f"),
    ("all-stripped", "https://x.com/a?fbclid=1&mc_cid=2&mc_eid=3", "https://x.com/a"),
    ("fragment-kept", "https://x.com/a?igshid=1#para-3", "https://x.com/a#para-3"),
    ("encoded-name", "https://x.com/a?utm%5Fsource=x&k=v", "https://x.com/a?k=v"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "expected"), [c[1:] for c in STRIP], ids=[c[0] for c in STRIP])
def test_strip_tracking_table(url: str, expected: str) -> None:
    """strip_tracking removes only tracking parameters and leaves every other byte as given."""
    assert strip_tracking(url) == expected


@pytest.mark.parametrize("name", sorted(TRACKING_PARAMS))
def test_strip_tracking_removes_every_listed_param(name: str) -> None:
    """Every parameter in the tracking table is removed, wherever it sits in the query."""
    url = f"https://x.com/a?keep=1&{name}=abc&also=2"
    assert strip_tracking(url) == "https://x.com/a?keep=1&also=2"


@pytest.mark.parametrize(
    "name",
    ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id", "fbclid",
     "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid",
     "_ga", "_gl", "ref_src", "ref_url", "cmpid", "ncid", "ocid", "sr_share", "at_medium",
     "at_campaign", "taid"],
)  # fmt: skip
def test_tracking_covers_the_well_known_params(name: str) -> None:
    """The parameters publishers and ad networks are known to add are all treated as tracking."""
    assert canonicalize(f"https://x.com/a?{name}=1") == "https://x.com/a"


@pytest.mark.parametrize(
    "name", ["id", "page", "p", "q", "s", "utm", "ref", "source", "cmp_id", "story"]
)
def test_content_params_are_not_tracking(name: str) -> None:
    """Parameters that can select the page (ids, pages, near-misses of tracking names) are kept."""
    assert canonicalize(f"https://x.com/a?{name}=1") == f"https://x.com/a?{name}=1"


HOSTS = [
    ("https://WWW.Example.com:8080/a", "www.example.com"),
    ("http://example.com./", "example.com"),
    ("https://bücher.example/", "xn--bcher-kva.example"),
    ("http://[::1]:8000/", "::1"),
    ("http://127.0.0.1:8000/feed", "127.0.0.1"),
    ("mailto:someone@example.com", ""),
    ("not a url", ""),
]


@pytest.mark.parametrize(("url", "host"), HOSTS, ids=[h[0] for h in HOSTS])
def test_host_of_table(url: str, host: str) -> None:
    """host_of gives the lower-case ASCII host without port, or "" when there is none."""
    assert host_of(url) == host


SITES = [
    ("www-vs-bare", "https://www.x.com/a", "https://x.com/b", True),
    ("subdomain", "https://news.x.com/a", "https://www.x.com/", True),
    ("co-uk-different", "https://x.co.uk/a", "https://y.co.uk/a", False),
    ("co-uk-same", "https://www.bbc.co.uk/news", "https://feeds.bbc.co.uk/rss", True),
    ("different-domains", "https://x.com/a", "https://x.net/a", False),
    ("private-suffix", "https://alice.blogspot.com/", "https://bob.blogspot.com/", False),
    ("case-and-port", "https://WWW.X.COM:8443/a", "http://x.com/b", True),
    ("loopback-same", "http://127.0.0.1:8001/a", "http://127.0.0.1:8002/b", True),
    ("loopback-vs-localhost", "http://127.0.0.1/a", "http://localhost/a", False),
    ("unknown-suffix-exact", "https://a.site.test/", "https://b.site.test/", False),
    ("no-host", "mailto:a@x.com", "https://x.com/", False),
    ("idna-vs-unicode", "https://bücher.de/a", "https://www.xn--bcher-kva.de/", True),
]


@pytest.mark.parametrize(("a", "b", "same"), [s[1:] for s in SITES], ids=[s[0] for s in SITES])
def test_same_site_table(a: str, b: str, same: bool) -> None:
    """same_site compares registrable domains from the bundled Public Suffix List."""
    assert same_site(a, b) is same
    assert same_site(b, a) is same


@pytest.mark.parametrize(
    ("url", "web"),
    [("https://x.com/a", True), ("HTTP://x.com", True), ("mailto:a@x.com", False),
     ("javascript:void(0)", False), ("/relative/path", False), ("ftp://x.com/f", False),
     ("https:///nohost", False)],
)  # fmt: skip
def test_is_web_url_table(url: str, web: bool) -> None:
    """Only absolute http(s) URLs with a host count as links worth following."""
    assert is_web_url(url) is web
