"""Which charset an HTML page is written in, when its header, byte-order mark and meta tag
disagree.

Browsers (and Scrapy, and w3lib) take a byte-order mark, else the HTTP header's charset,
else the meta tag. A header that names the wrong charset then garbles the page: replacement
characters when it says utf-8 over windows-1251 bytes, mojibake ("РЎР°Р№С‚") when a server
default of windows-1251 sits over a site that moved to UTF-8. Both are common on Ukrainian
sites, so `page_charset` goes further than the WHATWG order:

1. a byte-order mark decides;
2. a body that reads as UTF-8 (at most one bad sequence per 100 bytes outside ASCII) and is
   not plain ASCII is UTF-8, whatever it declares: windows-1251 Cyrillic is never valid UTF-8;
3. else the first declared charset, header then meta tag, that reads the body (same tolerance:
   a page with one stray byte is still the page);
4. nothing declared (or only names no codec knows): windows-1251 when it reads the body,
   as the feed parser does; else the caller's own guess;
5. charsets declared and none reads the body: a conflict, which the crawl records as
   `charset_conflict` rather than store a garbled page.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

__all__ = ["Charset", "decode_html", "page_charset"]

_FALLBACK = "cp1251"  # the legacy encoding of Ukrainian and Russian sites
_HIGH_BYTES = bytes(range(128, 256))


@dataclass(frozen=True)
class Charset:
    """The codec to read a page with (None: no opinion), how it was chosen (bom, utf-8,
    header, meta, fallback, none), and why nothing fits when the page is a conflict."""

    encoding: str | None
    chosen_by: str
    conflict: str | None = None


def page_charset(body: bytes, content_type: str | None) -> Charset:
    bom, _ = read_bom(body)
    if bom:
        return Charset(_codec(bom) or bom, "bom")
    if not body.isascii() and _reads(body, "utf-8"):
        return Charset("utf-8", "utf-8")
    declared = [(where, codec) for where, codec in (
        ("header", _codec(http_content_type_encoding(content_type or ""))),
        ("meta", _codec(html_body_declared_encoding(body))),
    ) if codec]
    for where, codec in declared:
        if _reads(body, codec):
            return Charset(codec, where)
    if declared:
        names = ", ".join(f"{codec} ({where})" for where, codec in dict.fromkeys(declared))
        return Charset(None, "none", f"the bytes read as none of the charsets declared: {names}")
    if _reads(body, _FALLBACK):
        return Charset(_FALLBACK, "fallback")
    return Charset(None, "none")


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page as text by `page_charset` (a conflict and the undecided read as UTF-8, with
    replacement characters): what `coprod import` and `coprod show` read WARC records with,
    so they decode a capture as the crawl decoded the page."""
    charset = page_charset(body, content_type)
    encoding = charset.encoding or "utf-8"
    if charset.chosen_by == "bom":
        body = body[len(read_bom(body)[1] or b""):]
    return body.decode(encoding, errors="replace")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name)
    if resolved is None:
        return None
    try:
        return codecs.lookup(resolved).name
    except LookupError:
        return None


def _reads(body: bytes, codec: str) -> bool:
    """The body decodes with at most one bad sequence per 100 bytes outside ASCII (a page
    with a stray byte is still the page; a wrong charset fails on most of its letters)."""
    try:
        body.decode(codec)
    except UnicodeDecodeError:
        pass
    except LookupError:
        return False
    else:
        return True
    bad = body.decode(codec, errors="replace").count("\ufffd")
    beyond_ascii = len(body) - len(body.translate(None, _HIGH_BYTES))
    return bad * 100 <= beyond_ascii
