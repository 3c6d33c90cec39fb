"""coprod calibrate: learn the weights of the calibrated relevance score from labelled files."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.app.cli.common import command_parser, config_of
from crawler.core.errors import BadInput

EXAMPLES = """
coprod calibrate                      # again, from the files the study's weights learned from
coprod calibrate tests/data/devset.jsonl ../shared/realdata/labelled-pages/real-dev.jsonl
coprod calibrate mine.jsonl --out study-weights.yaml     # then flag.weights: study-weights.yaml
coprod calibrate --c 0.5 --recall 0.98

Fits a logistic regression (L2, balanced classes) of "relevant" on the engine's named
signals, chooses the flag threshold as the highest probability at which its out-of-fold
predictions still reach the recall target, and writes the weights file (signal names,
weights, the threshold, which files and their hashes: no text of the labelled files). The
files are named relative to the weights file, so that `coprod evaluate` finds them from any
folder. Report quality with `coprod evaluate FILE --cv 5`, never in-sample.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "calibrate", "Learn the relevance weights from labelled files and write the weights file.", EXAMPLES)
    parser.add_argument("files", type=Path, nargs="*", metavar="FILE.jsonl", help="labelled files (default: those the study's weights file learned from)")
    parser.add_argument("--out", type=Path, metavar="FILE.yaml", help="where to write the weights (default: the study's flag.weights file)")
    parser.add_argument("--c", type=float, default=None, metavar="C", help="inverse regularisation strength (default: the study's weights file's, else 0.1)")
    parser.add_argument("--recall", type=float, default=None, metavar="R", help="recall the threshold aims at, out of fold (default: the study's weights file's, else 0.97)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pipelines.relevance import engine_from_config
    from pipelines.relevance.engine import SIGNALS
    from pipelines.relevance.evaluation import DEFAULT_RECALL, calibrate, read_labelled
    from pipelines.relevance.model import DEFAULT_C, dump_weights, load_weights, training_files

    config = config_of(args)
    current = load_weights(config.weights_path)
    files = list(args.files) or training_files(current, config.weights_path)
    if not files:
        raise BadInput(f"{config.weights_path} names no labelled files: name them (coprod calibrate FILE.jsonl...)")
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise BadInput(f"labelled file not found: {', '.join(map(str, missing))}")
    recall = (current.meta.get("threshold_rule") or {}).get("recall", DEFAULT_RECALL) if args.recall is None else args.recall
    if not 0 < recall <= 1:
        raise BadInput("--recall must be in (0, 1]")
    c = (current.meta.get("regularisation") or {}).get("C", DEFAULT_C) if args.c is None else args.c
    if c <= 0:
        raise BadInput("--c must be positive")
    engine = engine_from_config(config)
    labelled = [read_labelled(engine, f) for f in files]
    weights = calibrate(labelled, c=c, recall=recall)
    out = args.out or config.weights_path
    header = (
        "coprod relevance weights: P(candidate) = 1 / (1 + exp(-(intercept + sum(weight * signal)))).\n"
        "Each signal is in [0, 1]; a weight is the change in log-odds when its signal is fully present.\n"
        "Written by `coprod calibrate` from the files below; regenerate it the same way. The figures of\n"
        "the engine on these files are reported cross-validated (`coprod evaluate FILE --cv 5`).\n\n"
        "signals:\n" + "\n".join(f"  {name}: {description}" for name, description in SIGNALS.items())
    )
    dump_weights(weights, out, header)
    positives = sum(r.relevant for f in labelled for r in f.records)
    total = sum(len(f.records) for f in labelled)
    print(f"learned from {total} pages ({positives} relevant) in {len(files)} files; threshold {weights.threshold:.3f}; wrote {out}")
    return 0
