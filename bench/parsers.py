"""Benchmark: the feed and Telegram preview parsers on their largest and most hostile inputs,
against peers run in the same invocation (the timings the tests used to assert).

* a URL set of 50,000 entries (25,000 URLs, each twice): `parse_feed_or_sitemap` against
  Scrapy's own sitemap reader (`scrapy.utils.sitemap.Sitemap`, which neither dates, checks
  nor deduplicates);
* a billion-laughs feed: the time to refuse it, against lxml's default parser refusing it;
* a Telegram preview page of 3,000 posts: `parse_preview` against lxml parsing the page and
  listing its message blocks (no post read).

Reports the best of `--repeat` runs in seconds, the ratio to the peer, CPU seconds and the
peak of Python memory (tracemalloc) of one run, on one core.

    .venv/bin/python bench/parsers.py [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from lxml import html as lxml_html  # noqa: E402
from scrapy.utils.sitemap import Sitemap  # noqa: E402

from spiders.feeds_parse import FeedError, parse_feed_or_sitemap  # noqa: E402
from spiders.telegram_preview import parse_preview  # noqa: E402
from tests.test_feeds_parse import DATA, URLSET_URL, fifty_thousand_urls  # noqa: E402
from tests.test_telegram_preview import huge_page  # noqa: E402


def measure(work: Callable[[], object], repeat: int) -> dict[str, float]:
    best = cpu = float("inf")
    for _ in range(repeat):
        wall, used = time.perf_counter(), time.process_time()
        work()
        best = min(best, time.perf_counter() - wall)
        cpu = min(cpu, time.process_time() - used)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": best, "cpu_seconds": cpu, "peak_mib": round(peak / 2**20, 1)}


def refused(parse: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            parse()
        except (FeedError, etree.XMLSyntaxError):
            return
        raise AssertionError("the billion laughs were not refused")

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sitemap = fifty_thousand_urls()
    laughs = (DATA / "billion-laughs.xml").read_bytes()
    preview = huge_page()
    cases = {
        "sitemap of 50,000 URLs": (
            lambda: parse_feed_or_sitemap(sitemap, URLSET_URL),
            lambda: [entry["loc"] for entry in Sitemap(sitemap)],
        ),
        "billion laughs refused": (
            refused(lambda: parse_feed_or_sitemap(laughs, "https://smikh.test/rss.xml")),
            refused(lambda: etree.fromstring(laughs)),
        ),
        "preview page of 3,000 posts": (
            lambda: parse_preview(preview),
            lambda: lxml_html.document_fromstring(preview).xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' tgme_widget_message ')]"),
        ),
    }
    results = {}
    for name, (ours, peer) in cases.items():
        mine, theirs = measure(ours, args.repeat), measure(peer, args.repeat)
        results[name] = {"coprod": mine, "peer": theirs, "ratio": round(mine["seconds"] / theirs["seconds"], 2)}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for name, result in results.items():
        mine, theirs = result["coprod"], result["peer"]
        print(
            f"{name}: coprod {mine['seconds']:.4f} s (cpu {mine['cpu_seconds']:.4f} s, peak {mine['peak_mib']} MiB), "
            f"peer {theirs['seconds']:.4f} s (peak {theirs['peak_mib']} MiB): {result['ratio']}x the peer's time"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
