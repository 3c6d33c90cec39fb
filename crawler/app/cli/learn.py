"""coprod learn and coprod simulate: the active-learning model of the screening queue."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.app.cli.common import command_parser, config_of, database_url
from crawler.core.documents import read_documents
from pipelines._drop import PageDropped
from pipelines.chain import Chain
from pipelines.relevance import engine_from_config
from review.learning import Example, signals_of, simulate
from review.loop import retrain
from storage.db import open_catalogue

LEARN_EXAMPLES = """
coprod learn                          # train on the decisions so far, re-rank the open queue
coprod learn --db sqlite:///data/demo.sqlite --seeds crawler/app/demo/seeds.yaml

The review app runs this by itself, in a subprocess, once review.learning_after decisions are
in the log and again after new ones; run it by hand (or from cron) after a crawl to rank the
new candidates at once.
"""
SIMULATE_EXAMPLES = """
coprod simulate tests/data/devset.jsonl
coprod simulate labelled.jsonl --prior 2 --seed 7

Replays screening on a labelled file (the format of coprod evaluate): starting from a prior
of relevant and irrelevant records, the model ranks the rest, the top one is "screened" with
its true label, the model retrains; reports the work saved over random order at 95% recall.
"""


def add_parsers(commands: argparse._SubParsersAction) -> None:
    learn = command_parser(commands, "learn", "Train the screening model on the decisions and re-rank the open queue.", LEARN_EXAMPLES)
    learn.add_argument("--after", type=int, metavar="N", help="decisions needed before the model trains (default: review.learning_after)")
    learn.set_defaults(run=run_learn)
    sim = command_parser(commands, "simulate", "Replay screening on a labelled file; report work saved at 95% recall.", SIMULATE_EXAMPLES)
    sim.add_argument("file", type=Path, metavar="FILE.jsonl")
    sim.add_argument("--prior", type=int, default=1, help="relevant and irrelevant records known at the start (default: 1 each)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the prior's random choice (default: 0)")
    sim.add_argument("--text-only", action="store_true", help="train on the text alone, without the relevance engine's signals")
    sim.set_defaults(run=run_simulate)


def run_learn(args: argparse.Namespace) -> int:
    config = config_of(args)
    engine = open_catalogue(database_url(args, config), create=False)
    try:
        outcome = retrain(engine, args.after if args.after is not None else config.review.learning_after)
    finally:
        engine.dispose()
    print(f"{outcome.reason}: {outcome.labels} labels ({outcome.positives} included), {outcome.scored} open candidates ranked")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    documents = list(read_documents(args.file, labelled=True))
    chain = Chain(None if args.text_only else engine_from_config(config_of(args)))
    examples, labels = [], []
    for doc in documents:
        item = doc.item("simulate")
        try:
            chain.run(item)
        except PageDropped:
            pass  # no text: the model sees an empty record, as an analyst would
        examples.append(Example(doc.id, "\n".join(filter(None, (item.title, item.text))), signals_of(item.relevance) if item.relevance else {}))
        labels.append(bool(doc.labels.get("relevant")))
    result = simulate(examples, labels, prior_relevant=args.prior, prior_irrelevant=args.prior, seed=args.seed)
    print(f"{result.n} records, {result.n_relevant} relevant, prior {result.prior}")
    print(f"records screened to reach 95% recall: {result.records_to_95} (random order: {result.random_records_to_95:.1f})")
    print(f"WSS@95: {result.wss95:.3f}")
    return 0
