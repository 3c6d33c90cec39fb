"""The stage chain: extract -> mask cards -> language -> relevance -> discover, composed once.

Each stage is a pure function of what the stages before it found. `Chain.run` is the one
place they are put in order: it writes each stage's result onto the page and raises
`PageDropped` with the reason when a page goes no further. Every way into the catalogue
runs it: a crawl (`ChainPipeline`, the item pipeline before the store), `coprod import`
(`crawler.app.offline`), and `coprod evaluate` and `coprod simulate`, which keep the verdicts
instead of storing them; `coprod rescore` runs its relevance stage on the stored pages.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from crawler.core.config import Source
from crawler.core.items import PageItem
from pipelines._drop import PageDropped
from pipelines.dedup import fingerprint, shingles, signature
from pipelines.discover import Discovered, discover, source_key
from pipelines.extract import Extracted, content_hash, extract, is_html
from pipelines.language import LanguageResult, detect_language, load_profiles
from pipelines.relevance.engine import Assessment, Engine, build_engine
from pipelines.relevance.identifiers import mask_cards
from pipelines.relevance.pagetype import linked_headlines
from pipelines.workers import WorkerPool, default_workers

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["CHAIN_FIELDS", "Chain", "ChainPipeline", "ChainWorkerError", "assessed", "discovered", "extracted", "language_of", "masked", "worker_count"]

# What the chain writes onto a page: what a worker process sends back.
CHAIN_FIELDS = ("text", "title", "published", "author", "sitename", "links", "content_hash", "signature", "shingles", "language", "language_detail", "relevance", "discovered", "extra")


class SourceFacts(Protocol):
    """What the relevance stage reads of a page's source: a configured `Source` or a
    catalogue row."""

    kind: str
    region: str | None


def extracted(item: PageItem, min_chars: int = 1) -> Extracted:
    """Stage 1: the page's main text and metadata (trafilatura). A failed fetch, a document
    that is not HTML and a page without main text leave here, with their reason."""
    if item.fetch_error:
        raise PageDropped(item.fetch_error, item.fetch_error_detail)
    if item.html is None and item.text is not None:
        # The text came parsed: a Telegram post (its spider read it), an imported text.
        if not item.text.strip():
            raise PageDropped("empty_extraction", "a post without text (media only)")
        return Extracted(item.text, item.title, item.published, item.author, None, tuple(item.links))
    if not is_html(item.content_type) or item.html is None:
        raise PageDropped("not_html", item.content_type or "no content type")
    found = extract(item.html, item.fetched_url)
    if len(found.text) < min_chars:
        raise PageDropped("empty_extraction", f"{len(found.text)} characters of main text")
    # What the page came with (an imported document's title, date and links) comes first.
    return replace(
        found,
        title=item.title or found.title,
        published=item.published or found.published,
        links=tuple(dict.fromkeys((*item.links, *found.links))),
    )


def masked(found: Extracted) -> Extracted:
    """Stage 2: card numbers masked as soon as the text exists, so they never reach the
    catalogue (the WARC captures keep the pages as published)."""
    return replace(found, text=mask_cards(found.text), title=mask_cards(found.title) if found.title else None)


def language_of(title: str | None, text: str, given: str | None = None) -> LanguageResult:
    """Stage 3: the language of the title and text, unless the document named its own."""
    if given:
        return LanguageResult(given, "given", 1.0)
    return detect_language("\n".join(filter(None, (title, text))))


def assessed(engine: Engine, item: PageItem, source: SourceFacts | None) -> Assessment:
    """Stage 4: the relevance engine's verdict on the page."""
    return engine.verdict(read(engine, item, source))


def read(engine: Engine, item: PageItem, source: SourceFacts | None):  # -> engine._Reading
    """Stage 4's first half: the signals the engine reads in the page, before its weights
    weigh them (cross-validation weighs them with other weights)."""
    return engine.read(
        item.text or "",
        title=item.title,
        language=item.language or "uk",
        published=item.published,
        links=item.links,
        source_kind=source.kind if source else None,
        source_region=source.region if source else None,
        url=item.url,
        headlines=item.extra.get("headlines"),
    )


def discovered(item: PageItem, own_domains: Iterable[str], known_keys: frozenset[str]) -> list[Discovered]:
    """Stage 5: sites and channels the page links to that the study does not crawl."""
    return discover(item.outlinks, item.text or "", own_domains, known_keys)


@dataclass(frozen=True)
class Chain:
    """The stages with what they need, loaded once: the relevance engine (None: no relevance
    stage, for `coprod simulate --text-only` or a study without lexicon), the sources by
    name, and the domains and keys the study crawls already (links to them are not
    discoveries)."""

    engine: Engine | None
    sources: Mapping[str, SourceFacts] = field(default_factory=dict)
    own_domains: tuple[str, ...] = ()
    known_keys: frozenset[str] = frozenset()
    min_chars: int = 1

    @classmethod
    def for_sources(cls, engine: Engine | None, sources: Iterable[Source], min_chars: int = 1) -> Chain:
        sources = list(sources)
        return cls(
            engine,
            {s.name: s for s in sources},
            tuple(d for s in sources if s.kind != "telegram" for d in s.domains),
            frozenset(k for s in sources for k in source_key(s)),
            min_chars,
        )

    def warm(self) -> None:
        """Load now what the stages load on their first page (langdetect's profiles, the
        extractor's tables, the morphology's analysers): a process about to fork its workers
        then shares them with every worker, where each would load its own."""
        load_profiles()
        extract(_WARM_PAGE)
        if self.engine is not None:
            for language, text in _WARM_TEXTS:
                self.engine.verdict(self.engine.read(text, language=language))

    def run(self, item: PageItem) -> PageItem:
        """Every stage, in order, onto the page; `PageDropped` when it leaves."""
        if not item.not_modified:  # answered 304: its version went through the chain when stored
            self._run(item)
        return item

    def verdict(self, item: PageItem) -> Assessment:
        """The relevance verdict the chain reaches on a page. A page it drops is judged as an
        empty text, so that an evaluation counts every labelled document."""
        assert self.engine is not None, "a verdict needs the relevance engine"
        try:
            verdict = self._run(item)
        except PageDropped:
            verdict = assessed(self.engine, replace(item, text="", title=None, links=[]), self.sources.get(item.source))
        assert verdict is not None
        return verdict

    def assess(self, item: PageItem, source: SourceFacts | None = None) -> Assessment:
        """The relevance stage alone (`coprod rescore`: stored pages keep their text and
        language); the source is the item's configured one unless given."""
        assert self.engine is not None, "relevance needs the engine"
        verdict = assessed(self.engine, item, source or self.sources.get(item.source))
        item.relevance = verdict.to_json()
        return verdict

    def reading(self, item: PageItem):  # -> engine._Reading
        """The signals the engine reads in a page after the chain's first stages; a page the
        chain drops is read as an empty text."""
        assert self.engine is not None, "a reading needs the relevance engine"
        try:
            self._prepare(item)
        except PageDropped:
            item = replace(item, text="", title=None, links=[])
        return read(self.engine, item, self.sources.get(item.source))

    def _prepare(self, item: PageItem) -> None:
        """Stages 1 to 3 onto the page."""
        found = masked(extracted(item, self.min_chars))
        if item.html is not None:
            # A listing page is told by its linked headlines (pipelines.relevance.pagetype).
            item.extra["headlines"] = linked_headlines(item.html)
        item.text, item.title, item.published = found.text, found.title, found.published
        item.author, item.sitename, item.links = found.author, found.sitename, list(found.links)
        item.content_hash = content_hash(found.text)
        hashes = fingerprint(shingles(found.text))
        item.signature, item.shingles = signature(hashes), hashes.astype("<u4").tobytes()
        language = language_of(found.title, found.text, item.language)
        item.language = language.code
        item.language_detail = {"method": language.method, "confidence": language.confidence, "shares": language.shares}

    def _run(self, item: PageItem) -> Assessment | None:
        self._prepare(item)
        verdict = self.assess(item) if self.engine is not None else None
        item.discovered = [asdict(d) for d in discovered(item, self.own_domains, self.known_keys)]
        return verdict


_WARM_TEXTS = (
    ("uk", "Волонтери Дніпра зібрали кошти на генератори для лікарні. Долучайтеся!"),
    ("ru", "Волонтеры Днепра собрали средства на генераторы для больницы. Присоединяйтесь!"),
    ("en", "Volunteers in Dnipro raised money for generators for the hospital. Join us!"),
)
_WARM_PAGE = "<html><head><title>Волонтери</title></head><body><article><p>" + " ".join(t for _, t in _WARM_TEXTS) * 3 + "</p></article></body></html>"


class ChainWorkerError(RuntimeError):
    """The chain failed on a page in a worker process (the worker's traceback attached)."""


def worker_count(value: object) -> int:
    """`COPROD_WORKERS` as a number of processes: unset means the machine's cores, 0 none."""
    if value in (None, ""):
        return default_workers()
    try:
        count = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"COPROD_WORKERS: expected a number of worker processes, got {value!r}") from None
    if count < 0:
        raise ValueError(f"COPROD_WORKERS: expected 0 or more worker processes, got {count}")
    return count


def _chain_in_worker(chain: Chain) -> Callable[[PageItem], dict[str, Any]]:
    def run(item: PageItem) -> dict[str, Any]:
        chain.run(item)
        return {name: getattr(item, name) for name in CHAIN_FIELDS}

    return run


class _Readable:
    """A worker's socket as a Twisted read descriptor (the reactor calls `doRead`)."""

    def __init__(self, fd: int, callback: Callable[[], None]):
        self.fd = fd
        self.callback = callback

    def fileno(self) -> int:
        return self.fd

    def doRead(self) -> None:  # noqa: N802 - Twisted's interface
        self.callback()

    def connectionLost(self, reason: object) -> None:  # noqa: N802
        pass

    def logPrefix(self) -> str:  # noqa: N802
        return "coprod-chain-worker"


class _SharedPool:
    """The chain and its worker pool, shared by every crawler of the process that runs the same
    study (`coprod crawl` runs the site, feeds and Telegram spiders side by side): one engine
    loaded, one set of workers."""

    opened: dict[str, _SharedPool] = {}

    def __init__(self, key: str, chain: Chain, pool: WorkerPool | None):
        self.key = key
        self.chain = chain
        self.pool = pool
        self.users = 0

    @classmethod
    def acquire(cls, key: str, build: Callable[[], Chain], workers: int, max_pages: int, count: Callable[[str], None]) -> _SharedPool:
        shared = cls.opened.get(key)
        if shared is None:
            chain = build()
            pool = None
            if workers:
                chain.warm()
                from twisted.internet import reactor

                readers: dict[int, _Readable] = {}

                def watch(fd: int, callback: Callable[[], None]) -> None:
                    readers[fd] = _Readable(fd, callback)
                    reactor.addReader(readers[fd])  # type: ignore[attr-defined]

                def unwatch(fd: int) -> None:
                    reader = readers.pop(fd, None)
                    if reader is not None:
                        reactor.removeReader(reader)  # type: ignore[attr-defined]

                # Forked now, with the engine loaded: its tables are shared copy-on-write.
                pool = WorkerPool(_chain_in_worker(chain), workers, max_pages, watch, unwatch, count).start()
            shared = cls.opened[key] = cls(key, chain, pool)
        shared.users += 1
        return shared

    def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            del self.opened[self.key]
            if self.pool is not None:
                self.pool.close()


class ChainPipeline:
    """The stage chain as a Scrapy item pipeline: every page a spider yields runs through
    it; the store pipeline records what it kept and, with their reasons, what it dropped.

    With `COPROD_WORKERS` > 0 (default: the machine's cores) the chain runs in that many worker
    processes (`pipelines.workers`) while the reactor goes on fetching, following and storing;
    with 0 it runs here. Either way a page comes out the same."""

    def __init__(self, crawler: Crawler | None, sources: list[Source], min_chars: int, engine_args: tuple | None, workers: int = 0, max_pages: int = 0):
        self.crawler = crawler
        self.sources = sources
        self.min_chars = min_chars
        self.engine_args = engine_args  # build_engine's arguments; None: no lexicon or region
        self.workers = workers
        self.max_pages = max_pages
        self.chain: Chain | None = None
        self.shared: _SharedPool | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChainPipeline:
        settings = crawler.settings
        engine_args = None
        if settings.getlist("COPROD_LEXICON_FILES") and settings.get("COPROD_REGION_CODE") and settings.get("COPROD_WEIGHTS_FILE"):
            start, end = settings.getlist("COPROD_WINDOW")
            threshold = settings.get("COPROD_FLAG_THRESHOLD")
            engine_args = (
                [Path(p) for p in settings.getlist("COPROD_LEXICON_FILES")],
                settings.get("COPROD_REGION_CODE"),
                [Path(p) for p in settings.getlist("COPROD_PLACE_FILES")],
                (dt.date.fromisoformat(start), dt.date.fromisoformat(end)),
                Path(settings.get("COPROD_WEIGHTS_FILE")),
                None if threshold is None else float(threshold),
            )
        sources = [Source.model_validate(s) for s in settings.getlist("COPROD_SOURCES")]
        workers = worker_count(settings.get("COPROD_WORKERS"))
        return cls(crawler, sources, settings.getint("COPROD_MIN_TEXT_CHARS", 1), engine_args, workers, settings.getint("COPROD_WORKER_MAX_PAGES", 0))

    def open_spider(self) -> None:
        # Loading the gazetteer and the dictionaries takes a moment: once per crawl, not per page.
        key = json.dumps([[str(a) for a in self.engine_args] if self.engine_args else None, self.min_chars, [s.model_dump(mode="json") for s in self.sources]], sort_keys=True)
        self.shared = _SharedPool.acquire(key, self._build, self.workers, self.max_pages, self._count)
        self.chain = self.shared.chain
        if self.crawler is not None:
            self.crawler.stats.set_value("coprod/workers", self.shared.pool.size if self.shared.pool else 0)

    def _build(self) -> Chain:
        engine = build_engine(*self.engine_args) if self.engine_args else None
        return Chain.for_sources(engine, self.sources, self.min_chars)

    def close_spider(self) -> None:
        if self.shared is not None:
            self.shared.release()
            self.shared = None

    async def process_item(self, item: PageItem) -> PageItem:
        assert self.chain is not None and self.shared is not None, "open_spider() builds the chain"
        pool = self.shared.pool
        if pool is None or item.not_modified:
            return self.chain.run(item)
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.defer import Deferred

        answer: Deferred = Deferred()
        pool.submit(item, answer.callback, self._count)
        outcome = await maybe_deferred_to_future(answer)
        if outcome[0] == "dropped":
            raise PageDropped(outcome[1], outcome[2])
        if outcome[0] == "error":
            raise ChainWorkerError(outcome[1])
        for name, value in outcome[1].items():
            setattr(item, name, value)
        return item

    def _count(self, event: str) -> None:
        if self.crawler is not None:
            self.crawler.stats.inc_value(f"coprod/workers/{event}")
