"""coprod serve: the analysts' review app, behind gunicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from crawler.app.cli.common import command_parser, config_of, database_url
from crawler.app.locks import state_dir
from crawler.app.server import ReviewServer, persistent_secret
from crawler.core.config import Config, resolve_setting
from crawler.core.errors import BadInput
from review.app import review_config

EXAMPLES = """
coprod serve                                  # http://127.0.0.1:8800 with the catalogue of ./seeds.yaml
coprod serve --port 9000 --db sqlite:///data/demo.sqlite --seeds crawler/app/demo/seeds.yaml
coprod serve --host 127.0.0.1 --workers 4 --secure-cookies --trusted-proxies 1   # behind one HTTPS proxy on this machine
coprod serve --workers 4 --limits-storage redis://127.0.0.1:6379/0   # login tries counted in Redis, shared by the workers

Runs gunicorn with --workers processes. Sessions are signed with $COPROD_SECRET_KEY, else
with the key kept in the state directory ($COPROD_STATE_DIR, else state/ beside a SQLite
catalogue, else data/state), made the first time: logins hold across workers and restarts.
One access log line per request on stdout (client, worker pid, time, request, status).
Add accounts first with `coprod users add NAME --role admin|analyst|viewer`.
Login tries are counted in --limits-storage; without it, with several workers and a team
crawl's Redis (crawl.frontier, $COPROD_FRONTIER), in that Redis under the frontier's prefix,
else in each worker's memory: then every worker keeps its own count (a warning says so).
Serving beyond loopback prints a warning: the login form is then open to the network, so put
the app behind HTTPS (--secure-cookies) and name the proxies in front (--trusted-proxies), or
every client looks like the proxy and shares one budget of login tries.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "serve", "Run the review app: queue, screening, cases, agreement.", EXAMPLES)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8800, help="port (default: 8800)")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="gunicorn worker processes (default: 2)")
    parser.add_argument("--secure-cookies", action="store_true", help="send the session cookie over HTTPS only")
    parser.add_argument(
        "--trusted-proxies", type=int, metavar="N",
        help="reverse proxies in front of the app whose X-Forwarded-For to believe (default: $COPROD_TRUSTED_PROXIES, else 0: none)",
    )
    parser.add_argument(
        "--limits-storage", metavar="URI",
        help="where login tries are counted: memory:// or redis://HOST:PORT/DB to share them between workers "
        "(default: $COPROD_LIMITS_STORAGE, else with --workers above 1 the Redis of crawl.frontier, else memory://)",
    )
    parser.set_defaults(run=run)


def beyond_loopback(host: str) -> bool:
    """True unless every address `host` names is a loopback address."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return True
    return not addresses or any(not ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    database = database_url(args, config)
    proxies = resolve_setting(None if args.trusted_proxies is None else str(args.trusted_proxies), "COPROD_TRUSTED_PROXIES", "0")
    try:
        proxies = int(proxies or 0)
    except ValueError:
        raise BadInput(f"COPROD_TRUSTED_PROXIES must be a whole number (got {proxies!r})") from None
    if proxies < 0:
        raise BadInput(f"--trusted-proxies must be 0 or more (got {proxies})")
    if args.workers < 1:
        raise BadInput(f"--workers must be 1 or more (got {args.workers})")
    storage, prefix = limits_storage(args.limits_storage, args.workers, config)
    secret = os.environ.get("COPROD_SECRET_KEY") or persistent_secret(state_dir(database))
    review = review_config(config, database, secret, args.secure_cookies, limits_storage=storage, limits_prefix=prefix, trusted_proxies=proxies)
    if beyond_loopback(args.host):
        print(
            f"coprod: warning: serving on {args.host}, beyond this machine: anyone who reaches port {args.port} can try to log in. "
            "Serve it behind HTTPS (--secure-cookies)" + ("" if proxies else ", and name the proxies in front with --trusted-proxies") + ".",
            file=sys.stderr, flush=True,
        )
    if args.workers > 1 and storage.startswith("memory://"):
        print(
            f"coprod: warning: each of the {args.workers} workers counts login tries in its own memory, so an address or account "
            f"gets up to {args.workers} times its budget; share the count with --limits-storage redis://HOST:PORT/DB (or --workers 1).",
            file=sys.stderr, flush=True,
        )
    print(f"coprod review app on http://{args.host}:{args.port}/ ({args.workers} workers, login tries counted in {_shown(storage)})", flush=True)
    ReviewServer(review, args.host, args.port, args.workers).run()
    return 0


def limits_storage(flag: str | None, workers: int, config: Config) -> tuple[str, str]:
    """Where the login tries are counted, and the key prefix there: the flag, else
    $COPROD_LIMITS_STORAGE, else (several workers) the Redis of the study's shared frontier
    with its prefix, else memory."""
    storage = resolve_setting(flag, "COPROD_LIMITS_STORAGE", None)
    prefix = "coprod"
    if not storage and workers > 1:
        frontier = resolve_setting(None, "COPROD_FRONTIER", config.crawl.frontier)
        if frontier and urlsplit(frontier).scheme in ("redis", "rediss"):
            parts = urlsplit(frontier)
            prefix = dict(parse_qsl(parts.query)).get("prefix") or prefix
            storage = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    storage = storage or "memory://"
    if not storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise BadInput(f"--limits-storage is memory:// or a redis:// URI (got {_shown(storage)!r})")
    return storage, prefix


def _shown(uri: str) -> str:
    """`uri` without its password."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
