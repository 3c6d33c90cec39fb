"""Peer 2 of the crawl benchmark: trafilatura's own focused crawler, with its politeness
sleep set to 0 (and its SSRF protection off: the site is on 127.0.0.1), visiting every page of the site (it fetches and follows links; it
extracts nothing). Prints what it visited as JSON.

    python bench/peers/trafilatura_focused.py http://127.0.0.1:8080/
"""

from __future__ import annotations

import json
import sys

from trafilatura.settings import use_config
from trafilatura.spider import focused_crawler

config = use_config()
config.set("DEFAULT", "SLEEP_TIME", "0")
# The benchmark's site is on 127.0.0.1, which trafilatura refuses by default (SSRF protection).
config.set("DEFAULT", "SSRF_PROTECTION", "off")
limit = 10**7
todo, known = focused_crawler(sys.argv[1], max_seen_urls=limit, max_known_urls=limit, config=config)
print(json.dumps({"todo": len(todo), "known": len(known)}))
