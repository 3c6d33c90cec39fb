"""The catalogue schema: sources, runs, pages, candidates, cases and the decision log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

__all__ = [
    "SCHEMA_VERSION",
    "AuditEvent",
    "Base",
    "Candidate",
    "CandidateSearch",
    "Case",
    "CaseEvent",
    "CaseEvidence",
    "Decision",
    "DiscoveredSource",
    "FrontierEntry",
    "Page",
    "PageIdentifier",
    "PagePlace",
    "PageVersion",
    "RankerRun",
    "Run",
    "SchemaInfo",
    "Source",
    "SourceLink",
    "User",
    "utcnow",
]

# Bump when a table changes, with a new Alembic revision (`storage/alembic/versions/`);
# `storage.db.open_catalogue` refuses a database of another version. Schema 3 (issue 14,
# revision 0003): decisions and case evidence name the page version they were made on; users
# carry a session version; the audit log; the candidates' search index and queue columns;
# ranker runs record failed trainings; `storage.ddl` holds its triggers and full-text index.
# Schema 4 (issue 11, revision 0004): pages carry the MinHash signature of their text.
# Schema 5 (issue 14, revision 0005): indexes for the queue's filtered counts and places.
# Schema 6 (issue 12, revision 0006): pages carry the fingerprint their signature is made of.
SCHEMA_VERSION = 6


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, list[Any]: JSON}


class SchemaInfo(Base):
    __tablename__ = "schema_info"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Source(Base):
    """A site, feed or channel named in seeds.yaml (kept in sync at each crawl)."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    region: Mapped[str | None] = mapped_column(String(200))
    language_hint: Mapped[str | None] = mapped_column(String(8))
    start_urls: Mapped[list[str]] = mapped_column(default=list)
    allowed_domains: Mapped[list[str]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    pages: Mapped[list[Page]] = relationship(back_populates="source")


class Run(Base):
    """One crawl, with the Scrapy stats it ended with."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    spider: Mapped[str] = mapped_column(String(64))
    sources: Mapped[list[str]] = mapped_column(default=list)
    seeds_sha256: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | finished | failed | interrupted
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    pages_stored: Mapped[int] = mapped_column(Integer, default=0)
    pages_dropped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Who crawls: a run left `running` whose process is gone is marked `interrupted`.
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))
    resumed_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))


class FrontierEntry(Base):
    """A page a site crawl has to fetch (queued) or has stored (done); a killed crawl
    resumes from the queued ones. Cleared when the source's crawl finishes."""

    __tablename__ = "frontier"
    __table_args__ = (UniqueConstraint("source_id", "url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(Text)  # canonical URL
    fetch_url: Mapped[str] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(8), default="queued")  # queued | done
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))  # the run that queued or completed it
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Page(Base):
    """One document at one canonical URL; dropped pages are kept with the reason."""

    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    fetched_url: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    encoding: Mapped[str | None] = mapped_column(String(40))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    referer: Mapped[str | None] = mapped_column(Text)
    drop_reason: Mapped[str | None] = mapped_column(String(64), index=True)
    drop_detail: Mapped[str | None] = mapped_column(Text)

    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(32))
    author: Mapped[str | None] = mapped_column(Text)
    sitename: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))  # an exact or near copy of that page
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # MinHash of its shingles (pipelines.dedup)
    shingles: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # their sorted 32-bit hashes (pipelines.dedup.fingerprint)

    language: Mapped[str | None] = mapped_column(String(8), index=True)
    language_detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    links: Mapped[list[str]] = mapped_column(default=list)
    alternates: Mapped[list[Any]] = mapped_column(default=list)  # [hreflang, url] of other language versions
    # A story published in several languages is one candidate: the others point to it.
    version_of_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # The relevance engine's verdict; `relevance` keeps every reason and its evidence.
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    direction: Mapped[str | None] = mapped_column(String(8), index=True)
    mode: Mapped[str | None] = mapped_column(String(16), index=True)
    in_region: Mapped[bool | None] = mapped_column(Boolean)
    in_window: Mapped[bool | None] = mapped_column(Boolean)
    event_date: Mapped[str | None] = mapped_column(String(10))  # the engine's date: metadata, else text
    relevance: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # The latest fetch's validators, sent back as If-None-Match / If-Modified-Since.
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(64))

    source: Mapped[Source] = relationship(back_populates="pages")
    identifiers: Mapped[list[PageIdentifier]] = relationship(back_populates="page", cascade="all, delete-orphan")
    places: Mapped[list[PagePlace]] = relationship(back_populates="page", cascade="all, delete-orphan")
    duplicate_of: Mapped[Page | None] = relationship(remote_side=[id], foreign_keys=[duplicate_of_id])
    version_of: Mapped[Page | None] = relationship(remote_side=[id], foreign_keys=[version_of_id])
    candidate: Mapped[Candidate | None] = relationship(back_populates="page")
    page_versions: Mapped[list[PageVersion]] = relationship(back_populates="page", order_by="PageVersion.number", cascade="all, delete-orphan")


class PageVersion(Base):
    """One content of a page (by content hash), with the WARC capture it was read from.

    A page fetched again with the same content only moves `last_seen`; changed content
    becomes the next version, the earlier ones kept. `warc_file` is a name inside the
    capture folder (made from run, spider and time, never from scraped content);
    `warc_offset`/`warc_length` span the response record and its request record.
    """

    __tablename__ = "page_versions"
    __table_args__ = (UniqueConstraint("page_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per page
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    fetched_url: Mapped[str] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    warc_file: Mapped[str | None] = mapped_column(String(200))  # None: imported, not captured by a crawl
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    captured_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    page: Mapped[Page] = relationship(back_populates="page_versions")


class PageIdentifier(Base):
    """A Telegram handle, jar, site, phone... found on a page: keys that tie pages to one initiative."""

    __tablename__ = "page_identifiers"
    __table_args__ = (UniqueConstraint("page_id", "kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(300), index=True)

    page: Mapped[Page] = relationship(back_populates="identifiers")


class PagePlace(Base):
    """A place of the study region named on a page, with its KATOTTG code."""

    __tablename__ = "page_places"
    __table_args__ = (
        UniqueConstraint("page_id", "code"),
        # Schema 5: whether a page is at a place, read from the index alone (the queue by place
        # tests it row by row as it walks the queue's order).
        Index("ix_page_places_page_codes", "page_id", "code", "hromada_code", "raion_code"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    code: Mapped[str] = mapped_column(String(19), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)  # schema 3: the queue filters by name
    category: Mapped[str] = mapped_column(String(1))
    hromada_code: Mapped[str | None] = mapped_column(String(19), index=True)  # schema 3
    raion_code: Mapped[str | None] = mapped_column(String(19), index=True)  # schema 3

    page: Mapped[Page] = relationship(back_populates="places")


class DiscoveredSource(Base):
    """A site or channel that crawled pages link to; analysts accept, reject or leave it."""

    __tablename__ = "discovered_sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)  # t.me/<channel>, instagram.com/<page>, a host
    kind: Mapped[str] = mapped_column(String(16))  # site | telegram | instagram | facebook
    url: Mapped[str] = mapped_column(Text)  # a link to it, as found
    example: Mapped[str | None] = mapped_column(Text)  # a sentence that links to it
    status: Mapped[str] = mapped_column(String(16), default="undecided", index=True)  # undecided | accepted | rejected
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SourceLink(Base):
    """A page that links to a discovered source (the in-degree is the count of these)."""

    __tablename__ = "source_links"
    __table_args__ = (UniqueConstraint("page_id", "discovered_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    discovered_id: Mapped[int] = mapped_column(ForeignKey("discovered_sources.id"), index=True)


class Candidate(Base):
    """A flagged page waiting for (or past) screening."""

    __tablename__ = "candidates"
    __table_args__ = (
        # Schema 3: the two queue orders, by the engine and by the model, read from an index.
        Index("ix_candidates_queue_engine", "score", "id"),
        Index("ix_candidates_queue_model", "model_score", "score", "id"),
        # Schema 5: the queue's usual filters together, so their count is one index range.
        Index("ix_candidates_filters", "status", "language", "mode", "score"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), unique=True)
    score: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    flagged_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Current screening state, derived from the decision log by the review app.
    status: Mapped[str] = mapped_column(String(16), default="unscreened", index=True)
    # The active-learning model's probability of relevance; None until a model scored it.
    model_score: Mapped[float | None] = mapped_column(Float, index=True)
    # Schema 3: copies of the page's columns the queue filters on (kept by `sync_candidate`),
    # so a filtered queue is counted from the candidates' own indexes, without a join.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(8), index=True)
    mode: Mapped[str | None] = mapped_column(String(16), index=True)

    page: Mapped[Page] = relationship(back_populates="candidate")


class CandidateSearch(Base):
    """Schema 3: the words of a candidate's title and text as the engine's lemmatizer reads
    them (every lemma of every word), for the queue's full-text search. The full-text index
    over `lemmas` is the database's own (`storage.ddl`: SQLite FTS5, PostgreSQL tsvector);
    `content_hash` tells when the page changed and the row must be made again."""

    __tablename__ = "candidate_search"
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    lemmas: Mapped[str] = mapped_column(Text)


class Case(Base):
    """One initiative in the catalogue, coded with the codebook's fields."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


class CaseEvidence(Base):
    """A candidate page that is evidence of a case."""

    __tablename__ = "case_evidence"
    __table_args__ = (UniqueConstraint("case_id", "candidate_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Schema 3: the version of the page the screening decision was made on (its capture).
    page_version_id: Mapped[int | None] = mapped_column(ForeignKey("page_versions.id"))

    page_version: Mapped[PageVersion | None] = relationship()


class RankerRun(Base):
    """One training of the screening model (trained outside requests, by `coprod learn`)."""

    __tablename__ = "ranker_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    trained_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decisions: Mapped[int] = mapped_column(Integer)  # screening decisions in the log when it trained
    labels: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    scored: Mapped[int] = mapped_column(Integer)
    # Schema 3: trained | not_enough_labels | failed, and why, so the app can say so.
    outcome: Mapped[str] = mapped_column(String(24), default="trained", server_default="trained")
    detail: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """An analyst account of the review app. Passwords are stored as scrypt hashes."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | analyst | viewer
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Schema 3: every session carries the version it was opened with; logging out, a role
    # change, a new password or deactivation bumps it, which ends every open session.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CaseEvent(Base):
    """The history of a case: created, candidate attached, coded, merged, split."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # created | attached | coded | merged | split
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Decision(Base):
    """One analyst's screening or coding act. Append-only: never updated, never deleted."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    user: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # include | exclude | maybe | code | resolve
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Schema 3: the version of the candidate's page the analyst saw when deciding.
    page_version_id: Mapped[int | None] = mapped_column(ForeignKey("page_versions.id"))


class AuditEvent(Base):
    """Schema 3: who did what, when: logins and failed logins, logouts, source decisions,
    exports, account changes. Append-only like the decision log (`storage.ddl`)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user: Mapped[str | None] = mapped_column(String(64), index=True)  # the account acting (or tried)
    action: Mapped[str] = mapped_column(String(32), index=True)
    address: Mapped[str | None] = mapped_column(String(64))  # client address, for the app's events
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


@event.listens_for(Session, "before_flush")
def _decisions_are_append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (Decision, AuditEvent)):
            raise PermissionError(f"{obj.__tablename__} is append-only: add a new row instead of changing one")
