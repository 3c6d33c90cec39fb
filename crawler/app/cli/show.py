"""coprod show: a stored page's captured version, read back from its WARC record."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.app.cli.common import command_parser, config_of, database_url, seeds_path
from crawler.core.charsets import decode_html
from crawler.core.errors import BadInput
from crawler.core.sanitise import terminal_safe
from crawler.core.urls import canonical_url
from pipelines.chain import masked
from pipelines.extract import content_hash, extract, is_html
from storage.capture import CaptureDamaged, CaptureRef, capture_dir, read_capture
from storage.db import open_catalogue
from storage.models import Page, PageVersion

EXAMPLES = """
coprod show https://dnipro-vechir.test/novyny/punkt-obigrivu     # the latest version
coprod show https://dnipro-vechir.test/novyny/punkt-obigrivu --versions
coprod show https://dnipro-vechir.test/novyny/punkt-obigrivu --version 1
coprod show URL --db sqlite:///data/demo.sqlite --captures data/demo-captures

Prints the version's capture (time, WARC file and offset, HTTP status), its title and
text. The text is extracted again from the WARC record when it still yields the stored
content hash (the capture proves it), else the stored text is shown and the reason said
(a capture damaged or gone, one that extracts differently now).
Scraped text is printed without control characters or terminal escape sequences.
--versions columns: version, first_seen, last_seen, captured_at, http_status, capture
(file@offset), content_hash (first 12), title
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "show", "Show a stored page's captured version (or list its versions).", EXAMPLES)
    parser.add_argument("url", metavar="URL", help="the page's URL (any variant of it: it is made canonical)")
    parser.add_argument("--version", type=int, metavar="N", help="which version (default: the latest)")
    parser.add_argument("--versions", action="store_true", help="list every version instead")
    parser.add_argument("--captures", metavar="DIR", help="the capture folder (default: $COPROD_CAPTURE_DIR, else the study file's captures, else beside the catalogue)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    database = database_url(args)
    folder = capture_dir(database, args.captures, config_of(args).captures if seeds_path(args).exists() else None)
    engine = open_catalogue(database, create=False)
    try:
        with Session(engine) as session:
            page = session.scalar(select(Page).where(Page.url.in_({canonical_url(args.url), args.url})))
            if page is None:
                raise BadInput(f"no stored page at {args.url}")
            versions = list(page.page_versions)
            if not versions:
                why = f"dropped: {page.drop_reason}" if page.drop_reason else "never stored with a text"
                raise BadInput(f"{page.url} has no stored version ({why})")
            if args.versions:
                print(render_versions(page, versions))
                return 0
            chosen = versions[-1] if args.version is None else next((v for v in versions if v.number == args.version), None)
            if chosen is None:
                raise BadInput(f"{page.url} has versions 1 to {versions[-1].number}, not {args.version}")
            print(render_version(page, chosen, len(versions), folder))
    finally:
        engine.dispose()
    return 0


def render_versions(page: Page, versions: list[PageVersion]) -> str:
    lines = [f"{terminal_safe(page.url)}: {len(versions)} version(s)"]
    for v in versions:
        capture = f"{v.warc_file}@{v.warc_offset}" if v.warc_file else "not captured (imported)"
        lines.append(
            "\t".join((
                f"v{v.number}", _iso(v.first_seen), _iso(v.last_seen), _iso(v.captured_at), str(v.http_status or "-"),
                capture, v.content_hash[:12], terminal_safe(v.title or ""),
            ))
        )
    return "\n".join(lines)


def render_version(page: Page, version: PageVersion, count: int, folder: Path) -> str:
    text, origin = version_text(version, folder)
    lines = [
        f"url: {terminal_safe(page.url)}",
        f"version {version.number} of {count}: first seen {_iso(version.first_seen)}, last seen {_iso(version.last_seen)}",
    ]
    if version.warc_file:
        lines.append(f"captured {_iso(version.captured_at)} UTC in {version.warc_file} at offset {version.warc_offset} ({version.warc_length} bytes)")
    else:
        lines.append("not captured by a crawl (imported)")
    lines += [
        f"fetched: {terminal_safe(version.fetched_url)} (HTTP {version.http_status or '-'})",
        f"title: {terminal_safe(version.title or '')}",
        f"text ({origin}):",
        "",
        terminal_safe(text),
    ]
    return "\n".join(lines)


def version_text(version: PageVersion, folder: Path) -> tuple[str, str]:
    """The version's text, and where it came from: extracted again from the capture when
    that gives the stored content, else the stored text (with the reason)."""
    stored = version.text or ""
    if not version.warc_file:
        return stored, "stored"
    try:
        captured = read_capture(folder, CaptureRef(version.warc_file, version.warc_offset or 0, version.warc_length or 0, version.captured_at))
    except CaptureDamaged as damage:
        return stored, f"stored; the capture is damaged: {terminal_safe(str(damage))}"
    except OSError as error:
        return stored, f"stored; the capture cannot be read: {terminal_safe(error.strerror or str(error))} ({version.warc_file} in {folder})"
    if not is_html(version.content_type):
        # A Telegram post's capture is its channel's preview page: the post is a part of it.
        return stored, f"stored; read from the captured page {terminal_safe(captured.url)}"
    html = decode_html(captured.body, captured.header("Content-Type"))  # as the crawl decoded it
    text = masked(extract(html, captured.url)).text  # the chain's first two stages, as when it was stored
    if content_hash(text) != version.content_hash:
        return stored, "stored; the capture extracts differently now"
    return text, "from the capture"


def _iso(value: object) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"  # type: ignore[attr-defined]
