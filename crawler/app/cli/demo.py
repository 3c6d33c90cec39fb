"""coprod demo: the whole pipeline on the bundled sample web, nothing needed but coprod."""

from __future__ import annotations

import argparse
import shutil
import signal
import time
from pathlib import Path

from sqlalchemy.orm import Session

import crawler.app.demo

from crawler.app.cli.common import command_parser
from crawler.app.cli.status import render_summary, table
from crawler.app.demo.server import SampleWeb
from crawler.app.runner import run_crawl
from crawler.core.config import load_config, resolve_setting
from review.export import export_table
from review.report import write_report
from storage.capture import capture_dir
from storage.db import open_catalogue
from storage.queries import candidate_rows, summarise

EXAMPLES = """
coprod demo                      # crawl the sample web into data/demo.sqlite, print a summary, write exports and the report
coprod demo --keep-serving       # ...and leave the sample web up to explore it
coprod demo --out /tmp/coprod-demo
"""


def demo_seeds() -> Path:
    return Path(crawler.app.demo.__file__).parent / "seeds.yaml"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "demo",
        "Serve the bundled sample web on 127.0.0.1, crawl it into a fresh catalogue, summarise and export it.",
        EXAMPLES,
    )
    parser.add_argument("--out", type=Path, default=Path("data"), metavar="DIR", help="folder for demo.sqlite and the exports (default: data)")
    parser.add_argument("--port", type=int, default=0, help="port of the sample web (default: any free port)")
    parser.add_argument("--keep-serving", action="store_true", help="keep the sample web up after the crawl, until Ctrl-C")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more crawl log output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(resolve_setting(args.seeds, "COPROD_DEMO_SEEDS", None) or demo_seeds())
    database = resolve_setting(args.db, "COPROD_DATABASE_URL", None)
    if database is None:
        db_file = args.out / "demo.sqlite"
        for stale in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            stale.unlink(missing_ok=True)
        database = f"sqlite:///{db_file}"
        if capture_dir(database) == args.out / "demo-captures":
            shutil.rmtree(args.out / "demo-captures", ignore_errors=True)  # the old catalogue's captures
    web = SampleWeb(port=args.port).start()
    print(f"sample web: {len(web.sites)} sites on {web.proxy_url} ({', '.join(web.sites)})")
    try:
        outcome = run_crawl(config, list(config.select_sources(None)), database, web.proxy_url, args.verbose)
        print(outcome.describe())
        engine = open_catalogue(database, create=False)
        try:
            with Session(engine) as session:
                print()
                print(render_summary(summarise(session)))
                top = candidate_rows(session)[:15]
            if top:
                print("\ntop candidates")
                print(table(["score", "lang", "source", "title"], [[c["score"], c["language"], c["source"], (c["title"] or "")[:70]] for c in top]))
            args.out.mkdir(parents=True, exist_ok=True)
            written = []
            for what in ("pages", "candidates"):
                path = args.out / f"demo-{what}.csv"
                export_table(engine, what, "csv", path)
                written.append(str(path))
            written.append(str(write_report(engine, config, args.out / "demo-report")))
        finally:
            engine.dispose()
        print(f"\ncatalogue: {database}\nexports: {', '.join(written)}")
        if args.keep_serving:
            _serve_until_interrupted(web)
    finally:
        web.stop()
    return 0 if outcome.reason == "finished" else 1


def _serve_until_interrupted(web: SampleWeb) -> None:
    # Scrapy replaced the Ctrl-C handler for the crawl; the crawl is over, so restore it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"\nthe sample web stays up: try  curl -x {web.proxy_url} http://dnipro-vechir.test/  (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping the sample web")
