"""Benchmark: language + relevance against trafilatura extraction, on the same pages, one core.

The pages are the sample web's Ukrainian article pages, as served (menus, sidebars,
scripts, footers), each lengthened with paragraphs of other articles to about 9,000
characters of main text, the size of a long regional news article. Every stage runs in this
process, pinned to one core, on the same pages, and is measured in CPU time per page
(`time.process_time`: another process on the machine does not count against a stage):

* extraction: trafilatura on the HTML (the peer);
* language: `detect_language` on the extracted text;
* engine: `Engine.read` + `Engine.verdict` on the text, **cold** (every memo of word forms
  emptied first: the pass a fresh process makes over pages it has not seen) and **warm**
  (the same pages again: a crawl's steady state, most word forms seen before).

Each figure is the median of `--repeat` passes (the engine's caches are emptied before each
cold pass). The ratios are extraction's CPU per page over language + engine's: the goal is
at least 3, cold.

    .venv/bin/python bench/relevance.py [--pages N] [--repeat R] [--json]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import resource
import statistics
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
from pipelines.relevance.engine import MAX_TEXT_CHARS  # noqa: E402

WEB = ROOT / "crawler" / "app" / "demo" / "web"
TARGET_CHARS = 8500


def ukrainian_articles() -> list[tuple[str, str]]:
    """(html as served, main text) of the sample web's Ukrainian articles."""
    manifest = yaml.safe_load((WEB / "MANIFEST.yaml").read_text(encoding="utf-8"))["pages"]
    web = SampleWeb(WEB)
    web.httpd.server_close()  # only its sites' files are read
    articles = []
    for url, entry in sorted(manifest.items()):
        if entry["lang"] != "uk" or entry["category"] == "listing":
            continue
        host, _, path = url.removeprefix("http://").partition("/")
        file = web.sites[host].resolve("/" + path)
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


def pin_one_core() -> int | None:
    """Run on one core (the lowest this process may use); None where the OS cannot pin."""
    try:
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        return None
    return core


def cpu_ms_per_item(function, items: list) -> tuple[float, list]:
    """CPU milliseconds per item of one pass, and the results."""
    start = time.process_time()
    results = [function(item) for item in items]
    return (time.process_time() - start) * 1000 / len(items), results


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3, help="passes per stage; the median is reported")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.pages < 1 or args.repeat < 1:
        parser.error("--pages and --repeat take a positive number")

    core = pin_one_core()
    load_before = os.getloadavg()
    pages = long_pages(ukrainian_articles(), args.pages)
    config = load_config(ROOT / "crawler" / "app" / "demo" / "seeds.yaml")
    load_start = time.perf_counter()
    engine = engine_from_config(config)
    load_seconds = time.perf_counter() - load_start

    extraction, language, cold, warm = [], [], [], []
    for _ in range(args.repeat):
        cost, extracted = cpu_ms_per_item(extract, pages)
        extraction.append(cost)
    texts = [e.text for e in extracted]
    for _ in range(args.repeat):
        cost, detected = cpu_ms_per_item(detect_language, texts)
        language.append(cost)
    jobs = [(text, result.code) for text, result in zip(texts, detected)]

    def judge(job: tuple[str, str]) -> object:
        text, code = job
        return engine.verdict(engine.read(text, language=code, published="2022-06-01"))

    for _ in range(args.repeat):
        engine.clear_caches()
        cold.append(cpu_ms_per_item(judge, jobs)[0])  # every word form new to the engine
        warm.append(cpu_ms_per_item(judge, jobs)[0])  # the same pages again

    extraction_ms, language_ms = statistics.median(extraction), statistics.median(language)
    cold_ms, warm_ms = statistics.median(cold), statistics.median(warm)
    figures = {
        "pages": len(pages),
        "mean_text_chars": round(sum(map(len, texts)) / len(texts)),
        "engine_reads_chars": MAX_TEXT_CHARS,
        "repeat": args.repeat,
        "cores_used": 1,  # one thread; pinned to one core where the OS lets it
        "pinned_core": core,
        "engine_load_seconds": round(load_seconds, 2),
        "extraction_cpu_ms_per_page": round(extraction_ms, 3),
        "language_cpu_ms_per_page": round(language_ms, 3),
        "engine_cold_cpu_ms_per_page": round(cold_ms, 3),
        "engine_warm_cpu_ms_per_page": round(warm_ms, 3),
        "language_relevance_cold_cpu_ms_per_page": round(language_ms + cold_ms, 3),
        "language_relevance_warm_cpu_ms_per_page": round(language_ms + warm_ms, 3),
        "ratio_cold": round(extraction_ms / (language_ms + cold_ms), 2),
        "ratio_warm": round(extraction_ms / (language_ms + warm_ms), 2),
        "goal_ratio_cold": 3.0,
        "peak_rss_mb": peak_rss_mb(),
        "load_average_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:42} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
