"""`python -m crawler.app.cli` is `coprod`."""

from crawler.app.cli import main

raise SystemExit(main())
