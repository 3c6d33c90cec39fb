"""Search words: a candidate's text and an analyst's query read by the engine's lemmatizer.

The queue's search must find "укриттях" on a page that says "укриття": both sides are
read through `pipelines.relevance.morphology` (the relevance engine's tokenizer, spelling
folds and pymorphy3 lemmas), and a page is indexed under every lemma of every word, so an
ambiguous parse never hides it. The words go to the database's full-text index
(`storage.search`); `index_pending` brings it up to date and is run after pages are stored
(crawl, import, rescore), by `coprod migrate` and by the review app in the background.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from pipelines.relevance.morphology import Lemmatizer, fold, tokenize
from storage import search

__all__ = ["MAX_QUERY_WORDS", "index_pending", "query_groups", "search_words"]

MAX_QUERY_WORDS = 12
_LEMMATIZER = Lemmatizer()


def _term(lemma: str) -> str:
    # One token for every full-text engine: "пам'ять" and "психологи-волонтери" stay whole.
    return lemma.replace("'", "").replace("-", "")


def _lemmas(word: str, language: str) -> set[str]:
    return {t for t in map(_term, _LEMMATIZER.lemmas(word, language)) if search.SEARCH_TERM.match(t)}


def search_words(text: str, language: str | None) -> str:
    """Every lemma of every word of `text`, once each, space-separated."""
    words: set[str] = set()
    for lower in set(tokenize(fold(text)).words):
        words |= _lemmas(lower, language or "mixed")
    return " ".join(sorted(words))


def query_groups(query: str) -> list[list[str]]:
    """The lemma groups of a query (its first `MAX_QUERY_WORDS` words): a candidate
    matches when it has a lemma of every word. The query's language is not known, so both
    Ukrainian and Russian readings are taken."""
    groups: list[list[str]] = []
    for lower in dict.fromkeys(tokenize(fold(query[:500])).words):
        lemmas = _lemmas(lower, "mixed")
        if lemmas:
            groups.append(sorted(lemmas))
        if len(groups) == MAX_QUERY_WORDS:
            break
    return groups


def index_pending(session: Session, batch: int = 500) -> int:
    """Make the search rows of every candidate that has none or whose page changed; returns
    how many were made. Runs in the caller's transaction, batch by batch."""
    made = 0
    while rows := search.stale(session, batch):
        search.store(
            session,
            [(cid, digest or "", search_words(f"{title or ''}\n{body or ''}", language)) for cid, digest, title, body, language in rows],
        )
        made += len(rows)
        if len(rows) < batch:
            break
    return made
