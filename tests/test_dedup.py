"""Near-duplicate stories: what LSH proposes is set aside by the signatures before any text
is read, so a page's cost does not grow with the stories a crawl has seen."""

from __future__ import annotations

import random

from pipelines.dedup import NearDuplicateIndex, _from_bytes, shingles, signature

WORDS = "громада волонтери зібрали допомогу переселенцям місто район укриття генератор вода ліки школа".split()


def story(seed: int, words: int = 300) -> str:
    # A small vocabulary: every story shares many shingles with every other one, as the
    # pages of one site share its wording, so LSH proposes a large share of them.
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


def proposed(index: NearDuplicateIndex, text: str) -> set[str]:
    return set(index._lsh.query(_from_bytes(signature(shingles(text)))))


def test_a_stored_story_is_read_once_then_set_aside_by_its_signature() -> None:
    texts = {f"http://site.test/{n}": story(n) for n in range(400)}
    read: list[str] = []

    def stories(keys: list[str]) -> dict:
        read.extend(keys)
        return {key: (texts[key], None, []) for key in keys}

    index = NearDuplicateIndex(stories)
    for key, text in texts.items():
        index.add_signature(key, signature(shingles(text)))  # stored by an earlier run: sizes unknown
    first, second = story(1000), story(1001)
    assert len(proposed(index, first)) >= 50  # the wording is shared enough for LSH to propose many
    assert index.find(first, signature(shingles(first))) is None
    assert sorted(read) == sorted(proposed(index, first))  # sizes unknown: each one is read
    read_first, read[:] = set(read), []
    assert len(proposed(index, second) & read_first) >= 10
    assert index.find(second, signature(shingles(second))) is None
    assert len(set(read) & read_first) < 5  # known now: set aside without reading them again


def test_a_copy_and_an_excerpt_are_still_found_among_many_proposals() -> None:
    index = NearDuplicateIndex()
    for n in range(300):
        text = story(n)
        found = shingles(text)
        index.add(f"http://site.test/{n}", (text, None, []), signature(found), len(found))
    original = story(42)
    copy = "Джерело: сайт громади. " + original[: int(len(original) * 0.9)]
    excerpt = " ".join(original.split()[40:240])
    for text in (copy, excerpt):
        found = shingles(text)
        match = index.find(text, signature(found), len(found))
        assert match is not None and match[0].key == "http://site.test/42", text[:40]
