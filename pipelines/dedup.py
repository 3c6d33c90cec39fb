"""Near-duplicate stories: one candidate per story.

Aggregators republish a story with a "Джерело: ..." line added, an excerpt and a link, or a
rewritten lead; exact content hashes miss all of them. A story is compared by its word
3-shingles (after page furniture is blanked, case and apostrophes folded): MinHash LSH
(datasketch) finds the earlier pages that share enough shingles to be worth a look, and the
containment of the shorter text's shingles in the longer one's decides (compared by their
32-bit hashes: two of a page's thousand shingles share one about once in 8,600 pages). An
excerpt is contained in its original almost whole; two stories on the same topic share a few
shingles.
"""

from __future__ import annotations

import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha1
from typing import NamedTuple

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from datasketch.storage import UnorderedStorage

from crawler.core.items import PageItem
from crawler.core.urls import canonical_url
from pipelines.relevance.furniture import strip_furniture

__all__ = ["CONTAINMENT", "CopyFinder", "NearDuplicateIndex", "fingerprint", "near_duplicate_groups", "shingles", "signature"]

CONTAINMENT = 0.7  # share of the shorter text's shingles found in the longer one
MIN_SHINGLES = 12  # shorter texts (a caption, a one-line post) are never taken for copies
NUM_PERM = 64
SCHEME = "affine32"  # datasketch 2: 32-bit hash values, stored as 4 bytes each
LSH_THRESHOLD = 0.2  # Jaccard at which LSH proposes a pair (an excerpt's Jaccard with its original is low)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_UNPACK = struct.Struct("<I").unpack_from


def shingles(text: str) -> frozenset[str]:
    words = [w.replace("’", "'") for w in _WORD.findall(strip_furniture(text).text.lower())]
    return frozenset(" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 0)))


def fingerprint(found: Iterable[str]) -> np.ndarray:
    """A text's shingles as their sorted 32-bit hashes (datasketch's own SHA-1 hash, so the
    signature is made from them unchanged): a twentieth of the memory of the text, and two
    of them are compared in microseconds instead of shingling a stored text again."""
    return np.unique(np.array([_UNPACK(sha1(s.encode("utf-8")).digest())[0] for s in found], dtype=np.uint32))


def _containments(mine: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """For a (non-empty) fingerprint and each of `others`, the share of the smaller one's
    shingles found in the other, in one pass: every hash of the others is looked up in the
    sorted `mine` (one call for a page's hundred proposals, not a hundred intersections)."""
    sizes = np.array([other.size for other in others])
    every = np.concatenate(others)
    found = mine[np.minimum(np.searchsorted(mine, every), mine.size - 1)] == every
    running = np.concatenate(([0], np.cumsum(found)))
    ends = np.cumsum(sizes)
    shared = running[ends] - running[ends - sizes]
    return shared / np.maximum(np.minimum(sizes, mine.size), 1)


def signature(hashes: np.ndarray) -> bytes | None:
    """The MinHash signature of a text's shingles (their `fingerprint`), as stored (None for
    a text too short)."""
    if hashes.size < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME, hashfunc=int)
    minhash.update_batch(hashes.tolist())
    return minhash.hashvalues.astype("<u4").tobytes()


def _minhash_of(value: bytes) -> LeanMinHash:
    return LeanMinHash(seed=1, hashvalues=np.frombuffer(value, dtype="<u4"), scheme=SCHEME)


@dataclass(frozen=True)
class Match:
    key: str
    containment: float


Story = tuple[str, "str | None", list[str], "bytes | None"]  # text, publication date, links, fingerprint (as the catalogue gives them)

_ATTRIBUTION = re.compile(r"\b(?:джерело|источник|source|за матеріалами|по материалам|читати повністю|читать полностью|read more at)\b", re.IGNORECASE)


class Kept(NamedTuple):
    """What a story is compared and told apart by, kept instead of its text."""

    hashes: np.ndarray  # its fingerprint
    published: str | None
    attributed: bool  # names a source ("Джерело: ...")
    links: str  # one per line: a story's hundred links as one string take half the memory


def kept(text: str, published: str | None, links: Sequence[str], hashes: np.ndarray | bytes | None = None) -> Kept:
    if hashes is None:
        hashes = fingerprint(shingles(text))
    elif isinstance(hashes, bytes):
        hashes = np.frombuffer(hashes, dtype="<u4")
    return Kept(hashes, published, bool(_ATTRIBUTION.search(text)), "\n".join(links))


class _Buckets(UnorderedStorage):
    """One band's hash table of the LSH index, as datasketch's in-memory storage keeps it
    (a dict of buckets), but a bucket that holds one story holds its key itself, not a set of
    one: nearly every bucket does, and with 28 bands the sets were most of the index's memory
    (9.3 KB a story with them, measured; the crawl's process held the index of every story)."""

    def __init__(self) -> None:
        self._dict: dict = {}

    def keys(self):
        return self._dict.keys()

    def get(self, key):
        found = self._dict.get(key)
        if found is None:
            return ()
        return found if type(found) is set else (found,)

    def insert(self, key, *vals, **kwargs) -> None:
        found = self._dict.get(key)
        if found is None and len(vals) == 1:
            self._dict[key] = vals[0]
            return
        if type(found) is not set:
            found = self._dict[key] = set() if found is None else {found}
        found.update(vals)

    def remove(self, *keys, **kwargs) -> None:
        for key in keys:
            del self._dict[key]

    def remove_val(self, key, val, **kwargs) -> None:
        found = self._dict[key]
        if type(found) is set:
            found.remove(val)
            if len(found) == 1:
                self._dict[key] = next(iter(found))
        elif found == val:
            self._dict[key] = set()  # empty: MinHashLSH.remove drops the bucket next
        else:
            raise KeyError(val)

    def size(self) -> int:
        return len(self._dict)

    def itemcounts(self, **kwargs) -> dict:
        return {key: len(found) if type(found) is set else 1 for key, found in self._dict.items()}

    def has_key(self, key) -> bool:
        return key in self._dict


class NearDuplicateIndex:
    """The stories seen so far, to find the one a new text copies.

    Stories are indexed by their signature; the shingles that decide a match are compared
    by their fingerprints: of the stories of this run kept in memory (the latest `RECENT`),
    else of stories read from `stories` (the catalogue) when LSH proposes them."""

    RECENT = 5000

    def __init__(self, stories: Callable[[list[str]], dict[str, Story]] | None = None) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._lsh.hashtables = [_Buckets() for _ in self._lsh.hashtables]
        self._keys: set[str] = set()
        self._recent: OrderedDict[str, Kept] = OrderedDict()
        self._stories = stories
        # A story's signature and, once its shingles were counted, their number: enough to
        # set aside most of what LSH proposes without reading the story (below).
        self._signatures: dict[str, bytes] = {}
        self._sizes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str, story: Kept, value: bytes | None) -> None:
        """A story of this run, with its signature."""
        if value is None or key in self._keys:
            return
        self.add_signature(key, value)
        self._keep(key, story)

    def add_signature(self, key: str, value: bytes, size: int | None = None) -> None:
        """A stored story, by its signature and, when known, its number of shingles (it is
        read when needed)."""
        if key in self._keys or len(value) != NUM_PERM * 4:
            return
        self._keys.add(key)
        self._signatures[key] = value
        if size is not None:
            self._sizes[key] = size
        self._lsh.insert(key, _minhash_of(value))

    def remove(self, key: str) -> None:
        if key in self._keys:
            self._keys.discard(key)
            self._recent.pop(key, None)
            self._signatures.pop(key, None)
            self._sizes.pop(key, None)
            self._lsh.remove(key)

    def find(self, hashes: np.ndarray, value: bytes | None) -> tuple[Match, Kept] | None:
        """The indexed story a text of this fingerprint copies best (or that copies it), if
        there is one."""
        if value is None or not self._keys:
            return None
        proposed = self._lsh.query(_minhash_of(value))
        if not proposed:
            return None
        proposed = self._plausible(sorted(proposed), value, hashes.size)
        recent = self._recent
        missing = [key for key in proposed if key not in recent]
        if missing and self._stories is not None:
            for key, (text, published, links, stored) in self._stories(missing).items():
                self._keep(key, kept(text, published, links, stored))
        compared = [(key, recent[key]) for key in proposed if key in recent]
        if not compared or not hashes.size:
            return None
        shares = _containments(hashes, [story.hashes for _, story in compared])
        best = int(np.argmax(shares))  # the first of equal shares, as proposals are sorted
        if shares[best] < CONTAINMENT:
            return None
        key, story = compared[best]
        return Match(key, round(float(shares[best]), 3)), story

    def _keep(self, key: str, story: Kept) -> None:
        self._sizes[key] = story.hashes.size
        self._recent[key] = story
        self._recent.move_to_end(key)
        if len(self._recent) > self.RECENT:
            self._recent.popitem(last=False)
    def _plausible(self, proposed: list[str], value: bytes, size: int) -> list[str]:
        """The proposed stories that may contain, or be contained in, CONTAINMENT of the
        text. LSH at a low threshold proposes every story of a site that shares enough of
        its wording, a share of all stories that grows with the crawl: reading and
        shingling each one made a page's cost grow with the crawl (at 3,500 stories of a
        news site, 330 proposals and 480 ms a page). A containment of c between texts of
        a and b shingles (a <= b) means a Jaccard of at least c*a / (b + (1-c)*a); the
        signatures estimate the Jaccard (the share of equal values, binomial over NUM_PERM),
        so a story whose estimate is more than four standard deviations and one value below
        that bound is set aside (a true copy is, about once in 30,000). A story whose size
        is not known yet (stored by an earlier run, never read) is read, as before."""
        sized = [key for key in proposed if key in self._sizes]
        if not sized:
            return proposed
        theirs = np.frombuffer(b"".join(self._signatures[key] for key in sized), dtype="<u4").reshape(len(sized), NUM_PERM)
        estimate = (theirs == np.frombuffer(value, dtype="<u4")).mean(axis=1)
        sizes = np.array([self._sizes[key] for key in sized], dtype=float)
        low, high = np.minimum(sizes, size), np.maximum(sizes, size)
        bound = CONTAINMENT * low / (high + (1 - CONTAINMENT) * low)
        margin = 4 * np.sqrt(bound * (1 - bound) / NUM_PERM) + 1 / NUM_PERM
        unlikely = {key for key, out in zip(sized, estimate + margin < bound) if out}
        return [key for key in proposed if key not in unlikely]



class CopyFinder:
    """Tells the pages of a crawl or an import that copy a story stored before them or
    earlier in the same run (`PageItem.copy_of`) from the originals of stories stored as
    their copies (`PageItem.replaces`: an aggregator crawled before the outlet)."""

    def __init__(self, stored: Iterable[tuple[str, bytes, int | None]], stories: Callable[[list[str]], dict[str, Story]] | None = None) -> None:
        self.index = NearDuplicateIndex(stories)
        for key, value, size in stored:
            self.index.add_signature(key, value, size)

    def mark(self, item: PageItem) -> None:
        if item.not_modified or not item.text or item.signature is None:
            return
        # The chain sends the fingerprint it made the signature from (pipelines.chain).
        story = kept(item.text, item.published, item.links, item.shingles)
        found = self.index.find(story.hashes, item.signature)
        if found is not None and found[0].key != item.url:
            match, other = found
            if not is_original(item.url, story, match.key, other):
                item.copy_of = match.key
                item.extra["copy_of"] = {"url": match.key, "containment": match.containment}
                return
            item.replaces.append(match.key)
            item.extra["original_of"] = {"url": match.key, "containment": match.containment}
            self.index.remove(match.key)
        self.index.add(item.url, story, item.signature)


def is_original(url: str, story: Kept, other_url: str, other: Kept) -> bool:
    """Whether the page at `url` is the original of the story at `other_url` that copies it:
    the copy links to its original, was published later, or names a source ("Джерело:")
    where the other does not; when nothing tells, the one stored first is the original."""
    if other_url in _canonical(story.links):
        return False
    if url in _canonical(other.links):
        return True
    if story.published and other.published and story.published[:10] != other.published[:10]:
        return story.published[:10] < other.published[:10]
    if story.attributed != other.attributed:
        return other.attributed
    return False


def _canonical(links: str) -> set[str]:
    found = set()
    for link in links.splitlines():
        try:
            found.add(canonical_url(link))
        except ValueError:  # a hostile page's link ("http://[::1"): it names no page
            continue
    return found


def near_duplicate_groups(texts: Sequence[str]) -> list[int]:
    """A group number per text: texts that copy one another share one."""
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index = NearDuplicateIndex()
    for i, text in enumerate(texts):
        story = kept(text, None, [])
        value = signature(story.hashes)
        found = index.find(story.hashes, value)
        if found is not None:
            parent[root(i)] = root(int(found[0].key))
        index.add(str(i), story, value)
    return [root(i) for i in range(len(texts))]
