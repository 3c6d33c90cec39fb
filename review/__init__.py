"""Screening and output: exports now; the analysts' web app joins here."""
