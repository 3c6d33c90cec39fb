"""coprod evaluate: measure the relevance engine on a labelled file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crawler.app.cli.common import command_parser, config_of
from crawler.app.cli.status import table
from crawler.core.errors import BadInput

EXAMPLES = """
coprod evaluate tests/data/devset.jsonl
coprod evaluate ../shared/realdata/labelled-pages/real-dev.jsonl --cv 5 --json
coprod evaluate labelled.jsonl --threshold 0.3 --worst 10

When the weights (flag.weights) were learned from the evaluated file, the figures are K-fold
cross-validated (default K = 5): each fold is judged by weights and a threshold learned
without it, from the other folds and the other files the weights were learned from
(--train to name them). Figures on a file the weights learned from are never reported
in-sample.

--json prints: n, cross_validated (K or null), precision, recall, f1, precision_at_recall,
average_precision, precision_at_95_recall, direction_accuracy, mode_accuracy,
direction_accuracy_relevant, mode_accuracy_relevant, direction_confusion, mode_confusion.

labelled format: one JSON object a line with id, url, text (or html), optional published and
lang, and labels: relevant (bool), direction (C2C/C2G/G2C/none), mode (co-design/co-delivery/
co-monitoring/none), in_region (bool), in_window (bool or null), ict (list).
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "evaluate", "Score a labelled file and report flag, ranking, direction and mode quality.", EXAMPLES)
    parser.add_argument("file", type=Path, metavar="FILE.jsonl", help="labelled documents")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation (default: 5 when the weights were learned from FILE, else none)")
    parser.add_argument("--train", type=Path, nargs="*", metavar="FILE.jsonl",
                        help="the other labelled files to learn from in cross-validation (default: those the weights file names)")
    parser.add_argument("--threshold", type=float, metavar="P", help="flag threshold, a probability (default: flag.threshold, else the weights file's)")
    parser.add_argument("--worst", type=int, default=5, metavar="N", help="how many worst misses to show (default: 5)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from crawler.core.documents import read_documents
    from pipelines.relevance import engine_from_config
    from pipelines.relevance.evaluation import DEFAULT_FOLDS, evaluate, learned_from, out_of_fold, report

    if args.cv is not None and args.cv < 2:
        raise BadInput("--cv needs at least 2 folds")
    if args.threshold is not None and not 0 < args.threshold < 1:
        raise BadInput("--threshold is a probability between 0 and 1")
    config = config_of(args)
    engine = engine_from_config(config, args.threshold)
    if not args.file.is_file():
        raise BadInput(f"{args.file}: no such file")
    missing = [p for p in args.train or () if not p.is_file()]
    if missing:
        raise BadInput(f"--train: no such file: {', '.join(map(str, missing))}")
    folds = args.cv or (DEFAULT_FOLDS if learned_from(engine, args.file) else None)
    if folds is None:
        result = evaluate(engine, read_documents(args.file, labelled=True), worst=args.worst)
    else:
        judged = out_of_fold(engine, config.weights_path, args.file, folds, args.train)
        if judged.missing:
            print(f"coprod: note: not found, left out of training: {', '.join(map(str, judged.missing))}", file=sys.stderr)
        result = report([(r.doc, v) for r, v in zip(judged.evaluated.records, judged.verdicts)], worst=args.worst, cross_validated=folds)
    if args.json:
        print(json.dumps(result.figures() | {"direction_confusion": result.direction_confusion, "mode_confusion": result.mode_confusion}, ensure_ascii=False))
        return 0
    how = f", {folds}-fold cross-validated" if folds else ""
    print(f"{result.n} documents{how}")
    print(table(["measure", "value"], [[k, v] for k, v in result.figures().items() if k not in ("n", "cross_validated")]))
    for name, confusion in (("direction", result.direction_confusion), ("mode", result.mode_confusion)):
        labels = list(confusion)
        print(f"\n{name} confusion (rows: labelled, columns: predicted)")
        print(table([""] + labels, [[truth] + [confusion[truth][p] for p in labels] for truth in labels]))
    if result.worst_misses:
        print("\nworst misses")
        for miss in result.worst_misses:
            kind = "missed" if miss["relevant"] else "false flag"
            print(f"  {miss['id']} ({kind}, score {miss['score']}): {miss['url']}")
            print(f"    labelled: {miss['label']}")
            for reason in miss["reasons"]:
                print(f"    - {reason}")
    return 0
