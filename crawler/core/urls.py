"""URL canonicalisation: one page, one key, however it was linked.

Two forms are used. `clean_url` is what we request: fragment and tracking parameters
removed, host lower-cased, the path otherwise as the site wrote it (some servers answer
``/a`` and ``/a/`` differently). `canonical_url` is the page's identity, used by the
duplicate filter and as the catalogue key: a clean URL whose query is sorted and whose
trailing slash is dropped.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as _w3lib_canonicalize

__all__ = ["TRACKING_PARAMETER", "canonical_url", "clean_url", "host_of", "is_http_url"]

# Parameters that only say where a click came from. Matched case-insensitively.
TRACKING_PARAMETER = re.compile(
    r"^(utm_[a-z0-9_]+|fbclid|gclid|gbraid|wbraid|dclid|yclid|msclkid|mc_cid|mc_eid|igshid"
    r"|_ga|_gl|_hsenc|_hsmi|__twitter_impression|_openstat|ysclid|srsltid)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_http_url(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() in _DEFAULT_PORTS


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def clean_url(url: str) -> str:
    """The URL to request: no fragment, no tracking parameters, normalised host."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMETER.match(k)]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def canonical_url(url: str) -> str:
    """The identity of a page: the clean URL, sorted query, no trailing slash but on the root."""
    cleaned = _w3lib_canonicalize(clean_url(url), keep_fragments=False)
    parts = urlsplit(cleaned)
    path = parts.path
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    # w3lib keeps percent-escapes upper-case and unreserved characters unescaped; re-quote the
    # path so that Cyrillic paths written raw and percent-encoded give the same key.
    path = quote(unquote(path), safe="/:@!$&'()*+,;=-._~")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
