"""coprod sources: the study's sources, and the ones crawled pages point to."""

from __future__ import annotations

import argparse

import getpass

from sqlalchemy.orm import Session

from crawler.app.cli.common import catalogue, command_parser
from crawler.app.cli.status import table
from storage import discovery
from storage.queries import discovered_rows

EXAMPLES = """
coprod sources --discovered                       # by how many flagged candidates link to each
coprod sources --discovered --by in-degree        # by how many stored pages link to each
coprod sources --discovered --status undecided
coprod sources --accept t.me/dnipro_pomich --accept kryvbas-dopomoha.test
coprod sources --reject youtube.com

columns: key (t.me/<channel>, instagram.com/<page>, facebook.com/<page> or a host), kind
(site, telegram, telegram_bot, telegram_chat, instagram, facebook), status (undecided,
accepted, rejected), candidates and in_degree (flagged candidates and pages linking to it,
leaving out page furniture: links on half or more of a source's pages), furniture (the
sources whose furniture it is), example (a linking sentence).
Accepted sites and Telegram channels are crawled by the next `coprod crawl`; bots, chats,
Instagram and Facebook pages cannot be accepted (nothing crawls them). Decisions are audited.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "sources", "List discovered sources; accept or reject them.", EXAMPLES)
    parser.add_argument("--discovered", action="store_true", help="list the discovered sources")
    parser.add_argument("--by", choices=("candidates", "in-degree"), default="candidates", help="order of the list (default: candidates)")
    parser.add_argument("--status", choices=discovery.STATUSES, help="only sources with this status")
    parser.add_argument("--limit", type=int, default=50, metavar="N", help="rows to show (default: 50)")
    for verb, status in (("accept", "accepted"), ("reject", "rejected"), ("undecide", "undecided")):
        parser.add_argument(f"--{verb}", action="append", default=[], metavar="KEY", help=f"mark a discovered source {status}")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    engine = catalogue(args)
    try:
        with Session(engine) as session, session.begin():
            for keys, status in ((args.accept, "accepted"), (args.reject, "rejected"), (args.undecide, "undecided")):
                for key in keys:
                    discovery.decide(session, key, status, f"cli:{getpass.getuser()}")
                    print(f"{key}: {status}")
        if args.discovered or not (args.accept or args.reject or args.undecide):
            with Session(engine) as session:
                rows = discovered_rows(session, args.status, "candidates" if args.by == "candidates" else "in_degree")
            print(table(
                ["key", "kind", "status", "candidates", "in_degree", "furniture", "example"],
                [
                    [r["key"], r["kind"], r["status"], r["candidates"], r["in_degree"], ", ".join(r["furniture"]), (r["example"] or "")[:70]]
                    for r in rows[: args.limit]
                ],
            ))
            print(f"{len(rows)} discovered sources")
    finally:
        engine.dispose()
    return 0
