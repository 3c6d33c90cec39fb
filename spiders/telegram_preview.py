"""A parser of Telegram's public channel web preview (``https://t.me/s/<channel>``).

`parse_preview(html)` turns one preview page into a `PreviewPage`: the channel, its title,
the posts in page order (oldest first, as Telegram shows them) and the cursor of the next
older page (``?before=N``). It is a pure function: no network, no Scrapy; the Telegram
spider fetches the pages and decides what to keep.

What the markup gives and how it is read (class names as Telegram prints them):

* a message block is an element with the class ``tgme_widget_message``; its
  ``data-post="channel/123"`` names the post. The channel is lower-cased (Telegram prints
  the channel's own capitalisation) and the permanent URL is ``{base_url}/{channel}/{id}``;
* the date is the ``<time datetime>`` of the message footer (ISO 8601 with an offset, kept
  as given; a value without an offset is taken as UTC and reported). The video duration is
  also a ``<time>`` but has no ``datetime`` attribute;
* the text is the outermost ``tgme_widget_message_text`` block of the message, not the one
  quoted inside a reply (``tgme_widget_message_reply``). ``<br>`` and block elements become
  line breaks, the source's own whitespace collapses to one space, a no-break space becomes
  a space, emoji (``<i class="emoji"><b>🙂</b></i>``) and the visible text of links are kept,
  and ``<script>``, ``<style>`` and similar elements are dropped;
* ``html`` is that block's inner HTML with ``<script>``/``<style>``/``<iframe>``..., event
  handler attributes (``onclick``) and ``javascript:`` links removed;
* ``links`` are the ``http(s)`` hrefs of the text block and of the link preview, made
  absolute against ``base_url``, in order and without repeats (hashtag links, ``?q=%23tag``,
  are searches, not links); ``mentions`` are the ``@names`` of the text (Telegram names: a
  letter, then 3-31 letters, digits or ``_``; not the ``@`` of an e-mail address);
* ``views`` reads Telegram's rounded counters: ``987``, ``1.2K`` (1200), ``3.4M``;
* ``media`` lists the kinds present in the order they first appear: ``photo``, ``video``,
  ``round_video``, ``voice``, ``audio``, ``document``, ``sticker``, ``poll``, ``location``,
  ``link_preview`` and ``unsupported`` (Telegram's visible "open Telegram to view" stub);
  an album gives its kinds once. A poll's question is also in `Post.poll` (a poll has no
  caption, so its post has ``text == ""``).

Decisions:

* **Service messages** ("Channel created", "pinned ...", class ``service_message``) are not
  posts: they are skipped, with ``"<channel>/<id>: service message, skipped"`` in
  `PreviewPage.problems` (so a problem is not necessarily a defect of the page). Their ids
  still count for the ``before`` cursor.
* **A post whose date cannot be read** is kept with ``published=None`` and a problem; the
  spider decides (it cannot place it in the study window).
* **A message block without a usable ``data-post``**, or one whose parsing fails
  unexpectedly, is skipped with a problem, and listed in `PreviewPage.malformed` with the
  post id its date link names (when it does), so the spider records it as
  ``malformed_post``; one bad message never costs the others.
* **Not a preview page at all** (no message block and no message history container: an
  ordinary page, an empty string, binary garbage) raises `PreviewError`. A preview page with
  no posts (a channel's empty page) is a `PreviewPage` with ``posts == ()``.
* ``before`` is the ``data-before`` of the page's "load more" link
  (``a.tme_messages_more[data-before]``) when there is one, else the smallest message id on
  the page (service messages included), else None. ``has_older`` says whether that link was
  there: Telegram prints it only when older messages exist, so a spider paginates while
  ``has_older`` is true and the cursor keeps decreasing.
* ``bytes`` are decoded as UTF-8 (what Telegram serves; pass ``response.text`` otherwise);
  NUL and other C0 control characters are removed before parsing. libxml2's recovering
  parser repairs truncated markup; its default limits (no ``huge_tree``) bound what a
  hostile page can cost: a text node over 10 MB or nesting deeper than 256 is cut, and the
  post then shows what was left (reported as "no date" when the footer was lost).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

__all__ = ["Post", "PreviewError", "PreviewPage", "parse_preview"]


@dataclass(frozen=True)
class Post:
    """One channel post as the preview shows it."""

    channel: str  # username, lower-case, from data-post="channel/123"
    post_id: int
    url: str  # f"{base_url}/{channel}/{post_id}"
    published: datetime | None  # timezone-aware, as the page gives it
    text: str  # line breaks kept; "" for a media-only post or a poll
    html: str  # inner HTML of the text block (sanitised), "" when there is none
    views: int | None
    links: tuple[str, ...]  # absolute http(s) hrefs of the text and the link preview
    mentions: tuple[str, ...]  # @names in the text, lower-case, without "@"
    forwarded_from: str | None  # name (or username) of the forward source
    reply_to: int | None  # id of the post replied to
    author: str | None  # signature shown in the footer
    media: tuple[str, ...]  # kinds present, in order of appearance
    poll: str | None = None  # the poll's question, when the post is a poll


@dataclass(frozen=True)
class PreviewPage:
    """One preview page: its channel, its posts (page order, oldest first) and its cursor."""

    channel: str | None
    title: str | None
    posts: tuple[Post, ...]
    before: int | None  # cursor of the next older page (?before=N)
    problems: tuple[str, ...]  # why anything was skipped or read only in part
    has_older: bool = False  # the page links an older page ("load more" with data-before)
    # Messages the page shows that could not be read as posts: (post id when the message's
    # date link names it, else None; why). Service messages and repeats are not among them.
    malformed: tuple[tuple[int | None, str], ...] = ()


class PreviewError(ValueError):
    """The document is not a Telegram channel preview page."""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATA_POST = re.compile(r"([A-Za-z0-9_]{1,64})/(\d{1,18})")
_CHANNEL = re.compile(r"[A-Za-z0-9_]{1,64}")
_MENTION = re.compile(r"(?<![A-Za-z0-9_@.\-/])@([A-Za-z][A-Za-z0-9_]{3,31})(?![A-Za-z0-9_])")
_SPACE = re.compile(r"[ \t\r\n\f\v\xa0\u2028\u2029]+")
_COUNT = re.compile(r"(\d+(?:[.,]\d+)?)([KMB]?)", re.IGNORECASE)
_MULTIPLIER = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}

# Subtrees never read as content.
_DROPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math"}
    | {"head", "title", "meta", "link", "form", "input", "textarea", "select", "button"}
)
# Elements that break a line in the text.
_BLOCK_TAGS = frozenset(
    {"div", "p", "blockquote", "pre", "li", "ul", "ol", "table", "tr", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6"}
)
# Class -> media kind, checked on every element of a message (outside the replied-to quote).
_MEDIA_CLASSES = {
    "tgme_widget_message_photo_wrap": "photo",
    "tgme_widget_message_video_player": "video",
    "tgme_widget_message_roundvideo_player": "round_video",
    "tgme_widget_message_voice_player": "voice",
    "tgme_widget_message_document_wrap": "document",  # "audio" when its icon says so
    "tgme_widget_message_sticker_wrap": "sticker",
    "tgme_widget_message_sticker": "sticker",
    "tgme_widget_message_poll": "poll",
    "tgme_widget_message_location_wrap": "location",
    "tgme_widget_message_location": "location",
    "tgme_widget_message_link_preview": "link_preview",
}
_PREVIEW_MARKERS = ("tgme_widget_message", "tgme_widget_message_wrap", "tgme_channel_history", "js-message_history")


def parse_preview(html: str | bytes, base_url: str = "https://t.me") -> PreviewPage:
    """Parse a channel preview page (or a fragment of its messages) into a `PreviewPage`.

    Raises `PreviewError` only when the document is not a preview page at all; anything
    wrong inside one (a message without ``data-post``, an unreadable date) is skipped or
    kept in part, with a reason in ``problems``.
    """
    root = _document(html)
    if not _is_preview(root):
        raise PreviewError("not a Telegram preview page: no message blocks and no message history")
    base = (base_url or "https://t.me").rstrip("/")
    problems: list[str] = []
    posts: list[Post] = []
    seen: set[tuple[str, int]] = set()
    ids: list[int] = []
    malformed: list[tuple[int | None, str]] = []
    for number, block in enumerate(_blocks(root), start=1):
        key = _data_post(block)
        if key is None:
            raw = (block.get("data-post") or "").strip()
            problem = f"message #{number}: " + (f"unusable data-post {raw[:80]!r}, skipped" if raw else "no data-post, skipped")
            problems.append(problem)
            malformed.append((_dated_id(block), problem))
            continue
        channel, post_id = key
        ids.append(post_id)
        label = f"{channel}/{post_id}"
        if (channel, post_id) in seen:
            problems.append(f"{label}: repeated on the page, skipped")
            continue
        seen.add((channel, post_id))
        if _has_class(block, "service_message"):
            problems.append(f"{label}: service message, skipped")
            continue
        try:
            post, notes = _post(block, channel, post_id, base)
        except Exception as error:  # one broken message must not cost the page
            problem = f"{label}: unreadable ({type(error).__name__}: {str(error)[:120]}), skipped"
            problems.append(problem)
            malformed.append((post_id, problem))
            continue
        problems.extend(f"{label}: {note}" for note in notes)
        posts.append(post)
    cursor = _more_before(root)
    before = cursor if cursor is not None else (min(ids) if ids else None)
    return PreviewPage(
        channel=_page_channel(root) or (posts[0].channel if posts else None),
        title=_page_title(root),
        posts=tuple(posts),
        before=before,
        problems=tuple(problems),
        has_older=cursor is not None,
        malformed=tuple(malformed),
    )


# --- the document -----------------------------------------------------------------------


def _document(source: str | bytes) -> etree._Element:
    if isinstance(source, (bytes, bytearray, memoryview)):
        text = bytes(source).decode("utf-8-sig", errors="replace")
    elif isinstance(source, str):
        text = source
    else:
        raise PreviewError(f"expected HTML as str or bytes, got {type(source).__name__}")
    text = _CONTROL.sub("", text)
    if not text.strip():
        raise PreviewError("empty document")
    parser = lxml_html.HTMLParser(encoding="utf-8", recover=True, remove_comments=True, remove_pis=True, no_network=True)
    try:
        root = lxml_html.document_fromstring(text.encode("utf-8", errors="replace"), parser=parser)
    except (etree.ParserError, ValueError) as error:
        raise PreviewError(f"not HTML: {error}") from error
    if root is None:
        raise PreviewError("not HTML: nothing parsed")
    return root


def _class_xpath(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _is_preview(root: etree._Element) -> bool:
    condition = " or ".join(_class_xpath(name) for name in _PREVIEW_MARKERS)
    return bool(root.xpath(f"boolean(//*[{condition}])"))


def _blocks(root: etree._Element) -> list[etree._Element]:
    return root.xpath(f"//*[{_class_xpath('tgme_widget_message')}]")


def _classes(element: etree._Element) -> list[str]:
    value = element.get("class") if isinstance(element.tag, str) else None
    return value.split() if value else []


def _has_class(element: etree._Element, name: str) -> bool:
    return name in _classes(element)


def _data_post(block: etree._Element) -> tuple[str, int] | None:
    match = _DATA_POST.fullmatch((block.get("data-post") or "").strip())
    if not match or int(match.group(2)) <= 0:
        return None
    return match.group(1).lower(), int(match.group(2))


# --- one message ------------------------------------------------------------------------


def _walk(root: etree._Element, skip: Callable[[etree._Element], bool]) -> Iterator[tuple[str, etree._Element]]:
    """Events ("start"/"end") of root's subtree in document order, iteratively.

    A subtree refused by `skip` gives one ("skipped", element) event after it, so a caller
    can still read the element's tail.
    """
    skipping: etree._Element | None = None
    for event, node in etree.iterwalk(root, events=("start", "end")):
        if skipping is not None:
            if event == "end" and node is skipping:
                skipping = None
                yield "skipped", node
            continue
        if event == "start" and node is not root and skip(node):
            skipping = node
            continue
        yield event, node


def _foreign(node: etree._Element) -> bool:
    """Not part of this message's own content: markup, comments, another (nested) message."""
    if not isinstance(node.tag, str):
        return True
    if node.tag.lower() in _DROPPED_TAGS:
        return True
    classes = _classes(node)
    return "tgme_widget_message" in classes or "tgme_widget_message_wrap" in classes


def _post(block: etree._Element, channel: str, post_id: int, base: str) -> tuple[Post, list[str]]:
    notes: list[str] = []
    texts: list[etree._Element] = []
    text_open: etree._Element | None = None
    views_text: str | None = None
    stamp: str | None = None
    forwarded: str | None = None
    forwarded_line: str | None = None
    reply_href: str | None = None
    author: str | None = None
    poll: str | None = None
    preview_links: list[str] = []
    media: list[str] = []

    def skip(node: etree._Element) -> bool:
        return _foreign(node) or _has_class(node, "tgme_widget_message_reply")

    for event, node in _walk(block, skip):
        if event == "skipped":
            if reply_href is None and _has_class(node, "tgme_widget_message_reply"):
                reply_href = node.get("href") or ""
            continue
        if event == "end":
            if node is text_open:
                text_open = None
            continue
        classes = _classes(node)
        if "tgme_widget_message_text" in classes and text_open is None:
            texts.append(node)
            text_open = node
        if views_text is None and "tgme_widget_message_views" in classes:
            views_text = _plain(node)
        if stamp is None and node.tag == "time" and node.get("datetime") is not None:
            stamp = node.get("datetime")
        if forwarded is None and "tgme_widget_message_forwarded_from_name" in classes:
            forwarded = _plain(node) or _username(node.get("href"))
        if forwarded_line is None and "tgme_widget_message_forwarded_from" in classes:
            forwarded_line = re.sub(r"^\s*forwarded from\s*", "", _plain(node), flags=re.IGNORECASE)
        if author is None and "tgme_widget_message_from_author" in classes:
            author = _plain(node) or None
        if poll is None and "tgme_widget_message_poll_question" in classes:
            poll = _plain(node)
        if "tgme_widget_message_link_preview" in classes and node.get("href"):
            preview_links.append(node.get("href") or "")
        for name in classes:
            kind = _MEDIA_CLASSES.get(name)
            if kind == "document" and _is_audio(node):
                kind = "audio"
            if kind and kind not in media:
                media.append(kind)
        if node.tag == "audio" and "tgme_widget_message_voice" not in classes and "voice" not in media and "audio" not in media:
            media.append("audio")
        parent = node.getparent()
        if "message_media_not_supported_wrap" in classes and parent is not None and _has_class(parent, "tgme_widget_message_bubble"):
            if "unsupported" not in media:  # only the bubble's own stub is visible, not a video player's
                media.append("unsupported")

    text = "\n".join(t for t in (_render_text(block_) for block_ in texts) if t)
    inner = "\n".join(h for h in (_inner_html(block_) for block_ in texts) if h)
    hrefs = [href for block_ in texts for href in _hrefs(block_)] + preview_links
    links = _unique(link for link in (_absolute(href, base) for href in hrefs) if link)
    published = _published(stamp, notes)
    views = _views(views_text, notes)
    reply_to = None
    if reply_href is not None:
        reply_to = _post_id_of(reply_href)
        if reply_to is None:
            notes.append(f"reply link without a post id ({reply_href[:80]!r})")
    post = Post(
        channel=channel,
        post_id=post_id,
        url=f"{base}/{channel}/{post_id}",
        published=published,
        text=text,
        html=inner,
        views=views,
        links=links,
        mentions=_unique(m.group(1).lower() for m in _MENTION.finditer(text)),
        forwarded_from=forwarded or forwarded_line or None,
        reply_to=reply_to,
        author=author,
        media=tuple(media),
        poll=poll or None,
    )
    return post, notes


def _is_audio(node: etree._Element) -> bool:
    if "audio" in _classes(node):
        return True
    return bool(node.xpath(f".//*[{_class_xpath('audio')} or self::audio]"))


def _plain(node: etree._Element) -> str:
    """The element's visible text on one line."""
    pieces: list[str] = []
    for event, element in _walk(node, _foreign):
        if event == "start" and element.text:
            pieces.append(element.text)
        elif event in ("end", "skipped") and element is not node and element.tail:
            pieces.append(element.tail)
    return _SPACE.sub(" ", "".join(pieces)).strip()


def _username(href: str | None) -> str | None:
    if not href:
        return None
    parts = [p for p in urlsplit(href.strip()).path.split("/") if p]
    if parts and parts[0] == "s":
        parts = parts[1:]
    return parts[0].lower() if parts and _CHANNEL.fullmatch(parts[0]) else None


def _dated_id(block: etree._Element) -> int | None:
    """The post id a message's date link names (``https://t.me/<channel>/<id>``)."""
    for href in block.xpath(f".//a[{_class_xpath('tgme_widget_message_date')}]/@href"):
        if (post_id := _post_id_of(str(href))) is not None:
            return post_id
    return None


def _post_id_of(href: str) -> int | None:
    last = urlsplit(href.strip()).path.rstrip("/").rsplit("/", 1)[-1]
    return int(last) if last.isdigit() and 0 < len(last) <= 18 and int(last) > 0 else None


def _published(value: str | None, notes: list[str]) -> datetime | None:
    if value is None:
        notes.append("no date, kept without one")
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        notes.append(f"unreadable date {value[:60]!r}, kept without one")
        return None
    if moment.tzinfo is None:
        notes.append(f"date {value[:60]!r} has no offset, taken as UTC")
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def _views(value: str | None, notes: list[str]) -> int | None:
    if value is None or not value.strip():
        return None
    compact = value.replace(" ", "").replace("\xa0", "").replace("\u202f", "")
    match = _COUNT.fullmatch(compact)
    if not match:
        notes.append(f"unreadable views {value[:30]!r}")
        return None
    try:
        number = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        notes.append(f"unreadable views {value[:30]!r}")
        return None
    return int(number * _MULTIPLIER[match.group(2).upper()])


# --- text, HTML and links of the text block ---------------------------------------------


def _render_text(block: etree._Element) -> str:
    pieces: list[str] = []
    pre = 0

    def add(raw: str | None) -> None:
        if raw:
            pieces.append(raw.replace("\r\n", "\n").replace("\n", "\x00") if pre else _SPACE.sub(" ", raw))

    for event, node in _walk(block, _foreign):
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        if event == "start":
            if tag == "br":
                pieces.append("\x00")
            elif node is not block and tag in _BLOCK_TAGS:
                pieces.append("\x00")
            if tag == "pre":
                pre += 1
            add(node.text)
        else:
            if event == "end" and tag == "pre":
                pre -= 1
            if node is block:
                continue
            if event == "end" and tag in _BLOCK_TAGS:
                pieces.append("\x00")
            add(node.tail)
    lines = [line.strip(" ") for line in "".join(pieces).split("\x00")]
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)


_UNSAFE_ATTRIBUTE = re.compile(r"on[a-z]+|formaction|srcdoc", re.IGNORECASE)


def _inner_html(block: etree._Element) -> str:
    copy = lxml_html.fragment_fromstring("<div></div>")
    copy.text = block.text
    for child in block:
        copy.append(deepcopy(child))
    for node in list(copy.iter()):
        if node is copy:
            continue
        if _foreign(node):
            _drop(node)
            continue
        for name in list(node.attrib):
            value = node.attrib[name]
            if _UNSAFE_ATTRIBUTE.fullmatch(name) or value.strip().lower().startswith(("javascript:", "vbscript:", "data:text/html")):
                del node.attrib[name]
    text = html_lib.escape(copy.text or "", quote=False)
    return (text + "".join(etree.tostring(child, method="html", encoding="unicode", with_tail=True) for child in copy)).strip()


def _drop(node: etree._Element) -> None:
    """Remove an element and its subtree, keeping its tail text in place."""
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    previous = node.getprevious()
    parent.remove(node)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _hrefs(block: etree._Element) -> Iterator[str]:
    for event, node in _walk(block, _foreign):
        if event == "start" and node.tag == "a" and node.get("href"):
            yield node.get("href") or ""


def _absolute(href: str, base: str) -> str | None:
    href = href.strip()
    if not href or href.startswith(("?", "#")):  # hashtag searches and in-page anchors
        return None
    try:
        url = urljoin(base + "/", href)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# --- the page ---------------------------------------------------------------------------


def _more_before(root: etree._Element) -> int | None:
    for value in root.xpath(f"//a[{_class_xpath('tme_messages_more')}]/@data-before"):
        value = str(value).strip()
        if value.isdigit() and 0 < len(value) <= 18 and int(value) > 0:
            return int(value)
    return None


def _page_channel(root: etree._Element) -> str | None:
    candidates: list[str | None] = []
    for node in root.xpath(f"//*[{_class_xpath('tgme_channel_info_header_username')}]"):
        line = _plain(node).lstrip("@")
        candidates.append(line)
        candidates.extend(_username(href) for href in node.xpath(".//a/@href"))
    candidates.extend(str(value).strip("/") for value in root.xpath(f"//main[{_class_xpath('tgme_main')}]/@data-url"))
    for content in root.xpath("//meta[@property='al:android:url' or @property='al:ios:url']/@content"):
        match = re.search(r"[?&]domain=([A-Za-z0-9_]+)", str(content))
        candidates.append(match.group(1) if match else None)
    for candidate in candidates:
        if candidate and _CHANNEL.fullmatch(candidate):
            return candidate.lower()
    return None


def _page_title(root: etree._Element) -> str | None:
    for node in root.xpath(f"//*[{_class_xpath('tgme_channel_info_header_title')} or {_class_xpath('tgme_header_title')}]"):
        title = _plain(node)
        if title:
            return title
    for content in root.xpath("//meta[@property='og:title']/@content"):
        title = _SPACE.sub(" ", str(content)).strip()
        if title:
            return title
    for node in root.xpath(f"//*[{_class_xpath('tgme_widget_message_owner_name')}]"):  # a fragment of messages
        title = _plain(node)
        if title:
            return title
    return None
