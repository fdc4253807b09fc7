"""The dashboard's HTML: Jinja2 templates (``templates/``), server-rendered, no script.

Autoescaping is on for every template: titles, errors, URLs and topics are strangers' text.
Links to strangers' URLs are kept only when they are http(s) (no ``javascript:``), and the
pages are served with a Content-Security-Policy that forbids scripts anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from watcher.views import iso

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def duration(seconds: float | None) -> str:
    """600 → ``10m``, 5400 → ``1h30m``: as the config writes durations."""
    if seconds is None:
        return "-"
    left, out = round(seconds), ""
    for unit, size in _UNITS:
        if left >= size:
            out += f"{left // size}{unit}"
            left %= size
    return out or "0s"


def safe_href(url: str | None) -> str | None:
    """The URL when it is http(s) (a link worth following), else None: no link at all."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def page_link(path: str, query: Mapping[str, Any], **changes: Any) -> str:
    """``path?query`` with ``changes`` applied; empty values are left out."""
    merged = {**query, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "") and (k, v) != ("offset", 0)}
    return f"{path}?{urlencode(kept)}" if kept else path


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("watcher.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a typo in a template is an error in tests, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(iso=iso, duration=duration, href=safe_href)
    env.globals.update(page_link=page_link)
    return env


_ENV = _environment()


def render(template: str, **context: Any) -> bytes:
    return _ENV.get_template(template).render(**context).encode("utf-8")
