"""Near-duplicate stories: one candidate per story.

Aggregators republish a story with a "Джерело: ..." line added, an excerpt and a link, or a
rewritten lead; exact content hashes miss all of them. A story is compared by its word
3-shingles (after page furniture is blanked, case and apostrophes folded): MinHash LSH
(datasketch) finds the earlier pages that share enough shingles to be worth a look, and the
exact containment of the shorter text's shingles in the longer one's decides. An excerpt is
contained in its original almost whole; two stories on the same topic share a few shingles.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from crawler.core.items import PageItem
from crawler.core.urls import canonical_url
from pipelines.relevance.furniture import strip_furniture

__all__ = ["CONTAINMENT", "CopyFinder", "NearDuplicateIndex", "containment", "near_duplicate_groups", "shingles", "signature"]

CONTAINMENT = 0.7  # share of the shorter text's shingles found in the longer one
MIN_SHINGLES = 12  # shorter texts (a caption, a one-line post) are never taken for copies
NUM_PERM = 64
SCHEME = "affine32"  # datasketch 2: 32-bit hash values, stored as 4 bytes each
LSH_THRESHOLD = 0.2  # Jaccard at which LSH proposes a pair (an excerpt's Jaccard with its original is low)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def shingles(text: str) -> frozenset[str]:
    words = [w.replace("’", "'") for w in _WORD.findall(strip_furniture(text).text.lower())]
    return frozenset(" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 0)))


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _minhash(items: Iterable[str]) -> MinHash:
    signature = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
    signature.update_batch([item.encode("utf-8") for item in items])
    return signature


@dataclass(frozen=True)
class Match:
    key: str
    containment: float


def signature(found: frozenset[str]) -> bytes | None:
    """The MinHash signature of a text's shingles, as stored (None for a text too short)."""
    if len(found) < MIN_SHINGLES:
        return None
    return _minhash(found).hashvalues.astype("<u4").tobytes()


def _from_bytes(value: bytes) -> LeanMinHash:
    return LeanMinHash(seed=1, hashvalues=np.frombuffer(value, dtype="<u4"), scheme=SCHEME)


Story = tuple[str, "str | None", list[str]]  # text, publication date, links


class NearDuplicateIndex:
    """The stories seen so far, to find the one a new text copies.

    Stories are indexed by their signature; the shingles that decide a match are computed
    from a story's text only when LSH proposes it: from the stories of this run kept in
    memory (the latest `RECENT`), else from `stories` (the catalogue)."""

    RECENT = 5000

    def __init__(self, stories: Callable[[list[str]], dict[str, Story]] | None = None) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._keys: set[str] = set()
        self._recent: OrderedDict[str, Story] = OrderedDict()
        self._stories = stories
        # A story's signature and, once its shingles were counted, their number: enough to
        # set aside most of what LSH proposes without reading the story's text (below).
        self._signatures: dict[str, bytes] = {}
        self._sizes: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str, story: Story, value: bytes | None, size: int | None = None) -> None:
        """A story of this run, with its signature (and the number of its shingles)."""
        if value is None or key in self._keys:
            return
        self.add_signature(key, value)
        if size is not None:
            self._sizes[key] = size
        self._recent[key] = story
        if len(self._recent) > self.RECENT:
            self._recent.popitem(last=False)

    def add_signature(self, key: str, value: bytes) -> None:
        """A stored story, by its signature (its text is read when needed)."""
        if key in self._keys or len(value) != NUM_PERM * 4:
            return
        self._keys.add(key)
        self._signatures[key] = value
        self._lsh.insert(key, _from_bytes(value))

    def remove(self, key: str) -> None:
        if key in self._keys:
            self._keys.discard(key)
            self._recent.pop(key, None)
            self._signatures.pop(key, None)
            self._sizes.pop(key, None)
            self._lsh.remove(key)

    def find(self, text: str, value: bytes | None, size: int | None = None) -> tuple[Match, Story] | None:
        """The indexed story this text (of `size` shingles, when known) copies best (or that
        copies it), if there is one."""
        if value is None or not self._keys:
            return None
        proposed = self._lsh.query(_from_bytes(value))
        if not proposed:
            return None
        found = shingles(text) if size is None else None
        proposed = self._plausible(sorted(proposed), value, len(found) if found is not None else size)
        stories = {key: self._recent[key] for key in proposed if key in self._recent}
        missing = [key for key in proposed if key not in stories]
        if missing and self._stories is not None:
            stories |= self._stories(missing)
        if stories and found is None:
            found = shingles(text)
        best: tuple[Match, Story] | None = None
        for key, story in stories.items():
            theirs = shingles(story[0])
            self._sizes[key] = len(theirs)
            share = containment(found, theirs)
            if share >= CONTAINMENT and (best is None or share > best[0].containment):
                best = (Match(key, round(share, 3)), story)
        return best

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

    def __init__(self, stored: Iterable[tuple[str, bytes]], stories: Callable[[list[str]], dict[str, Story]] | None = None) -> None:
        self.index = NearDuplicateIndex(stories)
        for key, value in stored:
            self.index.add_signature(key, value)

    def mark(self, item: PageItem) -> None:
        if item.not_modified or not item.text or item.signature is None:
            return
        story: Story = (item.text, item.published, list(item.links))
        size = item.shingle_count if item.shingle_count is not None else len(shingles(item.text))
        found = self.index.find(item.text, item.signature, size)
        if found is not None and found[0].key != item.url:
            match, other = found
            if not is_original(item.url, story, match.key, other):
                item.copy_of = match.key
                item.extra["copy_of"] = {"url": match.key, "containment": match.containment}
                return
            item.replaces.append(match.key)
            item.extra["original_of"] = {"url": match.key, "containment": match.containment}
            self.index.remove(match.key)
        self.index.add(item.url, story, item.signature, size)


_ATTRIBUTION = re.compile(r"\b(?:джерело|источник|source|за матеріалами|по материалам|читати повністю|читать полностью|read more at)\b", re.IGNORECASE)


def is_original(url: str, story: Story, other_url: str, other: Story) -> bool:
    """Whether the page at `url` is the original of the story at `other_url` that copies it:
    the copy links to its original (an aggregator's "Джерело:"), was published later, or is
    the shorter text (an excerpt); when nothing tells, the one stored first is the original."""
    links, other_links = {canonical_url(link) for link in story[2]}, {canonical_url(link) for link in other[2]}
    if other_url in links:
        return False
    if url in other_links:
        return True
    if story[1] and other[1] and story[1][:10] != other[1][:10]:
        return story[1][:10] < other[1][:10]
    attributed, other_attributed = bool(_ATTRIBUTION.search(story[0])), bool(_ATTRIBUTION.search(other[0]))
    if attributed != other_attributed:
        return other_attributed
    return False


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
        words = shingles(text)
        value = signature(words)
        found = index.find(text, value, len(words))
        if found is not None:
            parent[root(i)] = root(int(found[0].key))
        index.add(str(i), (text, None, []), value, len(words))
    return [root(i) for i in range(len(texts))]
