"""Pure parsers for the documents that list a site's articles: feeds, sitemaps, robots.txt.

`parse_feed_or_sitemap()` reads RSS 2.0, Atom (1.0 and 0.3), RSS 1.0/RDF, sitemap indexes,
URL sets (with the Google News, image, video and ``xhtml:link`` extensions) and robots.txt,
gzipped or not, and returns the article (or child sitemap) URLs in document order with
their dates. It never fetches anything and never raises anything but `FeedError`; what it
skipped, and why, is in `Parsed.problems`. `sitemaps_in_robots()` lists a robots.txt's
``Sitemap:`` lines and `in_window()` tests an entry against the study window.

Dates
    ``Entry.published`` is timezone-aware when the source gives a zone (``+0300``,
    ``+03:00``, ``Z``, ``GMT``, ``EEST``...), with the offset the source wrote. When the
    source gives no zone (``2023-05-22``, ``2023-05-22T12:10:00``) it is a *naive* datetime
    holding the wall-clock time as written; treat it as UTC if an instant is needed. A date
    without a time is midnight; W3C's reduced precisions (``2023``, ``2023-05``) are the
    first day of the year or month. Which date is taken: RSS ``pubDate`` (else ``dc:date``,
    else ``atom:published``/``atom:updated``); Atom ``published`` (else ``updated``); RDF
    ``dc:date``; sitemaps ``news:publication_date`` (else ``lastmod``). In a plain URL set
    ``published`` is therefore the *last modification* date, which may be later than the
    publication. A date that cannot be read leaves ``published`` as None, with a problem.

URLs
    Links are resolved against ``xml:base`` and the document URL; a relative link that has
    no absolute http(s) base, a link whose scheme is not http(s) (``javascript:``,
    ``mailto:``, ``data:``...), a link holding an unexpanded entity and an over-long link are
    skipped with a reason. Identical URLs are kept once, first occurrence first; no other
    normalisation is done (the spider canonicalises).

Encoding
    A byte-order mark decides; else a body that is valid UTF-8 is read as UTF-8 whatever it
    declares (the usual mislabelling); else the XML declaration, then the HTTP charset; else
    windows-1251 (the legacy encoding of Ukrainian sites). Each override is a problem.

Problems
    At most `MAX_PROBLEMS` are listed; a last line counts the rest.

Security
    The XML parser resolves no entities, loads no DTD, touches no network and keeps libxml2's
    size limits (``huge_tree=False``), and a resolver answers any external load with nothing:
    no XXE, no billion laughs, no quadratic blow-up (a document that trips libxml2's entity or
    size limits is refused, not recovered). HTML named entities (``&laquo;``) are rewritten as
    character references before parsing; DTD-declared ones stay unexpanded. Gzip is inflated
    in bounded steps and refused past ``max_size`` decompressed bytes, so a decompression
    bomb costs at most that much memory.
"""

from __future__ import annotations

import codecs
import html
import re
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html.entities import html5 as _HTML5_ENTITIES
from urllib.parse import urljoin, urlsplit

from lxml import etree

__all__ = [
    "MAX_SIZE",
    "Entry",
    "FeedError",
    "Parsed",
    "in_window",
    "parse_date",
    "parse_feed_or_sitemap",
    "sitemaps_in_robots",
]

#: Largest document read, in bytes after decompression (a sitemap may be 50 MB uncompressed).
MAX_SIZE = 50 * 1024 * 1024
#: Longest URL kept (Scrapy's default URLLENGTH_LIMIT).
MAX_URL_LENGTH = 2083
#: Problems listed one by one; the rest are counted in a last line.
MAX_PROBLEMS = 100

_NS_ATOM = "http://www.w3.org/2005/Atom"
_NS_ATOM03 = "http://purl.org/atom/ns#"
_NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_DC = "http://purl.org/dc/elements/1.1/"
_NS_DCTERMS = "http://purl.org/dc/terms/"
_NS_XHTML = "http://www.w3.org/1999/xhtml"
_NS_NEWS_PREFIX = "http://www.google.com/schemas/sitemap-news/"
_NS_SITEMAP = {"", "http://www.sitemaps.org/schemas/sitemap/0.9", "http://www.google.com/schemas/sitemap/0.9",
               "http://www.google.com/schemas/sitemap/0.84", "http://www.google.com/schemas/sitemap/0.90"}

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Entry:
    url: str
    """Absolute http(s) URL, resolved against ``xml:base`` and the document URL."""
    published: datetime | None
    """Aware when the source gives a zone, else naive wall-clock time (see the module doc)."""
    title: str | None
    kind: str
    """``"article"`` (a feed item or a URL-set ``<url>``) or ``"sitemap"`` (a child sitemap)."""
    alternates: tuple[tuple[str, str], ...] = ()
    """``(hreflang, url)`` pairs from ``xhtml:link``/``atom:link rel="alternate"``, as listed."""


@dataclass(frozen=True)
class Parsed:
    format: str
    """``rss``, ``atom``, ``rdf``, ``sitemap_index``, ``urlset``, ``news_sitemap`` or ``robots``."""
    entries: tuple[Entry, ...]
    problems: tuple[str, ...]
    """Why anything was skipped or read differently from what the document said."""
    lost: tuple[str, ...] = ()
    """The problems that cost entries: an entry without a usable link, a document read only
    up to its damage. (A duplicate URL or an unreadable date costs none.)"""


class FeedError(ValueError):
    """The document is not a feed or sitemap, or is broken beyond use; the message says why
    and `reason` classifies it (`malformed_feed`; `decompression_bomb`, `too_large`)."""

    def __init__(self, message: str, reason: str = "malformed_feed"):
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------- public API


def parse_feed_or_sitemap(body: bytes, url: str, content_type: str | None = None, *, max_size: int = MAX_SIZE) -> Parsed:
    """Entries of a feed, sitemap or robots.txt, in document order, first of identical URLs kept.

    `url` is where the document was fetched from (the base for relative links, and how a
    robots.txt is recognised); `content_type` is the HTTP header, used for its charset and
    as a hint for plain text. Raises `FeedError` for anything that is not such a document.
    """
    problems = _Problems()
    body = _inflate(body, max_size, problems)
    text = _decode(body, content_type, problems)
    text = text.lstrip("\ufeff \t\r\n")
    # Without its declaration the text is parsed as the UTF-8 it now is; the whitespace left
    # in its place keeps libxml2's line numbers those of the document.
    text = _XML_DECLARATION.sub("", text, count=1)
    start = text.lstrip()
    if not start:
        raise FeedError("empty document")
    if _looks_like_html(start):
        raise FeedError("not a feed or sitemap: looks like HTML")
    if not start.startswith("<"):
        return _parse_plain_text(start, url, content_type, problems)
    root = _parse_xml(text, url, problems)
    ns, local = _split(root.tag)
    if local.lower() in _HTML_ROOTS:
        raise FeedError("not a feed or sitemap: looks like HTML")
    try:
        return _read_tree(root, ns, local, url, problems)
    except UnicodeDecodeError as error:  # text libxml2 let through but cannot be UTF-8
        raise FeedError(f"malformed XML: undecodable text ({error.reason})") from None


def _read_tree(root: etree._Element, ns: str, local: str, url: str, problems: _Problems) -> Parsed:
    _note_declared_entities(root, problems)
    collector = _Collector(problems)
    if local == "rss":
        fmt = "rss"
        _read_rss(root, ns, url, collector)
    elif local == "feed" and ns in (_NS_ATOM, _NS_ATOM03, ""):
        fmt = "atom"
        _read_atom(root, ns, url, collector)
    elif local == "RDF" and ns == _NS_RDF:
        fmt = "rdf"
        _read_rdf(root, url, collector)
    elif local == "sitemapindex":
        fmt = "sitemap_index"
        _read_sitemap_index(root, ns, url, collector)
    elif local == "urlset":
        fmt = "news_sitemap" if _read_urlset(root, ns, url, collector) else "urlset"
    else:
        raise FeedError(f"not a feed or sitemap: the root element is <{local}>")
    return Parsed(fmt, tuple(collector.entries), problems.as_tuple(), tuple(problems.lost))


def sitemaps_in_robots(text: str, url: str) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt (directive in any case), absolute, each once, in order.

    Relative values are resolved against `url`; values that are not http(s) are left out.
    """
    return [entry.url for entry in _robots_entries(text, url, _Problems())]


def in_window(entry: Entry, start: date, end: date) -> bool | None:
    """Whether an entry falls in the study window, both ends included; None when it has no date.

    The caller decides about undated entries; the spider follows them (a feed without dates
    must not hide its articles). The date compared is the calendar date as the source wrote
    it (``published.date()``, in the source's own zone when it gave one), so an article
    stamped ``2023-12-31T23:30:00+02:00`` is in a window ending on 31 December.

    A child sitemap (``kind == "sitemap"``) is in the window when its ``lastmod`` is on or
    after `start`: ``lastmod`` is its latest change, so it may list older articles, but one
    last changed before the window cannot list an article published in it.
    """
    if isinstance(start, datetime):
        start = start.date()
    if isinstance(end, datetime):
        end = end.date()
    if start > end:
        raise ValueError(f"window starts after it ends: {start} > {end}")
    if entry.published is None:
        return None
    day = entry.published.date()
    if entry.kind == "sitemap":
        return day >= start
    return start <= day <= end


# --------------------------------------------------------------------------- problems and entries


class _Problems:
    def __init__(self) -> None:
        self.listed: list[str] = []
        self.more = 0
        self.lost: list[str] = []

    def add(self, message: str, lost: bool = False) -> None:
        """A problem; `lost` when it cost an entry (or, for damage, what followed it)."""
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(message)
        else:
            self.more += 1
        if lost and len(self.lost) < MAX_PROBLEMS:
            self.lost.append(message)

    def as_tuple(self) -> tuple[str, ...]:
        if self.more:
            return (*self.listed, f"{self.more} more problems not listed")
        return tuple(self.listed)


class _Collector:
    """Entries in order, identical URLs once."""

    def __init__(self, problems: _Problems) -> None:
        self.problems = problems
        self.entries: list[Entry] = []
        self.seen: set[str] = set()

    def add(self, url: str, published: datetime | None, title: str | None, kind: str,
            alternates: tuple[tuple[str, str], ...] = ()) -> None:
        if url in self.seen:
            self.problems.add(f"duplicate URL skipped: {url}")
            return
        self.seen.add(url)
        self.entries.append(Entry(url, published, title, kind, alternates))


def _short(value: str, limit: int = 80) -> str:
    value = " ".join(value.split())
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


# --------------------------------------------------------------------------- bytes to text

_XML_DECLARATION = re.compile(r"^<\?xml\s[^>]{0,200}?\?>")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml\s[^>]{0,200}?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The legacy encoding of Ukrainian and Russian sites, tried when nothing else fits.
_FALLBACK_ENCODING = "cp1251"


def _inflate(body: bytes, max_size: int, problems: _Problems) -> bytes:
    """The body, gunzipped (at most twice: servers sometimes gzip a .gz again) and size-checked."""
    for _ in range(2):
        if not body.startswith(_GZIP_MAGIC):
            break
        body = _gunzip(body, max_size, problems)
    else:
        if body.startswith(_GZIP_MAGIC):
            raise FeedError("gzip nested more than twice")
    if len(body) > max_size:
        raise FeedError(f"document too large: over {max_size} bytes", "too_large")
    return body


def _gunzip(data: bytes, max_size: int, problems: _Problems) -> bytes:
    out: list[bytes] = []
    total = 0
    while data.startswith(_GZIP_MAGIC):  # one gzip member after another
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = data
        try:
            while pending:
                # Never more than one byte past the cap in memory, however well the data packs.
                chunk = inflater.decompress(pending, max_size - total + 1)
                total += len(chunk)
                if total > max_size:
                    raise FeedError(f"gzip too large: over {max_size} bytes decompressed", "decompression_bomb")
                out.append(chunk)
                pending = inflater.unconsumed_tail
        except zlib.error as error:
            if not total:
                raise FeedError(f"corrupt gzip: {error}") from None
            problems.add(f"corrupt gzip, kept the {total} bytes before the damage: {error}", lost=True)
            break
        if not inflater.eof:
            if not total:
                raise FeedError("truncated gzip: nothing could be decompressed")
            problems.add(f"truncated gzip, kept the {total} bytes decompressed", lost=True)
            break
        data = inflater.unused_data
    return b"".join(out)


def _codec(name: str | None, problems: _Problems, source: str) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        problems.add(f"unknown encoding {_short(name)} in the {source} ignored")
        return None


def _decode(body: bytes, content_type: str | None, problems: _Problems) -> str:
    """Text of the body: BOM, else valid UTF-8, else the declared encoding, else windows-1251.

    Valid UTF-8 wins over a declaration because the reverse accident (UTF-8 bytes that
    happen to read as some legacy text) is what mislabelled Ukrainian feeds look like; text
    in windows-1251 or KOI8-U is practically never valid UTF-8.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, errors="replace")
    if body[:2] == b"<\x00":  # UTF-16 without a BOM: no UTF-8 document has a NUL there
        return body.decode("utf-16-le", errors="replace")
    if body.startswith(b"\x00<"):
        return body.decode("utf-16-be", errors="replace")
    found = _DECLARED_ENCODING.match(body[:300])
    declared = _codec(found.group(1).decode("ascii") if found else None, problems, "XML declaration")
    charset = _CHARSET.search(content_type or "")
    header = _codec(charset.group(1) if charset else None, problems, "Content-Type header")
    wide = [name for name in (declared, header) if name and name.startswith(("utf-16", "utf-32"))]
    if wide:
        return body.decode(wide[0], errors="replace")
    if body.isascii():
        return body.decode("ascii")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        stated = declared or header
        if stated and stated != "utf-8":
            problems.add(f"encoding: {stated} declared but the body is valid UTF-8; read as UTF-8")
        return text
    for name in dict.fromkeys(n for n in (declared, header) if n and n != "utf-8"):
        try:
            return body.decode(name)
        except UnicodeDecodeError:
            problems.add(f"encoding: the body is not valid {name}")
    stated = declared or header or "no encoding"
    problems.add(f"encoding: {stated} declared but the body is not valid UTF-8; read as windows-1251")
    return body.decode(_FALLBACK_ENCODING, errors="replace")


# --------------------------------------------------------------------------- text to tree

_HTML_SNIFF = re.compile(r"(?:\s+|<!--.*?-->|<\?.*?\?>)*<(?:!doctype\s+html\b|html[\s>])", re.IGNORECASE | re.DOTALL)
_HTML_ROOTS = {"html", "head", "body"}
_HTML_FIRST_ELEMENT = re.compile(
    r"(?:\s+|<!--.*?-->|<!doctype[^>]*>)*<(?:html|head|body|div|p|script|meta|link|table)[\s>/]", re.DOTALL
)
_ROBOTS_LINE = re.compile(r"^[ \t]*(?:user-agent|disallow|allow|sitemap|crawl-delay|host)[ \t]*:", re.IGNORECASE | re.MULTILINE)
# Characters XML 1.0 forbids even as references; sloppy CMSs let them through from editors.
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# HTML named entities are not defined in XML; feeds use them anyway (&laquo;, &nbsp;). The
# five XML ones stay, and so do names HTML does not know (they may be DTD-declared: those
# are left unexpanded by the parser, which is the point).
# Character references to what XML forbids (&#0;, surrogates such as &#xD800;, beyond U+10FFFF):
# libxml2's recovery lets surrogates into the tree as bytes that are not UTF-8.
_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")
_NAMED_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{1,31});")


def _looks_like_html(text: str) -> bool:
    return _HTML_SNIFF.match(text[:4096]) is not None


def _is_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
    )


def _drop_bad_references(text: str) -> tuple[str, int]:
    removed = 0

    def drop(match: re.Match[str]) -> str:
        nonlocal removed
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        if _is_xml_char(code):
            return match.group(0)
        removed += 1
        return ""

    return _CHARACTER_REFERENCE.sub(drop, text), removed


def _html_entity_to_reference(match: re.Match[str]) -> str:
    characters = _HTML5_ENTITIES.get(match.group(1) + ";")
    if characters is None:
        return match.group(0)
    return "".join(f"&#{ord(c)};" for c in characters)


class _RefuseExternal(etree.Resolver):
    """Answers every external load (DTD, entity, parameter entity) with nothing, and notes it.

    A second wall behind the parser options: with lxml 6.1.3 and libxml2 2.14, merely adding
    ``collect_ids=False`` to these options makes libxml2 read external parameter entities
    from local files again (tests/test_feeds_parse.py keeps a regression test).
    """

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> object:
        self.refused.append(system_url or public_id or "?")
        return self.resolve_string("", context)


def _parser(recover: bool) -> tuple[etree.XMLParser, _RefuseExternal]:
    # Keep collect_ids at its default: see _RefuseExternal.
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        recover=recover,
        remove_comments=True,
        remove_pis=True,
    )
    refuser = _RefuseExternal()
    parser.resolvers.add(refuser)
    return parser, refuser


def _is_resource_limit(errors: etree._ListErrorLog) -> bool:
    return any(
        "RESOURCE_LIMIT" in e.type_name or "ENTITY_LOOP" in e.type_name or "AMPLIFICATION" in e.type_name
        or "huge" in e.message.lower()
        for e in errors
    )


def _parse_xml(text: str, url: str, problems: _Problems) -> etree._Element:
    text, removed = _NOT_XML_CHARS.subn("", text)
    if removed:
        problems.add(f"removed {removed} characters not allowed in XML")
    if "&#" in text:
        text, removed = _drop_bad_references(text)
        if removed:
            problems.add(f"removed {removed} character references to characters not allowed in XML")
    if "&" in text:
        text = _NAMED_ENTITY.sub(_html_entity_to_reference, text)
    data = text.encode("utf-8")
    base = url if _is_absolute_http(url) else None
    parser, refuser = _parser(recover=False)
    try:
        root = etree.fromstring(data, parser, base_url=base)
    except (etree.XMLSyntaxError, etree.ParserError, ValueError) as error:
        if _is_resource_limit(parser.error_log):
            raise FeedError(f"refused: {_first_error(parser.error_log, error)}") from None
        first = _first_error(parser.error_log, error)
    else:
        _note_refused(refuser, problems)
        if root is None:  # pragma: no cover - lxml raises instead
            raise FeedError("malformed XML: no root element")
        return root
    if _looks_like_html_tree(data):
        raise FeedError("not a feed or sitemap: looks like HTML")
    parser, refuser = _parser(recover=True)
    try:
        root = etree.fromstring(data, parser, base_url=base)
    except (etree.XMLSyntaxError, etree.ParserError, ValueError) as error:
        raise FeedError(f"malformed XML beyond recovery: {first}") from error
    if root is None:
        raise FeedError(f"malformed XML beyond recovery: {first}")
    if _is_resource_limit(parser.error_log):
        raise FeedError(f"refused: {_first_error(parser.error_log, None)}")
    _note_refused(refuser, problems)
    problems.add(f"malformed XML, recovered what was readable: {first}", lost=True)
    return root


def _note_refused(refuser: _RefuseExternal, problems: _Problems) -> None:
    for target in dict.fromkeys(refuser.refused):
        problems.add(f"external resource not loaded: {_short(target)}")


def _looks_like_html_tree(data: bytes) -> bool:
    """A document whose first element is an HTML one (an HTML fragment is no XML either)."""
    head = data[:2048].decode("utf-8", errors="ignore").lower()
    return _HTML_FIRST_ELEMENT.match(head) is not None


def _first_error(errors: etree._ListErrorLog, fallback: Exception | None) -> str:
    for error in errors:
        message = error.message.strip()
        return message if " line " in message else f"{message} (line {error.line})"
    return str(fallback) if fallback is not None else "unknown error"


def _note_declared_entities(root: etree._Element, problems: _Problems) -> None:
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is None:
        return
    names = [entity.name for entity in dtd.iterentities()]
    if names:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        problems.add(f"the document type declares entities ({shown}); they were not expanded")


# --------------------------------------------------------------------------- tree helpers


def _split(tag: object) -> tuple[str, str]:
    """(namespace, local name) of an element's tag; ("", "") for entities and the like."""
    if not isinstance(tag, str):
        return "", ""
    if tag[:1] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _text(element: etree._Element) -> str:
    """Text of an element and its descendants, without unexpanded entity references."""
    if not len(element):
        return element.text or ""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _entity_references(element: etree._Element) -> list[str]:
    """Unexpanded entity references inside an element, as written (``&name;``)."""
    if not len(element):
        return []
    return [f"&{node.name};" for node in element.iter() if node.tag is etree.Entity]


_TAG = re.compile(r"<[^>]*>")


def _clean_title(raw: str | None, markup: bool = False) -> str | None:
    if raw is None:
        return None
    if markup:
        raw = _TAG.sub("", raw)
    if "&" in raw:
        raw = html.unescape(raw)  # feeds escape their titles once more than XML needs
    title = " ".join(raw.split())
    return title or None


# --------------------------------------------------------------------------- URLs

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_INNER_SPACE = re.compile(r"[\t\r\n]")


def _is_absolute_http(url: str | None) -> bool:
    """An http(s) URL with a host."""
    if not url:
        return False
    start = url[:8].lower()
    if start.startswith("http://"):
        rest = url[7:]
    elif start == "https://":
        rest = url[8:]
    else:
        return False
    return rest[:1] not in ("", "/", "?", "#", "\\")


# An absolute URL with a plain host name and no port, user, space or bracket: nothing to check.
_PLAIN_HTTP_URL = re.compile(r"https?://[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.?(?:[/?#][^\s\[\]]*)?\Z")
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")


def _authority_ok(url: str) -> bool:
    """A host, and (when there is one) a valid port and IPv6 literal."""
    found = _AUTHORITY.match(url)
    authority = found.group(1) if found else ""
    if not authority:
        return False
    if ":" in authority or "[" in authority or "]" in authority:
        try:
            urlsplit(url).port  # noqa: B018 - raises on a bad IPv6 literal or port
        except ValueError:
            return False
    return True


def _resolve(raw: str, base: str | None) -> tuple[str | None, str | None]:
    """(absolute http(s) URL, None) or (None, why the link is skipped)."""
    href = raw.strip()
    if len(href) <= MAX_URL_LENGTH and _PLAIN_HTTP_URL.match(href):
        return href, None  # the common case, in one regex
    if "\n" in href or "\t" in href or "\r" in href:
        href = _INNER_SPACE.sub("", href)
    if not href:
        return None, "empty link"
    if len(href) > MAX_URL_LENGTH:
        return None, f"URL longer than {MAX_URL_LENGTH} characters skipped: {_short(href)}"
    scheme = _SCHEME.match(href)
    if scheme is None:
        if not _is_absolute_http(base):
            return None, f"relative URL without an absolute http(s) base skipped: {_short(href)}"
        try:
            href = urljoin(base, href)  # type: ignore[arg-type]
        except ValueError:  # "Invalid IPv6 URL" and the like, from either part
            return None, f"malformed URL skipped: {_short(href)}"
    elif scheme.group(1).lower() not in ("http", "https"):
        return None, f"non-http URL skipped: {_short(href)}"
    if not _is_absolute_http(href) or not _authority_ok(href):
        return None, f"malformed URL skipped: {_short(href)}"
    if len(href) > MAX_URL_LENGTH:
        return None, f"URL longer than {MAX_URL_LENGTH} characters skipped: {_short(href)}"
    return href, None


def _link_from(element: etree._Element, raw: str | None, base: str | None) -> tuple[str | None, str | None]:
    references = _entity_references(element)
    if references:
        return None, f"link with an unexpanded entity reference ({', '.join(references)}) skipped"
    if raw is None or not raw.strip():
        return None, "empty link"
    if _SCHEME.match(raw.strip()) is None:
        base = element.base or base  # xml:base, else the document URL
    return _resolve(raw, base)


def _alternate(element: etree._Element, base: str | None, problems: _Problems) -> tuple[str, str] | None:
    """(hreflang, url) of a link element with rel="alternate" and hreflang, else None."""
    if (element.get("rel") or "alternate").strip().lower() != "alternate":
        return None
    hreflang = (element.get("hreflang") or "").strip()
    if not hreflang:
        return None
    url, why = _link_from(element, element.get("href"), base)
    if url is None:
        problems.add(f"alternate ({hreflang}) skipped: {why}")
        return None
    return hreflang, url


# --------------------------------------------------------------------------- dates

_MONTHS = {
    **{m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)},
    # Ukrainian (січень, січня, січ. ...) and Russian abbreviations seen in localised pubDates.
    **{m: i for i, m in enumerate(("січ", "лют", "бер", "кві", "тра", "чер", "лип", "сер", "вер", "жов", "лис", "гру"), 1)},
    **{m: i for i, m in enumerate(("янв", "фев", "мар", "апр", "ма", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"), 1)},
}
_ZONES = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "CET": 60, "CEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180, "FET": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
}
_RFC822 = re.compile(
    r"""^(?:[^\W\d_]+\.?,?\s+|[^\W\d_]+\.?,\s*)?                      # weekday, in any language
    (?P<day>\d{1,2})[\s\-./]+(?P<month>[^\W\d_]+)\.?,?[\s\-./]+(?P<year>\d{4}|\d{2})
    (?:[\sT,]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?)?
    \s*(?P<zone>[+\-]\d{1,2}:?\d{2}|[A-Za-z]{1,5}(?:[+\-]\d{1,2}(?::?\d{2})?)?)?
    (?:\s*\([^()]{0,40}\))?\s*$                                        # "(EET)", as mail clients write""",
    re.VERBOSE,
)
_MONTH_FIRST = re.compile(
    r"""^(?:[^\W\d_]+\.?,?\s+)?(?P<month>[^\W\d_]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})
    (?:[\sT,]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?)?
    \s*(?P<zone>[+\-]\d{1,2}:?\d{2}|[A-Za-z]{1,5}(?:[+\-]\d{1,2}(?::?\d{2})?)?)?\s*$""",
    re.VERBOSE,
)
_W3C = re.compile(
    r"""^(?P<year>\d{4})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2})
    (?:[T\s]+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
    \s*(?P<zone>Z|UTC|GMT|[+\-]\d{1,2}(?::?\d{2})?)?)?)?)?$""",
    re.VERBOSE | re.IGNORECASE,
)
_ZONE_NAME = re.compile(r"^([A-Za-z]+)([+\-]?)(.*)$")
_OFFSET = re.compile(r"^(?P<sign>[+\-])(?P<hours>\d{1,2}):?(?P<minutes>\d{2})?$")
_PLAUSIBLE_YEARS = range(1900, 2200)


class _DateError(ValueError):
    pass


def parse_date(value: str, prefer: str = "rfc822") -> datetime | None:
    """A datetime from an RFC 822 or W3C/ISO 8601 date, or None when it is unreadable.

    `prefer` is the syntax tried first ("rfc822" for RSS ``pubDate``, "w3c" for the rest);
    the other is tried next, since feeds mix them up. A zone name it does not know gives a
    naive datetime; `parse_feed_or_sitemap` reports that in its problems.
    """
    try:
        return _parse_date(value, prefer)[0]
    except _DateError:
        return None


def _parse_date(value: str, prefer: str) -> tuple[datetime, str | None]:
    """(datetime, unknown zone name or None); raises _DateError."""
    text = " ".join(value.split())
    if not text:
        raise _DateError("empty")
    readers = (_read_rfc822, _read_w3c) if prefer == "rfc822" else (_read_w3c, _read_rfc822)
    for reader in readers:
        try:
            found = reader(text)
        except (ValueError, OverflowError):
            found = None
        if found is not None:
            if found[0].year not in _PLAUSIBLE_YEARS:
                raise _DateError("implausible year")
            return found
    raise _DateError("unreadable")


def _read_w3c(text: str) -> tuple[datetime, str | None] | None:
    if len(text) >= 19 and text[4] == "-" and text[10] in "T ":
        try:  # the common full form, in C
            return datetime.fromisoformat(text), None
        except ValueError:
            pass
    match = _W3C.match(text)
    if match is None:
        return None
    parts = match.groupdict()
    fraction = (parts["fraction"] or "0")[:6].ljust(6, "0")
    zone = parts["zone"]
    tz = None
    if zone:
        tz = timezone.utc if zone.upper() in ("Z", "UTC", "GMT") else _offset(zone)
    moment = datetime(
        int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1),
        int(parts["hour"] or 0), int(parts["minute"] or 0), min(int(parts["second"] or 0), 59), int(fraction),
        tzinfo=tz,
    )
    return moment, None


def _read_rfc822(text: str) -> tuple[datetime, str | None] | None:
    match = _RFC822.match(text) or _MONTH_FIRST.match(text)
    if match is None:
        return None
    parts = match.groupdict()
    month = _month(parts["month"])
    if month is None:
        return None
    year = int(parts["year"])
    if len(parts["year"]) == 2:
        year += 2000 if year < 50 else 1900  # RFC 2822, section 4.3
    tz, unknown = _zone(parts["zone"])
    moment = datetime(
        year, month, int(parts["day"]), int(parts["hour"] or 0), int(parts["minute"] or 0),
        min(int(parts["second"] or 0), 59), tzinfo=tz,
    )
    return moment, unknown


def _month(name: str) -> int | None:
    """Month number from an English, Ukrainian or Russian name or abbreviation."""
    name = name.lower()
    if len(name) < 2:
        return None
    return _MONTHS.get(name[:3]) or _MONTHS.get(name[:2])  # two letters: Russian "мая"/"май"


def _offset(text: str) -> timezone:
    match = _OFFSET.match(text)
    if match is None:
        raise ValueError(f"bad offset {text!r}")
    minutes = int(match["hours"]) * 60 + int(match["minutes"] or 0)
    if minutes == 0:
        return timezone.utc
    return timezone((-1 if match["sign"] == "-" else 1) * timedelta(minutes=minutes))


def _zone(zone: str | None) -> tuple[timezone | None, str | None]:
    """(tzinfo, None) for a known zone or offset; (None, name) for an unknown name; (None, None) for none."""
    if not zone:
        return None, None
    if zone[0] in "+-":
        return _offset(zone), None
    name, sign, rest = _ZONE_NAME.match(zone).groups()  # type: ignore[union-attr]
    base = _ZONES.get(name.upper())
    if base is None:
        return None, zone
    if sign:  # GMT+3, UTC+03:00
        extra = _offset(sign + rest).utcoffset(None)
        minutes = base + int(extra.total_seconds() // 60)  # type: ignore[union-attr]
    else:
        minutes = base
    return (timezone.utc if minutes == 0 else timezone(timedelta(minutes=minutes))), None


def _date_of(element: etree._Element | None, prefer: str, url: str, problems: _Problems) -> datetime | None:
    if element is None:
        return None
    raw = _text(element)
    if not raw.strip():
        return None
    try:
        moment, unknown_zone = _parse_date(raw, prefer)
    except _DateError:
        problems.add(f"unparsable date {_short(raw, 40)} ignored for {url}")
        return None
    if unknown_zone:
        problems.add(f"unknown time zone {_short(unknown_zone)} in date {_short(raw, 40)} for {url}; kept without a zone")
    return moment


def _first_date(candidates: list[tuple[etree._Element | None, str]], url: str, problems: _Problems) -> datetime | None:
    """The first readable date among (element, preferred syntax) candidates, in order."""
    for element, prefer in candidates:
        if element is not None:
            moment = _date_of(element, prefer, url, problems)
            if moment is not None:
                return moment
    return None


# --------------------------------------------------------------------------- formats


def _children(element: etree._Element) -> dict[tuple[str, str], etree._Element]:
    """First child per (namespace, lower-case local name)."""
    found: dict[tuple[str, str], etree._Element] = {}
    for child in element:
        ns, local = _split(child.tag)
        if local:
            found.setdefault((ns, local.lower()), child)
    return found


def _first_link(candidates: list[tuple[etree._Element, str | None]], base: str | None) -> tuple[str | None, str | None]:
    """The first candidate that resolves, else the reason the first one failed."""
    first_reason = None
    for element, raw in candidates:
        url, why = _link_from(element, raw, base)
        if url is not None:
            return url, None
        first_reason = first_reason or why
    return None, first_reason


def _describe(title: str | None) -> str:
    return f" (title {_short(title, 60)})" if title else ""


def _read_rss(root: etree._Element, ns: str, url: str, out: _Collector) -> None:
    core = ns
    for item in root.iter(f"{{{core}}}item" if core else "item"):
        fields = _children(item)
        title = _clean_title(_text(fields[(core, "title")])) if (core, "title") in fields else None
        candidates: list[tuple[etree._Element, str | None]] = []
        if (core, "link") in fields:
            candidates.append((fields[(core, "link")], _text(fields[(core, "link")])))
        alternates: list[tuple[str, str]] = []
        for child in item:
            child_ns, local = _split(child.tag)
            if local == "link" and child_ns in (_NS_ATOM, _NS_XHTML):
                if (child.get("rel") or "alternate").strip().lower() == "alternate":
                    candidates.append((child, child.get("href")))
                pair = _alternate(child, url, out.problems)
                if pair and pair not in alternates:
                    alternates.append(pair)
        guid = fields.get((core, "guid"))
        if guid is not None and (guid.get("isPermaLink") or "true").strip().lower() != "false":
            if _text(guid).strip().lower().startswith(("http://", "https://")):
                candidates.append((guid, _text(guid)))
        link, why = _first_link(candidates, url)
        if link is None:
            out.problems.add(f"item without a usable link skipped{_describe(title)}: {why or 'no link'}", lost=True)
            continue
        dates = [((core, "pubdate"), "rfc822"), ((_NS_DC, "date"), "w3c"), ((_NS_ATOM, "published"), "w3c"),
                 ((_NS_ATOM, "updated"), "w3c")]
        published = _first_date([(fields.get(key), prefer) for key, prefer in dates], link, out.problems)
        out.add(link, published, title, "article", tuple(alternates))


def _read_atom(root: etree._Element, ns: str, url: str, out: _Collector) -> None:
    for entry in root.iter(f"{{{ns}}}entry" if ns else "entry"):
        fields = _children(entry)
        title_element = fields.get((ns, "title"))
        title = None
        if title_element is not None:
            markup = (title_element.get("type") or "text").strip().lower() in ("html", "text/html")
            title = _clean_title(_text(title_element), markup=markup)
        main: list[tuple[etree._Element, str | None]] = []
        other: list[tuple[etree._Element, str | None]] = []
        alternates: list[tuple[str, str]] = []
        for child in entry:
            child_ns, local = _split(child.tag)
            if local != "link" or child_ns not in (ns, _NS_XHTML):
                continue
            if (child.get("rel") or "alternate").strip().lower() != "alternate":
                continue
            kind = (child.get("type") or "").strip().lower()
            (main if kind in ("", "text/html", "application/xhtml+xml") else other).append((child, child.get("href")))
            pair = _alternate(child, url, out.problems)
            if pair and pair not in alternates:
                alternates.append(pair)
        candidates = main + other
        identifier = fields.get((ns, "id"))
        if identifier is not None and _text(identifier).strip().lower().startswith(("http://", "https://")):
            candidates.append((identifier, _text(identifier)))
        link, why = _first_link(candidates, url)
        if link is None:
            out.problems.add(f"entry without a usable link skipped{_describe(title)}: {why or 'no link'}", lost=True)
            continue
        names = ("published", "issued", "created", "updated", "modified")
        published = _first_date([(fields.get((ns, name)), "w3c") for name in names], link, out.problems)
        out.add(link, published, title, "article", tuple(alternates))


def _read_rdf(root: etree._Element, url: str, out: _Collector) -> None:
    for item in root:
        item_ns, local = _split(item.tag)
        if local != "item":
            continue
        fields = _children(item)
        title = _clean_title(_text(fields[(item_ns, "title")])) if (item_ns, "title") in fields else None
        candidates: list[tuple[etree._Element, str | None]] = []
        if (item_ns, "link") in fields:
            candidates.append((fields[(item_ns, "link")], _text(fields[(item_ns, "link")])))
        about = item.get(f"{{{_NS_RDF}}}about")
        if about:
            candidates.append((item, about))
        link, why = _first_link(candidates, url)
        if link is None:
            out.problems.add(f"item without a usable link skipped{_describe(title)}: {why or 'no link'}", lost=True)
            continue
        keys = ((_NS_DC, "date"), (_NS_DCTERMS, "issued"), (_NS_DCTERMS, "created"), (_NS_DCTERMS, "modified"))
        published = _first_date([(fields.get(key), "w3c") for key in keys], link, out.problems)
        out.add(link, published, title, "article")


class _SitemapTags:
    """The tag strings of one sitemap dialect (its root namespace or a known one, or none)."""

    def __init__(self, ns: str) -> None:
        spaces = _NS_SITEMAP | {ns}
        self.url, self.sitemap, self.loc, self.lastmod = (
            frozenset(f"{{{space}}}{local}" if space else local for space in spaces)
            for local in ("url", "sitemap", "loc", "lastmod")
        )


_XHTML_LINK = f"{{{_NS_XHTML}}}link"


class _Location:
    """What one <url> or <sitemap> element holds; image and video blocks are ignored."""

    __slots__ = ("alternates", "lastmod", "loc", "news")

    def __init__(self, element: etree._Element, tags: _SitemapTags) -> None:
        self.loc: etree._Element | None = None
        self.lastmod: etree._Element | None = None
        self.news: etree._Element | None = None
        self.alternates: list[etree._Element] = []
        for child in element:
            tag = child.tag
            if tag in tags.loc:
                if self.loc is None:
                    self.loc = child
            elif tag in tags.lastmod:
                if self.lastmod is None:
                    self.lastmod = child
            elif tag == _XHTML_LINK:
                self.alternates.append(child)
            elif isinstance(tag, str) and tag.endswith("}news") and tag.startswith("{" + _NS_NEWS_PREFIX):
                self.news = child

    def link(self, url: str, out: _Collector, what: str) -> str | None:
        """The resolved <loc>, or None with the reason added to the problems."""
        loc = self.loc
        raw = _text(loc) if loc is not None else ""
        if not raw.strip():
            out.problems.add(f"<{what}> without <loc> skipped", lost=True)
            return None
        references = _entity_references(loc)  # type: ignore[arg-type]
        if references:
            out.problems.add(f"<{what}> skipped: link with an unexpanded entity reference ({', '.join(references)})", lost=True)
            return None
        link, why = _resolve(raw, url)
        if link is None:
            out.problems.add(f"<{what}> skipped: {why}", lost=True)
        return link


def _read_sitemap_index(root: etree._Element, ns: str, url: str, out: _Collector) -> None:
    tags = _SitemapTags(ns)
    for element in root:
        if element.tag not in tags.sitemap:
            continue
        found = _Location(element, tags)
        link = found.link(url, out, "sitemap")
        if link is not None:
            out.add(link, _date_of(found.lastmod, "w3c", link, out.problems), None, "sitemap")


def _read_urlset(root: etree._Element, ns: str, url: str, out: _Collector) -> bool:
    """Reads the <url> entries; True when any carried a Google News block."""
    tags = _SitemapTags(ns)
    any_news = False
    for element in root:
        if element.tag not in tags.url:
            continue
        found = _Location(element, tags)
        news = found.news
        any_news = any_news or news is not None
        link = found.link(url, out, "url")
        if link is None:
            continue
        title = None
        published = None
        if news is not None:
            news_fields = _children(news)
            news_ns = _split(news.tag)[0]
            title_element = news_fields.get((news_ns, "title"))
            title = _clean_title(_text(title_element)) if title_element is not None else None
            published = _first_date([(news_fields.get((news_ns, "publication_date")), "w3c"), (found.lastmod, "w3c")],
                                    link, out.problems)
        elif found.lastmod is not None:
            published = _date_of(found.lastmod, "w3c", link, out.problems)
        alternates: list[tuple[str, str]] = []
        for child in found.alternates:
            pair = _alternate(child, url, out.problems)
            if pair and pair not in alternates:
                alternates.append(pair)
        out.add(link, published, title, "article", tuple(alternates))
    return any_news


# --------------------------------------------------------------------------- robots.txt and plain text


def _parse_plain_text(text: str, url: str, content_type: str | None, problems: _Problems) -> Parsed:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    if path.endswith("/robots.txt") or _ROBOTS_LINE.search(text[:65536]):
        collector = _Collector(problems)
        for entry in _robots_entries(text, url, problems):
            collector.add(entry.url, None, None, "sitemap")
        return Parsed("robots", tuple(collector.entries), problems.as_tuple(), tuple(problems.lost))
    if text[:1] in "{[":
        raise FeedError("not a feed or sitemap: looks like JSON (JSON Feed is not supported)")
    kind = (content_type or "").split(";", 1)[0].strip().lower() or "unknown type"
    raise FeedError(f"not a feed or sitemap: text that is neither XML nor robots.txt ({kind})")


def _robots_entries(text: str, url: str, problems: _Problems) -> list[Entry]:
    found: list[Entry] = []
    seen: set[str] = set()
    for line in text.lstrip("\ufeff").splitlines():
        name, colon, value = line.partition(":")
        if not colon or name.strip().lower() != "sitemap":
            continue
        value = value.split("#", 1)[0].strip()  # a comment runs to the end of the line
        if not value:
            continue
        link, why = _resolve(value, url)
        if link is None:
            problems.add(f"Sitemap line skipped: {why}", lost=True)
        elif link in seen:
            problems.add(f"duplicate URL skipped: {link}")
        else:
            seen.add(link)
            found.append(Entry(link, None, None, "sitemap"))
    return found
