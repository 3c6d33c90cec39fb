"""Pipeline stages, one module each: extract, language, relevance, discover, store.

Each stage is a pure function (`extract`, `detect_language`, `Engine.assess`, `discover`);
`pipelines.chain` composes them once, for the crawl's Scrapy pipeline and for import,
rescore and evaluate alike. This package imports nothing itself, so a module of it (the
identifiers the exports redact with) can be used without loading the others.
"""
