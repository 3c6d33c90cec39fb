"""Scraped text made safe to show: escaped first, then the engine's evidence marked."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

__all__ = ["HIGHLIGHTED", "highlight"]

# Signals worth showing in the text, and the colour class of each.
HIGHLIGHTED = {"c2c_actor": "actor", "c2c_call": "actor", "government": "state", "c2g": "state", "ict": "ict", "service": "term", "mode": "term"}


def highlight(text: str, verdict: dict[str, Any]) -> Markup:
    """The page text escaped, then the engine's evidence marked: terms, places, identifiers."""
    marks: dict[str, str] = {}
    for signal, rows in (verdict.get("terms") or {}).items():
        kind = HIGHLIGHTED.get(signal)
        if kind is None:
            continue
        for row in rows:
            for form in row.get("forms", ()):
                marks.setdefault(form, kind)
    for place in verdict.get("places") or ():
        if not str(place.get("surface", "")).startswith("(source region)"):
            marks[place["surface"]] = "place"
    escaped = str(escape(text))
    forms = sorted((f for f in marks if len(f) >= 2), key=len, reverse=True)
    if not forms:
        return Markup(escaped)
    # Whole words only: "ми" (we) is not the end of "месенджерами".
    pattern = re.compile(r"(?<![\w/.])(?:" + "|".join(re.escape(str(escape(f))) for f in forms) + r")(?![\w/])")
    lookup = {str(escape(f)): kind for f, kind in marks.items()}
    return Markup(pattern.sub(lambda m: f'<mark class="{lookup.get(m.group(0), "term")}">{m.group(0)}</mark>', escaped))
