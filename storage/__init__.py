"""The catalogue database: models, opening it, and the queries commands share."""

from storage.db import open_catalogue
from storage.models import SCHEMA_VERSION, Candidate, Case, Decision, Page, Run, Source

__all__ = ["SCHEMA_VERSION", "Candidate", "Case", "Decision", "Page", "Run", "Source", "open_catalogue"]
