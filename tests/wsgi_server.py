"""The review app served by waitress, a real WSGI server, in a process of its own (for the
tests that must hit a real server with parallel requests): prints its URL, serves until
killed.

    python -m tests.wsgi_server --db URL --seeds FILE [--threads N] [--limits-storage URI] [--prefix P]
"""

from __future__ import annotations

import argparse
import secrets
from dataclasses import replace

from waitress import create_server

from crawler.core.config import load_config
from review.app import create_app, review_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--seeds", required=True)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--limits-storage", default="memory://")
    parser.add_argument("--prefix", default="coprod")
    parser.add_argument("--dual", action="store_true")
    args = parser.parse_args()
    config = review_config(load_config(args.seeds), args.db, secrets.token_hex(32), limits_storage=args.limits_storage, limits_prefix=args.prefix)
    config = replace(config, retrain_every=0, dual_screening=args.dual or config.dual_screening)
    server = create_server(create_app(config), host="127.0.0.1", port=0, threads=args.threads)
    print(f"serving http://127.0.0.1:{server.effective_port}", flush=True)  # type: ignore[union-attr]
    server.run()


if __name__ == "__main__":
    main()
