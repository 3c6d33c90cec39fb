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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from pipelines.relevance.furniture import strip_furniture

__all__ = ["CONTAINMENT", "NearDuplicateIndex", "containment", "near_duplicate_groups", "shingles"]

CONTAINMENT = 0.8  # share of the shorter text's shingles found in the longer one
MIN_SHINGLES = 12  # shorter texts (a caption, a one-line post) are never taken for copies
NUM_PERM = 64
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
    signature = MinHash(num_perm=NUM_PERM, seed=1)
    signature.update_batch([item.encode("utf-8") for item in items])
    return signature


@dataclass(frozen=True)
class Match:
    key: str
    containment: float


class NearDuplicateIndex:
    """The stories seen so far, to find the one a new text copies."""

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._shingles: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._shingles)

    def add(self, key: str, text: str, shingled: frozenset[str] | None = None) -> None:
        found = shingles(text) if shingled is None else shingled
        if len(found) < MIN_SHINGLES or key in self._shingles:
            return
        self._shingles[key] = found
        self._lsh.insert(key, _minhash(found))

    def find(self, text: str, shingled: frozenset[str] | None = None) -> Match | None:
        """The indexed story this text copies best, if it copies one."""
        found = shingles(text) if shingled is None else shingled
        if len(found) < MIN_SHINGLES or not self._shingles:
            return None
        best: Match | None = None
        for key in self._lsh.query(_minhash(found)):
            share = containment(found, self._shingles[key])
            if share >= CONTAINMENT and (best is None or share > best.containment):
                best = Match(key, round(share, 3))
        return best


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
        shingled = shingles(text)
        match = index.find(text, shingled)
        if match is not None:
            parent[root(i)] = root(int(match.key))
        index.add(str(i), text, shingled)
    return [root(i) for i in range(len(texts))]
