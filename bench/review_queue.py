"""Benchmark: the review queue page over 100,000 candidates, server time per request.

Fills a temporary SQLite catalogue with 100,000 synthetic candidates (pages with text,
places and scores) and their search words (the engine's lemmatizer, as the crawl makes
them), then requests the queue page in-process (Flask's test client, no network):
unfiltered, page 100, filtered (status, language, mode), by place (its first page and
page 300), searched (an inflected form), searched with filters and, after a model ranked the
queue, in the model's order; reports median and 95th percentile.

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

from sqlalchemy import bindparam, insert, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.core.config import load_config  # noqa: E402
from pipelines.search import index_pending  # noqa: E402
from review.app import create_app, review_config  # noqa: E402
from review.auth import add_user  # noqa: E402
from storage.db import open_catalogue  # noqa: E402
from storage.models import Candidate, Page, PagePlace, RankerRun, Source  # noqa: E402

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
                candidates.append({"id": i + 1, "page_id": i + 1, "score": pages[-1]["score"], "status": rng.choice(("unscreened",) * 8 + ("include", "exclude")),
                                   "source_id": 1, "language": pages[-1]["language"], "mode": pages[-1]["mode"]})
                places.append({"page_id": i + 1, "code": "UA12020010010037010", "name": "Дніпро", "category": "M"})
            connection.execute(insert(Page), pages)
            connection.execute(insert(Candidate), candidates)
            connection.execute(insert(PagePlace), places)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        add_user(session, "bench", "viewer", "bench password")
        index_pending(session, batch=5000)
    engine.dispose()


def rank(url: str) -> None:
    """A model ranked the open queue (the scores coprod learn writes)."""
    from sqlalchemy.orm import Session

    engine = open_catalogue(url, create=False)
    rng = random.Random(1)
    with engine.begin() as connection:
        rows = connection.execute(Candidate.__table__.select().with_only_columns(Candidate.id).where(Candidate.status == "unscreened")).scalars().all()
        for start in range(0, len(rows), 10_000):
            connection.execute(
                update(Candidate).where(Candidate.id == bindparam("cid")).values(model_score=bindparam("b_model")),
                [{"cid": cid, "b_model": rng.random()} for cid in rows[start:start + 10_000]],
            )
    with Session(engine) as session, session.begin():
        session.add(RankerRun(decisions=100, labels=100, positives=50, scored=len(rows), outcome="trained"))
    engine.dispose()


def measure(client, path: str, requests: int) -> tuple[float, float]:
    timings = []
    for _ in range(requests):
        begin = time.perf_counter()
        answer = client.get(path)
        timings.append((time.perf_counter() - begin) * 1000)
        assert answer.status_code == 200, answer.status_code
    timings.sort()
    return round(statistics.median(timings), 1), round(timings[int(len(timings) * 0.95) - 1], 1)


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
        config = replace(review_config(load_config(ROOT / "crawler" / "app" / "demo" / "seeds.yaml"), url, "bench key"), retrain_every=0)
        app = create_app(config)
        app.config["WTF_CSRF_ENABLED"] = False  # the bench logs in without reading the form
        client = app.test_client()
        assert client.post("/login", data={"name": "bench", "password": "bench password"}).status_code == 303
        figures = {"candidates": args.candidates, "fill_seconds": round(fill_seconds, 1)}
        views = (
            ("queue", "/queue"), ("queue_page_100", "/queue?page=100"), ("queue_filtered", "/queue?status=unscreened&language=uk&mode=co-delivery"),
            ("queue_place", "/queue?place=UA12020010010037010"), ("queue_place_page_300", "/queue?place=UA12020010010037010&page=300"),
            ("queue_search", "/queue?q=%D1%83%D0%BA%D1%80%D0%B8%D1%82%D1%82%D1%8F%D1%85"),  # укриттях
            ("queue_search_filtered", "/queue?q=%D0%BA%D1%83%D1%85%D0%BD%D1%8F&status=unscreened&language=ru"),  # кухня
        )
        for label, path in views:
            figures[f"{label}_median_ms"], figures[f"{label}_p95_ms"] = measure(client, path, args.requests)
        rank(url)
        for label, path in (("ranked", "/queue"), ("ranked_filtered", "/queue?status=unscreened&language=uk&mode=co-delivery")):
            figures[f"{label}_median_ms"], figures[f"{label}_p95_ms"] = measure(client, path, args.requests)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
