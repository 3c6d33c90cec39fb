"""The review app behind gunicorn: worker processes, one session secret for all of them.

`coprod serve` runs the app factory in `--workers` gunicorn worker processes (each with a few
threads). Every worker signs sessions with the same key, and so does the next start of the
server: `$COPROD_SECRET_KEY` when set, else the key kept in the catalogue's state directory
(``<state dir>/secret_key``, made once, readable by its owner only). The background upkeep
(search index, retraining the screening model) runs in one thread of the master process, not
in every worker.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from crawler.core.errors import BadInput
from review.app import Maintainer, ReviewConfig, create_app
from storage.db import open_catalogue

__all__ = ["ReviewServer", "persistent_secret"]

ACCESS_LOG_FORMAT = '%(h)s pid=%(p)s %(t)s "%(r)s" %(s)s %(b)s %(L)ss'


def persistent_secret(directory: Path) -> str:
    """The key in ``directory/secret_key``, made there (atomically, mode 0600) the first time."""
    path = directory / "secret_key"
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        directory.mkdir(parents=True, exist_ok=True)
        draft = directory / f".secret_key.{os.getpid()}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # fails when another server made the key first: use theirs
        except FileExistsError:
            pass
        finally:
            draft.unlink()
        key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise BadInput(f"{path}: a session key needs at least 32 characters (delete the file to make a new one)")
    return key


class ReviewServer(BaseApplication):
    """gunicorn running `create_app(config)` in each worker process."""

    def __init__(self, config: ReviewConfig, host: str, port: int, workers: int, threads: int = 4):
        self.review = config
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "accesslog": "-",  # stdout
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
            "timeout": 60,
            "proc_name": "coprod-serve",
            # gunicorn's control socket lives in the home folder, one per user: two servers would share it.
            "control_socket_disable": True,
            # X-Forwarded-* headers are believed by the app's ProxyFix, and only from the
            # --trusted-proxies in front; gunicorn's own default trusts any local client's.
            "forwarded_allow_ips": "",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # The workers run no upkeep (search index, retraining): the master's one Maintainer does (started in `run`).
        return create_app(replace(self.review, retrain_every=0))

    def run(self) -> None:
        if self.review.retrain_every > 0 and self.review.seeds_path:
            engine = open_catalogue(self.review.database_url)
            # A worker is forked with the master's pooled connections: it forgets them
            # unclosed, as closing them would end the master's database sessions.
            self.cfg.set("post_fork", lambda arbiter, worker: engine.dispose(close=False))
            Maintainer(self.review, engine).start()
        super().run()

