"""Benchmark: the review queue page over 100,000 candidates, server time per request.

Fills a temporary SQLite catalogue with 100,000 synthetic candidates (pages with text,
places and scores), then requests the queue page in-process (Flask's test client, no
network) unfiltered, filtered and paged, and reports median and 95th percentile.

    .venv/bin/python bench/review_queue.py [--candidates N] [--requests N] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.core.config import load_config  # noqa: E402
from review.app import create_app, review_config  # noqa: E402
from review.auth import add_user  # noqa: E402
from storage.db import open_catalogue  # noqa: E402
from storage.models import Candidate, Page, PagePlace, Source  # noqa: E402

WORDS = "волонтери збирають кошти на генератори для укриттів у Дніпрі переселенці кухня допомога громада".split()


def fill(url: str, count: int) -> None:
    engine = open_catalogue(url)
    rng = random.Random(0)
    with engine.begin() as connection:
        connection.execute(insert(Source), [{"id": 1, "name": "bench", "kind": "news", "start_urls": [], "allowed_domains": [], "enabled": True}])
        for start in range(0, count, 10_000):
            pages, candidates, places = [], [], []
            for i in range(start, min(count, start + 10_000)):
                text = " ".join(rng.choice(WORDS) for _ in range(120))
                pages.append({"id": i + 1, "url": f"https://bench.example/{i}", "fetched_url": f"https://bench.example/{i}", "source_id": 1,
                              "title": f"Сторінка {i}", "text": text, "language": rng.choice(("uk", "ru")), "mode": rng.choice(("co-design", "co-delivery", "co-monitoring")),
                              "flagged": True, "score": rng.uniform(4, 15), "event_date": "2022-05-01", "relevance": {}})
                candidates.append({"id": i + 1, "page_id": i + 1, "score": pages[-1]["score"], "status": rng.choice(("unscreened",) * 8 + ("include", "exclude"))})
                places.append({"page_id": i + 1, "code": "UA12020010010037010", "name": "Дніпро", "category": "M"})
            connection.execute(insert(Page), pages)
            connection.execute(insert(Candidate), candidates)
            connection.execute(insert(PagePlace), places)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        add_user(session, "bench", "viewer", "bench password")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        started = time.perf_counter()
        fill(url, args.candidates)
        fill_seconds = time.perf_counter() - started
        config = replace(review_config(load_config(ROOT / "crawler" / "app" / "demo" / "seeds.yaml"), url), retrain_every=0)
        client = create_app(config).test_client()
        client.post("/login", data={"name": "bench", "password": "bench password"})
        figures = {"candidates": args.candidates, "fill_seconds": round(fill_seconds, 1)}
        for label, path in (("queue", "/queue"), ("queue_page_100", "/queue?page=100"), ("queue_filtered", "/queue?status=unscreened&language=uk&mode=co-delivery"),
                            ("queue_place", "/queue?place=UA12020010010037010"), ("queue_search", "/queue?q=%D0%BA%D1%83%D1%85%D0%BD%D1%8F")):
            timings = []
            for _ in range(args.requests):
                begin = time.perf_counter()
                answer = client.get(path)
                timings.append((time.perf_counter() - begin) * 1000)
                assert answer.status_code == 200, answer.status_code
            timings.sort()
            figures[f"{label}_median_ms"] = round(statistics.median(timings), 1)
            figures[f"{label}_p95_ms"] = round(timings[int(len(timings) * 0.95) - 1], 1)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
