"""Benchmark: language + relevance against trafilatura extraction, on the same pages, one core.

The pages are the sample web's Ukrainian article pages, as served (menus, sidebars,
scripts, footers), each lengthened with paragraphs of other articles to about 8,500
characters of main text, the size of a long regional news article. Both stages run in this
process on the same pages; the figure that matters is the ratio (goal: language +
relevance at least 3x extraction's rate).

    .venv/bin/python bench/relevance.py [--pages N] [--json]
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.app.demo.server import SampleWeb  # noqa: E402
from crawler.core.config import load_config  # noqa: E402
from pipelines.extract import extract  # noqa: E402
from pipelines.language import detect_language  # noqa: E402
from pipelines.relevance import engine_from_config  # noqa: E402

WEB = ROOT / "crawler" / "app" / "demo" / "web"
TARGET_CHARS = 8500


def ukrainian_articles() -> list[tuple[str, str]]:
    """(html as served, main text) of the sample web's Ukrainian articles."""
    manifest = yaml.safe_load((WEB / "MANIFEST.yaml").read_text(encoding="utf-8"))["pages"]
    sites = SampleWeb(WEB).sites
    articles = []
    for url, entry in sorted(manifest.items()):
        if entry["lang"] != "uk" or entry["category"] == "listing":
            continue
        host, _, path = url.removeprefix("http://").partition("/")
        file = sites[host].resolve("/" + path)
        if file is not None:
            page = file.read_text(encoding="utf-8")
            text = extract(page).text
            if text and "</article>" in page:
                articles.append((page, text))
    return articles


def long_pages(articles: list[tuple[str, str]], count: int) -> list[str]:
    pages = []
    for number in range(count):
        page, text = articles[number % len(articles)]
        extra: list[str] = []
        other = number + 1
        while len(text) + sum(map(len, extra)) < TARGET_CHARS:
            extra.extend(p for p in articles[other % len(articles)][1].split("\n") if p.strip())
            other += 1
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in extra)
        pages.append(page.replace("</article>", paragraphs + "</article>", 1))
    return pages


def rate(function, items) -> tuple[float, list]:
    start = time.perf_counter()
    results = [function(item) for item in items]
    return len(items) / (time.perf_counter() - start), results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    pages = long_pages(ukrainian_articles(), args.pages)
    config = load_config(ROOT / "crawler" / "app" / "demo" / "seeds.yaml")
    load_start = time.perf_counter()
    engine = engine_from_config(config)
    load_seconds = time.perf_counter() - load_start

    extract_rate, extracted = rate(extract, pages)
    texts = [e.text for e in extracted]

    def judge(text: str) -> object:
        language = detect_language(text).code
        return engine.assess(text, language=language, published="2022-06-01")

    cold_rate, _ = rate(judge, texts)  # lemma cache filling up
    warm_rate, _ = rate(judge, texts)  # a crawl's steady state: most word forms seen before
    language_rate, _ = rate(detect_language, texts)
    figures = {
        "pages": len(pages),
        "mean_text_chars": round(sum(map(len, texts)) / len(texts)),
        "engine_load_seconds": round(load_seconds, 2),
        "extraction_pages_per_s": round(extract_rate, 1),
        "language_pages_per_s": round(language_rate, 1),
        "language_relevance_cold_pages_per_s": round(cold_rate, 1),
        "language_relevance_warm_pages_per_s": round(warm_rate, 1),
        "ratio_cold": round(cold_rate / extract_rate, 2),
        "ratio_warm": round(warm_rate / extract_rate, 2),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:40} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
