"""Near-duplicate stories: what LSH proposes is set aside by the signatures before any text
is read, so a page's cost does not grow with the stories a crawl has seen."""

from __future__ import annotations

import random
import struct

from pipelines.dedup import NearDuplicateIndex, _minhash_of, fingerprint, kept, shingles, signature

WORDS = "громада волонтери зібрали допомогу переселенцям місто район укриття генератор вода ліки школа".split()


def story(seed: int, words: int = 300) -> str:
    # A small vocabulary: every story shares many shingles with every other one, as the
    # pages of one site share its wording, so LSH proposes a large share of them.
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "."


def sign(text: str) -> bytes | None:
    return signature(fingerprint(shingles(text)))


def proposed(index: NearDuplicateIndex, text: str) -> set[str]:
    return set(index._lsh.query(_minhash_of(sign(text))))


def stored_index(texts: dict[str, str]) -> tuple[NearDuplicateIndex, list[str]]:
    """An index of stories stored by an earlier run (signatures only, no fingerprints), and
    the list of the keys it reads from that catalogue."""
    read: list[str] = []

    def stories(keys: list[str]) -> dict:
        read.extend(keys)
        return {key: (texts[key], None, [], None) for key in keys}

    index = NearDuplicateIndex(stories)
    for key, text in texts.items():
        index.add_signature(key, sign(text))
    return index, read


def test_a_stored_story_is_read_once_then_set_aside_by_its_signature() -> None:
    texts = {f"http://site.test/{n}": story(n) for n in range(400)}
    index, read = stored_index(texts)  # stored by an earlier run: sizes unknown
    first, second = story(1000), story(1001)
    assert len(proposed(index, first)) >= 50  # the wording is shared enough for LSH to propose many
    assert index.find(kept(first, None, []).hashes, sign(first)) is None
    assert sorted(read) == sorted(proposed(index, first))  # sizes unknown: each one is read
    read_first, read[:] = set(read), []
    assert len(proposed(index, second) & read_first) >= 10
    assert index.find(kept(second, None, []).hashes, sign(second)) is None
    assert len(set(read) & read_first) < 5  # known now: set aside without reading them again


def test_a_copy_and_an_excerpt_are_still_found_among_many_proposals() -> None:
    index = NearDuplicateIndex()
    for n in range(300):
        text = story(n)
        index.add(f"http://site.test/{n}", kept(text, None, []), sign(text))
    original = story(42)
    copy = "Джерело: сайт громади. " + original[: int(len(original) * 0.9)]
    excerpt = " ".join(original.split()[40:240])
    for text in (copy, excerpt):
        match = index.find(kept(text, None, []).hashes, sign(text))
        assert match is not None and match[0].key == "http://site.test/42", text[:40]


def test_a_story_read_from_the_catalogue_is_kept_and_not_read_again() -> None:
    original = story(7)
    texts = {"http://site.test/7": original} | {f"http://site.test/{n}": story(n) for n in range(100, 160)}
    index, read = stored_index(texts)
    copy = "Джерело: сайт громади. " + original
    for _ in range(2):
        match = index.find(kept(copy, None, []).hashes, sign(copy))
        assert match is not None and match[0].key == "http://site.test/7"
    assert read.count("http://site.test/7") == 1


def test_the_fingerprint_makes_the_signature_datasketch_makes_of_the_shingles() -> None:
    from datasketch import MinHash

    found = shingles(story(3))
    direct = MinHash(num_perm=64, seed=1, scheme="affine32")
    direct.update_batch([s.encode("utf-8") for s in found])
    assert sign(story(3)) == direct.hashvalues.astype("<u4").tobytes()
    assert fingerprint(found).size == len(found)


def test_an_unparsable_link_does_not_stop_telling_the_original() -> None:
    from pipelines.dedup import is_original

    original = kept(story(5), "2022-05-01", ["http://[::1", "http://site.test/other"])
    copy = kept("Джерело: сайт. " + story(5), "2022-05-01", ["http://[::1", "http://site.test/5"])
    assert is_original("http://site.test/5", original, "http://agg.test/5", copy)
    assert not is_original("http://agg.test/5", copy, "http://site.test/5", original)


def test_the_compact_buckets_propose_what_datasketchs_own_storage_proposes() -> None:
    """Stories in families of near copies (buckets of several keys) and alone; some removed:
    every query proposes the same keys as an index on datasketch's default storage."""
    from datasketch import MinHashLSH

    from pipelines.dedup import LSH_THRESHOLD, NUM_PERM, _Buckets

    rng = random.Random(7)
    ours = NearDuplicateIndex()
    plain = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    assert all(isinstance(table, _Buckets) for table in ours._lsh.hashtables)
    signatures = {}
    for family in range(60):
        base = [rng.randrange(2**32) for _ in range(NUM_PERM)]
        for member in range(rng.choice([1, 1, 2, 5])):
            values = [v if rng.random() < 0.8 else rng.randrange(2**32) for v in base] if member else base
            signatures[f"https://site.example/{family}/{member}"] = struct.pack(f"<{NUM_PERM}I", *values)
    for key, value in signatures.items():
        ours.add_signature(key, value)
        plain.insert(key, _minhash_of(value))
    for key in list(signatures)[::7]:
        ours.remove(key)
        plain.remove(key)
    queries = list(signatures.values()) + [struct.pack(f"<{NUM_PERM}I", *(rng.randrange(2**32) for _ in range(NUM_PERM)))]
    shared = 0
    for value in queries:
        found = sorted(ours._lsh.query(_minhash_of(value)))
        assert found == sorted(plain.query(_minhash_of(value)))
        shared += len(found) > 1
    assert shared > 20  # the families did share buckets
    assert [t.itemcounts() for t in ours._lsh.hashtables] == [t.itemcounts() for t in plain.hashtables]
