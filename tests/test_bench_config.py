"""The benchmarks' study files are valid study files: a benchmark that fails on its own
configuration measures nothing (the crawl benchmark's once set a threshold of the old score)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from crawler.core.config import load_config

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_the_crawl_benchmark_writes_a_study_file_coprod_accepts(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))  # bench/crawl.py imports its neighbour sitegen
    try:
        spec = importlib.util.spec_from_file_location("bench_crawl", BENCH / "crawl.py")
        bench = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = bench  # its dataclasses look their module up
        spec.loader.exec_module(bench)
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop("bench_crawl", None)
    seeds = tmp_path / "seeds.yaml"
    seeds.write_text(bench.COPROD_SEEDS.format(url="http://vesti.bench.localhost:8080/", cap=4000, concurrency=16), encoding="utf-8")
    config = load_config(seeds)
    assert [s.start_urls for s in config.sources] == [["http://vesti.bench.localhost:8080/"]]
    assert config.crawl.concurrency == 16
