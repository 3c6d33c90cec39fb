"""The core every coprod package may import: config, items, errors, URLs, the study file,
cron expressions, documents read for import. It imports no other coprod package."""

__version__ = "0.1.0"
