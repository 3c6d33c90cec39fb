"""The application: the `coprod` command, the crawl runner, the scheduler and its locks,
offline import and rescoring, the demo. It imports every layer below; nothing imports it."""
