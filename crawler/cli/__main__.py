"""`python -m crawler.cli` is `coprod`."""

from crawler.cli import main

raise SystemExit(main())
