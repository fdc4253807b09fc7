"""URL identity: canonical form, tracking-parameter removal, host and registrable-site checks.

Pure: no I/O. Two URLs that name the same article must canonicalize to the same string, because
the canonical URL is the dedupe key and the story id. So canonicalization is deliberately
conservative: it removes only what never changes the page (case of scheme and host, default
ports, fragments, tracking parameters, dot segments) and keeps everything a server may care about
(path case, trailing slash, the order of the remaining query parameters).

Why not ``courlan.normalize_url``/``clean_url``? Checked against courlan 1.4: it *sorts* query
parameters (``?b=2&a=1`` becomes ``?a=1&b=2``, which can be a different resource on some CMSs and
is not what the publisher links to), keeps the fragment unless ``strict=True``, and in strict mode
drops *every* query parameter (``?id=123`` articles collapse into one). It leaves ``/a/../b``
unresolved and turns punycode hosts into Unicode. The rules we need fit in a few small functions.

``same_site`` uses the Public Suffix List snapshot bundled with the ``tld`` package (a courlan
dependency, installed with trafilatura); it reads the file shipped in the wheel and never
downloads it at run time.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

import idna
from tld import get_fld

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "canonicalize",
    "host_of",
    "is_web_url",
    "resolve",
    "same_site",
    "strip_tracking",
]

# Query parameters that only say who sent the reader, never which page they get.
# Compared case-insensitively. Sorted; one line per parameter, with where it comes from.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "__twitter_impression",  # Twitter/X embedded-tweet clicks
        "_ga",  # Google Analytics cross-domain linker
        "_gl",  # Google Analytics 4 / gtag cross-domain linker
        "_hsenc",  # HubSpot email links
        "_hsmi",  # HubSpot email links
        "at_campaign",  # AT Internet / Piano Analytics (Le Monde, BBC)
        "at_medium",  # AT Internet / Piano Analytics
        "cmp",  # Guardian share/campaign tag (CMP=share_btn_link)
        "cmpid",  # campaign id used by many publishers' Adobe Analytics set-ups
        "dclid",  # Google Display & Video 360 click id
        "fbclid",  # Facebook / Meta click id
        "gbraid",  # Google Ads click id (iOS app campaigns)
        "gclid",  # Google Ads click id
        "gclsrc",  # Google Ads click source
        "guce_referrer",  # Yahoo consent-wall redirect
        "guce_referrer_sig",  # Yahoo consent-wall redirect
        "guccounter",  # Yahoo consent-wall redirect
        "igshid",  # Instagram share id
        "li_fat_id",  # LinkedIn Ads first-party click id
        "mc_cid",  # Mailchimp campaign id
        "mc_eid",  # Mailchimp subscriber id
        "mkt_tok",  # Marketo email links
        "msclkid",  # Microsoft Advertising click id
        "ncid",  # Yahoo / Verizon Media properties (Engadget, HuffPost) campaign id
        "ns_campaign",  # comScore (BBC share links)
        "ns_mchannel",  # comScore
        "ns_source",  # comScore
        "ocid",  # Microsoft MSN syndication campaign id
        "ref_src",  # Twitter/X share widgets
        "ref_url",  # Twitter/X share widgets
        "s_cid",  # Adobe Analytics campaign id
        "smid",  # New York Times share id (smid=tw-nytimes)
        "smtyp",  # New York Times share type
        "sr_share",  # share-button source tag on publisher share links
        "taid",  # share-link tracking id seen on publisher social posts
        "ttclid",  # TikTok Ads click id
        "twclid",  # Twitter/X Ads click id
        "wbraid",  # Google Ads click id (web-to-app campaigns)
        "wt_mc",  # Webtrends campaign (German publishers)
        "wt_zmc",  # Webtrends campaign (Zeit Online)
        "xtor",  # AT Internet XiTi campaign (French publishers)
        "yclid",  # Yandex Direct click id
    }
)
# Whole families by prefix: Google Analytics / Urchin campaign tags (utm_source, utm_medium, ...).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_",)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEB_SCHEMES = frozenset({"http", "https"})
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# RFC 3986 reserved + unreserved characters and "%": everything quote() must leave alone so an
# already-encoded path is not encoded twice; only spaces and non-ASCII get percent-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def canonicalize(url: str) -> str:
    """The URL's identity for dedupe: same article, same string.

    Lower-cases scheme and host (IDNA-encoded), drops the default port, the fragment and tracking
    parameters (the rest keep their order and encoding), resolves ``.``/``..`` segments and
    percent-encodes spaces and non-ASCII in the path. Path case and a trailing slash are kept:
    servers may treat ``/News`` and ``/news/`` as different pages. Never raises; a URL it cannot
    parse comes back stripped of surrounding whitespace only.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        netloc = _canonical_netloc(parts.scheme.lower(), parts.netloc)
    except ValueError:
        return url
    path = _remove_dot_segments(parts.path)
    if netloc and not path:
        path = "/"
    elif not netloc and path.startswith("//"):
        path = "/" + path.lstrip("/")  # else "//x" would read back as the host x
    elif not parts.scheme and ":" in path.split("/", 1)[0]:
        path = "./" + path  # RFC 3986 4.2: else "a:b" would read back as the scheme a
    path = _PERCENT_ESCAPE.sub(lambda m: m.group(0).upper(), quote(path, safe=_PATH_SAFE))
    query = _canonical_query(parts.query)
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


def strip_tracking(url: str) -> str:
    """``url`` with only its tracking parameters removed, everything else exactly as given.

    Used for the URL we emit: readers should get the publisher's link, minus the click ids.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    query = _drop_tracking(parts.query)
    if query == parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def host_of(url: str) -> str:
    """The lower-case host without port or trailing dot, IDNA-encoded; "" when there is none."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return _host_name(host)


def same_site(a: str, b: str) -> bool:
    """Whether two URLs belong to one registrable domain (``www.x.com`` ~ ``news.x.com``).

    The registrable domain comes from the Public Suffix List, so ``x.co.uk`` and ``y.co.uk``
    differ, and so do two ``*.blogspot.com`` blogs (a private suffix: different owners). Hosts the
    list does not know (IP addresses, ``localhost``, ``.test``) must match exactly.
    """
    host_a, host_b = host_of(a), host_of(b)
    if not host_a or not host_b:
        return False
    if host_a == host_b:
        return True
    site_a = _registrable_domain(host_a)
    return site_a is not None and site_a == _registrable_domain(host_b)


def resolve(href: str, base_url: str) -> str:
    """``href`` made absolute against ``base_url`` (surrounding whitespace removed)."""
    try:
        return urljoin(base_url, href.strip())
    except ValueError:
        return href.strip()


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL with a host (and a valid port): the only kind discovery hands on."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in 0-65535
        return parts.scheme.lower() in _WEB_SCHEMES and bool(parts.hostname)
    except ValueError:
        return False


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter name is a tracking tag (see ``TRACKING_PARAMS``)."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _drop_tracking(query: str) -> str:
    """The query without tracking parameters; the others keep their order and raw encoding."""
    if not query:
        return ""
    kept = [
        pair
        for pair in query.split("&")
        if pair and not is_tracking_param(unquote_plus(pair.split("=", 1)[0]).strip())
    ]
    return "&".join(kept)


def _canonical_query(query: str) -> str:
    """The query without tracking parameters or trailing whitespace, as a fixed point.

    canonicalize strips its input, so trailing whitespace of the query would be gone on a
    second pass, and stripping it can leave an empty last parameter that a second pass drops:
    repeat until nothing changes (each round shortens the query), so canonicalize is idempotent.
    """
    while (shorter := _drop_tracking(query).rstrip()) != query:
        query = shorter
    return query


def _canonical_netloc(scheme: str, netloc: str) -> str:
    """userinfo@host:port with the host lower-cased and IDNA-encoded, default port dropped."""
    if not netloc:
        return ""
    userinfo, _, hostport = netloc.rpartition("@")
    probe = urlsplit(f"//{hostport}")
    host = _host_name(probe.hostname or "")
    port = probe.port  # raises ValueError on a non-numeric port: the caller gives up politely
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{userinfo}@{host}" if userinfo else host


HOSTS_CACHED = 65_536  # hosts whose IDNA form and registrable domain are remembered


@lru_cache(maxsize=HOSTS_CACHED)  # IDNA and the suffix list cost ~3 ms a page on the loop
def _host_name(host: str) -> str:
    """A host without its trailing dot, IDNA-encoded; the dot is stripped again after the
    encoding, which maps an ideographic full stop ("。") to one."""
    return _idna(host.rstrip(".")).rstrip(".")


def _idna(host: str) -> str:
    """ASCII (punycode) form of a host; hosts that are already ASCII are only lower-cased."""
    host = host.lower()
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


@lru_cache(maxsize=HOSTS_CACHED)
def _registrable_domain(host: str) -> str | None:
    """eTLD+1 from the bundled Public Suffix List, or None for IPs and unknown suffixes."""
    domain = get_fld(host, fail_silently=True, fix_protocol=True)
    return domain.lower() if isinstance(domain, str) else None


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4: resolve ``.`` and ``..`` segments, keeping a trailing slash."""
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1 or (out and out[0] != ""):
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result
