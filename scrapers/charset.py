"""[fetch] Bytes + Content-Type → text (pure): believe a BOM, then declarations that hold up.

Order: 1 a byte-order mark; 2 the declared charsets (Content-Type header, then ``<meta>`` or
the XML declaration in the first 2 KB), each used only if it decodes cleanly and the body is
not plainly UTF-8 that the declaration lies about; 3 UTF-8 if the body is (mostly) UTF-8;
4 charset-normalizer's guess; 5 UTF-8 with replacement characters. Never raises.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

SNIFF_BYTES = 2048  # declarations past this are not looked for (browsers prescan 1024)
MOSTLY_UTF8 = 20  # valid multibyte characters needed per undecodable byte to still say UTF-8

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Browsers (WHATWG Encoding) read these labels as windows-1252, a superset that gives curly
# quotes and dashes where sites that say latin-1 really put them.
_AS_WINDOWS_1252 = frozenset({"ascii", "latin-1", "iso8859-1"})
# Short Latin texts decode equally well in several code pages; the web mostly means these.
_TIE_BREAK = ("utf-8", "cp1252", "iso8859-15", "cp1251")
# A document cannot declare its own UTF-16/32 encoding in ASCII; such a label is wrong.
_WIDE = ("utf-16", "utf-32")

# The possessive ``\s*+`` take whole whitespace runs: with ``\s*["']?\s*`` a run could be split
# between the two in every way, and "charset=" followed by 16 KB of spaces took seconds.
_HEADER_CHARSET = re.compile(r"""charset\s*+=\s*+["']?\s*+([\w.:+-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*+=\s*+["']?\s*+([\w.:+-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w.:+-]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Choice:
    """The encoding picked for a body and why: ``bom``, ``header``, ``meta``, ``xml``,
    ``utf-8`` (the body is UTF-8 whatever was declared), ``detected`` or ``fallback``."""

    encoding: str
    source: str


def decode(body: bytes, content_type: str | None = None) -> str:
    """The body as text; undecodable bytes become U+FFFD rather than an error."""
    choice = choose_encoding(body, content_type)
    text = body.decode(choice.encoding, errors="replace")
    return text.removeprefix("\ufeff")


def choose_encoding(body: bytes, content_type: str | None = None) -> Choice:
    """Which encoding ``decode`` uses for ``body``; see the module docstring for the order."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Choice(encoding, "bom")
    utf8 = _is_mostly_utf8(body)
    for encoding, source in declared(body, content_type):
        if utf8 and encoding != "utf-8":
            return Choice("utf-8", "utf-8")  # declared legacy, but multibyte UTF-8 throughout
        if _decodes(body, encoding):
            return Choice(encoding, source)
    if utf8 or body.isascii():
        return Choice("utf-8", "utf-8")
    guess = _detect(body)
    return Choice(guess, "detected") if guess else Choice("utf-8", "fallback")


def _detect(body: bytes) -> str | None:
    """charset-normalizer's best guess; among equally good ones, the web's most common."""
    results = list(from_bytes(body))
    if b"\x00" not in body:  # UTF-16/32 text without a single NUL byte is not plausible
        results = [r for r in results if not (_normalize(r.encoding) or "").startswith(_WIDE)]
    if not results:
        return None
    best = results[0]
    tied = {
        _normalize(r.encoding)
        for r in results
        if (r.chaos, r.coherence) == (best.chaos, best.coherence)
    }
    for preferred in _TIE_BREAK:
        if preferred in tied:
            return preferred
    return _normalize(best.encoding)


def declared(body: bytes, content_type: str | None) -> list[tuple[str, str]]:
    """Known encodings the header and the document claim, in trust order, each once."""
    head = body[:SNIFF_BYTES]
    claims = [
        (_first(_HEADER_CHARSET.search(content_type or "")), "header"),
        (_first(_META_CHARSET.search(head)), "meta"),
        (_first(_XML_ENCODING.search(head)), "xml"),
    ]
    found: dict[str, str] = {}
    for label, source in claims:
        encoding = _normalize(label)
        if encoding and not (source != "header" and encoding.startswith(_WIDE)):
            found.setdefault(encoding, source)
    return list(found.items())


def _first(match: re.Match[str] | re.Match[bytes] | None) -> str | None:
    if match is None:
        return None
    value = match.group(1)
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _normalize(label: str | None) -> str | None:
    """Python's codec name for a label (``UTF8`` → ``utf-8``), or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return "cp1252" if name in _AS_WINDOWS_1252 else name


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _is_mostly_utf8(body: bytes) -> bool:
    """Valid multibyte UTF-8 with at most a stray bad byte per MOSTLY_UTF8 good characters.

    Text in a legacy single-byte encoding almost never forms valid multibyte sequences, so
    many of them mean UTF-8; a few bad bytes are damage, not a different encoding.
    """
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return True  # valid throughout, and not ASCII: some multibyte character is there
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    # characters past ASCII, counted in C: the text less its ASCII characters
    good = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    return good > 0 and bad * MOSTLY_UTF8 <= good
