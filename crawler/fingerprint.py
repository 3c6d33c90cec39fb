"""Request fingerprints on canonical URLs, so that tracking-parameter and trailing-slash
variants of one page are fetched once."""

from __future__ import annotations

import hashlib

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.core.urls import canonical_url

__all__ = ["CanonicalFingerprinter"]


class CanonicalFingerprinter:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CanonicalFingerprinter:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        digest = hashlib.sha1(request.method.encode("ascii"))
        digest.update(b"\0" + canonical_url(request.url).encode("utf-8") + b"\0")
        digest.update(request.body or b"")
        return digest.digest()
