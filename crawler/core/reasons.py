"""Why a page was not kept: the reason codes stored with dropped pages (`pages.drop_reason`)
and counted in a run's stats (`coprod/dropped/<reason>`).

Failed fetches are the reasons a crawl could not read a page at all (`http_<status>` too);
the others are pages read as expected that hold nothing to keep. `coprod status` counts
failed fetches per source, and a crawl whose every request failed says so and exits 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FETCH_FAILURES", "PAGE_REASONS", "failed_fetches", "is_fetch_failure", "nothing_fetched"]

FETCH_FAILURES: dict[str, str] = {
    "dns_error": "the host name does not resolve (or no name server could be reached)",
    "connection_refused": "nothing listens on the host's port",
    "connection_failed": "no connection could be made (no route to the host, network unreachable)",
    "tls_error": "the TLS handshake failed (not TLS, a bad certificate, an old protocol)",
    "timeout": "no complete answer within crawl.timeout",
    "connection_lost": "the connection closed before the answer was complete",
    "truncated": "the body ended before its Content-Length",
    "too_large": "larger than crawl.max_page_bytes, fetched or imported",
    "decompression_bomb": "its gzip, deflate or brotli body inflates past the size cap",
    "bad_encoding": "its Content-Encoding body cannot be decoded",
    "redirect_loop": "a redirect back to an address of its own chain (the page itself included)",
    "too_many_redirects": "more redirects in a row than REDIRECT_MAX_TIMES (20)",
    "offsite_redirect": "a redirect to a host outside the source's domains",
    "bad_redirect": "a redirect to something that is not an http(s) URL",
    "charset_conflict": "the bytes decode with none of the charsets declared (header, byte-order mark, meta tag)",
    "malformed_feed": "a feed or sitemap that is broken, in whole or in its entries (the detail names them)",
    "malformed_preview": "a Telegram channel address that does not serve a preview page",
    "malformed_post": "a Telegram post the preview page shows but that cannot be read (the detail says why)",
    "fetch_error": "any other failure of the fetch (the detail names it)",
}

PAGE_REASONS: dict[str, str] = {
    "not_html": "a document that is not HTML (PDF, image, JSON...)",
    "empty_extraction": "no main text (a menu page, a media-only post)",
}


def is_fetch_failure(reason: str | None) -> bool:
    return bool(reason) and (reason.startswith("http_") or reason in FETCH_FAILURES)  # type: ignore[union-attr]


def failed_fetches(stats: Mapping[str, Any]) -> dict[str, int]:
    """A run's failed fetches by reason, most first, from its stats (`coprod/dropped/<reason>`)."""
    counts = {key.removeprefix("coprod/dropped/"): int(value) for key, value in stats.items() if key.startswith("coprod/dropped/")}
    return dict(sorted(((r, n) for r, n in counts.items() if is_fetch_failure(r) and n), key=lambda pair: (-pair[1], pair[0])))


def nothing_fetched(stats: Mapping[str, Any]) -> bool:
    """Every page the run tried failed to fetch: no page stored, and every drop a failed fetch
    (a run that found nothing new, such as a Telegram channel without new posts, is fine)."""
    dropped = sum(int(v) for k, v in stats.items() if k.startswith("coprod/dropped/"))
    failed = sum(failed_fetches(stats).values())
    return not stats.get("coprod/stored") and failed > 0 and failed == dropped
