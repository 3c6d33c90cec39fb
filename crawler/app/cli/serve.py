"""coprod serve: the analysts' review app."""

from __future__ import annotations

import argparse
import os

from crawler.app.cli.common import command_parser, config_of, database_url
from review.app import create_app, review_config

EXAMPLES = """
coprod serve                                  # http://127.0.0.1:8800 with the catalogue of ./seeds.yaml
coprod serve --port 9000 --db sqlite:///data/demo.sqlite --seeds crawler/app/demo/seeds.yaml
COPROD_SECRET_KEY=... coprod serve --host 0.0.0.0 --secure-cookies   # behind an HTTPS proxy

Sessions are signed with $COPROD_SECRET_KEY (a random key otherwise: logins end at restart).
Add accounts first with `coprod users add NAME --role admin|analyst|viewer`.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "serve", "Run the review app: queue, screening, cases, agreement.", EXAMPLES)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8800, help="port (default: 8800)")
    parser.add_argument("--secure-cookies", action="store_true", help="send the session cookie over HTTPS only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    app = create_app(review_config(config, database_url(args, config), os.environ.get("COPROD_SECRET_KEY"), args.secure_cookies))
    print(f"coprod review app on http://{args.host}:{args.port}/", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False, debug=False)
    return 0
