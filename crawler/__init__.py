"""coprod: a desk-research crawler for mapping citizen co-production initiatives."""

__version__ = "0.1.0"
