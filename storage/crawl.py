"""The catalogue as one crawl uses it: one engine for the crawl's spider, pipelines,
middlewares and extensions, and the reads and writes they make.

The spider gets it in `from_crawler` (`pipelines.store.crawl_catalogue`) instead of opening
engines of its own; the engine opens at the first use and closes when the crawl's engine
stops. No Scrapy here: the components hand in plain values.

A read or write that fails (a read-only file, a full disk, a server gone) raises
`CatalogueError` with the catalogue and the database's own words, and `failure` keeps the
first such message: the crawl stops there instead of fetching pages it cannot store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.core.config import Source as SourceConfig
from crawler.core.errors import CatalogueError
from crawler.core.items import PageItem
from storage import frontier
from storage.db import finish_run, open_catalogue, start_run, stored_signatures, stored_stories, sync_sources, write_pages
from storage.frontier import Frontier
from storage.models import Page, Run, Source
from storage.runs import mark_interrupted, mark_runs_interrupted, record_process
from storage.shared_frontier import Entry, SharedFrontier

__all__ = ["CrawlCatalogue"]


class CrawlCatalogue:
    def __init__(self, database_url: str, frontier_url: str | None = None):
        self.database_url = database_url
        self._engine: Engine | None = None
        self.failure: str | None = None  # the first failed read or write, as said to the user
        # A team crawl's shared frontier (Redis); None: the site spider's frontier is in the catalogue.
        self.shared: SharedFrontier | None = SharedFrontier(frontier_url) if frontier_url else None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_catalogue(self.database_url)
        return self._engine

    @contextmanager
    def _access(self, what: str) -> Iterator[None]:
        try:
            yield
        except CatalogueError as error:
            self.failure = self.failure or str(error)
            raise
        except IntegrityError:
            raise  # a constraint, not an unwritable catalogue: the caller decides
        except (SQLAlchemyError, OSError) as error:
            cause = error.orig if isinstance(error, DBAPIError) else error
            where = make_url(self.database_url).render_as_string(hide_password=True)
            message = f"cannot {what} the catalogue {where}: {cause}"
            self.failure = self.failure or message
            raise CatalogueError(message) from error

    def session(self) -> Session:
        return Session(self.engine)

    def close(self) -> None:
        if self.shared is not None:
            self.shared.close()
            self.shared = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def start_run(self, spider: str, sources: Sequence[SourceConfig], names: Sequence[str], seeds_sha256: str | None) -> tuple[int, dict[str, int]]:
        """A new run of `spider` over the sources `names` (after marking runs whose process
        died); returns its id and the ids of every configured source."""
        with self._access("write"), self.session() as session, session.begin():
            source_ids = sync_sources(session, sources)
            mark_interrupted(session)
            run_id = start_run(session, spider, names, seeds_sha256)
            record_process(session, run_id)
        return run_id, source_ids

    def store(self, batch: Sequence[tuple[PageItem, str | None, str | None]], source_ids: dict[str, int], run_id: int | None) -> int:
        """One batch of pages (kept or dropped) and the frontier they complete, in one
        transaction; returns how many page rows were new."""
        with self._access("write"), self.session() as session, session.begin():
            created = write_pages(session, batch, source_ids, run_id)
            if self.shared is None:
                frontier.record(session, batch, source_ids, run_id)
        completed = [(item.source, item.frontier_key) for item, _, _ in batch if item.frontier_key]
        if self.shared is not None and completed:
            # Done only once the transaction holding the pages committed.
            self.shared.done(completed)
        return created

    def signatures(self) -> list[tuple[str, bytes, int | None]]:
        """(canonical url, signature, number of shingles if known) of every stored story that
        is not a copy itself."""
        with self._access("read"), self.session() as session:
            return stored_signatures(session)

    def stories(self, urls: Sequence[str]) -> dict[str, tuple[str, str | None, list[str], bytes | None]]:
        """(text, publication date, links, fingerprint) of each stored page, by canonical url."""
        with self._access("read"), self.session() as session:
            return stored_stories(session, urls)

    def finish_run(self, run_id: int, reason: str, stats: dict[str, Any]) -> None:
        with self._access("write"), self.session() as session, session.begin():
            finish_run(session, run_id, reason, stats)

    def open_frontiers(self, fresh: Mapping[str, list[tuple[str, str, int]]], run_id: int | None) -> dict[str, Frontier | None]:
        """Per source (by name): its frontier when a crawl of it was interrupted (resume
        from it), else None after queueing `fresh`, its start entries (canonical url, url
        to fetch, depth), before any is fetched. The run names the run it resumes."""
        opened: dict[str, Frontier | None] = {}
        with self._access("write"), self.session() as session, session.begin():
            ids = self._source_ids(session, list(fresh))
            resumed: list[int] = []
            for name, entries in fresh.items():
                state = frontier.load(session, ids[name])
                if state.unfinished:
                    opened[name] = state
                    if state.last_run_id is not None:
                        resumed.append(state.last_run_id)
                    continue
                frontier.clear(session, [ids[name]])
                frontier.seed(session, ids[name], entries, run_id)
                opened[name] = None
            run = session.get(Run, run_id) if run_id is not None else None
            if run is not None and resumed:
                run.resumed_run_id = max(resumed)
        return opened

    # --- a team crawl's shared frontier ---------------------------------------------------

    def join_shared(self, run_id: int | None, fresh: Mapping[str, list[Entry]], caps: Mapping[str, int]) -> dict[str, int]:
        """Join each source's shared crawl (after reaping its dead workers) and queue its start
        entries (a no-op for a crawl under way); the run names the run that started the crawl
        it joined. Returns how many entries each dead worker's reaping put back, per source."""
        assert self.shared is not None
        requeued = {name: self.reap_shared([name])[name] for name in fresh}
        started = self.shared.join(run_id, list(fresh))
        for name, entries in fresh.items():
            self.shared.push(name, entries, caps[name])
        first = [run for run in started.values() if run is not None]
        if first and run_id is not None:
            with self._access("write"), self.session() as session, session.begin():
                run = session.get(Run, run_id)
                if run is not None:
                    run.resumed_run_id = min(first)
        return requeued

    def reap_shared(self, names: Sequence[str]) -> dict[str, int]:
        """Per source: entries put back in the queue from workers that died; their runs are
        marked interrupted."""
        assert self.shared is not None
        requeued: dict[str, int] = {}
        dead_runs: list[int] = []
        for name in names:
            requeued[name] = 0
            for worker in self.shared.dead_workers(name):
                requeued[name] += self.shared.reap(name, worker, self._stored_by)
                if worker.run_id is not None:
                    dead_runs.append(worker.run_id)
        if dead_runs:
            with self._access("write"), self.session() as session, session.begin():
                mark_runs_interrupted(session, dead_runs)
        return requeued

    def _stored_by(self, run_id: int | None, urls: list[str]) -> set[str]:
        if run_id is None:
            return set()
        with self._access("read"), self.session() as session:
            return set(session.scalars(select(Page.url).where(Page.url.in_(urls), Page.last_run_id == run_id)))

    def clear_frontiers(self, names: Sequence[str]) -> None:
        """Forget the frontiers of sources whose crawl ran to its end."""
        with self._access("write"), self.session() as session, session.begin():
            frontier.clear(session, self._source_ids(session, names).values())

    def running_runs(self) -> frozenset[int]:
        """Runs that say they are running (on any host; this host's dead ones are marked
        interrupted when a run starts)."""
        with self._access("read"), self.session() as session:
            return frozenset(session.scalars(select(Run.id).where(Run.status == "running")))

    def newest_posts(self, names: Sequence[str]) -> dict[str, int]:
        """The newest Telegram post stored, per channel of these sources."""
        newest: dict[str, int] = {}
        with self._access("read"), self.session() as session:
            rows = session.execute(select(Page.extra, func.count()).join(Source).where(Source.name.in_(names)).group_by(Page.id))
            for extra, _ in rows:
                if extra and extra.get("channel") and extra.get("post_id"):
                    channel = extra["channel"]
                    newest[channel] = max(newest.get(channel, 0), int(extra["post_id"]))
        return newest

    def new_pages(self, run_id: int) -> int:
        """Pages the run stored for the first time with a text (a failed fetch is no new page)."""
        with self._access("read"), self.session() as session:
            query = select(func.count()).select_from(Page).where(Page.first_run_id == run_id, Page.drop_reason.is_(None))
            return session.scalar(query) or 0

    @staticmethod
    def _source_ids(session: Session, names: Sequence[str]) -> dict[str, int]:
        rows = session.execute(select(Source.name, Source.id).where(Source.name.in_(list(names))))
        return {name: id_ for name, id_ in rows}
