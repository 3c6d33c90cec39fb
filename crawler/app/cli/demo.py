"""coprod demo: the whole pipeline on the bundled sample web, nothing needed but coprod.

The demo touches only itself: its catalogue is `<out>/demo.sqlite`, its captures
`<out>/demo-captures` and its logs `<out>/state`, whatever `COPROD_DATABASE_URL`,
`COPROD_CAPTURE_DIR`, `COPROD_STATE_DIR` or a study file say, so it can never crawl the
invented sample web into a real study's catalogue. An explicit `--db` (the demo on
PostgreSQL) is taken only when that database is empty or holds the demo's sources alone. The
catalogue is kept from one run to the next, with the accounts, decisions and cases made in
the review app; `--fresh` starts over.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import crawler.app.demo

from crawler.app.cli.common import command_parser
from crawler.app.cli.status import render_summary, table
from crawler.app.demo.server import SampleWeb
from crawler.app.runner import run_crawl
from crawler.core.config import load_config, resolve_setting
from crawler.core.errors import BadInput, SchemaMismatch
from review.export import export_table
from review.report import write_report
from storage.db import open_catalogue
from storage.models import Case, Decision, Page, Source, User
from storage.queries import candidate_rows, summarise

EXAMPLES = """
coprod demo                      # crawl the sample web into data/demo.sqlite, print a summary, write exports and the report
coprod demo --keep-serving       # ...and leave the sample web up to explore it
coprod demo --out /tmp/coprod-demo
coprod demo --fresh              # delete data/demo.sqlite (accounts and decisions too) and its captures first
coprod demo --db postgresql+psycopg://postgres@127.0.0.1:5432/coprod_demo   # an empty PostgreSQL database

The demo writes only its own catalogue, <out>/demo.sqlite, never COPROD_DATABASE_URL's or the
study file's; it keeps it (and the accounts, decisions and cases made in `coprod serve`)
from one run to the next unless --fresh is given. --db names another database for it, which
must be empty or hold the demo's sources only (a study's catalogue is refused).
"""


def demo_seeds() -> Path:
    return Path(crawler.app.demo.__file__).parent / "seeds.yaml"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "demo",
        "Serve the bundled sample web on 127.0.0.1, crawl it into the demo's own catalogue, summarise and export it.",
        EXAMPLES,
    )
    parser.add_argument("--out", type=Path, default=Path("data"), metavar="DIR", help="folder for demo.sqlite, its captures and the exports (default: data)")
    parser.add_argument("--fresh", action="store_true", help="start from an empty catalogue: delete demo.sqlite (with its accounts and decisions) and its captures")
    parser.add_argument("--port", type=int, default=0, help="port of the sample web (default: any free port)")
    parser.add_argument("--keep-serving", action="store_true", help="keep the sample web up after the crawl, until Ctrl-C")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more crawl log output")
    parser.set_defaults(run=run)


def prepare_catalogue(out: Path, fresh: bool) -> tuple[str, str]:
    """The demo's catalogue URL, emptied first when `fresh`, and what was done, to say."""
    db_file = out / "demo.sqlite"
    captures = out / "demo-captures"
    url = f"sqlite:///{db_file}"
    if fresh:
        existed = db_file.exists()
        for stale in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            stale.unlink(missing_ok=True)
        shutil.rmtree(captures, ignore_errors=True)
        return url, f"--fresh: removed {db_file} and {captures}; starting from an empty catalogue" if existed else f"a new demo catalogue: {db_file}"
    if not db_file.exists():
        return url, f"a new demo catalogue: {db_file}"
    try:
        engine = open_catalogue(url, create=False)
    except SchemaMismatch as error:
        raise BadInput(f"{error}; or start the demo over with: coprod demo --fresh") from None
    try:
        with Session(engine) as session:
            users, decisions, cases = (session.scalar(select(func.count()).select_from(model)) or 0 for model in (User, Decision, Case))
    finally:
        engine.dispose()
    return url, f"keeping {db_file}: {users} accounts, {decisions} decisions, {cases} cases (coprod demo --fresh starts over)"


def claim_database(url: str, demo_sources: set[str]) -> str:
    """What the demo will do with the database `--db` names: it must be empty or hold the
    demo's own sources only, so a study's catalogue is never mixed with the sample web."""
    engine = open_catalogue(url)
    try:
        with Session(engine) as session:
            names = set(session.scalars(select(Source.name)))
            pages = session.scalar(select(func.count()).select_from(Page)) or 0
    finally:
        engine.dispose()
    shown = make_url(url).render_as_string(hide_password=True)
    foreign = sorted(names - demo_sources)
    if foreign:
        raise BadInput(
            f"coprod demo writes only an empty catalogue or its own: {shown} holds other sources ({', '.join(foreign[:5])}); "
            f"give it an empty database, or leave out --db for {Path('data') / 'demo.sqlite'}"
        )
    return f"keeping the demo catalogue {shown}: {pages} pages" if names else f"a new demo catalogue: {shown}"


def run(args: argparse.Namespace) -> int:
    config = load_config(resolve_setting(args.seeds, "COPROD_DEMO_SEEDS", None) or demo_seeds())
    if args.db:
        if args.fresh:
            raise BadInput("--fresh empties only the demo's own file (<out>/demo.sqlite); empty the --db database yourself")
        database, said = args.db, claim_database(args.db, {s.name for s in config.sources})
    else:
        database, said = prepare_catalogue(args.out, args.fresh)
    print(said)
    web = SampleWeb(port=args.port).start()
    print(f"sample web: {len(web.sites)} sites on {web.proxy_url} ({', '.join(web.sites)})")
    try:
        outcome = run_crawl(
            config, list(config.select_sources(None)), database, web.proxy_url, args.verbose,
            captures=args.out / "demo-captures", state=args.out / "state",
        )
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
        kept = "kept for the next run" if args.db else "kept for the next run; --fresh starts over"
        print(f"\ncatalogue: {make_url(database).render_as_string(hide_password=True)} ({kept})\nexports: {', '.join(written)}")
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
