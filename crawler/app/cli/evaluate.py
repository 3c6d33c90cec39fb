"""coprod evaluate: measure the relevance engine on a labelled file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crawler.app.cli.common import command_parser, config_of
from crawler.app.cli.status import table
from crawler.core.documents import read_documents
from pipelines.relevance import engine_from_config
from pipelines.relevance.evaluation import evaluate

EXAMPLES = """
coprod evaluate tests/data/devset.jsonl
coprod evaluate labelled.jsonl --json        # {"precision", "recall", "f1", "average_precision",
                                             #  "direction_accuracy", "mode_accuracy", "n", ...}
coprod evaluate labelled.jsonl --threshold 5 --worst 10

labelled format: one JSON object a line with id, url, text (or html), optional published and
lang, and labels: relevant (bool), direction (C2C/C2G/G2C/none), mode (co-design/co-delivery/
co-monitoring/none), in_region (bool), in_window (bool or null), ict (list).
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "evaluate", "Score a labelled file and report flag, ranking, direction and mode quality.", EXAMPLES)
    parser.add_argument("file", type=Path, metavar="FILE.jsonl", help="labelled documents")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--threshold", type=float, metavar="SCORE", help="flag threshold (default: flag.threshold of seeds.yaml)")
    parser.add_argument("--worst", type=int, default=5, metavar="N", help="how many worst misses to show (default: 5)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    report = evaluate(engine_from_config(config, args.threshold), read_documents(args.file, labelled=True), worst=args.worst)
    if args.json:
        print(json.dumps(report.figures() | {"direction_confusion": report.direction_confusion, "mode_confusion": report.mode_confusion}, ensure_ascii=False))
        return 0
    print(f"{report.n} documents")
    print(table(["measure", "value"], [[k, v] for k, v in report.figures().items() if k != "n"]))
    for name, confusion in (("direction", report.direction_confusion), ("mode", report.mode_confusion)):
        labels = list(confusion)
        print(f"\n{name} confusion (rows: labelled, columns: predicted)")
        print(table([""] + labels, [[truth] + [confusion[truth][p] for p in labels] for truth in labels]))
    if report.worst_misses:
        print("\nworst misses")
        for miss in report.worst_misses:
            kind = "missed" if miss["relevant"] else "false flag"
            print(f"  {miss['id']} ({kind}, score {miss['score']}): {miss['url']}")
            print(f"    labelled: {miss['label']}")
            for reason in miss["reasons"]:
                print(f"    - {reason}")
    return 0
