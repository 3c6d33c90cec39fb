"""Run the real reference data of ../shared/realdata through `coprod import` and report.

Nothing from realdata is copied into the project: this script converts it to JSON Lines in a
temporary folder, imports it into a temporary catalogue with the `coprod import` command,
and reports what the engine made of it:

* resistinua (a 2022 hub of Ukrainian wartime civic-tech resources, each with its own type:
  website, chat-bot, map, app...): how often the ICT channel the engine detects matches the
  resource's own type, and the directions it assigns; and the President's speeches of the
  same hub, which should come out as anything but citizen-to-citizen;
* the Telegram preview pages and the trafilatura evaluation page: that they import cleanly.

    .venv/bin/python bench/realdata.py [--realdata ../shared/realdata] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.db import open_catalogue  # noqa: E402
from storage.models import Page  # noqa: E402

# resistinua's resource types -> the codebook's ICT channels.
TYPE_TO_CHANNEL = {
    "Вебсайт": "website",
    "Чат-бот": "bot",
    "Бот": "bot",
    "Мапа": "map",
    "Додаток": "app",
    "Телеграм-канал": "telegram",
    "Проекти в соцемережах": "social_media",
}


def convert(realdata: Path, out: Path) -> dict[str, Path]:
    files = {}
    resources = json.loads((realdata / "resistinua" / "resources.json").read_text(encoding="utf-8"))
    path = out / "resistinua-resources.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for row in resources:
            text = f"{row['name']}\n{row.get('description') or ''}"
            links = _links(row)
            handle.write(json.dumps({"url": _resource_url(row), "title": row["name"], "text": text, "lang": "uk", "links": links}, ensure_ascii=False) + "\n")
    files["resistinua"] = path
    messages = json.loads((realdata / "resistinua" / "messages.json").read_text(encoding="utf-8"))
    path = out / "resistinua-messages.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for row in messages:
            handle.write(json.dumps({"url": f"https://resistinua.example/messages/{row['id']}", "title": row["name"], "text": row["text"], "published": (row.get("date") or "")[:10] or None}, ensure_ascii=False) + "\n")
    files["messages"] = path
    path = out / "html-pages.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for name in sorted((realdata / "telegram-any2feed").glob("*.html")):
            handle.write(json.dumps({"url": f"https://t.me/s/fixture/{name.stem}", "html": name.read_text(encoding="utf-8")}, ensure_ascii=False) + "\n")
        page = realdata / "trafilatura-eval" / "football.ua.podolski.html"
        handle.write(json.dumps({"url": "https://football.ua/podolski", "html": page.read_text(encoding="utf-8", errors="replace")}, ensure_ascii=False) + "\n")
    files["html"] = path
    return files


def _links(row: dict) -> list[str]:
    """A resource's link: one URL, or a list of {url, title} (an app in two stores)."""
    link = row.get("link")
    if isinstance(link, list):
        return [item["url"] for item in link if isinstance(item, dict) and item.get("url")]
    return [link] if isinstance(link, str) and link else []


def _resource_url(row: dict) -> str:
    links = _links(row)
    return links[0] if links else f"https://resistinua.example/resources/{row['id']}"


def run(realdata: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        database = f"sqlite:///{work / 'realdata.sqlite'}"
        imports = {}
        for name, path in convert(realdata, work).items():
            result = subprocess.run(
                [sys.executable, "-m", "crawler.app.cli", "import", str(path), "--source", name, "--db", database, "--seeds", str(ROOT / "seeds.yaml")],
                capture_output=True, text=True, cwd=ROOT,
            )
            if result.returncode != 0:
                raise SystemExit(f"coprod import {path.name} failed ({result.returncode}): {result.stderr.strip()}")
            imports[name] = result.stdout.strip()
        engine = open_catalogue(database, create=False)
        with Session(engine) as session:
            pages = {page.url: page.relevance for page in session.scalars(select(Page))}
        engine.dispose()

    resources = json.loads((realdata / "resistinua" / "resources.json").read_text(encoding="utf-8"))
    from crawler.core.urls import canonical_url

    matched = typed = 0
    by_type: dict[str, Counter[str]] = {}
    directions: Counter[str] = Counter()
    for row in resources:
        url = _resource_url(row)
        verdict = pages.get(canonical_url(url if "://" in url else "https://" + url))
        if verdict is None:
            continue
        directions[verdict["direction"]] += 1
        for kind in row.get("type", []):
            channel = TYPE_TO_CHANNEL.get(kind)
            if channel is None:
                continue
            typed += 1
            hit = channel in verdict["ict"]
            matched += hit
            by_type.setdefault(kind, Counter())["match" if hit else "miss"] += 1
    speeches = Counter(v["direction"] for url, v in pages.items() if url.startswith("https://resistinua.example/messages/"))
    return {
        "imports": imports,
        "official_speeches_directions": dict(speeches.most_common()),
        "official_speeches_flagged": sum(v["flagged"] for url, v in pages.items() if url.startswith("https://resistinua.example/messages/")),
        "resistinua_typed_resources": typed,
        "resistinua_ict_match_rate": round(matched / typed, 3) if typed else None,
        "resistinua_ict_by_type": {k: dict(v) for k, v in sorted(by_type.items())},
        "resistinua_directions": dict(directions.most_common()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (args.realdata / "resistinua").is_dir():
        print(f"no real data at {args.realdata}", file=sys.stderr)
        return 2
    figures = run(args.realdata)
    print(json.dumps(figures, ensure_ascii=False, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
