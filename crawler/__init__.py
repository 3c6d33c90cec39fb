"""coprod's crawler package, in layers (see the README's "Layout and layers"):

* `crawler.core`: config, items, errors, URLs, the study; every package may import it,
  and it imports no other coprod package;
* the Scrapy project (`settings`, `middlewares`, `capture`, `conditional`, `extensions`,
  `fingerprint`), a layer beside `spiders`;
* `crawler.app`: the `coprod` command, runner, scheduler, locks, offline import, demo;
  nothing imports it.
"""
