"""Benchmark: a team crawl with 1, 2 and 4 crawler processes on one Redis frontier.

nginx serves a generated site of static pages on a free loopback port; each configuration
crawls all of it into a fresh PostgreSQL catalogue, its crawler processes (`coprod crawl`,
started together) sharing one Redis frontier under a key prefix of their own. The peer run in
the same invocation is one process with the catalogue's own frontier (no Redis). Per
configuration: wall time from start to the last exit, pages per second over that time and
over the crawl itself (first run's start to last run's end, without the processes' start-up),
CPU seconds of the crawler processes, cores used (CPU / wall), CPU per page and the largest
resident memory of a crawler process. Ratios are against the one-process Redis run.

    .venv/bin/python bench/frontier.py [--pages N] [--processes 1,2,4] [--json]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

The machine's cores bound the figures: on 2 cores, 4 processes cannot use more than 2.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.app.demo.server import Site, generated_paths  # noqa: E402
from storage.db import open_catalogue  # noqa: E402
from storage.models import Page, Run  # noqa: E402

NGINX = "/usr/sbin/nginx"
STUDY = """\
version: 1
study:
  region: Dnipropetrovsk oblast
  region_code: UA12000000000090473
  window: {{start: 2022-02-24, end: 2023-12-31}}
crawl:
  depth: 50
  pages_per_source: {pages}
  delay: 0.0
  concurrency: 16
  concurrency_per_domain: 16
  timeout: 30
  user_agent: "coprod-bench/0.1 (+https://example.org/coprod)"
  autothrottle: {{start_delay: 0.0, max_delay: 1.0, target_concurrency: 16.0}}
  retry: {{times: 0}}
{frontier}lexicon: [builtin:coproduction]
sources:
  - name: bench
    kind: news
    start_urls: [http://127.0.0.1:{port}/]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_site(folder: Path, pages: int) -> None:
    """The demo server's generated site (linked pages of Ukrainian text) as static files."""
    site = Site(root=folder, generate={"pages": pages, "links": 5})
    for path in generated_paths(pages, 5):
        target = folder / ("index.html" if path == "/" else f"{path.lstrip('/')}.html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(site.generated("127.0.0.1", path) or b"")


def start_nginx(root: Path, site: Path, port: int) -> subprocess.Popen[bytes]:
    conf = root / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  types {{ text/html html; }}
  default_type text/html;
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp; uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {site};
    location = /robots.txt {{ return 404; }}
    location / {{ try_files $uri $uri.html $uri/index.html =404; charset utf-8; }}
  }}
}}
""",
        encoding="utf-8",
    )
    (root / "tmp").mkdir(exist_ok=True)
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(root)])
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nginx did not start")


def crawl(processes: int, shared: bool, args: argparse.Namespace, work: Path, port: int) -> dict[str, float]:
    tag = f"coprod_bench_{secrets.token_hex(3)}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{tag}"'))
    database = make_url(args.postgres).set(database=tag).render_as_string(hide_password=False)
    frontier = f"{args.redis}?prefix={tag}" if shared else None
    seeds = work / f"{tag}.yaml"
    seeds.write_text(STUDY.format(pages=args.pages, port=port, frontier=f"  frontier: {frontier}\n" if frontier else ""), encoding="utf-8")
    open_catalogue(database).dispose()  # the schema exists before the clock starts
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPROD_")} | {"COPROD_CAPTURE_DIR": str(work / tag / "captures")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-m", "crawler.app.cli", "crawl", "--seeds", str(seeds), "--db", database]
    workers = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env) for _ in range(processes)]
    errors = [w.communicate()[1] for w in workers]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if any(w.returncode != 0 for w in workers):
        raise SystemExit(f"a crawler failed: {[e.decode()[-2000:] for e in errors]}")
    engine = open_catalogue(database, create=False)
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Page).where(Page.drop_reason.is_(None))) or 0
        first, last = session.execute(select(func.min(Run.started_at), func.max(Run.finished_at))).one()
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{tag}" WITH (FORCE)'))
    admin.dispose()
    if frontier:
        client = redis.Redis.from_url(args.redis)
        for key in client.scan_iter(f"{tag}:*"):
            client.delete(key)
        client.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    crawl_seconds = (last - first).total_seconds()
    return {
        "processes": processes,
        "shared_frontier": shared,
        "pages": stored,
        "wall_s": round(wall, 2),
        "pages_per_s": round(stored / wall, 1),
        "crawl_s": round(crawl_seconds, 2),
        "pages_per_s_crawling": round(stored / crawl_seconds, 1) if crawl_seconds > 0 else None,
        "cpu_s": round(cpu, 2),
        "cores_used": round(cpu / wall, 2),
        "cpu_ms_per_page": round(1000 * cpu / max(stored, 1), 2),
        "max_rss_mib": round(after.ru_maxrss / 1024, 1),  # the largest crawler process (Linux: KiB)
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--postgres", default=os.environ.get("COPROD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get("COPROD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coprod-bench-frontier-"))
    work.chmod(0o755)  # nginx's workers run as another user
    port = free_port()
    write_site(work / "site", args.pages)
    nginx = start_nginx(work, work / "site", port)
    try:
        results = [crawl(1, False, args, work, port)]
        results += [crawl(int(n), True, args, work, port) for n in args.processes.split(",")]
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    base = next(r for r in results if r["shared_frontier"] and r["processes"] == 1)
    for row in results:
        row["speed_vs_1_redis"] = round(row["pages_per_s"] / base["pages_per_s"], 2)
    if args.json:
        print(json.dumps({"cores": os.cpu_count(), "results": results}, indent=2))
        return 0
    print(f"{args.pages} pages from nginx on 127.0.0.1, PostgreSQL catalogue, {os.cpu_count()} cores")
    header = ["processes", "frontier", "pages", "wall s", "pages/s", "crawl s", "pages/s crawling", "CPU s", "cores used", "CPU ms/page", "max RSS MiB", "x 1 proc"]
    print("  ".join(header))
    for r in results:
        print("  ".join(str(v) for v in [
            r["processes"], "redis" if r["shared_frontier"] else "catalogue", r["pages"], r["wall_s"], r["pages_per_s"], r["crawl_s"],
            r["pages_per_s_crawling"], r["cpu_s"], r["cores_used"], r["cpu_ms_per_page"], r["max_rss_mib"], r["speed_vs_1_redis"],
        ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
