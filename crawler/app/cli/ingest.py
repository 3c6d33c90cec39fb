"""coprod import: run documents gathered elsewhere through the pipelines into the catalogue."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from crawler.app.cli.common import command_parser, config_of, database_url
from crawler.app.offline import import_documents
from crawler.core.documents import read_documents
from crawler.core.errors import BadInput
from pipelines.chain import Chain
from pipelines.relevance import engine_from_config
from storage.db import open_catalogue

EXAMPLES = """
coprod import gathered.jsonl                       # {"url": ..., "text" or "html": ..., "title", "published", "lang", "links": [...]}
coprod import capture.warc.gz --source archive-2022
coprod import posts.jsonl --db sqlite:///data/coprod.sqlite

The file is checked whole first: a line that is not UTF-8 or JSON, or a field of the wrong
type, exits 2 naming the line, and nothing is imported. Control characters are removed from
the texts; a document over crawl.max_page_bytes is recorded as too_large, without its text.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "import", "Import JSON Lines or WARC documents through the same pipelines into the catalogue.", EXAMPLES)
    parser.add_argument("file", type=Path, metavar="FILE", help="a .jsonl file, or a .warc / .warc.gz file")
    parser.add_argument("--source", metavar="NAME", help="source to file the documents under: a source of the study keeps its kind and region (default: import-<file name>)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise BadInput(f"{args.file}: no such file")
    config = config_of(args)
    source = args.source or "import-" + re.sub(r"[^a-z0-9_.-]+", "-", args.file.name.lower()).strip("-")
    limit = config.crawl.max_page_bytes
    # The whole file is checked before anything is stored: a bad line imports nothing.
    for _ in read_documents(args.file, max_bytes=limit):
        pass
    database = open_catalogue(database_url(args, config))
    try:
        chain = Chain.for_sources(engine_from_config(config), config.sources)
        outcome = import_documents(database, chain, read_documents(args.file, max_bytes=limit), source, str(args.file))
    finally:
        database.dispose()
    print(
        f"run {outcome.run_id}: read {outcome.read} documents from {args.file}; stored {outcome.stored} "
        f"({outcome.new_rows} new rows), dropped {outcome.dropped} (without text, or over crawl.max_page_bytes), flagged {outcome.flagged}"
    )
    return 0
